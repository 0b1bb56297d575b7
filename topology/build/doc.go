// Package build generates CHARMM topologies and starting coordinates from
// residue topology files, as CHARMM's GENERATE and IC BUILD or VMD's psfgen
// do. It exists so that flowmd can be tested on molecules of a realistic
// size (peptides of a few hundred atoms built from the real CHARMM36 files)
// without CHARMM or psfgen, instead of only on the small systems shipped in
// data/systems.
//
// ReadRTF reads a topology file (MASS, DECL, DEFA, AUTO, RESI, PRES, GROUP,
// ATOM, BOND, IMPR, CMAP, IC, DELETE, PATCHING, ...). BuildPeptide turns a
// sequence of its residues into a *topology.PSF and coordinates:
//
//	rtf, err := build.ReadRTFFile("data/toppar/top_all36_prot.rtf")
//	params, err := topology.ReadParameterFiles("data/toppar/par_all36m_prot.prm")
//	psf, xyz, err := build.BuildPeptide(rtf, "PROA",
//		[]string{"MET", "ALA", "GLY", "LYS"},
//		build.Options{Params: params, Backbone: build.BackboneHelix})
//
// The PSF follows CHARMM's conventions: atoms in RTF order with patch atoms
// where CHARMM puts them, terms that reach past the chain ends dropped,
// angles and dihedrals generated from the bonds, charge groups from the
// GROUP lines. It can be written with topology.WritePSF and assigned with
// topology.Assign. The coordinates come from the IC tables, with the
// backbone set to a helix or a strand and side chains turned out of the
// worst contacts; they are a starting point for minimization, with moderate
// energies, not a refined structure.
//
// Not supported: several segments at once, lone pairs and Drude particles
// (LONEPAIR and ANISOTROPY lines are read and ignored), and the DONOR and
// ACCEPTOR lists (read and ignored: they do not change the energy).
package build
