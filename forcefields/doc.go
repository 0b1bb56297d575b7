// Package forcefields defines the one batched energy interface every consumer
// of energies uses: molecular dynamics, Monte Carlo, flow proposals and
// training. A Model evaluates energies, and optionally forces and per-term
// energies, for a batch of configurations at once, writing into slices the
// caller owns so that hot loops do not allocate.
//
// Layout: a batch of B configurations of a model of dimension D (3N for N
// atoms) is one contiguous []float64 of length B*D, row-major (configuration,
// atom, xyz). Energies have length B; forces, the negative gradient, have the
// coordinates' layout; per-term energies have length B*len(Terms()), row-major
// (configuration, term). Units: angstrom, kcal/mol, kcal/mol/A.
//
// Implementations live in sub-packages (charmm/ for the CHARMM force field,
// analytic/ for the benchmark energies of the papers) and in plugins; an
// integrator never knows which one it calls.
package forcefields
