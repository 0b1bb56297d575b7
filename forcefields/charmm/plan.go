package charmm

import (
	"fmt"
	"math"
	"slices"

	"github.com/flowmd/flowmd/topology"
)

// Names of the per-term energies, in the order a Model reports them. The
// optional terms follow when enabled.
const (
	TermBond         = "bond"
	TermAngle        = "angle"
	TermUreyBradley  = "urey_bradley"
	TermDihedral     = "dihedral"
	TermImproper     = "improper"
	TermCMap         = "cmap"
	TermLennardJones = "lennard_jones"
	TermCoulomb      = "coulomb"
	TermClipping     = "clipping"
	TermAlignment    = "alignment"
)

// Index of each term in the per-term energies.
const (
	iBond = iota
	iAngle
	iUB
	iDihedral
	iImproper
	iCMap
	iLJ
	iCoulomb
	numBaseTerms
)

var baseTerms = [numBaseTerms]string{TermBond, TermAngle, TermUreyBradley, TermDihedral, TermImproper, TermCMap, TermLennardJones, TermCoulomb}

// maxPairList is the largest system whose non-bonded pairs are stored as an
// explicit list when there is no cut-off; larger systems loop over all pairs
// and skip the excluded ones, reading only positions, charges and types.
// Measured (energies and forces, 2 cores): the list is faster for
// dialanine, 22 atoms (385,000 against 347,000 configurations/s in batches
// of 1,024), the row loop for a 403-atom peptide (3,281 against 1,576 in
// batches of 64), whose 81,000-pair list no longer fits in cache.
const maxPairList = 128

// Plan is a System compiled for the kernels: per term, flat arrays of atom
// indices and parameters (structure of arrays), with every unit conversion
// and combining rule already applied. A Plan is read-only once built and is
// shared by all kernels and goroutines.
type Plan struct {
	NumAtoms int
	Options  Options // with defaults applied

	Bonds     bondTerms
	Angles    angleTerms
	UB        bondTerms
	Dihedrals dihedralTerms
	Impropers improperTerms
	CMaps     cmapTerms

	// Pairs are the non-bonded pairs of a small system without cut-off,
	// including the 1-4 pairs with their parameters; nil otherwise.
	Pairs *pairTerms
	// Pairs14 are the 1-4 pairs when Pairs is nil.
	Pairs14 pairTerms
	// Nonbonded holds what the all-pairs and cut-off loops need when Pairs
	// is nil.
	Nonbonded nonbondedTable

	form  nbForm
	clip  *clipParams
	align *alignment

	// parts is the number of parts a configuration's terms are split into
	// (1 for small systems): a fixed number, so that the sums, and so the
	// results, are the same with one worker or many. rowSplit balances the
	// rows of the all-pairs loop between the parts.
	parts    int
	rowSplit []int
}

// Systems with at least this many non-bonded pairs are split into
// largeSystemParts parts, which run concurrently when a batch has fewer
// configurations than workers.
const (
	largeSystemPairs = 20000
	largeSystemParts = 8
)

// splitParts chooses the parts of the plan.
func (p *Plan) splitParts() {
	p.parts = 1
	if p.NumPairs() >= largeSystemPairs {
		p.parts = largeSystemParts
	}
	// Row i of the all-pairs loop holds n-1-i pairs.
	n := p.NumAtoms
	total := n * (n - 1) / 2
	p.rowSplit = make([]int, p.parts+1)
	row, done := 0, 0
	for k := 1; k < p.parts; k++ {
		for row < n && done < k*total/p.parts {
			done += n - 1 - row
			row++
		}
		p.rowSplit[k] = row
	}
	p.rowSplit[p.parts] = n
}

type bondTerms struct {
	I, J  []int32
	K, R0 []float64
}

type angleTerms struct {
	I, J, K   []int32
	Kt, Theta []float64
}

// dihedralTerms groups the Fourier terms by their four atoms, so the angle
// and its derivatives are computed once per PSF dihedral. The terms of
// quadruple q are Start[q]..Start[q+1]-1.
type dihedralTerms struct {
	I, J, K, L []int32
	Start      []int32
	Kd         []float64
	N          []int32
	Delta      []float64 // radians
	CosDelta   []float64
	SinDelta   []float64
}

type improperTerms struct {
	I, J, K, L []int32
	Kp         []float64
	N          []int32
	Psi0       []float64
}

type cmapTerms struct {
	Atoms []int32 // 8 per term
	Grid  []int32
	Grids []cmapGrid
}

