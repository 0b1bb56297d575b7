package build

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/flowmd/flowmd/topology"
)

// Backbone conformations for Options.Backbone.
const (
	// BackboneExtended is a beta strand, phi = -120, psi = +120 degrees.
	BackboneExtended = "extended"
	// BackboneHelix is a right-handed alpha helix, phi = -57, psi = -47.
	BackboneHelix = "helix"
	// BackboneRTF keeps the dihedrals of the RTF's IC tables (for the
	// CHARMM36 amino acids phi = psi = 180, a fully stretched chain).
	BackboneRTF = "rtf"
	// BackboneCustom uses Options.Phi and Options.Psi.
	BackboneCustom = "custom"
)

// Options configure BuildPeptide. The zero value builds an extended chain
// with the RTF's default terminal patches.
type Options struct {
	// First and Last name the patches of the chain ends: "" for the RTF's
	// default (the residue's PATCHING line, else DEFA: NTER/CTER for the
	// CHARMM36 amino acids, GLYP and PROP for an N-terminal GLY or PRO),
	// "NONE" for no patch, or any PRES of the RTF (ACE, CT3, ...).
	First, Last string
	// Patches are further patches applied after the terminal ones, in
	// order, such as DISU between two cysteines or ASPP.
	Patches []PatchSpec
	// Params, when not nil, fills the bond lengths and angles the IC
	// tables leave at zero with the equilibrium values of the parameters
	// (CHARMM's IC PARAM), replaces a residue's IC values for atoms a
	// patch gave another type, and supplies masses for types the RTF
	// lacks. Without it, missing values come from other IC entries or
	// from covalent radii and ideal angles.
	Params *topology.Parameters
	// Backbone sets the phi and psi dihedrals of every residue:
	// BackboneExtended (the default when ""), BackboneHelix, BackboneRTF
	// or BackboneCustom.
	Backbone string
	// Phi and Psi in degrees, for BackboneCustom.
	Phi, Psi float64
	// KeepRotamers skips the clash relief after the IC build, leaving
	// every side chain in the rotamer of its IC table, as CHARMM's
	// IC BUILD would.
	KeepRotamers bool
}

// PatchSpec applies the patch Name to the residues at the given 1-based
// positions of the chain: DISU with Residues {3, 17} bonds the cysteines at
// positions 3 and 17.
type PatchSpec struct {
	Name     string
	Residues []int
}

// BuildPeptide builds one segment from the RTF residues named in residues
// (CHARMM names: ALA, GLY, HSD, ...), as CHARMM's GENERATE or psfgen's
// segment command do:
//
//   - atoms in RTF order, residue by residue, numbered from 1, with the
//     masses of the RTF's MASS entries;
//   - bonds, impropers and CMAP terms from the residues, with "+X" and "-X"
//     resolved to the neighbouring residues; terms that reach past the end
//     of the chain are dropped, which is why a chain of n residues with
//     charged termini has n-2 CMAP terms;
//   - the terminal patches and opts.Patches, which change atoms, add atoms
//     (placed after the atom the patch touched last in that residue, so
//     NTER gives N HT1 HT2 HT3 CA and CTER gives C OT1 OT2, as CHARMM
//     writes them) and delete atoms together with their terms;
//   - angles and dihedrals generated from the bond graph when the RTF's
//     AUTO line asks for them (every i-j-k and every i-j-k-l path with
//     i != l, as psfgen does), else the explicit ANGLE and DIHE entries;
//   - charge groups from the GROUP lines;
//   - coordinates from the IC tables of the residues and patches, as
//     CHARMM's IC PARAM, IC SEED and IC BUILD make them, with phi and psi
//     set as opts.Backbone asks; atoms no IC entry reaches are placed
//     next to their bonded neighbours, and side chains that run into
//     other atoms are turned about their single bonds to the least
//     crowded staggered position (unless opts.KeepRotamers).
//
// The PSF's total charge must be an integer. Coordinates are x, y, z per
// atom in angstrom, centred on the origin.
//
// Errors name the RTF line and the residue of the chain involved: a residue
// or patch the RTF lacks, a term naming an atom its residue does not have,
// a patch that does not fit its residue (ACE on PRO, which has no HN: use
// ACP), a type without MASS, a charge that is not an integer.
func BuildPeptide(rtf *RTF, seg string, residues []string, opts Options) (*topology.PSF, []float64, error) {
	if rtf == nil {
		return nil, nil, errors.New("build: nil RTF")
	}
	if seg == "" || len(seg) > 8 || strings.ContainsAny(seg, " \t\r\n!") {
		return nil, nil, fmt.Errorf("build: segment name %q must have 1 to 8 characters and no white space", seg)
	}
	if len(residues) == 0 {
		return nil, nil, errors.New("build: no residues")
	}
	c := &chain{rtf: rtf, seg: seg}
	if err := c.generate(residues, opts); err != nil {
		return nil, nil, err
	}
	psf, err := c.psf(opts.Params)
	if err != nil {
		return nil, nil, err
	}
	coords, err := c.coordinates(psf, opts)
	if err != nil {
		return nil, nil, err
	}
	return psf, coords, nil
}

