package topology

// System is a PSF with every term parameterized: what a force field compiles
// into its plan. Indices are 0-based atom indices; angles are in radians.
type System struct {
	// PSF is the topology the system was assigned from, with its type codes
	// resolved to names.
	PSF   *PSF
	Atoms []Atom // PSF.Atoms

	Bonds        []Bond
	Angles       []Angle
	UreyBradleys []UreyBradley
	Dihedrals    []Dihedral // one entry per Fourier term
	Impropers    []Improper
	CMaps        []CMap
	CMapGrids    []*CMapGrid // the distinct grids CMaps refer to

	// Lennard-Jones: each atom has an LJ type; LJPairs holds the parameters of
	// every pair of types after combining rules and NBFIX, so a kernel looks a
	// pair up by two indices.
	LJTypes    []string // distinct type names
	AtomLJType []int    // per atom, index into LJTypes
	LJPairs    []LJPair // len(LJTypes)^2, row-major, symmetric

	// Exclusions lists the 1-2 and 1-3 pairs (nbxmod 5), i < j, sorted.
	Exclusions [][2]int
	// Pairs14 lists the 1-4 pairs, i < j, sorted: atoms three bonds apart and
	// not closer, which interact with the 1-4 LJ parameters and with the
	// electrostatics scaled by E14Fac.
	Pairs14 [][2]int
	E14Fac  float64

	// Dielectric is the relative dielectric constant of the parameter file
	// (EPS of the NONBONDED header); force fields may override it.
	Dielectric float64

	Graph *Graph
}

// Bond is E = K (r - B0)^2.
type Bond struct {
	Atoms [2]int
	K, B0 float64
}

// Angle is E = K (theta - Theta0)^2, Theta0 in radians.
type Angle struct {
	Atoms     [3]int
	K, Theta0 float64
}

// UreyBradley is the 1-3 distance term of an angle, E = K (s - S0)^2.
type UreyBradley struct {
	Atoms [2]int
	K, S0 float64
}

// Dihedral is one Fourier term, E = K (1 + cos(N phi - Delta)), Delta in
// radians.
type Dihedral struct {
	Atoms [4]int
	K     float64
	N     int
	Delta float64
}

// Improper is harmonic, E = K (psi - Psi0)^2 with the difference wrapped to
// [-pi, pi), when N == 0, and periodic, E = K (1 + cos(N psi - Psi0)),
// otherwise. Psi0 in radians.
type Improper struct {
	Atoms [4]int
	K     float64
	N     int
	Psi0  float64
}

// CMap is a cross-term over two dihedrals (atoms 0-3 and 4-7) with the
// correction map CMapGrids[Grid].
type CMap struct {
	Atoms [8]int
	Grid  int
}

// LJPair holds the Lennard-Jones parameters of a pair of types,
// E = Eps [(Rmin/r)^12 - 2 (Rmin/r)^6], for ordinary and 1-4 pairs.
type LJPair struct {
	Eps, Rmin     float64
	Eps14, Rmin14 float64
}

// LJ returns the Lennard-Jones parameters of atoms i and j.
func (s *System) LJ(i, j int) LJPair {
	n := len(s.LJTypes)
	return s.LJPairs[s.AtomLJType[i]*n+s.AtomLJType[j]]
}

// NumAtoms returns the number of atoms.
func (s *System) NumAtoms() int { return len(s.Atoms) }

// Masses returns the atomic masses in amu.
func (s *System) Masses() []float64 {
	m := make([]float64, len(s.Atoms))
	for i, a := range s.Atoms {
		m[i] = a.Mass
	}
	return m
}

// Charges returns the partial charges in e.
func (s *System) Charges() []float64 {
	q := make([]float64, len(s.Atoms))
	for i, a := range s.Atoms {
		q[i] = a.Charge
	}
	return q
}

// Counts are the sizes of a System, as `mdrun topology` reports them.
type Counts struct {
	Atoms        int     `json:"atoms"`
	HeavyAtoms   int     `json:"heavy_atoms"`
	Bonds        int     `json:"bonds"`
	Angles       int     `json:"angles"`
	UreyBradleys int     `json:"urey_bradley"`
	Dihedrals    int     `json:"dihedrals"`      // PSF dihedral entries
	DihedralTerm int     `json:"dihedral_terms"` // Fourier terms over them
	Impropers    int     `json:"impropers"`
	CMaps        int     `json:"cmap"`
	Pairs14      int     `json:"pairs_14"`
	Exclusions   int     `json:"excluded_pairs"`
	TotalCharge  float64 `json:"total_charge"`
}

// Counts returns the sizes of the system.
func (s *System) Counts() Counts {
	c := Counts{
		Atoms:        len(s.Atoms),
		HeavyAtoms:   len(s.Graph.Heavy),
		Bonds:        len(s.Bonds),
		Angles:       len(s.Angles),
		UreyBradleys: len(s.UreyBradleys),
		Dihedrals:    len(s.PSF.Dihedrals),
		DihedralTerm: len(s.Dihedrals),
		Impropers:    len(s.Impropers),
		CMaps:        len(s.CMaps),
		Pairs14:      len(s.Pairs14),
		Exclusions:   len(s.Exclusions),
	}
	for _, a := range s.Atoms {
		c.TotalCharge += a.Charge
	}
	return c
}
