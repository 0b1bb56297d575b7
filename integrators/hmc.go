package integrators

import (
	"context"
	"fmt"
	"math"
)

// HMC is Hamiltonian Monte Carlo: every walker draws velocities from the
// Maxwell-Boltzmann distribution at its temperature, runs Steps leapfrog
// (velocity Verlet) steps, and is accepted with probability
// min(1, exp(-(H' - H)/kT)), H = U + KE. Rejected walkers return to where
// they were. The time step is kept per rung of the temperature ladder and
// adapted during equilibration.
type HMC struct {
	Steps int
	rungSizes
	prep preparedMasses

	x0, f0, u0, t0, h0 []float64
	accepted, diverged []bool
	attempted, acc     int64
}

// NewHMC returns an HMC move of steps leapfrog steps with an initial time
// step dt (ps, or reduced), adapting during equilibration towards the target
// acceptance (around 0.65-0.8 is efficient).
func NewHMC(steps int, dt, target float64) (*HMC, error) {
	if steps < 1 || !(dt > 0) || math.IsInf(dt, 0) || !(target > 0 && target < 1) {
		return nil, fmt.Errorf("HMC: %d leapfrog steps must be at least 1, time step %v positive, target acceptance %v in (0, 1)", steps, dt, target)
	}
	return &HMC{Steps: steps, rungSizes: rungSizes{init: dt, target: target}}, nil
}

func (h *HMC) Name() string { return "hmc" }

func (h *HMC) Stats() MoveStats {
	return MoveStats{Name: h.Name(), Attempted: h.attempted, Accepted: h.acc}
}

func (h *HMC) Apply(ctx context.Context, s *State) error {
	h.prep.prepare(s)
	if len(h.x0) != len(s.X) {
		h.x0 = make([]float64, len(s.X))
		h.f0 = make([]float64, len(s.X))
		h.u0 = make([]float64, s.Walkers)
		h.h0 = make([]float64, s.Walkers)
		h.t0 = make([]float64, len(s.Terms))
		h.accepted = make([]bool, s.Walkers)
		h.diverged = make([]bool, s.Walkers)
	}
	clear(h.diverged)
	copy(h.x0, s.X)
	copy(h.f0, s.F)
	copy(h.u0, s.U)
	copy(h.t0, s.Terms)
	for w := 0; w < s.Walkers; w++ {
		h.get(s.TempIndex[w])
	}
	inv, sdev := h.prep.invMass, h.prep.sdev
	s.forWalkers(func(w int) {
		r := s.Rand.At(w)
		v := s.V[w*s.Dim : (w+1)*s.Dim]
		sq := math.Sqrt(s.KT[w])
		for i := range v {
			v[i] = sq * sdev[i] * r.NormFloat64()
		}
		h.h0[w] = s.U[w] + s.KineticEnergy(w)
	})
	// A walker whose energy stops being finite (a step far too large) is
	// frozen where it is and rejected at the end, rather than ending the run.
	for k := 0; k < h.Steps; k++ {
		s.forWalkers(func(w int) {
			if h.diverged[w] {
				return
			}
			dt := h.size[s.TempIndex[w]]
			x := s.X[w*s.Dim : (w+1)*s.Dim]
			v := s.V[w*s.Dim : (w+1)*s.Dim]
			f := s.F[w*s.Dim : (w+1)*s.Dim]
			for i := range x {
				v[i] += 0.5 * dt * inv[i] * f[i]
				x[i] += dt * v[i]
			}
		})
		if err := s.evaluate(ctx, s.X, s.U, s.F, s.Terms); err != nil {
			return err
		}
		s.forWalkers(func(w int) {
			if math.IsNaN(s.U[w]) || math.IsInf(s.U[w], 0) {
				h.diverged[w] = true
			}
			if h.diverged[w] {
				return
			}
			dt := h.size[s.TempIndex[w]]
			v := s.V[w*s.Dim : (w+1)*s.Dim]
			f := s.F[w*s.Dim : (w+1)*s.Dim]
			for i := range v {
				v[i] += 0.5 * dt * inv[i] * f[i]
			}
		})
	}
	nt := len(s.Terms) / s.Walkers
	s.forWalkers(func(w int) {
		dH := s.U[w] + s.KineticEnergy(w) - h.h0[w]
		u := s.Rand.At(w).Float64()
		// A NaN energy difference (a blown-up trajectory) is a rejection.
		h.accepted[w] = !h.diverged[w] && (dH <= 0 || u < math.Exp(-dH/s.KT[w]))
		if !h.accepted[w] {
			lo, hi := w*s.Dim, (w+1)*s.Dim
			copy(s.X[lo:hi], h.x0[lo:hi])
			copy(s.F[lo:hi], h.f0[lo:hi])
			copy(s.Terms[w*nt:(w+1)*nt], h.t0[w*nt:(w+1)*nt])
			s.U[w] = h.u0[w]
		}
	})
	for _, a := range h.accepted {
		h.attempted++
		if a {
			h.acc++
		}
	}
	if s.Equilibrating {
		h.adapt(s, h.accepted)
	}
	s.Step++
	return nil
}
