package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/flowmd/flowmd/forcefields"
)

// TermPlacerTether names the tether's energy among a placed energy's terms.
const TermPlacerTether = "placer_tether"

// placerVJP is what a placed energy needs of a flow: its hydrogen placer
// G^H, and the vector-Jacobian product of the last kept placement, for
// forces only (no parameter gradient).
type placerVJP interface {
	Complete(ctx context.Context, x []float64, keep bool) ([]float64, error)
	InputVJP(ctx context.Context, dout, dld []float64) ([]float64, error)
}

// placedEnergy is the energy that data-free training of a flow with a
// deterministic hydrogen placer converges to (thesis section 3.3 and App.
// A.2, eq. 84): U(x^C, G^H(x^C)), the energy of the heavy atoms x^C with
// the hydrogens where the placer puts them, not the Boltzmann distribution
// of the molecule, whose heavy atoms' marginal integrates over the
// hydrogens. Sampling it says what a placer flow's losses aim at, for
// example which mode fractions L^2_+ should converge to.
//
// The hydrogens keep coordinates of their own, tethered to the placed
// ones:
//
//	E(x) = U(x^C, G^H(x^C)) + (k/2) |x^H - G^H(x^C)|²,
//
// so that samplers move whole molecules as usual and trajectories look
// like molecules. The tether changes nothing on the heavy atoms: for fixed
// x^C its integral over x^H is (2 pi kT/k)^(3 N_H / 2), the same for every
// x^C, so the heavy atoms' marginal of exp(-E/kT) is exactly
// exp(-U(x^C, G^H(x^C))/kT), and the hydrogens fluctuate around the placed
// positions with variance kT/k per coordinate.
type placedEnergy struct {
	inner  forcefields.Model
	flow   placerVJP
	placed []int   // the placed atoms' coordinates, 3 per atom
	k      float64 // tether stiffness, kcal/mol/Å²
	terms  []string
	// mu keeps a placement and its VJP together: the flow holds one
	// kept pass at a time.
	mu sync.Mutex
}

// newPlacedEnergy wraps inner with the placer of a flow that generates the
// atoms generated (their indices) and places the others.
func newPlacedEnergy(inner forcefields.Model, flow placerVJP, generated []int, tether float64) (*placedEnergy, error) {
	atoms := inner.Dim() / 3
	if inner.Dim()%3 != 0 {
		return nil, fmt.Errorf("the placer needs a molecule: the energy has %d coordinates", inner.Dim())
	}
	if !(tether > 0) {
		return nil, fmt.Errorf("the tether's stiffness %v kcal/mol/Å² must be positive", tether)
	}
	gen := make([]bool, atoms)
	for _, a := range generated {
		if a < 0 || a >= atoms {
			return nil, fmt.Errorf("the flow generates atom %d of a molecule of %d", a+1, atoms)
		}
		gen[a] = true
	}
	var placed []int
	for a, g := range gen {
		if !g {
			placed = append(placed, 3*a, 3*a+1, 3*a+2)
		}
	}
	if len(placed) == 0 {
		return nil, fmt.Errorf("the flow places no atoms: its density covers every atom, so its target is the molecule's own Boltzmann distribution")
	}
	terms := append(append([]string(nil), inner.Terms()...), TermPlacerTether)
	return &placedEnergy{inner: inner, flow: flow, placed: placed, k: tether, terms: terms}, nil
}

func (m *placedEnergy) Dim() int        { return m.inner.Dim() }
func (m *placedEnergy) Terms() []string { return m.terms }

// Evaluate places the batch's hydrogens, evaluates the inner energy there
// and adds the tether. The forces are minus the gradient of E: on the
// heavy atoms, the inner forces at the placed configuration carried through
// the placer's Jacobian (its VJP), together with the tether's pull on the
// placed positions; on the hydrogens, the tether alone.
func (m *placedEnergy) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	nt := len(m.terms)
	if err := b.Check(m.Dim(), nt); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, dim := b.Size(), m.Dim()
	xp, err := m.flow.Complete(ctx, b.Coords, b.Forces != nil)
	if err != nil {
		return fmt.Errorf("placing the hydrogens: %w", err)
	}
	if len(xp) != len(b.Coords) {
		return fmt.Errorf("placing the hydrogens: %d coordinates back for %d", len(xp), len(b.Coords))
	}
	ib := &forcefields.Batch{Coords: xp, Energy: b.Energy}
	if b.Forces != nil {
		ib.Forces = make([]float64, len(b.Forces))
	}
	if b.Terms != nil {
		ib.Terms = make([]float64, n*(nt-1))
	}
	if err := m.inner.Evaluate(ctx, ib); err != nil {
		return err
	}
	// d = x^H - G^H(x^C) on the placed coordinates, row after row.
	np := len(m.placed)
	d := make([]float64, n*np)
	for r := 0; r < n; r++ {
		var e float64
		for j, c := range m.placed {
			v := b.Coords[r*dim+c] - xp[r*dim+c]
			d[r*np+j] = v
			e += v * v
		}
		e *= m.k / 2
		b.Energy[r] += e
		if b.Terms != nil {
			copy(b.Terms[r*nt:r*nt+nt-1], ib.Terms[r*(nt-1):(r+1)*(nt-1)])
			b.Terms[r*nt+nt-1] = e
		}
	}
	if b.Forces == nil {
		return nil
	}
	// The cotangent of the placed configuration: the inner gradient -F',
	// and on the placed coordinates minus the tether's k d (E holds
	// -(k/2)|d|² through G^H's side of d).
	cot := ib.Forces
	for i := range cot {
		cot[i] = -cot[i]
	}
	for r := 0; r < n; r++ {
		for j, c := range m.placed {
			cot[r*dim+c] -= m.k * d[r*np+j]
		}
	}
	grad, err := m.flow.InputVJP(ctx, cot, make([]float64, n))
	if err != nil {
		return fmt.Errorf("the placer's forces: %w", err)
	}
	if len(grad) != len(b.Forces) {
		return fmt.Errorf("the placer's forces: %d cotangents back for %d", len(grad), len(b.Forces))
	}
	// The placer's VJP gives the placed coordinates' inputs nothing (they
	// are overwritten); their gradient is the tether's k d.
	for r := 0; r < n; r++ {
		for j, c := range m.placed {
			grad[r*dim+c] = m.k * d[r*np+j]
		}
	}
	for i, g := range grad {
		b.Forces[i] = -g
	}
	return nil
}