// PDBAtoms returns the identities of psf's atoms for topology.WritePDB, with
// the element derived from the mass, so that the names CHARMM gives patch
// atoms (HT1, OT1, CAY) are not left to guessing.
func PDBAtoms(psf *topology.PSF) []topology.CoordAtom {
	out := make([]topology.CoordAtom, len(psf.Atoms))
	for i, a := range psf.Atoms {
		out[i] = topology.CoordAtom{
			Serial:  i + 1,
			Name:    a.Name,
			ResName: a.ResName,
			ResID:   a.ResID,
			Segment: a.Segment,
			Element: elementOf(a.Mass),
		}
	}
	return out
}

// chainAtom is an atom while the chain is being generated; terms point to
// atoms rather than indices, so that patches can insert and delete atoms.
type chainAtom struct {
	res     int // 0-based residue position
	name    string
	typ     string
	charge  float64
	group   int // chain-wide charge group id
	deleted bool
	index   int    // final 0-based index, set by number
	addedBy string // the patch that added the atom, "" for residue atoms
	retyped bool   // a patch changed the atom's type
}

type chainRes struct {
	name    string
	def     *Residue
	atoms   []*chainAtom
	deleted map[string]bool // atom names deleted by patches
}

func (r *chainRes) find(name string) *chainAtom {
	for _, a := range r.atoms {
		if a.name == name {
			return a
		}
	}
	return nil
}

// chainIC is an IC entry resolved to atoms; see IC for the meaning of the
// values.
type chainIC struct {
	atoms    [4]*chainAtom
	patched  bool // from a patch rather than a residue
	improper bool
	r1, a1   float64
	phi      float64
	a2, r2   float64
}

type chain struct {
	rtf *RTF
	seg string
	res []*chainRes

	bonds      [][2]*chainAtom
	angles     [][3]*chainAtom
	dihedrals  [][4]*chainAtom
	impropers  [][4]*chainAtom
	cmaps      [][8]*chainAtom
	ics        []chainIC
	groups     int      // charge-group ids handed out so far
	patchNotes []string // patches applied, for the PSF title

	atoms []*chainAtom // the final atoms in order, set by number
}

func (c *chain) newGroup() int {
	c.groups++
	return c.groups
}