// pairTerms are non-bonded pairs with their combined parameters: Lennard-
// Jones E = A/r^12 - B/r^6 and Coulomb E = QQ/r (QQ includes the Coulomb
// constant, the dielectric and, for 1-4 pairs, e14fac).
type pairTerms struct {
	I, J    []int32
	A, B    []float64
	QQ      []float64
	LJRth   []float64 // clipping radius of Lennard-Jones; nil without clipping
	CoulRth []float64 // clipping radius of Coulomb; nil without clipping
}

func (p *pairTerms) add(i, j int, a, b, qq float64) {
	p.I = append(p.I, int32(i))
	p.J = append(p.J, int32(j))
	p.A = append(p.A, a)
	p.B = append(p.B, b)
	p.QQ = append(p.QQ, qq)
}

// nonbondedTable holds per-atom non-bonded data for the loops that do not
// store pairs: charges scaled so that Q[i]*Q[j] = QQ, Lennard-Jones A and B
// by type pair, and the special partners (excluded and 1-4) of each atom.
type nonbondedTable struct {
	Q            []float64
	Type         []int32
	NumTypes     int
	A, B         []float64 // NumTypes^2
	SpecialStart []int32   // CSR: partners of atom i are Special[SpecialStart[i]:SpecialStart[i+1]]
	Special      []int32   // sorted per atom, only partners j > i
}

// lj returns the A and B coefficients of E = A/r^12 - B/r^6 for well depth
// eps and minimum distance rmin: E = eps [(rmin/r)^12 - 2 (rmin/r)^6].
func lj(eps, rmin float64) (a, b float64) {
	r6 := rmin * rmin * rmin
	r6 *= r6
	return eps * r6 * r6, 2 * eps * r6
}

// Compile turns a parameterized System into a Plan.
func Compile(sys *topology.System, opts Options) (*Plan, error) {
	o, err := opts.withDefaults(sys.Dielectric)
	if err != nil {
		return nil, err
	}
	n := len(sys.Atoms)
	if n == 0 {
		return nil, fmt.Errorf("the system has no atoms")
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("the system has %d atoms, more than a plan can index", n)
	}
	p := &Plan{NumAtoms: n, Options: o, form: newNBForm(o)}

	for _, b := range sys.Bonds {
		p.Bonds.add(b.Atoms[0], b.Atoms[1], b.K, b.B0)
	}
	for _, u := range sys.UreyBradleys {
		p.UB.add(u.Atoms[0], u.Atoms[1], u.K, u.S0)
	}
	for _, a := range sys.Angles {
		p.Angles.I = append(p.Angles.I, int32(a.Atoms[0]))
		p.Angles.J = append(p.Angles.J, int32(a.Atoms[1]))
		p.Angles.K = append(p.Angles.K, int32(a.Atoms[2]))
		p.Angles.Kt = append(p.Angles.Kt, a.K)
		p.Angles.Theta = append(p.Angles.Theta, a.Theta0)
	}
	p.compileDihedrals(sys.Dihedrals)
	for _, d := range sys.Impropers {
		t := &p.Impropers
		t.I = append(t.I, int32(d.Atoms[0]))
		t.J = append(t.J, int32(d.Atoms[1]))
		t.K = append(t.K, int32(d.Atoms[2]))
		t.L = append(t.L, int32(d.Atoms[3]))
		t.Kp = append(t.Kp, d.K)
		t.N = append(t.N, int32(d.N))
		t.Psi0 = append(t.Psi0, d.Psi0)
	}
	for _, g := range sys.CMapGrids {
		grid, err := newCMapGrid(g)
		if err != nil {
			return nil, err
		}
		p.CMaps.Grids = append(p.CMaps.Grids, grid)
	}
	for _, c := range sys.CMaps {
		for _, a := range c.Atoms {
			p.CMaps.Atoms = append(p.CMaps.Atoms, int32(a))
		}
		p.CMaps.Grid = append(p.CMaps.Grid, int32(c.Grid))
	}
	p.compileNonbonded(sys)
	p.splitParts()
	if o.Clip != nil {
		p.clip = newClipParams(p, o.Clip)
	}
	if o.Align != nil {
		if len(o.Align.Reference) != 3*n {
			return nil, fmt.Errorf("alignment penalty: the reference has %d coordinates, want %d (%d atoms)", len(o.Align.Reference), 3*n, n)
		}
		if o.Align.Atoms != nil && len(o.Align.Atoms) < 3 {
			return nil, fmt.Errorf("alignment penalty: %d atoms cannot fix an orientation, need at least 3", len(o.Align.Atoms))
		}
		seen := make([]bool, n)
		for _, a := range o.Align.Atoms {
			if a < 0 || a >= n || seen[a] {
				return nil, fmt.Errorf("alignment penalty: atom index %d out of range 0..%d or repeated", a, n-1)
			}
			seen[a] = true
		}
		p.align = newAlignment(o.Align)
	}
	return p, nil
}

