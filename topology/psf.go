package topology

// Atom is one atom of a PSF.
type Atom struct {
	Segment string
	ResID   string // residue number with an optional insertion code, as written
	ResName string
	Name    string
	// Type is the CHARMM atom type, upper-case. For a PSF with numeric type
	// codes it is empty until the codes are resolved against MASS entries
	// (see PSF.ResolveTypeCodes).
	Type     string
	TypeCode int // numeric type code of a non-XPLOR PSF, 0 otherwise
	Charge   float64
	Mass     float64
	IMove    int // CHARMM's fixed-atom flag, kept for round trips
	// ECH and EHA are the CHEQ electronegativity and hardness columns,
	// kept for round trips when the PSF has the CHEQ flag.
	ECH, EHA float64
}

// PSF is a CHARMM protein structure file: atoms and the covalent terms.
// Indices are 0-based.
type PSF struct {
	// Flags of the header line (EXT, CMAP, CHEQ, XPLOR), upper-case.
	Ext, CMap, CHEQ, XPLOR bool
	Title                  []string // title lines, without the trailing padding

	Atoms      []Atom
	Bonds      [][2]int
	Angles     [][3]int
	Dihedrals  [][4]int
	Impropers  [][4]int
	CrossTerms [][8]int // CMAP: two dihedrals of four atoms each

	// Sections that do not change the energy, kept so that a PSF written
	// back is the PSF that was read. -1 stands for CHARMM's 0 ("none").
	Donors    [][2]int // donor heavy atom, hydrogen
	Acceptors [][2]int // acceptor, antecedent
	Groups    [][3]int // first atom, group type, move flag
	NST2      int      // number of ST2 waters, from the !NGRP header
	Molecules []int    // !MOLNT molecule number of each atom; nil if absent
}