// generate creates the atoms and terms of every residue, then applies the
// patches. Residue terms are resolved before patching, as CHARMM does, so
// that a patch deleting an atom (NTER deletes HN) also drops the residue
// terms that named it.
func (c *chain) generate(residues []string, opts Options) error {
	for i, name := range residues {
		name = topology.UpperASCII(strings.TrimSpace(name))
		def, ok := c.rtf.Residues[name]
		switch {
		case !ok:
			return fmt.Errorf("build: residue %d: %q is not defined in %s", i+1, name, c.rtf.File)
		case def.Patch:
			return fmt.Errorf("build: residue %d: %s is a patch (PRES) in %s, not a residue", i+1, name, c.rtf.File)
		}
		r := &chainRes{name: name, def: def, deleted: map[string]bool{}}
		ids := map[int]int{}
		for _, ad := range def.Atoms {
			g, ok := ids[ad.Group]
			if !ok {
				g = c.newGroup()
				ids[ad.Group] = g
			}
			r.atoms = append(r.atoms, &chainAtom{res: i, name: ad.Name, typ: ad.Type, charge: ad.Charge, group: g})
		}
		c.res = append(c.res, r)
	}
	for i, r := range c.res {
		if err := c.addTerms(r.def, []int{i}); err != nil {
			return err
		}
	}

	first, last := opts.First, opts.Last
	if first == "" {
		first = c.res[0].def.First
	}
	if last == "" {
		last = c.res[len(c.res)-1].def.Last
	}
	first, last = topology.UpperASCII(strings.TrimSpace(first)), topology.UpperASCII(strings.TrimSpace(last))
	if first == "" {
		first = "NONE"
	}
	if last == "" {
		last = "NONE"
	}
	c.patchNotes = append(c.patchNotes, "first "+first, "last "+last)
	if err := c.patch(first, []int{0}, "first patch"); err != nil {
		return err
	}
	if err := c.patch(last, []int{len(c.res) - 1}, "last patch"); err != nil {
		return err
	}
	for _, ps := range opts.Patches {
		name := topology.UpperASCII(strings.TrimSpace(ps.Name))
		if len(ps.Residues) == 0 {
			return fmt.Errorf("build: patch %s: no residues given", name)
		}
		targets := make([]int, len(ps.Residues))
		pos := make([]string, len(ps.Residues))
		for i, p := range ps.Residues {
			if p < 1 || p > len(c.res) {
				return fmt.Errorf("build: patch %s: residue position %d is outside the chain (1 to %d)", name, p, len(c.res))
			}
			targets[i] = p - 1
			pos[i] = strconv.Itoa(p)
		}
		if name == "NONE" {
			continue
		}
		c.patchNotes = append(c.patchNotes, "patch "+name+" "+strings.Join(pos, " "))
		if err := c.patch(name, targets, "patch"); err != nil {
			return err
		}
	}
	return nil
}

// refStatus says what an atom reference resolved to.
type refStatus int

const (
	refFound   refStatus = iota
	refOutside           // a neighbour past the end of the chain: drop the term
	refDeleted           // an atom a patch deleted: drop the term
)

// where describes the residue or patch def applied to targets, for errors.
func (c *chain) where(def *Residue, targets []int, line int) string {
	kind := "residue"
	if def.Patch {
		kind = "patch"
	}
	var on []string
	for _, t := range targets {
		on = append(on, fmt.Sprintf("%d %s", t+1, c.res[t].name))
	}
	return fmt.Sprintf("%s:%d: %s %s on residue %s", c.rtf.File, line, kind, def.Name, strings.Join(on, ", "))
}

// ref resolves the atom reference name of def applied to targets.
func (c *chain) ref(def *Residue, targets []int, name string, line int) (*chainAtom, refStatus, error) {
	op := 0
	if def.Patch && len(name) > 1 && name[0] >= '1' && name[0] <= '9' {
		op = int(name[0] - '1')
		name = name[1:]
		if op >= len(targets) {
			return nil, 0, fmt.Errorf("build: %s: atom %c%s refers to target residue %d, but the patch was applied to %d residue(s)",
				c.where(def, targets, line), '1'+op, name, op+1, len(targets))
		}
	}
	rel := 0
	if len(name) > 1 && (name[0] == '+' || name[0] == '-') {
		rel = 1
		if name[0] == '-' {
			rel = -1
		}
		name = name[1:]
	}
	t := targets[op] + rel
	if t < 0 || t >= len(c.res) {
		return nil, refOutside, nil
	}
	r := c.res[t]
	if a := r.find(name); a != nil {
		return a, refFound, nil
	}
	if r.deleted[name] {
		return nil, refDeleted, nil
	}
	return nil, 0, fmt.Errorf("build: %s: residue %d %s has no atom %s", c.where(def, targets, line), t+1, r.name, name)
}

// resolve resolves the atoms of one term; ok is false when the term is to
// be dropped (it reaches past the chain or names a deleted atom).
func (c *chain) resolve(def *Residue, targets []int, names []string, line int) (atoms []*chainAtom, ok bool, err error) {
	atoms = make([]*chainAtom, len(names))
	ok = true
	for i, n := range names {
		a, st, err := c.ref(def, targets, n, line)
		if err != nil {
			return nil, false, err
		}
		if st != refFound {
			ok = false
			continue
		}
		atoms[i] = a
	}
	return atoms, ok, nil
}

