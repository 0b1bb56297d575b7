package integrators

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/internal/parallel"
)

// State is the state of B walkers of one model: what moves change and what a
// checkpoint saves.
type State struct {
	Model   forcefields.Model
	Walkers int
	Dim     int
	// Masses per coordinate (length Dim): each atom's mass three times for
	// molecules, ones for models in reduced units.
	Masses []float64
	// Units is the acceleration of a unit force on a unit mass: MDUnits for
	// molecules (kcal/mol, A, amu, ps), ReducedUnits for analytic models.
	Units float64

	X []float64 // positions, Walkers*Dim
	V []float64 // velocities, Walkers*Dim
	U []float64 // potential energy of each walker at X
	F []float64 // forces at X
	// Terms are the per-term energies at X, Walkers*len(Model.Terms()).
	Terms []float64
	// KT is each walker's k_B T in energy units. Replica exchange swaps
	// temperatures between walkers; TempIndex says which rung of the ladder
	// each walker holds (all 0 without a ladder).
	KT        []float64
	TempIndex []int

	Step int64   // moves applied so far
	Time float64 // simulated time in ps (dynamics moves only)
	// Evaluations counts the configurations whose energy was evaluated,
	// the cost measure of sampling (mode switches per million
	// evaluations compare samplers fairly).
	Evaluations int64

	// RemovedDOF is the number of degrees of freedom removed from each
	// walker by constraints such as centre-of-mass motion removal.
	RemovedDOF int

	// Equilibrating lets moves adapt their step sizes. The driver clears
	// it after equilibration: adapting during production would break
	// detailed balance.
	Equilibrating bool

	Rand *Streams

	batch forcefields.Batch
}

// NewState creates walkers at positions x (Walkers*Dim values), each at
// temperature kT (energy units), with the given masses per coordinate, and
// evaluates their energies and forces. Velocities are zero until a move or
// InitVelocities draws them.
func NewState(ctx context.Context, m forcefields.Model, x []float64, masses []float64, units float64, kT float64, seed uint64) (*State, error) {
	dim := m.Dim()
	if len(masses) != dim {
		return nil, fmt.Errorf("integrators: %d masses for a model of dimension %d", len(masses), dim)
	}
	for i, v := range masses {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("integrators: mass of coordinate %d is %v: masses must be positive", i, v)
		}
	}
	if len(x) == 0 || len(x)%dim != 0 {
		return nil, fmt.Errorf("integrators: %d coordinates is not a whole number of walkers of dimension %d", len(x), dim)
	}
	if !(kT > 0) || math.IsInf(kT, 0) {
		return nil, fmt.Errorf("integrators: kT %v must be positive", kT)
	}
	if !(units > 0) {
		return nil, fmt.Errorf("integrators: unit factor %v must be positive", units)
	}
	n := len(x) / dim
	s := &State{
		Model: m, Walkers: n, Dim: dim, Masses: append([]float64(nil), masses...), Units: units,
		X: append([]float64(nil), x...), V: make([]float64, len(x)),
		U: make([]float64, n), F: make([]float64, len(x)),
		Terms: make([]float64, n*len(m.Terms())),
		KT:    make([]float64, n), TempIndex: make([]int, n),
		Rand: NewStreams(seed, n),
	}
	for i := range s.KT {
		s.KT[i] = kT
	}
	if err := s.Evaluate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// AtomMasses expands per-atom masses to the per-coordinate masses a State
// takes.
func AtomMasses(perAtom []float64) []float64 {
	out := make([]float64, 0, 3*len(perAtom))
	for _, m := range perAtom {
		out = append(out, m, m, m)
	}
	return out
}

// Evaluate computes the energies, forces and per-term energies at X. A
// non-finite energy is an error: the system blew up.
func (s *State) Evaluate(ctx context.Context) error {
	if err := s.evaluate(ctx, s.X, s.U, s.F, s.Terms); err != nil {
		return err
	}
	return s.checkFinite(s.U)
}

// evaluate computes energies of positions x into u, f and terms. Moves that
// reject a walker whose energy is not finite call it directly.
func (s *State) evaluate(ctx context.Context, x, u, f, terms []float64) error {
	s.batch = forcefields.Batch{Coords: x, Energy: u, Forces: f, Terms: terms}
	s.Evaluations += int64(len(u))
	return s.Model.Evaluate(ctx, &s.batch)
}

func (s *State) checkFinite(u []float64) error {
	for w, e := range u {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return fmt.Errorf("walker %d: the energy is %v at step %d (the system blew up: reduce the time step or check the starting structure)", w, e, s.Step)
		}
	}
	return nil
}

// Walker returns the positions of walker w.
func (s *State) Walker(w int) []float64 { return s.X[w*s.Dim : (w+1)*s.Dim] }

// DOF returns each walker's number of degrees of freedom.
func (s *State) DOF() int { return s.Dim - s.RemovedDOF }

// KineticEnergy returns walker w's kinetic energy in energy units.
func (s *State) KineticEnergy(w int) float64 {
	v := s.V[w*s.Dim : (w+1)*s.Dim]
	var ke float64
	for i, vi := range v {
		ke += s.Masses[i] * vi * vi
	}
	return ke / (2 * s.Units)
}

// Temperature returns walker w's kinetic temperature as k_B T in energy
// units: 2 KE / DOF.
func (s *State) Temperature(w int) float64 {
	return 2 * s.KineticEnergy(w) / float64(s.DOF())
}

// InitVelocities draws every walker's velocities from the Maxwell-Boltzmann
// distribution at its temperature.
func (s *State) InitVelocities() {
	s.forWalkers(func(w int) {
		r := s.Rand.At(w)
		v := s.V[w*s.Dim : (w+1)*s.Dim]
		for i := range v {
			v[i] = math.Sqrt(s.KT[w]*s.Units/s.Masses[i]) * r.NormFloat64()
		}
	})
}

// forWalkers calls fn for every walker, spread over goroutines by walker.
// Each walker uses only its own random stream, so the result does not depend
// on the split.
func (s *State) forWalkers(fn func(w int)) {
	workers := runtime.GOMAXPROCS(0)
	parallel.For(s.Walkers, workers, max(minWalkersPerRange, s.Walkers/(4*workers)), func(lo, hi int) {
		for w := lo; w < hi; w++ {
			fn(w)
		}
	})
}

// minWalkersPerRange keeps small batches on one goroutine, where starting
// others costs more than the arithmetic they would share.
const minWalkersPerRange = 8
