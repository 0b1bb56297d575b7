package analytic

import (
	"context"
	"fmt"
	"math"

	"github.com/flowmd/flowmd/forcefields"
)

// Term names of the particle systems.
const (
	TermDW4          = "dw4"           // DW4 pair energy
	TermLennardJones = "lennard_jones" // LJ13 pair energy
	TermCOMRestraint = "com_restraint" // LJ13 k Σ‖x_i − x̄‖²
)

// DW4Params are the parameters of DW4: Particles particles in SpaceDim
// dimensions with the pair energy (1/τ)[a t + b t² + c t⁴], t = d − d0.
type DW4Params struct {
	Particles, SpaceDim int
	A, B, C, D0, Tau    float64
}

// DefaultDW4 returns the parameters of Köhler et al. 2020: 4 particles in 2D,
// a = 0, b = −4, c = 0.9, d0 = 4, τ = 1.
func DefaultDW4() DW4Params {
	return DW4Params{Particles: 4, SpaceDim: 2, A: 0, B: -4, C: 0.9, D0: 4, Tau: 1}
}

// DW4 is the many-particle double-well potential of Köhler, Klein and Noé
// (2020):
//
//	E(x) = (1/τ) Σ_{i<j} [a(d_ij − d0) + b(d_ij − d0)² + c(d_ij − d0)⁴],
//
// d_ij = ‖x_i − x_j‖, coordinates laid out particle by particle. It is
// invariant under translations, rotations, reflections and permutations.
// At d_ij = 0 the pair energy is finite but not differentiable (a cone); the
// pair's force contribution is taken as zero there.
type DW4 struct {
	p DW4Params
}

// NewDW4 validates p and returns the model.
func NewDW4(p DW4Params) (*DW4, error) {
	if p.Particles < 2 || p.SpaceDim < 1 {
		return nil, fmt.Errorf("dw4: %d particles in %d dimensions, want ≥ 2 particles in ≥ 1 dimension", p.Particles, p.SpaceDim)
	}
	for _, v := range []struct {
		name string
		x    float64
	}{{"a", p.A}, {"b", p.B}, {"c", p.C}, {"d0", p.D0}, {"tau", p.Tau}} {
		if !finite(v.x) {
			return nil, fmt.Errorf("dw4: %s = %v, want finite", v.name, v.x)
		}
	}
	if !(p.Tau > 0) {
		return nil, fmt.Errorf("dw4: tau = %v, want positive", p.Tau)
	}
	return &DW4{p: p}, nil
}

// Params returns the model's parameters.
func (m *DW4) Params() DW4Params { return m.p }

// Dim implements forcefields.Model: Particles·SpaceDim.
func (m *DW4) Dim() int { return m.p.Particles * m.p.SpaceDim }

// Terms implements forcefields.Model: "dw4".
func (m *DW4) Terms() []string { return []string{TermDW4} }

// Evaluate implements forcefields.Model.
func (m *DW4) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	dim, np, sd := m.Dim(), m.p.Particles, m.p.SpaceDim
	if err := check(ctx, b, dim, 1); err != nil {
		return err
	}
	a, bb, c, d0, inv := m.p.A, m.p.B, m.p.C, m.p.D0, 1/m.p.Tau
	for n := range b.Size() {
		if err := cancelled(ctx, n); err != nil {
			return err
		}
		x := b.Coords[n*dim : (n+1)*dim]
		var f []float64
		if b.Forces != nil {
			f = b.Forces[n*dim : (n+1)*dim]
			clear(f)
		}
		e := 0.0
		for i := range np {
			xi := x[i*sd : (i+1)*sd]
			for j := i + 1; j < np; j++ {
				xj := x[j*sd : (j+1)*sd]
				r2 := 0.0
				for k, v := range xi {
					dx := v - xj[k]
					r2 += dx * dx
				}
				d := math.Sqrt(r2)
				t := d - d0
				e += t * (a + t*(bb+c*t*t))
				if f == nil || d == 0 {
					continue
				}
				// −dE/dx_i = −(1/τ) E'(d) (x_i − x_j)/d.
				s := -inv * (a + t*(2*bb+4*c*t*t)) / d
				for k, v := range xi {
					g := s * (v - xj[k])
					f[i*sd+k] += g
					f[j*sd+k] -= g
				}
			}
		}
		e *= inv
		if math.IsNaN(e) {
			return overflowError("dw4", n)
		}
		b.Energy[n] = e
		if b.Terms != nil {
			b.Terms[n] = e
		}
	}
	return nil
}

// LJ13Params are the parameters of LJ13.
type LJ13Params struct {
	Particles        int
	Epsilon, Rm, Tau float64
	Restraint        float64 // k of k Σ_i ‖x_i − x̄‖² (0.5 in the papers)
}