// addTerms adds the bonds, angles, dihedrals, impropers, CMAP and IC
// entries of def applied to targets.
func (c *chain) addTerms(def *Residue, targets []int) error {
	for _, t := range def.Bonds {
		a, ok, err := c.resolve(def, targets, t.Atoms[:], t.Line)
		if err != nil {
			return err
		}
		if ok {
			c.bonds = append(c.bonds, [2]*chainAtom(a))
		}
	}
	for _, t := range def.Angles {
		a, ok, err := c.resolve(def, targets, t.Atoms[:], t.Line)
		if err != nil {
			return err
		}
		if ok {
			c.angles = append(c.angles, [3]*chainAtom(a))
		}
	}
	for _, t := range def.Dihedrals {
		a, ok, err := c.resolve(def, targets, t.Atoms[:], t.Line)
		if err != nil {
			return err
		}
		if ok {
			c.dihedrals = append(c.dihedrals, [4]*chainAtom(a))
		}
	}
	for _, t := range def.Impropers {
		a, ok, err := c.resolve(def, targets, t.Atoms[:], t.Line)
		if err != nil {
			return err
		}
		if ok {
			c.impropers = append(c.impropers, [4]*chainAtom(a))
		}
	}
	for _, t := range def.CMaps {
		a, ok, err := c.resolve(def, targets, t.Atoms[:], t.Line)
		if err != nil {
			return err
		}
		if ok {
			c.cmaps = append(c.cmaps, [8]*chainAtom(a))
		}
	}
	// IC entries only guide the coordinates: one that cannot be resolved
	// is dropped rather than failing the build, as psfgen does.
	for _, ic := range def.ICs {
		var atoms [4]*chainAtom
		ok := true
		for i, n := range ic.Atoms {
			a, st, err := c.ref(def, targets, n, ic.Line)
			if err != nil || st != refFound {
				ok = false
				break
			}
			atoms[i] = a
		}
		if ok {
			c.ics = append(c.ics, chainIC{atoms: atoms, patched: def.Patch, improper: ic.Improper, r1: ic.R1, a1: ic.A1, phi: ic.Phi, a2: ic.A2, r2: ic.R2})
		}
	}
	return nil
}

// patch applies the patch name to the residues targets. what says where
// the patch comes from, for errors.
func (c *chain) patch(name string, targets []int, what string) error {
	if name == "NONE" {
		return nil
	}
	def, ok := c.rtf.Residues[name]
	switch {
	case !ok:
		return fmt.Errorf("build: %s %s is not defined in %s", what, name, c.rtf.File)
	case !def.Patch:
		return fmt.Errorf("build: %s %s is a residue (RESI) in %s, not a patch (PRES)", what, name, c.rtf.File)
	}
	// Atoms: an existing atom takes the patch's type, charge and group; a
	// new one goes after the atom the patch last touched in its residue
	// (or first in the residue), which is where CHARMM puts patch atoms.
	last := map[int]*chainAtom{}
	ids := map[int]int{}
	for _, ad := range def.Atoms {
		// The reader refuses "+" and "-" on ATOM names, so a patch atom
		// is in one of the targets.
		op, bare := 0, ad.Name
		if len(bare) > 1 && bare[0] >= '1' && bare[0] <= '9' {
			op, bare = int(bare[0]-'1'), bare[1:]
		}
		if op >= len(targets) {
			return fmt.Errorf("build: %s: ATOM %s refers to target residue %d, but the patch was applied to %d residue(s)",
				c.where(def, targets, ad.Line), ad.Name, op+1, len(targets))
		}
		t := targets[op]
		r := c.res[t]
		group := -1
		if ad.Group >= 0 {
			g, ok := ids[ad.Group]
			if !ok {
				g = c.newGroup()
				ids[ad.Group] = g
			}
			group = g
		}
		if a := r.find(bare); a != nil {
			if a.typ != ad.Type {
				a.retyped = true
			}
			a.typ, a.charge = ad.Type, ad.Charge
			if group >= 0 {
				a.group = group
			}
			last[t] = a
			continue
		}
		prev := last[t]
		pos := 0
		if prev != nil {
			pos = slices.Index(r.atoms, prev) + 1
		}
		if group < 0 {
			switch {
			case prev != nil:
				group = prev.group
			case len(r.atoms) > 0:
				group = r.atoms[0].group
			default:
				group = c.newGroup()
			}
		}
		a := &chainAtom{res: t, name: bare, typ: ad.Type, charge: ad.Charge, group: group, addedBy: def.Name}
		r.atoms = slices.Insert(r.atoms, pos, a)
		delete(r.deleted, bare)
		last[t] = a
	}
	for _, d := range def.Deletes {
		if err := c.deleteTerm(def, targets, d); err != nil {
			return err
		}
	}
	return c.addTerms(def, targets)
}

