// Package integrators turns an energy into samples of its Boltzmann
// distribution: Langevin dynamics (BAOAB), velocity Verlet, energy
// minimization (L-BFGS), Metropolis Monte Carlo (random walk, MALA, HMC) and
// replica exchange, for many walkers at once.
//
// Everything works through forcefields.Model, so every move runs unchanged
// on the CHARMM kernel, an analytic energy or a plugin. B walkers advance
// together: each step makes one batched energy call for all of them.
//
// State is an explicit value: positions, velocities, the energies and forces
// at the positions, each walker's temperature, the step counter and the
// random streams. Moves change it; a Driver runs a Schedule of moves, owns
// stopping and calls observers. Each walker draws from its own random stream
// (a PCG generator seeded from the run's seed and the walker's index), and
// work is split between goroutines by walker, so a seeded run gives the same
// numbers bit for bit whatever the number of threads.
//
// Units: positions in A, velocities in A/ps, masses in amu, energies in
// kcal/mol, time in ps, so a force F (kcal/mol/A) on a mass m accelerates it
// by AccelPerForce*F/m A/ps^2. Analytic models use reduced units: set
// State.Units to ReducedUnits, where that factor is 1 and kT is given
// directly.
package integrators