// DefaultLJ13 returns the parameters of Köhler et al. 2020 (with the
// centre-of-mass oscillator of Satorras et al.'s test systems): 13
// particles, ε = 1, r_m = 1, τ = 1, restraint coefficient 0.5.
func DefaultLJ13() LJ13Params {
	return LJ13Params{Particles: 13, Epsilon: 1, Rm: 1, Tau: 1, Restraint: 0.5}
}

// LJ13 is the Lennard-Jones cluster of Köhler, Klein and Noé (2020), in three
// dimensions:
//
//	E(x) = (ε/τ) Σ_{i<j} [(r_m/d_ij)¹² − 2(r_m/d_ij)⁶] + k Σ_i ‖x_i − x̄‖²,
//
// x̄ the centroid, k = Restraint (0.5 by default, the papers' ½Σ‖x_i − x̄‖²;
// it is not divided by τ).
// Both terms are invariant under translations, rotations and permutations;
// the restraint only penalises the spread about the centroid. Two
// coincident particles (d_ij = 0) are an error; nearly coincident ones
// overflow to an infinite energy.
type LJ13 struct {
	p LJ13Params
}

// NewLJ13 validates p and returns the model.
func NewLJ13(p LJ13Params) (*LJ13, error) {
	if p.Particles < 2 {
		return nil, fmt.Errorf("lj13: %d particles, want ≥ 2", p.Particles)
	}
	if !(p.Epsilon > 0) || math.IsInf(p.Epsilon, 0) || !(p.Rm > 0) || math.IsInf(p.Rm, 0) || !(p.Tau > 0) || math.IsInf(p.Tau, 0) {
		return nil, fmt.Errorf("lj13: epsilon = %v, rm = %v, tau = %v: want finite and positive", p.Epsilon, p.Rm, p.Tau)
	}
	if !(p.Restraint >= 0) || math.IsInf(p.Restraint, 0) {
		return nil, fmt.Errorf("lj13: restraint = %v, want finite and ≥ 0", p.Restraint)
	}
	return &LJ13{p: p}, nil
}

// Params returns the model's parameters.
func (m *LJ13) Params() LJ13Params { return m.p }

// Dim implements forcefields.Model: 3·Particles.
func (m *LJ13) Dim() int { return 3 * m.p.Particles }

// Terms implements forcefields.Model: "lennard_jones", "com_restraint".
func (m *LJ13) Terms() []string { return []string{TermLennardJones, TermCOMRestraint} }

// Evaluate implements forcefields.Model.
func (m *LJ13) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	dim, np := m.Dim(), m.p.Particles
	if err := check(ctx, b, dim, 2); err != nil {
		return err
	}
	scale := m.p.Epsilon / m.p.Tau
	rm2 := m.p.Rm * m.p.Rm
	kr := m.p.Restraint
	for n := range b.Size() {
		if err := cancelled(ctx, n); err != nil {
			return err
		}
		x := b.Coords[n*dim : (n+1)*dim]
		var f []float64
		if b.Forces != nil {
			f = b.Forces[n*dim : (n+1)*dim]
			clear(f)
		}
		lj := 0.0
		for i := range np {
			xi, yi, zi := x[3*i], x[3*i+1], x[3*i+2]
			for j := i + 1; j < np; j++ {
				dx, dy, dz := xi-x[3*j], yi-x[3*j+1], zi-x[3*j+2]
				r2 := dx*dx + dy*dy + dz*dz
				if r2 == 0 {
					return fmt.Errorf("lj13: configuration %d: particles %d and %d coincide", n, i, j)
				}
				s := rm2 / r2
				s3 := s * s * s
				s6 := s3 * s3
				lj += s6 - 2*s3
				if f == nil {
					continue
				}
				// −dE/dx_i = 12 (ε/τ)(s⁶ − s³)/d² (x_i − x_j), s = r_m²/d².
				g := 12 * scale * (s6 - s3) / r2
				f[3*i] += g * dx
				f[3*i+1] += g * dy
				f[3*i+2] += g * dz
				f[3*j] -= g * dx
				f[3*j+1] -= g * dy
				f[3*j+2] -= g * dz
			}
		}
		lj *= scale
		// Restraint: k Σ_i ‖x_i − x̄‖², gradient 2k (x_i − x̄) since the
		// deviations sum to zero.
		com := 0.0
		for k := range 3 {
			mean := 0.0
			for i := range np {
				mean += x[3*i+k]
			}
			mean /= float64(np)
			for i := range np {
				d := x[3*i+k] - mean
				com += d * d
				if f != nil {
					f[3*i+k] -= 2 * kr * d
				}
			}
		}
		com *= kr
		e := lj + com
		if math.IsNaN(e) {
			return overflowError("lj13", n)
		}
		b.Energy[n] = e
		if b.Terms != nil {
			b.Terms[2*n] = lj
			b.Terms[2*n+1] = com
		}
	}
	return nil
}