// deleteTerm applies one DELETE line of a patch.
func (c *chain) deleteTerm(def *Residue, targets []int, d Deletion) error {
	if d.Kind == "ATOM" {
		a, st, err := c.ref(def, targets, d.Atoms[0], d.Line)
		if err != nil || st != refFound {
			return fmt.Errorf("build: %s: DELETE ATOM %s: no such atom", c.where(def, targets, d.Line), d.Atoms[0])
		}
		r := c.res[a.res]
		r.atoms = slices.DeleteFunc(r.atoms, func(x *chainAtom) bool { return x == a })
		a.deleted = true
		r.deleted[a.name] = true
		return nil
	}
	atoms, ok, err := c.resolve(def, targets, d.Atoms, d.Line)
	if err != nil || !ok {
		// Nothing to delete: the term cannot exist.
		return nil
	}
	same := func(t []*chainAtom) bool {
		return slices.Equal(t, atoms) || slices.Equal(t, reversed(atoms))
	}
	switch d.Kind {
	case "BOND":
		c.bonds = slices.DeleteFunc(c.bonds, func(t [2]*chainAtom) bool { return same(t[:]) })
	case "ANGL":
		c.angles = slices.DeleteFunc(c.angles, func(t [3]*chainAtom) bool { return same(t[:]) })
	case "DIHE":
		c.dihedrals = slices.DeleteFunc(c.dihedrals, func(t [4]*chainAtom) bool { return same(t[:]) })
	case "IMPR":
		c.impropers = slices.DeleteFunc(c.impropers, func(t [4]*chainAtom) bool { return same(t[:]) })
	case "CMAP":
		c.cmaps = slices.DeleteFunc(c.cmaps, func(t [8]*chainAtom) bool { return slices.Equal(t[:], atoms) })
	}
	return nil
}

func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// number assigns the final indices of the atoms that survived patching.
func (c *chain) number() {
	c.atoms = c.atoms[:0]
	for _, r := range c.res {
		for _, a := range r.atoms {
			a.index = len(c.atoms)
			c.atoms = append(c.atoms, a)
		}
	}
}

// alive reports whether every atom of a term survived patching.
func alive(atoms []*chainAtom) bool {
	for _, a := range atoms {
		if a.deleted {
			return false
		}
	}
	return true
}

// indices converts terms to atom indices, dropping those with a deleted
// atom and those that name one atom twice (which a patch applied twice to
// the same residue could produce). CMAP terms share atoms between their
// two halves, so only each half must be free of repeats.
func indices[T ~[2]*chainAtom | ~[3]*chainAtom | ~[4]*chainAtom | ~[8]*chainAtom, U ~[2]int | ~[3]int | ~[4]int | ~[8]int](terms []T) []U {
	var out []U
	for _, t := range terms {
		var u U
		ok := true
		for i := range len(t) {
			if t[i].deleted {
				ok = false
				break
			}
			u[i] = t[i].index
		}
		for i := 0; ok && i < len(t); i++ {
			for j := i + 1; j < len(t) && j/4 == i/4; j++ {
				if u[i] == u[j] {
					ok = false
				}
			}
		}
		if ok {
			out = append(out, u)
		}
	}
	return out
}

