// Package data ships the inputs a fresh clone needs: the default system
// (alanine dipeptide, CHARMM's ALAD residue) and the CHARMM36 protein
// parameters it uses, embedded in the binary so that `mdrun` runs without any
// file. The other systems and parameter files in this folder are read from
// disk by the tests and examples.
package data

import (
	"embed"
	"io/fs"
)

//go:embed systems/dialanine/dialanine.psf systems/dialanine/dialanine.pdb toppar/par_all36m_prot.prm
var embedded embed.FS

// Default system files inside FS.
const (
	DefaultPSF    = "systems/dialanine/dialanine.psf"
	DefaultPDB    = "systems/dialanine/dialanine.pdb"
	DefaultParams = "toppar/par_all36m_prot.prm"
)

// FS returns the embedded files.
func FS() fs.FS { return embedded }
