// Package engine assembles runs from user inputs: it reads a molecular
// system (PSF and parameter files, or the embedded default), its
// coordinates (PDB, CRD or NumPy .npy), builds the force field, and carries
// out the jobs `mdrun` offers. Commands in cmd/mdrun only parse flags and
// print; the work is here, testable without a terminal.
package engine