// psf assembles the PSF: atoms, terms with deleted atoms dropped,
// generated angles and dihedrals, and charge groups.
func (c *chain) psf(params *topology.Parameters) (*topology.PSF, error) {
	c.number()
	psf := &topology.PSF{CMap: true, XPLOR: true}
	var missing []string
	for _, a := range c.atoms {
		m, ok := c.rtf.Masses[a.typ]
		if !ok && params != nil {
			m, ok = params.Masses[a.typ]
		}
		if !ok {
			missing = append(missing, fmt.Sprintf("%d %s %s (type %s)", a.res+1, c.res[a.res].name, a.name, a.typ))
			continue
		}
		psf.Atoms = append(psf.Atoms, topology.Atom{
			Segment: c.seg,
			ResID:   strconv.Itoa(a.res + 1),
			ResName: c.res[a.res].name,
			Name:    a.name,
			Type:    a.typ,
			Charge:  a.charge,
			Mass:    m.Mass,
		})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("build: no MASS entry in %s for the types of %d atoms:\n  %s", c.rtf.File, len(missing), strings.Join(missing, "\n  "))
	}
	if len(psf.Atoms) == 0 {
		return nil, errors.New("build: the chain has no atoms")
	}

	// Bonds, once each: a bond listed twice would count twice in the
	// energy and in the generated angles.
	seen := map[[2]int]bool{}
	for _, b := range indices[[2]*chainAtom, [2]int](c.bonds) {
		k := [2]int{min(b[0], b[1]), max(b[0], b[1])}
		if seen[k] {
			continue
		}
		seen[k] = true
		psf.Bonds = append(psf.Bonds, b)
	}
	adj := adjacency(len(psf.Atoms), psf.Bonds)
	// A patch atom nothing bonds to means the patch does not fit the
	// residue: NTER on a glycine adds an HA the residue never bonds.
	for i, a := range c.atoms {
		if a.addedBy != "" && len(adj[i]) == 0 {
			return nil, fmt.Errorf("build: patch %s adds atom %s to residue %d %s, but no bond connects it: the patch does not fit the residue",
				a.addedBy, a.name, a.res+1, c.res[a.res].name)
		}
	}
	explicitAngles := indices[[3]*chainAtom, [3]int](c.angles)
	explicitDihedrals := indices[[4]*chainAtom, [4]int](c.dihedrals)
	if c.rtf.Auto.Angles {
		psf.Angles = mergeTerms(generateAngles(adj), explicitAngles)
	} else {
		psf.Angles = mergeTerms(nil, explicitAngles)
	}
	if c.rtf.Auto.Dihedrals {
		psf.Dihedrals = mergeTerms(generateDihedrals(adj, psf.Bonds), explicitDihedrals)
	} else {
		psf.Dihedrals = mergeTerms(nil, explicitDihedrals)
	}
	psf.Impropers = indices[[4]*chainAtom, [4]int](c.impropers)
	psf.CrossTerms = indices[[8]*chainAtom, [8]int](c.cmaps)

	// Charge groups: runs of consecutive atoms with the same group id.
	for i, a := range c.atoms {
		if i == 0 || a.group != c.atoms[i-1].group {
			psf.Groups = append(psf.Groups, [3]int{i, 0, 0})
		}
	}
	for g := range psf.Groups {
		end := len(c.atoms)
		if g+1 < len(psf.Groups) {
			end = psf.Groups[g+1][0]
		}
		psf.Groups[g][1] = groupType(psf.Atoms[psf.Groups[g][0]:end])
	}

	var q float64
	for _, a := range psf.Atoms {
		q += a.Charge
	}
	if math.Abs(q-math.Round(q)) > 1e-4 {
		return nil, fmt.Errorf("build: the total charge of the chain is %.6f, not an integer: the residues or patches of %s do not add up", q, c.rtf.File)
	}

	psf.Title = []string{
		"REMARKS generated by flowmd topology/build",
		"REMARKS topology " + filepath.Base(c.rtf.File),
		fmt.Sprintf("REMARKS segment %s { %s; auto%s }", c.seg, strings.Join(c.patchNotes, "; "), autoNote(c.rtf.Auto)),
	}
	return psf, nil
}

func autoNote(f AutoFlags) string {
	s := ""
	if f.Angles {
		s += " angles"
	}
	if f.Dihedrals {
		s += " dihedrals"
	}
	if s == "" {
		s = " none"
	}
	return s
}