func (b *bondTerms) add(i, j int, k, r0 float64) {
	b.I = append(b.I, int32(i))
	b.J = append(b.J, int32(j))
	b.K = append(b.K, k)
	b.R0 = append(b.R0, r0)
}

func (p *Plan) compileDihedrals(ds []topology.Dihedral) {
	t := &p.Dihedrals
	for i, d := range ds {
		// Assignment emits the Fourier terms of one PSF dihedral in a row.
		if i == 0 || d.Atoms != ds[i-1].Atoms {
			t.I = append(t.I, int32(d.Atoms[0]))
			t.J = append(t.J, int32(d.Atoms[1]))
			t.K = append(t.K, int32(d.Atoms[2]))
			t.L = append(t.L, int32(d.Atoms[3]))
			t.Start = append(t.Start, int32(len(t.Kd)))
		}
		t.Kd = append(t.Kd, d.K)
		t.N = append(t.N, int32(d.N))
		t.Delta = append(t.Delta, d.Delta)
		t.CosDelta = append(t.CosDelta, math.Cos(d.Delta))
		t.SinDelta = append(t.SinDelta, math.Sin(d.Delta))
	}
	t.Start = append(t.Start, int32(len(t.Kd)))
}

func (p *Plan) compileNonbonded(sys *topology.System) {
	o := p.Options
	n := len(sys.Atoms)
	coul := o.CoulombConstant / o.Dielectric
	e14 := sys.E14Fac

	// Special partners of each atom (excluded or 1-4), j > i.
	special := make([][]int32, n)
	for _, e := range sys.Exclusions {
		special[e[0]] = append(special[e[0]], int32(e[1]))
	}
	for _, e := range sys.Pairs14 {
		i, j := e[0], e[1]
		special[i] = append(special[i], int32(j))
		pr := sys.LJ(i, j)
		a, b := lj(pr.Eps14, pr.Rmin14)
		p.Pairs14.add(i, j, a, b, e14*coul*sys.Atoms[i].Charge*sys.Atoms[j].Charge)
	}
	for i := range special {
		slices.Sort(special[i])
	}

	if o.Cutoff == 0 && n <= maxPairList {
		// Explicit list: every pair that is not special, then the 1-4 pairs.
		pairs := &pairTerms{}
		for i := 0; i < n; i++ {
			s := special[i]
			for j := i + 1; j < n; j++ {
				if len(s) > 0 && s[0] == int32(j) {
					s = s[1:]
					continue
				}
				pr := sys.LJ(i, j)
				a, b := lj(pr.Eps, pr.Rmin)
				pairs.add(i, j, a, b, coul*sys.Atoms[i].Charge*sys.Atoms[j].Charge)
			}
		}
		p14 := p.Pairs14
		for k := range p14.I {
			pairs.add(int(p14.I[k]), int(p14.J[k]), p14.A[k], p14.B[k], p14.QQ[k])
		}
		p.Pairs = pairs
		p.Pairs14 = pairTerms{}
		return
	}

	t := &p.Nonbonded
	t.Q = make([]float64, n)
	t.Type = make([]int32, n)
	sq := math.Sqrt(coul)
	for i, at := range sys.Atoms {
		t.Q[i] = sq * at.Charge
		t.Type[i] = int32(sys.AtomLJType[i])
	}
	t.NumTypes = len(sys.LJTypes)
	t.A = make([]float64, t.NumTypes*t.NumTypes)
	t.B = make([]float64, t.NumTypes*t.NumTypes)
	for k, pr := range sys.LJPairs {
		t.A[k], t.B[k] = lj(pr.Eps, pr.Rmin)
	}
	t.SpecialStart = make([]int32, n+1)
	for i, s := range special {
		t.Special = append(t.Special, s...)
		t.SpecialStart[i+1] = int32(len(t.Special))
	}
}

// Terms returns the names of the per-term energies the plan produces.
func (p *Plan) Terms() []string {
	t := append([]string(nil), baseTerms[:]...)
	if p.clip != nil {
		t = append(t, TermClipping)
	}
	if p.align != nil {
		t = append(t, TermAlignment)
	}
	return t
}

// NumPairs returns the number of non-bonded pairs evaluated without cut-off,
// 1-4 pairs included.
func (p *Plan) NumPairs() int {
	if p.Pairs != nil {
		return len(p.Pairs.I)
	}
	n := p.NumAtoms
	return n*(n-1)/2 - len(p.Nonbonded.Special) + len(p.Pairs14.I)
}
