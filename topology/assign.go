package topology

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

const deg = math.Pi / 180

// Assign parameterizes every term of psf with CHARMM's matching rules:
//   - bonds and angles match their types in either direction;
//   - dihedrals match exactly (either direction) before the wildcard form
//     X-B-C-X, and every Fourier term of the match applies;
//   - impropers match exactly before the wildcard forms, tried in CHARMM's
//     order A-X-X-D, X-B-C-D, X-X-C-D (each in either direction);
//   - CMAP terms match their eight types in order (or all reversed);
//   - Lennard-Jones pairs combine by the geometric mean of the well depths
//     and the sum of the Rmin/2 radii, with the 1-4 values for 1-4 pairs
//     where a type has them, and NBFIX entries replacing pairs of types;
//   - exclusions follow nbxmod 5: 1-2 and 1-3 pairs are excluded and 1-4
//     pairs interact with their special parameters.
//
// psf is not modified; numeric type codes are resolved against the MASS
// entries of params. Every term without parameters is reported at once in a
// *MissingParametersError.
func Assign(psf *PSF, params *Parameters) (*System, error) {
	if params.Nonbonded.NBXMod != 5 && params.Nonbonded.NBXMod != -5 {
		return nil, fmt.Errorf("nonbonded exclusion mode nbxmod %d is not supported: flowmd implements nbxmod 5 (the CHARMM36 setting)", params.Nonbonded.NBXMod)
	}
	for _, f := range params.Nonbonded.Flags {
		if f == "GEOM" {
			return nil, fmt.Errorf("the NONBONDED header asks for geometric combining rules (GEOM): flowmd implements CHARMM's arithmetic rule for Rmin only")
		}
	}
	resolved, err := psf.WithTypeNames(params)
	if err != nil {
		return nil, err
	}
	a := assigner{psf: resolved, params: params, sys: &System{
		PSF:        resolved,
		Atoms:      resolved.Atoms,
		E14Fac:     params.Nonbonded.E14Fac,
		Dielectric: params.Nonbonded.Eps,
	}}
	a.bonds()
	a.angles()
	a.dihedrals()
	a.impropers()
	a.cmaps()
	a.lennardJones()
	if len(a.missing) > 0 {
		return nil, &MissingParametersError{Missing: a.missing}
	}
	a.sys.Graph = NewGraph(resolved)
	a.sys.Exclusions, a.sys.Pairs14 = a.sys.Graph.ExclusionsNBXMod5()
	return a.sys, nil
}

// WithTypeNames returns psf with numeric type codes replaced by the type
// names of params' MASS entries (a copy when there is anything to resolve).
func (psf *PSF) WithTypeNames(params *Parameters) (*PSF, error) {
	need := false
	for _, at := range psf.Atoms {
		if at.Type == "" {
			need = true
			break
		}
	}
	if !need {
		return psf, nil
	}
	out := *psf
	out.Atoms = append([]Atom(nil), psf.Atoms...)
	var unknown []string
	for i := range out.Atoms {
		at := &out.Atoms[i]
		if at.Type != "" {
			continue
		}
		name, ok := params.TypeCodes[at.TypeCode]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("atom %d %s: type code %d", i+1, at.Name, at.TypeCode))
			continue
		}
		at.Type = name
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("the PSF uses numeric atom type codes that no MASS entry with an explicit number defines (read the RTF it was built with, or use an XPLOR PSF):\n  %s", strings.Join(unknown, "\n  "))
	}
	return &out, nil
}

type assigner struct {
	psf     *PSF
	params  *Parameters
	sys     *System
	missing []MissingParameter
}

func (a *assigner) types(idx ...int) []string {
	t := make([]string, len(idx))
	for i, x := range idx {
		t[i] = a.psf.Atoms[x].Type
	}
	return t
}

func (a *assigner) miss(kind string, idx ...int) {
	names := make([]string, len(idx))
	for i, x := range idx {
		names[i] = a.psf.AtomLabel(x)
	}
	a.missing = append(a.missing, MissingParameter{Kind: kind, Atoms: idx, Names: names, Types: a.types(idx...)})
}

func (a *assigner) bonds() {
	for _, b := range a.psf.Bonds {
		t := a.types(b[0], b[1])
		p, ok := a.params.Bonds[NewBondKey(t[0], t[1])]
		if !ok {
			a.miss("bond", b[0], b[1])
			continue
		}
		a.sys.Bonds = append(a.sys.Bonds, Bond{Atoms: b, K: p.K, B0: p.B0})
	}
}

func (a *assigner) angles() {
	for _, an := range a.psf.Angles {
		t := a.types(an[0], an[1], an[2])
		p, ok := a.params.Angles[NewAngleKey(t[0], t[1], t[2])]
		if !ok {
			a.miss("angle", an[0], an[1], an[2])
			continue
		}
		a.sys.Angles = append(a.sys.Angles, Angle{Atoms: an, K: p.K, Theta0: p.Theta0 * deg})
		if p.KUB != 0 {
			a.sys.UreyBradleys = append(a.sys.UreyBradleys, UreyBradley{Atoms: [2]int{an[0], an[2]}, K: p.KUB, S0: p.S0})
		}
	}
}

// DihedralTerms returns the Fourier terms for a proper dihedral of types
// t1-t2-t3-t4: the exact match, else the X-t2-t3-X wildcard.
func (p *Parameters) DihedralTerms(t1, t2, t3, t4 string) ([]DihedralTerm, bool) {
	if terms, ok := p.Dihedrals[NewDihedralKey(t1, t2, t3, t4)]; ok {
		return terms, true
	}
	terms, ok := p.Dihedrals[NewDihedralKey(Wildcard, t2, t3, Wildcard)]
	return terms, ok
}

