package analytic

import (
	"context"
	"fmt"
	"math"

	"github.com/flowmd/flowmd/forcefields"
)

// Term names of Phi4 (TermQuartic, "quartic", is its third term).
const (
	TermHopping = "hopping" // Σ (φ_i − φ_{i+1})²
	TermMass    = "mass"    // −m Σ φ_i²
)

// Phi4Params are the parameters of the φ⁴ ring.
type Phi4Params struct {
	Sites            int // N
	M, Lambda, Alpha float64
}

// DefaultPhi4 returns the parameters of Máté and Fleuret for mass m (0.25,
// 0.5, 0.75 or 1 in the paper): N = 16, λ = 1/16, α = 0.01.
func DefaultPhi4(m float64) Phi4Params {
	return Phi4Params{Sites: 16, M: m, Lambda: 1.0 / 16, Alpha: 0.01}
}

// Phi4 is the φ⁴ field on a ring of N sites (Máté and Fleuret, Eq. 19):
//
//	S(φ) = Σ_{i=1..N} [(φ_i − φ_{i+1})² − m φ_i² + λ(φ_i − α)⁴],  φ_{N+1} = φ_1,
//
// with p ∝ exp(−S). Its modes sit near the constant fields (a, …, a) and
// (b, …, b), a < b the minima of the on-site potential
// V(φ) = −mφ² + λ(φ − α)⁴, computed by bisection on V'. The small α breaks
// the φ → −φ symmetry so that the b mode is heavier; the mode weights are not
// known exactly (ModeFraction returns ErrNotExact), only their mean-field
// ratio exp(N(V(a) − V(b))).
type Phi4 struct {
	p Phi4Params
	v *QuarticDoubleWell // V in the shifted variable y = φ − α, up to a constant
}

// NewPhi4 validates p (N ≥ 1, λ > 0, finite m and α) and returns the model.
func NewPhi4(p Phi4Params) (*Phi4, error) {
	if p.Sites < 1 {
		return nil, fmt.Errorf("phi4: %d sites, want ≥ 1", p.Sites)
	}
	if !(p.Lambda > 0) || math.IsInf(p.Lambda, 0) || !finite(p.M) || !finite(p.Alpha) {
		return nil, fmt.Errorf("phi4: m = %v, lambda = %v, alpha = %v: want λ > 0 and all finite", p.M, p.Lambda, p.Alpha)
	}
	// V(y + α) = λ y⁴ − m y² − 2mα y − mα².
	v, err := NewQuarticDoubleWell(p.Lambda, -p.M, -2*p.M*p.Alpha)
	if err != nil {
		return nil, fmt.Errorf("phi4: %w", err)
	}
	return &Phi4{p: p, v: v}, nil
}

// Params returns the model's parameters.
func (m *Phi4) Params() Phi4Params { return m.p }

// OnSite returns V(φ) = −mφ² + λ(φ − α)⁴.
func (m *Phi4) OnSite(phi float64) float64 {
	y := phi - m.p.Alpha
	return m.p.Lambda*y*y*y*y - m.p.M*phi*phi
}

// Minima returns the local minima of V, ascending: a and b when there are
// two (m > 0 and α small), else a single one.
func (m *Phi4) Minima() []float64 {
	out := m.v.Minima()
	for i := range out {
		out[i] += m.p.Alpha
	}
	return out
}

// Barrier returns the local maximum of V between a and b (the boundary used
// by ModeOf for the field mean) and true, or false with a single well.
func (m *Phi4) Barrier() (float64, bool) {
	x, ok := m.v.Barrier()
	return x + m.p.Alpha, ok
}

// MeanFieldRatio returns exp(N(V(a) − V(b))), the mean-field estimate of the
// weight of the b mode relative to the a mode, or 1 with a single well.
func (m *Phi4) MeanFieldRatio() float64 {
	mins := m.Minima()
	if len(mins) < 2 {
		return 1
	}
	return math.Exp(float64(m.p.Sites) * (m.OnSite(mins[0]) - m.OnSite(mins[1])))
}

// Dim implements forcefields.Model: N.
func (m *Phi4) Dim() int { return m.p.Sites }

// Terms implements forcefields.Model: "hopping", "mass", "quartic".
func (m *Phi4) Terms() []string { return []string{TermHopping, TermMass, TermQuartic} }

// Evaluate implements forcefields.Model.
func (m *Phi4) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	n := m.p.Sites
	if err := check(ctx, b, n, 3); err != nil {
		return err
	}
	mass, lam, alpha := m.p.M, m.p.Lambda, m.p.Alpha
	for c := range b.Size() {
		if err := cancelled(ctx, c); err != nil {
			return err
		}
		phi := b.Coords[c*n : (c+1)*n]
		var f []float64
		if b.Forces != nil {
			f = b.Forces[c*n : (c+1)*n]
		}
		hop, ms, qu := 0.0, 0.0, 0.0
		for i, p := range phi {
			next, prev := i+1, i-1
			if next == n {
				next = 0
			}
			if prev < 0 {
				prev = n - 1
			}
			d := p - phi[next]
			y := p - alpha
			y2 := y * y
			hop += d * d
			ms += p * p
			qu += y2 * y2
			if f != nil {
				// ∂S/∂φ_i = 2(φ_i − φ_{i+1}) + 2(φ_i − φ_{i−1}) − 2mφ_i + 4λ(φ_i − α)³.
				f[i] = -(2*(d+p-phi[prev]) - 2*mass*p + 4*lam*y2*y)
			}
		}
		ms *= -mass
		qu *= lam
		e := hop + ms + qu
		if math.IsNaN(e) {
			return overflowError("phi4", c)
		}
		b.Energy[c] = e
		if b.Terms != nil {
			t := b.Terms[3*c : 3*c+3]
			t[0], t[1], t[2] = hop, ms, qu
		}
	}
	return nil
}

// NumModes implements Modal: 2 when V has two minima, else 1.
func (m *Phi4) NumModes() int { return m.v.NumModes() }

// ModeCenters implements Modal: the constant fields (a, …, a) and (b, …, b).
func (m *Phi4) ModeCenters() [][]float64 {
	mins := m.Minima()
	out := make([][]float64, len(mins))
	for k, v := range mins {
		out[k] = make([]float64, m.p.Sites)
		for i := range out[k] {
			out[k][i] = v
		}
	}
	return out
}

// ModeOf implements Modal: 0 when the field mean φ̄ is below the barrier top
// of V, 1 above it.
func (m *Phi4) ModeOf(x []float64) int {
	if len(x) != m.p.Sites || !allFinite(x) {
		return -1
	}
	top, ok := m.Barrier()
	if !ok {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	if s/float64(len(x)) > top {
		return 1
	}
	return 0
}

// ModeFraction implements Modal: the weights of the φ⁴ modes are not known
// exactly; it returns an error wrapping ErrNotExact (1 with a single mode).
func (m *Phi4) ModeFraction(mode int, kT float64) (float64, error) {
	if err := checkMode(mode, m.NumModes()); err != nil {
		return 0, err
	}
	if err := checkKT(kT); err != nil {
		return 0, err
	}
	if m.NumModes() == 1 {
		return 1, nil
	}
	return 0, fmt.Errorf("phi4 mode fractions: %w (MeanFieldRatio gives an estimate)", ErrNotExact)
}
