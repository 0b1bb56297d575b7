package build

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/flowmd/flowmd/topology"
)

// This file turns the IC tables of the residues and patches into
// coordinates, the way CHARMM does with
//
//	IC PARAM            ! fill lengths and angles the tables leave at 0
//	IC SEED 1 N 1 CA 1 C
//	IC BUILD
//
// followed by psfgen's guesscoord rules for what the tables do not reach.
//
// An IC entry I J K L (or I J *K L) holds two lengths, two angles and one
// dihedral (see IC). Given I, J and K, L is placed at R2 from K, at angle A2
// = JKL, with dihedral IJKL = Phi; this is the same for normal and improper
// entries, since both define A2 and R2 at K. Given J, K and L, I is placed
// backwards: for a normal entry at R1 from J with angle IJK = A1 and
// dihedral LKJI = Phi (a dihedral reads the same both ways); for an improper
// entry at R1 from K with angle IKJ = A1 and dihedral LJKI = -Phi (swapping
// the outer atoms of a dihedral about the same axis changes its sign).

// icEntry is an IC entry over final atom indices.
type icEntry struct {
	at       [4]int
	improper bool
	// residue marks entries of a residue's own table, whose values were
	// written for the residue's types: where a patch changed a type, the
	// parameters know the new geometry better.
	residue bool
	r1, a1  float64
	phi     float64
	a2, r2  float64
}

// build places the one atom of the entry that has no coordinates when the
// other three have them, forwards (L from I, J, K) or backwards (I from J,
// K, L); see the comment at the top of this file.
func (ic *icEntry) build(x []vec, placed []bool) (atom int, p vec, ok bool) {
	i, j, k, l := ic.at[0], ic.at[1], ic.at[2], ic.at[3]
	switch {
	case placed[i] && placed[j] && placed[k] && !placed[l]:
		return l, place(x[i], x[j], x[k], ic.r2, ic.a2, ic.phi), true
	case !placed[i] && placed[j] && placed[k] && placed[l]:
		if ic.improper {
			return i, place(x[l], x[j], x[k], ic.r1, ic.a1, -ic.phi), true
		}
		return i, place(x[l], x[k], x[j], ic.r1, ic.a1, ic.phi), true
	}
	return 0, vec{}, false
}

// vec is a point or direction in angstrom.
type vec [3]float64

