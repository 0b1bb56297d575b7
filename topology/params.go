package topology

// Parameters is a CHARMM parameter set: the union of one or more PRM, RTF and
// STR files read in order, later entries overriding earlier ones.
//
// All type names are stored upper-case; keys with a direction (bonds, angles,
// dihedrals, impropers, NBFIX pairs) are stored in the canonical orientation
// returned by the key constructors below, so a lookup need not try both
// directions. Energies are kcal/mol, lengths angstrom, angles degrees, exactly
// as in the files.
type Parameters struct {
	// Files lists the files read, in order.
	Files []string

	// Masses maps atom type names to their MASS entries (from RTF, PRM ATOMS
	// sections or STR files).
	Masses map[string]MassType
	// TypeCodes maps explicit, non-negative MASS numbers to type names. It
	// resolves the numeric type codes of non-XPLOR PSF files. MASS -1 entries
	// (automatic numbering) are not recorded here.
	TypeCodes map[int]string

	Bonds     map[BondKey]BondParam
	Angles    map[AngleKey]AngleParam
	Dihedrals map[DihedralKey][]DihedralTerm // several Fourier terms per key
	Impropers map[DihedralKey][]ImproperTerm // usually one harmonic term per key
	CMaps     map[CMapKey]*CMapGrid
	LJ        map[string]LJParam
	NBFix     map[BondKey]NBFixParam

	// Nonbonded holds the options of the NONBONDED header of the last file
	// that had one.
	Nonbonded NonbondedOptions
}

// NewParameters returns an empty parameter set with CHARMM's defaults.
func NewParameters() *Parameters {
	return &Parameters{
		Masses:    map[string]MassType{},
		TypeCodes: map[int]string{},
		Bonds:     map[BondKey]BondParam{},
		Angles:    map[AngleKey]AngleParam{},
		Dihedrals: map[DihedralKey][]DihedralTerm{},
		Impropers: map[DihedralKey][]ImproperTerm{},
		CMaps:     map[CMapKey]*CMapGrid{},
		LJ:        map[string]LJParam{},
		NBFix:     map[BondKey]NBFixParam{},
		Nonbonded: DefaultNonbondedOptions(),
	}
}

// MassType is a MASS entry: MASS code type mass [element].
type MassType struct {
	Code    int    // as written; -1 means automatic numbering
	Type    string // upper-case type name
	Mass    float64
	Element string // optional element symbol, "" if absent
}

// BondParam is a harmonic bond, E = K (b - B0)^2.
type BondParam struct {
	K  float64 // kcal/mol/A^2
	B0 float64 // A
}

// AngleParam is a harmonic angle, E = K (theta - Theta0)^2, with an optional
// Urey-Bradley 1-3 term E = KUB (s - S0)^2 (KUB == 0 means none).
type AngleParam struct {
	K      float64 // kcal/mol/rad^2
	Theta0 float64 // degrees
	KUB    float64 // kcal/mol/A^2
	S0     float64 // A
}

// DihedralTerm is one Fourier term of a proper dihedral,
// E = K (1 + cos(N phi - Delta)).
type DihedralTerm struct {
	K     float64 // kcal/mol
	N     int     // multiplicity, > 0
	Delta float64 // degrees
}

// ImproperTerm is an improper dihedral. With N == 0 (all of CHARMM36) it is
// harmonic, E = K (psi - Psi0)^2 with the difference wrapped to [-180, 180);
// with N > 0 it is periodic, E = K (1 + cos(N psi - Psi0)).
type ImproperTerm struct {
	K    float64 // kcal/mol/rad^2 (harmonic) or kcal/mol (periodic)
	N    int
	Psi0 float64 // degrees
}

// CMapGrid is a CMAP correction map on a regular periodic grid. Values are
// in kcal/mol, row-major with phi the slow index and psi the fast one, as
// written in the files: Values[i*Size+j] is the energy at
// phi = -180 + i*360/Size, psi = -180 + j*360/Size (degrees).
type CMapGrid struct {
	Size   int
	Values []float64
}

// LJParam is a Lennard-Jones type: E = Eps_ij [(Rmin_ij/r)^12 - 2 (Rmin_ij/r)^6]
// with Eps_ij = sqrt(Eps_i Eps_j) and Rmin_ij = RminHalf_i + RminHalf_j. Eps is
// the positive well depth (the files write it negated). Eps14 and RminHalf14
// replace them for 1-4 pairs when Has14 is set.
type LJParam struct {
	Eps, RminHalf     float64
	Eps14, RminHalf14 float64
	Has14             bool
}

// NBFixParam overrides the combining rules for one pair of types. Emin is the
// positive well depth and Rmin the full minimum distance (not a half).
type NBFixParam struct {
	Emin, Rmin     float64
	Emin14, Rmin14 float64
	Has14          bool
}

// NonbondedOptions are the options of a NONBONDED header that change the
// energy (the cut-off values are kept for reference; flowmd's cut-off is set
// by the force-field options, not by the parameter file).
type NonbondedOptions struct {
	NBXMod int     // exclusion mode; only 5 is supported by assignment
	E14Fac float64 // scale of 1-4 electrostatics
	Eps    float64 // relative dielectric constant
	CutNB  float64 // A, 0 if not given
	CtOfNB float64
	CtOnNB float64
	// Flags are the header's keywords without values, upper-case, such as
	// ATOM CDIEL FSHIFT VATOM VDISTANCE VFSWITCH.
	Flags []string
}

// DefaultNonbondedOptions are CHARMM's defaults for the options that change
// the energy.
func DefaultNonbondedOptions() NonbondedOptions {
	return NonbondedOptions{NBXMod: 5, E14Fac: 1, Eps: 1}
}

// Wildcard is CHARMM's wildcard atom type in dihedral and improper entries.
const Wildcard = "X"

// BondKey identifies a bond (or an NBFIX pair) by its two types in canonical
// order.
type BondKey [2]string

// AngleKey identifies an angle by its three types, outer types in canonical
// order.
type AngleKey [3]string

// DihedralKey identifies a dihedral or improper by four types in canonical
// orientation (the lesser of the forward and reversed sequences).
type DihedralKey [4]string

// CMapKey identifies a CMAP term by its eight types, as written (CHARMM
// matches them in order only).
type CMapKey [8]string

// NewBondKey returns the canonical key for types a-b.
func NewBondKey(a, b string) BondKey {
	if b < a {
		a, b = b, a
	}
	return BondKey{a, b}
}

// NewAngleKey returns the canonical key for types a-b-c.
func NewAngleKey(a, b, c string) AngleKey {
	if c < a {
		a, c = c, a
	}
	return AngleKey{a, b, c}
}

// NewDihedralKey returns the canonical key for types a-b-c-d.
func NewDihedralKey(a, b, c, d string) DihedralKey {
	fwd := DihedralKey{a, b, c, d}
	rev := DihedralKey{d, c, b, a}
	if lessKey(rev[:], fwd[:]) {
		return rev
	}
	return fwd
}

func lessKey(x, y []string) bool {
	for i := range x {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}
