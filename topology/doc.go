// Package topology reads the files chemists already have and turns them into a
// fully parameterized molecular system.
//
// It owns the CHARMM readers (PSF topologies; PRM, RTF and STR parameter files),
// the coordinate readers (PDB and CRD), the assignment of force-field parameters
// to the terms of a topology with CHARMM's matching rules, the exclusion and 1-4
// pair lists (nbxmod 5), and the molecular graph (neighbours, heavy atoms and the
// hydrogens bonded to each, named dihedrals such as backbone phi/psi).
//
// The package is plain data with no energy arithmetic: the force fields in
// forcefields/ compile a System into their own flat plans.
//
// Conventions: atom indices are 0-based everywhere in Go, although CHARMM files
// number atoms from 1. Lengths are in angstrom, energies in kcal/mol, angles in
// the parameter types are in degrees exactly as written in the files and are
// converted to radians in the assigned System. Atom type names are matched
// case-insensitively, as CHARMM does, by upper-casing them when read.
//
// Errors: every reader returns a *ParseError naming the file, the line and what
// was expected for malformed input; missing parameters are all collected into
// one *MissingParametersError. No reader panics on any input; fuzz tests hold
// them to that.
package topology