func (a vec) add(b vec) vec       { return vec{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func (a vec) sub(b vec) vec       { return vec{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec) scale(s float64) vec { return vec{s * a[0], s * a[1], s * a[2]} }
func (a vec) dot(b vec) float64   { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec) norm() float64       { return math.Sqrt(a.dot(a)) }
func (a vec) cross(b vec) vec {
	return vec{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func (a vec) finite() bool { return !math.IsNaN(a.dot(a)) && !math.IsInf(a.dot(a), 0) }
func (a vec) unitOr(fallback vec) vec {
	n := a.norm()
	if n < 1e-9 || math.IsNaN(n) || math.IsInf(n, 0) {
		return fallback
	}
	return a.scale(1 / n)
}

// perpendicular returns a unit vector perpendicular to v (any one).
func perpendicular(v vec) vec {
	axis := vec{1, 0, 0}
	if math.Abs(v[0]) > math.Abs(v[1]) || math.Abs(v[0]) > math.Abs(v[2]) {
		axis = vec{0, 1, 0}
		if math.Abs(v[1]) > math.Abs(v[2]) {
			axis = vec{0, 0, 1}
		}
	}
	return v.cross(axis).unitOr(vec{0, 0, 1})
}

const degree = math.Pi / 180

// place returns the point D at distance r from c, with angle BCD = theta and
// dihedral ABCD = phi (degrees, IUPAC sign convention). Degenerate reference
// points (A, B and C on a line) get an arbitrary but finite plane.
func place(a, b, c vec, r, theta, phi float64) vec {
	bc := c.sub(b).unitOr(vec{1, 0, 0})
	n := b.sub(a).cross(bc).unitOr(perpendicular(bc))
	m := n.cross(bc)
	t, p := theta*degree, phi*degree
	return c.add(bc.scale(-r * math.Cos(t))).
		add(m.scale(r * math.Sin(t) * math.Cos(p))).
		add(n.scale(r * math.Sin(t) * math.Sin(p)))
}

// geometry supplies bond lengths and angles for IC entries that leave them
// out, for the seed and for atoms no IC entry reaches.
type geometry struct {
	psf    *topology.PSF
	params *topology.Parameters
	adj    [][]int
	bonds  map[[2]int]float64 // from the IC tables, key sorted
	angles map[[3]int]float64 // from the IC tables, outer atoms sorted
	// retyped marks atoms a patch gave another type: the IC values of
	// the residue were written for the old type, so the parameters
	// take precedence for them.
	retyped []bool
}

// stale reports whether a length or angle over atoms involves an atom a
// patch retyped.
func (g *geometry) stale(atoms ...int) bool {
	return slices.ContainsFunc(atoms, func(i int) bool { return g.retyped[i] })
}

func bondKey(i, j int) [2]int { return [2]int{min(i, j), max(i, j)} }
func angleKey(i, j, k int) [3]int {
	return [3]int{min(i, k), j, max(i, k)}
}

func newGeometry(psf *topology.PSF, params *topology.Parameters, adj [][]int, ics []icEntry, retyped []bool) *geometry {
	g := &geometry{psf: psf, params: params, adj: adj, bonds: map[[2]int]float64{}, angles: map[[3]int]float64{}, retyped: retyped}
	for _, ic := range ics {
		i, j, k, l := ic.at[0], ic.at[1], ic.at[2], ic.at[3]
		b1, a1 := bondKey(i, j), angleKey(i, j, k)
		if ic.improper {
			b1, a1 = bondKey(i, k), angleKey(i, k, j)
		}
		for _, e := range []struct {
			key [2]int
			v   float64
		}{{b1, ic.r1}, {bondKey(k, l), ic.r2}} {
			if _, ok := g.bonds[e.key]; !ok && e.v > 0 {
				g.bonds[e.key] = e.v
			}
		}
		for _, e := range []struct {
			key [3]int
			v   float64
		}{{a1, ic.a1}, {angleKey(j, k, l), ic.a2}} {
			if _, ok := g.angles[e.key]; !ok && e.v > 0 {
				g.angles[e.key] = e.v
			}
		}
	}
	return g
}

func (g *geometry) paramBond(i, j int) (float64, bool) {
	if g.params == nil {
		return 0, false
	}
	p, ok := g.params.Bonds[topology.NewBondKey(g.psf.Atoms[i].Type, g.psf.Atoms[j].Type)]
	return p.B0, ok && p.B0 > 0
}

func (g *geometry) paramAngle(i, j, k int) (float64, bool) {
	if g.params == nil {
		return 0, false
	}
	a := g.psf.Atoms
	p, ok := g.params.Angles[topology.NewAngleKey(a[i].Type, a[j].Type, a[k].Type)]
	return p.Theta0, ok && p.Theta0 > 0
}

// covalentRadius is a rough single-bond radius by element, in angstrom.
func covalentRadius(mass float64) float64 {
	switch elementOf(mass) {
	case "H":
		return 0.31
	case "C":
		return 0.76
	case "N":
		return 0.71
	case "O":
		return 0.66
	case "F":
		return 0.57
	case "S":
		return 1.05
	case "P":
		return 1.07
	case "CL":
		return 1.02
	case "BR":
		return 1.20
	case "I":
		return 1.39
	}
	return 0.8
}

// defaultBond is the last resort: the sum of covalent radii.
func (g *geometry) defaultBond(i, j int) float64 {
	return covalentRadius(g.psf.Atoms[i].Mass) + covalentRadius(g.psf.Atoms[j].Mass)
}

// defaultAngle is the last resort: the ideal angle of the central atom's
// hybridisation, guessed from its number of bonds.
func (g *geometry) defaultAngle(j int) float64 {
	switch len(g.adj[j]) {
	case 3:
		return 120
	case 2:
		if e := elementOf(g.psf.Atoms[j].Mass); e != "O" && e != "S" {
			return 120
		}
	}
	return 109.47
}

// fillBond returns a length for an IC entry that left it at zero: from the
// parameters first (CHARMM's IC PARAM), else from other IC entries, else by
// element.
func (g *geometry) fillBond(i, j int) float64 {
	if v, ok := g.paramBond(i, j); ok {
		return v
	}
	if v, ok := g.bonds[bondKey(i, j)]; ok {
		return v
	}
	return g.defaultBond(i, j)
}

func (g *geometry) fillAngle(i, j, k int) float64 {
	if v, ok := g.paramAngle(i, j, k); ok {
		return v
	}
	if v, ok := g.angles[angleKey(i, j, k)]; ok {
		return v
	}
	return g.defaultAngle(j)
}

// bond returns a length where no IC entry is being built: the IC tables
// first, as they describe the residue's own geometry, else the parameters;
// the parameters first for atoms a patch retyped.
func (g *geometry) bond(i, j int) float64 {
	if v, ok := g.bonds[bondKey(i, j)]; ok && !g.stale(i, j) {
		return v
	}
	return g.fillBond(i, j)
}

func (g *geometry) angle(i, j, k int) float64 {
	if v, ok := g.angles[angleKey(i, j, k)]; ok && !g.stale(i, j, k) {
		return v
	}
	return g.fillAngle(i, j, k)
}

// refit replaces the values of a residue's IC entry that involve atoms a
// patch retyped (NTER's N, CTER's C, ASPP's carboxyl) with the parameters'
// equilibrium values, and fills the values the entry leaves at zero
// (CHARMM's IC PARAM).
func (g *geometry) refit(ic *icEntry) {
	i, j, k, l := ic.at[0], ic.at[1], ic.at[2], ic.at[3]
	b1, a1 := [2]int{i, j}, [3]int{i, j, k}
	if ic.improper {
		b1, a1 = [2]int{i, k}, [3]int{i, k, j}
	}
	if ic.residue {
		if v, ok := g.paramBond(b1[0], b1[1]); ok && g.stale(b1[:]...) {
			ic.r1 = v
		}
		if v, ok := g.paramAngle(a1[0], a1[1], a1[2]); ok && g.stale(a1[:]...) {
			ic.a1 = v
		}
		if v, ok := g.paramAngle(j, k, l); ok && g.stale(j, k, l) {
			ic.a2 = v
		}
		if v, ok := g.paramBond(k, l); ok && g.stale(k, l) {
			ic.r2 = v
		}
	}
	if ic.r1 == 0 {
		ic.r1 = g.fillBond(b1[0], b1[1])
	}
	if ic.a1 == 0 {
		ic.a1 = g.fillAngle(a1[0], a1[1], a1[2])
	}
	if ic.a2 == 0 {
		ic.a2 = g.fillAngle(j, k, l)
	}
	if ic.r2 == 0 {
		ic.r2 = g.fillBond(k, l)
	}
}

// backboneAngles returns the phi and psi to impose, and whether to impose
// any.
func backboneAngles(opts Options) (phi, psi float64, set bool, err error) {
	switch strings.ToLower(opts.Backbone) {
	case "", BackboneExtended:
		return -120, 120, true, nil
	case BackboneHelix:
		return -57, -47, true, nil
	case BackboneRTF:
		return 0, 0, false, nil
	case BackboneCustom:
		if math.IsNaN(opts.Phi) || math.IsInf(opts.Phi, 0) || math.IsNaN(opts.Psi) || math.IsInf(opts.Psi, 0) {
			return 0, 0, false, fmt.Errorf("build: custom backbone phi %v, psi %v: expected finite angles in degrees", opts.Phi, opts.Psi)
		}
		return opts.Phi, opts.Psi, true, nil
	}
	return 0, 0, false, fmt.Errorf("build: unknown backbone %q: expected %q, %q, %q or %q",
		opts.Backbone, BackboneExtended, BackboneHelix, BackboneRTF, BackboneCustom)
}

// inRing reports whether the bond a-b lies on a ring of at most maxRing
// atoms: whether b can be reached from a without that bond.
func inRing(adj [][]int, a, b, maxRing int) bool {
	dist := map[int]int{a: 0}
	frontier := []int{a}
	for d := 1; d < maxRing && len(frontier) > 0; d++ {
		var next []int
		for _, x := range frontier {
			for _, y := range adj[x] {
				if x == a && y == b {
					continue
				}
				if y == b {
					return true
				}
				if _, seen := dist[y]; !seen {
					dist[y] = d
					next = append(next, y)
				}
			}
		}
		frontier = next
	}
	return false
}

// backboneTorsion is a backbone dihedral: kind is "phi", "psi" or "omega".
type backboneTorsion struct {
	kind string
	at   [4]int
}

// backboneTorsions finds the backbone dihedrals through the bond graph, so
// that capped peptides with other atom names (ALAD: CLP NL CA CRP NR) are
// covered: CA is an atom named CA, N a nitrogen bonded to it, C a carbonyl
// carbon bonded to it (three bonds, one of them to an oxygen: the four
// bonds of a serine or threonine CB keep it from passing for one), C' the
// carbonyl carbon on N and N' the nitrogen on C.
//
//	phi = C'-N-CA-C   psi = N-CA-C-N'   omega = CA-C-N'-CA'
func backboneTorsions(psf *topology.PSF, adj [][]int) []backboneTorsion {
	elem := func(i int) string { return elementOf(psf.Atoms[i].Mass) }
	carbonyl := func(c int) bool {
		if elem(c) != "C" || len(adj[c]) != 3 {
			return false
		}
		for _, o := range adj[c] {
			if elem(o) == "O" {
				return true
			}
		}
		return false
	}
	isCA := func(i int) bool { return psf.Atoms[i].Name == "CA" && elem(i) == "C" }
	var out []backboneTorsion
	for ca := range psf.Atoms {
		if !isCA(ca) {
			continue
		}
		n, c := -1, -1
		for _, x := range adj[ca] {
			switch {
			case elem(x) == "N" && n < 0:
				n = x
			case carbonyl(x) && c < 0:
				c = x
			}
		}
		if n < 0 || c < 0 {
			continue
		}
		for _, cp := range adj[n] {
			if cp != ca && carbonyl(cp) {
				out = append(out, backboneTorsion{"phi", [4]int{cp, n, ca, c}})
				break
			}
		}
		for _, nn := range adj[c] {
			if elem(nn) != "N" {
				continue
			}
			out = append(out, backboneTorsion{"psi", [4]int{n, ca, c, nn}})
			for _, ca2 := range adj[nn] {
				if isCA(ca2) {
					out = append(out, backboneTorsion{"omega", [4]int{ca, c, nn, ca2}})
					break
				}
			}
			break
		}
	}
	return out
}

// setBackbone imposes phi and psi on every residue by editing the IC
// entries. A backbone dihedral's own entry is set to the target and every
// other normal entry about the same bond is shifted by the same amount, as
// rotating about a bond shifts all dihedrals across it alike: otherwise an
// entry such as ALAD's HL-NL-CA-CRP would place its atom for the old phi.
// The phi of a residue whose N-CA bond is in a ring (proline) is left as the
// RTF has it: the ring fixes it, and forcing it would tear the ring open.
func setBackbone(bb []backboneTorsion, adj [][]int, ics []icEntry, phi, psi float64) []icEntry {
	for _, t := range bb {
		var target float64
		switch t.kind {
		case "phi":
			if inRing(adj, t.at[1], t.at[2], 8) {
				continue
			}
			target = phi
		case "psi":
			target = psi
		default:
			continue
		}
		at := t.at
		rev := [4]int{at[3], at[2], at[1], at[0]}
		found := -1
		for n, ic := range ics {
			if !ic.improper && (ic.at == at || ic.at == rev) {
				found = n
				break
			}
		}
		if found < 0 {
			// No entry for this dihedral: add one in front, so that it
			// is the one that places the fourth atom.
			ics = append([]icEntry{{at: at, phi: target}}, ics...)
			continue
		}
		delta := target - ics[found].phi
		j, k := at[1], at[2]
		for n := range ics {
			ic := &ics[n]
			if !ic.improper && ((ic.at[1] == j && ic.at[2] == k) || (ic.at[1] == k && ic.at[2] == j)) {
				ic.phi += delta
			}
		}
	}
	return ics
}

// coordinates places every atom of psf:
//
//  1. the backbone dihedrals are set as opts.Backbone asks (setBackbone);
//  2. IC PARAM: lengths and angles left at zero in the IC entries are taken
//     from opts.Params (else from other IC entries, else by element), and
//     so are a residue's values for atoms a patch retyped (refit);
//  3. IC SEED: the first residue's N, CA and C (or the first IC entry's
//     chain of three atoms) are placed in the xy plane;
//  4. IC BUILD: every entry with three placed atoms places its fourth,
//     forwards or backwards, in table order, until nothing changes;
//  5. atoms still without coordinates are put next to a placed neighbour
//     in a tetrahedral or trigonal position (psfgen's guesscoord rules),
//     and a molecule with no placed atom at all is started beside the rest;
//  6. side chains are turned out of close contacts (relieveClashes),
//     unless opts.KeepRotamers.
//
// The result is centred on the origin.
func (c *chain) coordinates(psf *topology.PSF, opts Options) ([]float64, error) {
	n := len(psf.Atoms)
	adj := adjacency(n, psf.Bonds)
	var ics []icEntry
	for _, ic := range c.ics {
		if !alive(ic.atoms[:]) {
			continue
		}
		e := icEntry{improper: ic.improper, residue: !ic.patched, r1: ic.r1, a1: ic.a1, phi: ic.phi, a2: ic.a2, r2: ic.r2}
		for i, a := range ic.atoms {
			e.at[i] = a.index
		}
		if distinct(e.at) {
			ics = append(ics, e)
		}
	}
	phi, psi, set, err := backboneAngles(opts)
	if err != nil {
		return nil, err
	}
	bb := backboneTorsions(psf, adj)
	if set {
		ics = setBackbone(bb, adj, ics, phi, psi)
	}
	retyped := make([]bool, n)
	for i, a := range c.atoms {
		retyped[i] = a.retyped
	}
	geo := newGeometry(psf, opts.Params, adj, ics, retyped)
	for e := range ics {
		geo.refit(&ics[e])
	}

	x := make([]vec, n)
	placed := make([]bool, n)
	put := func(i int, p vec) {
		x[i] = p
		placed[i] = true
	}
	if s, ok := c.seed(ics); ok {
		d01, d12 := geo.bond(s[0], s[1]), geo.bond(s[1], s[2])
		t := geo.angle(s[0], s[1], s[2]) * degree
		put(s[0], vec{})
		put(s[1], vec{d01, 0, 0})
		put(s[2], vec{d01 - d12*math.Cos(t), d12 * math.Sin(t), 0})
	}

	for changed := true; changed; {
		changed = false
		for _, ic := range ics {
			if i, p, ok := ic.build(x, placed); ok {
				put(i, p)
				changed = true
			}
		}
	}

	guessRest(x, placed, adj, geo)
	if !opts.KeepRotamers {
		relieveClashes(psf, adj, bb, x)
	}

	var centre vec
	for _, p := range x {
		centre = centre.add(p)
	}
	centre = centre.scale(1 / float64(n))
	out := make([]float64, 0, 3*n)
	for i, p := range x {
		p = p.sub(centre)
		if !p.finite() {
			return nil, fmt.Errorf("build: atom %d (%s) got no finite coordinates: the IC tables are inconsistent", i+1, psf.AtomLabel(i))
		}
		out = append(out, p[0], p[1], p[2])
	}
	return out, nil
}

// seed picks the three atoms CHARMM's IC SEED would start from: N, CA and
// C of the first residue, else the chain of three bonded atoms of the first
// IC entry (I-J-K, or I-K-J for an improper entry).
func (c *chain) seed(ics []icEntry) ([3]int, bool) {
	if len(c.res) > 0 {
		r := c.res[0]
		n, ca, co := r.find("N"), r.find("CA"), r.find("C")
		if n != nil && ca != nil && co != nil {
			return [3]int{n.index, ca.index, co.index}, true
		}
	}
	if len(ics) == 0 {
		return [3]int{}, false
	}
	at := ics[0].at
	if ics[0].improper {
		return [3]int{at[0], at[2], at[1]}, true
	}
	return [3]int{at[0], at[1], at[2]}, true
}

// guessRest places the atoms no IC entry reached, one at a time next to a
// placed neighbour: opposite the other neighbours' bonds, tetrahedrally for
// atoms with four bonds and in the plane for three.
func guessRest(x []vec, placed []bool, adj [][]int, geo *geometry) {
	n := len(x)
	for {
		progress := false
		for a := 0; a < n; a++ {
			if !placed[a] {
				continue
			}
			for _, u := range adj[a] {
				if placed[u] {
					continue
				}
				x[u] = guessPosition(x, placed, adj, geo, a, u)
				placed[u] = true
				progress = true
			}
		}
		if progress {
			continue
		}
		// A molecule with nothing placed: start it beside the others.
		start := -1
		maxX := math.Inf(-1)
		for i := 0; i < n; i++ {
			if placed[i] {
				maxX = max(maxX, x[i][0])
			} else if start < 0 {
				start = i
			}
		}
		if start < 0 {
			return
		}
		if math.IsInf(maxX, -1) {
			maxX = -5
		}
		x[start] = vec{maxX + 5, 0, 0}
		placed[start] = true
	}
}

// guessPosition returns a position for u, bonded to the placed atom a.
func guessPosition(x []vec, placed []bool, adj [][]int, geo *geometry, a, u int) vec {
	var known []int
	for _, v := range adj[a] {
		if v != u && placed[v] {
			known = append(known, v)
		}
	}
	r := geo.bond(a, u)
	switch len(known) {
	case 0:
		return x[a].add(vec{r, 0, 0})
	case 1:
		p := known[0]
		ref := x[p].add(perpendicular(x[a].sub(x[p])))
		for _, q := range adj[p] {
			if q != a && placed[q] {
				ref = x[q]
				break
			}
		}
		return place(ref, x[p], x[a], r, geo.angle(p, a, u), 180)
	case 2:
		u1 := x[known[0]].sub(x[a]).unitOr(vec{1, 0, 0})
		u2 := x[known[1]].sub(x[a]).unitOr(vec{0, 1, 0})
		bis := u1.add(u2).scale(-1).unitOr(perpendicular(u1))
		if len(adj[a]) >= 4 {
			// The two remaining tetrahedral positions are 109.47 degrees
			// apart, symmetric about the bisector.
			nrm := u1.cross(u2).unitOr(perpendicular(bis))
			h := 109.47 / 2 * degree
			bis = bis.scale(math.Cos(h)).add(nrm.scale(math.Sin(h)))
		}
		return x[a].add(bis.scale(r))
	}
	var sum vec
	for _, v := range known {
		sum = sum.add(x[v].sub(x[a]).unitOr(vec{}))
	}
	return x[a].add(sum.scale(-1).unitOr(perpendicular(x[known[0]].sub(x[a]))).scale(r))
}

// distinct reports whether an IC entry names four different atoms; one that
// does not cannot place anything.
func distinct(at [4]int) bool {
	for i := range at {
		for j := i + 1; j < len(at); j++ {
			if at[i] == at[j] {
				return false
			}
		}
	}
	return true
}

// Clash relief. The IC tables carry one rotamer per side chain, chosen for
// the residue on its own; in a helix or a strand some of them run into the
// neighbours (a beta-branched chi1 into the i-3 carbonyl, a Trp ring into
// the i+2 side chain, a Leu methyl into the C-terminal carboxylate). Turning
// whole groups about single bonds moves no bond length or angle, so the
// builder tries the staggered alternatives of every rotatable side-chain
// bond and keeps the one with the fewest close contacts.

// clashThreshold is the distance below which two atoms more than three
// bonds apart count as touching: a little under the sums of van der Waals
// radii, so that hydrogen bonds (H...O near 1.9 A) do not count.
func clashThreshold(hi, hj bool) float64 {
	switch {
	case hi && hj:
		return 2.0
	case hi || hj:
		return 2.4
	}
	return 3.0
}

// severeClash is the clash score past which relieveClashes also tries
// positions between the staggered ones: one contact 0.5 A too close.
const severeClash = 0.25

// fineAngles are the rotations tried for a severe clash.
var fineAngles = []float64{30, 60, 90, 150, 180, 210, 270, 300, 330}

// rotor is a bond whose smaller side can turn.
type rotor struct {
	a, b    int   // the bond; the moving side is on b's side
	moving  []int // atoms that turn, b included
	angles  []float64
	isMoved []bool
}

// rotors returns the rotatable bonds: not in a ring, with at least one
// other atom on each side, not a backbone phi, psi or omega bond, and with
// at most maxMoving atoms on the smaller side (a side chain, a methyl or a
// charged terminus, never half of the chain).
func rotors(psf *topology.PSF, adj [][]int, bb []backboneTorsion, maxMoving int) []rotor {
	backbone := map[[2]int]bool{}
	for _, t := range bb {
		backbone[bondKey(t.at[1], t.at[2])] = true
	}
	var out []rotor
	for _, bd := range psf.Bonds {
		a, b := bd[0], bd[1]
		if a == b || backbone[bondKey(a, b)] || len(adj[a]) < 2 || len(adj[b]) < 2 {
			continue
		}
		side := func(from, other int) []int {
			seen := map[int]bool{from: true, other: true}
			stack, list := []int{from}, []int{from}
			for len(stack) > 0 && len(list) <= maxMoving {
				x := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, y := range adj[x] {
					if !seen[y] {
						seen[y] = true
						stack = append(stack, y)
						list = append(list, y)
					}
				}
			}
			if slicesContains(list, other) {
				return nil // a ring
			}
			return list
		}
		sb := side(b, a)
		if sb == nil {
			continue
		}
		sa := side(a, b)
		if sa == nil {
			continue
		}
		if len(sa) < len(sb) {
			a, b, sb = b, a, sa
		}
		if len(sb) > maxMoving {
			continue
		}
		angles := []float64{120, 240}
		if len(adj[a]) == 3 || len(adj[b]) == 3 {
			angles = append(angles, 180) // a planar end: a flip keeps it planar
		}
		if len(adj[a]) == 3 && len(adj[b]) == 3 {
			angles = []float64{180} // conjugated: only the flip
		}
		r := rotor{a: a, b: b, moving: sb, angles: angles, isMoved: make([]bool, len(psf.Atoms))}
		for _, m := range sb {
			r.isMoved[m] = true
		}
		out = append(out, r)
	}
	return out
}

// slicesContains reports whether s holds x.
func slicesContains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// rotate turns point p by angle (degrees) about the axis through a and b.
func rotate(p, a, b vec, angle float64) vec {
	k := b.sub(a).unitOr(vec{1, 0, 0})
	v := p.sub(a)
	c, s := math.Cos(angle*degree), math.Sin(angle*degree)
	// Rodrigues' formula.
	r := v.scale(c).add(k.cross(v).scale(s)).add(k.scale(k.dot(v) * (1 - c)))
	return a.add(r)
}

// relieveClashes turns rotatable groups to reduce close contacts, greedily,
// bond by bond, for a few sweeps.
func relieveClashes(psf *topology.PSF, adj [][]int, bb []backboneTorsion, x []vec) {
	n := len(x)
	hydrogen := make([]bool, n)
	for i, a := range psf.Atoms {
		hydrogen[i] = topology.IsHydrogenMass(a.Mass)
	}
	// near[i] holds the atoms within three bonds of i, which never count
	// as clashes.
	near := make([]map[int]bool, n)
	for i := range near {
		near[i] = map[int]bool{i: true}
		frontier := []int{i}
		for d := 0; d < 3; d++ {
			var next []int
			for _, a := range frontier {
				for _, b := range adj[a] {
					if !near[i][b] {
						near[i][b] = true
						next = append(next, b)
					}
				}
			}
			frontier = next
		}
	}
	score := func(r *rotor, pos []vec) float64 {
		var s float64
		for k, m := range r.moving {
			for j := 0; j < n; j++ {
				if r.isMoved[j] || near[m][j] {
					continue
				}
				d := pos[k].sub(x[j]).norm()
				if t := clashThreshold(hydrogen[m], hydrogen[j]); d < t {
					s += (t - d) * (t - d)
				}
			}
		}
		return s
	}
	rs := rotors(psf, adj, bb, 30)
	for sweep := 0; sweep < 3; sweep++ {
		changed := false
		for ri := range rs {
			r := &rs[ri]
			cur := make([]vec, len(r.moving))
			for k, m := range r.moving {
				cur[k] = x[m]
			}
			best, bestPos := score(r, cur), cur
			if best == 0 {
				continue
			}
			try := func(angles []float64) {
				for _, ang := range angles {
					pos := make([]vec, len(r.moving))
					for k, m := range r.moving {
						pos[k] = rotate(x[m], x[r.a], x[r.b], ang)
					}
					// Demand a clear gain, so that ties keep the RTF's
					// rotamer.
					if s := score(r, pos); s < best-1e-6 {
						best, bestPos = s, pos
					}
				}
			}
			try(r.angles)
			if best > severeClash {
				// No staggered position is free (a symmetric group such
				// as an ammonium maps onto itself): accept an eclipsed
				// one, which costs a few kcal/mol, over a clash.
				try(fineAngles)
			}
			if &bestPos[0] != &cur[0] {
				for k, m := range r.moving {
					x[m] = bestPos[k]
				}
				changed = true
			}
		}
		if !changed {
			return
		}
	}
}