// groupType is CHARMM's IGPTYP: 0 for a group without charges, 1 for a
// neutral group with charges, 2 for a charged group.
func groupType(atoms []topology.Atom) int {
	var q, abs float64
	for _, a := range atoms {
		q += a.Charge
		abs += math.Abs(a.Charge)
	}
	switch {
	case abs == 0:
		return 0
	case math.Abs(q) < 1e-6:
		return 1
	}
	return 2
}

// adjacency returns the sorted neighbour lists of n atoms.
func adjacency(n int, bonds [][2]int) [][]int {
	adj := make([][]int, n)
	for _, b := range bonds {
		if b[0] == b[1] {
			continue
		}
		adj[b[0]] = append(adj[b[0]], b[1])
		adj[b[1]] = append(adj[b[1]], b[0])
	}
	for i := range adj {
		slices.Sort(adj[i])
		adj[i] = slices.Compact(adj[i])
	}
	return adj
}

// generateAngles returns every angle i-j-k over two bonds, by central atom
// and then by neighbour order (CHARMM's AUTOGENERATE ANGLES).
func generateAngles(adj [][]int) [][3]int {
	var out [][3]int
	for j, nb := range adj {
		for x := 0; x < len(nb); x++ {
			for y := x + 1; y < len(nb); y++ {
				out = append(out, [3]int{nb[x], j, nb[y]})
			}
		}
	}
	return out
}

// generateDihedrals returns every dihedral i-j-k-l over three bonds with
// i != l, once, by central bond (CHARMM's AUTOGENERATE DIHEDRALS). i == l
// would be a three-membered ring, for which psfgen and CHARMM generate no
// dihedral either.
func generateDihedrals(adj [][]int, bonds [][2]int) [][4]int {
	var out [][4]int
	for _, b := range bonds {
		j, k := b[0], b[1]
		if j == k {
			continue
		}
		for _, i := range adj[j] {
			if i == k {
				continue
			}
			for _, l := range adj[k] {
				if l == j || l == i {
					continue
				}
				out = append(out, [4]int{i, j, k, l})
			}
		}
	}
	return out
}

// mergeTerms appends to generated the explicit terms it does not already
// hold (in either direction), so an RTF that both lists terms and asks for
// their generation does not count them twice.
func mergeTerms[T ~[3]int | ~[4]int](generated, explicit []T) []T {
	key := func(t T) string {
		fwd := fmt.Sprint(t)
		r := t
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		if rev := fmt.Sprint(r); rev < fwd {
			return rev
		}
		return fwd
	}
	seen := map[string]bool{}
	var out []T
	for _, t := range append(slices.Clone(generated), explicit...) {
		k := key(t)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
	}
	return out
}

// elementOf returns the element symbol of a mass in amu, "" when no common
// element is within 0.1 amu (lone pairs, Drude particles, unusual ions).
func elementOf(m float64) string {
	table := []struct {
		sym  string
		mass float64
	}{
		{"H", 1.008}, {"HE", 4.0026}, {"LI", 6.941}, {"B", 10.811}, {"C", 12.011}, {"N", 14.007}, {"O", 15.9994},
		{"F", 18.998}, {"NE", 20.1797}, {"NA", 22.98977}, {"MG", 24.305}, {"AL", 26.98}, {"SI", 28.0855},
		{"P", 30.974}, {"S", 32.06}, {"CL", 35.45}, {"AR", 39.948}, {"K", 39.0983}, {"CA", 40.078},
		{"MN", 54.938}, {"FE", 55.847}, {"CO", 58.9332}, {"NI", 58.6934}, {"CU", 63.546}, {"ZN", 65.37},
		{"SE", 78.96}, {"BR", 79.904}, {"RB", 85.4678}, {"SR", 87.62}, {"CD", 112.411}, {"I", 126.9045},
		{"CS", 132.9054}, {"BA", 137.327},
	}
	if m > 1.5 && m < 3.5 {
		return "H" // deuterium, tritium, repartitioned hydrogens
	}
	best, bestD := "", 0.1
	for _, e := range table {
		if d := math.Abs(e.mass - m); d < bestD {
			best, bestD = e.sym, d
		}
	}
	return best
}