// ImproperTerms returns the terms for an improper of types t1-t2-t3-t4 with
// CHARMM's precedence: exact, A-X-X-D, X-B-C-D, X-X-C-D.
func (p *Parameters) ImproperTerms(t1, t2, t3, t4 string) ([]ImproperTerm, bool) {
	for _, k := range [...]DihedralKey{
		NewDihedralKey(t1, t2, t3, t4),
		NewDihedralKey(t1, Wildcard, Wildcard, t4),
		NewDihedralKey(Wildcard, t2, t3, t4),
		NewDihedralKey(Wildcard, Wildcard, t3, t4),
	} {
		if terms, ok := p.Impropers[k]; ok {
			return terms, true
		}
	}
	return nil, false
}

func (a *assigner) dihedrals() {
	for _, d := range a.psf.Dihedrals {
		t := a.types(d[:]...)
		terms, ok := a.params.DihedralTerms(t[0], t[1], t[2], t[3])
		if !ok {
			a.miss("dihedral", d[:]...)
			continue
		}
		for _, term := range terms {
			a.sys.Dihedrals = append(a.sys.Dihedrals, Dihedral{Atoms: d, K: term.K, N: term.N, Delta: term.Delta * deg})
		}
	}
}

func (a *assigner) impropers() {
	for _, d := range a.psf.Impropers {
		t := a.types(d[:]...)
		terms, ok := a.params.ImproperTerms(t[0], t[1], t[2], t[3])
		if !ok {
			a.miss("improper", d[:]...)
			continue
		}
		for _, term := range terms {
			a.sys.Impropers = append(a.sys.Impropers, Improper{Atoms: d, K: term.K, N: term.N, Psi0: term.Psi0 * deg})
		}
	}
}

func (a *assigner) cmaps() {
	index := map[*CMapGrid]int{}
	for _, c := range a.psf.CrossTerms {
		t := a.types(c[:]...)
		var key, rev CMapKey
		for i := range key {
			key[i] = t[i]
			rev[i] = t[7-i]
		}
		grid, ok := a.params.CMaps[key]
		if !ok {
			grid, ok = a.params.CMaps[rev]
		}
		if !ok {
			a.miss("cmap", c[:]...)
			continue
		}
		g, seen := index[grid]
		if !seen {
			g = len(a.sys.CMapGrids)
			index[grid] = g
			a.sys.CMapGrids = append(a.sys.CMapGrids, grid)
		}
		a.sys.CMaps = append(a.sys.CMaps, CMap{Atoms: c, Grid: g})
	}
}

func (a *assigner) lennardJones() {
	typeIndex := map[string]int{}
	s := a.sys
	s.AtomLJType = make([]int, len(a.psf.Atoms))
	reported := map[string]bool{}
	for i, at := range a.psf.Atoms {
		if _, ok := a.params.LJ[at.Type]; !ok {
			if !reported[at.Type] {
				reported[at.Type] = true
				a.miss("nonbonded", i)
			}
			continue
		}
		ti, ok := typeIndex[at.Type]
		if !ok {
			ti = len(s.LJTypes)
			typeIndex[at.Type] = ti
			s.LJTypes = append(s.LJTypes, at.Type)
		}
		s.AtomLJType[i] = ti
	}
	n := len(s.LJTypes)
	s.LJPairs = make([]LJPair, n*n)
	for i, ti := range s.LJTypes {
		for j, tj := range s.LJTypes {
			s.LJPairs[i*n+j] = a.params.LJPairOf(ti, tj)
		}
	}
}

// LJPairOf returns the Lennard-Jones parameters of a pair of types: the
// NBFIX entry when there is one, else the combining rules (geometric mean of
// the well depths, sum of the Rmin/2 radii). For 1-4 pairs, a type's 1-4
// values replace its ordinary ones where given; an NBFIX entry without 1-4
// values applies to 1-4 pairs too, as in CHARMM. Both types must be in p.LJ.
func (p *Parameters) LJPairOf(ti, tj string) LJPair {
	if fix, ok := p.NBFix[NewBondKey(ti, tj)]; ok {
		pair := LJPair{Eps: fix.Emin, Rmin: fix.Rmin, Eps14: fix.Emin, Rmin14: fix.Rmin}
		if fix.Has14 {
			pair.Eps14, pair.Rmin14 = fix.Emin14, fix.Rmin14
		}
		return pair
	}
	a, b := p.LJ[ti], p.LJ[tj]
	pair := LJPair{Eps: math.Sqrt(a.Eps * b.Eps), Rmin: a.RminHalf + b.RminHalf}
	a14e, a14r := a.Eps, a.RminHalf
	if a.Has14 {
		a14e, a14r = a.Eps14, a.RminHalf14
	}
	b14e, b14r := b.Eps, b.RminHalf
	if b.Has14 {
		b14e, b14r = b.Eps14, b.RminHalf14
	}
	pair.Eps14, pair.Rmin14 = math.Sqrt(a14e*b14e), a14r+b14r
	return pair
}

// AtomLabel names atom i for messages: its name, with the residue and segment
// when the PSF has more than one of them.
func (psf *PSF) AtomLabel(i int) string {
	at := psf.Atoms[i]
	if len(psf.Atoms) > 0 {
		first := psf.Atoms[0]
		last := psf.Atoms[len(psf.Atoms)-1]
		if first.Segment == last.Segment && first.ResID == last.ResID {
			return at.Name
		}
	}
	return at.Segment + ":" + at.ResName + at.ResID + ":" + at.Name
}

// sortPairs sorts index pairs lexicographically.
func sortPairs(p [][2]int) {
	sort.Slice(p, func(i, j int) bool {
		if p[i][0] != p[j][0] {
			return p[i][0] < p[j][0]
		}
		return p[i][1] < p[j][1]
	})
}
