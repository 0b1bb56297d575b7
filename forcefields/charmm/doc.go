// Package charmm implements the CHARMM36 energy as a batched
// forcefields.Model: bonds, angles, Urey-Bradley, dihedrals (multi-term),
// harmonic impropers, CMAP, Lennard-Jones (with 1-4 parameters and NBFIX) and
// Coulomb, in vacuum with no cut-off by default, or with a cut-off, CHARMM
// force switching (vfswitch) and force shifting (fshift) and a cell list for
// larger systems.
//
// A topology.System is compiled once into a Plan: flat index and parameter
// arrays per term (structure of arrays). Kernels loop over the plan:
//
//   - the reference kernel (reference.go) is written for reading, one
//     term and one configuration at a time with the textbook formulas; it is
//     the ground truth the other kernels are tested against;
//   - the CPU kernel (kernel.go) is the one users get: no allocation per
//     call, dihedrals without trigonometric calls, parallel over the batch
//     and, for a large system and a small batch, over terms.
//
// Both run the same shared test body: agreement with OpenMM on the reference
// systems, finite differences of every term, and agreement with each other.
//
// Options add two terms of the thesis (Felardos 2022, sections 2.3 and 2.4),
// both off by default and reported as their own per-term energies:
// per-term clipping, which replaces each hard term by its tangent beyond a
// gradient threshold (reported as "clipping", the clipped minus the unclipped
// energy, so that samples can be reweighted to the unclipped energy), and the
// alignment penalty towards a reference configuration ("alignment").
package charmm
