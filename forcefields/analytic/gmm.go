package analytic

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/flowmd/flowmd/forcefields"
)

// TermGMM is the single term of GaussianMixture.
const TermGMM = "gmm"

// GaussianMixture is U(x) = −log p(x) with the normalised density
//
//	p(x) = Σ_k w_k Π_i N(x_i; μ_ki, σ_ki²),
//
// so that log Z = 0 at kT = 1. The energy is computed with a streaming
// log-sum-exp and is accurate far from every component.
//
// Mode k is component k. At kT = 1 the exact mode fractions are the weights,
// and the exact mean and variance of each coordinate are those of the
// mixture; exp(−U/kT) for kT ≠ 1 is not a mixture of Gaussians and the
// exact-reference methods return ErrNotExact there.
type GaussianMixture struct {
	dim, k int
	w      []float64 // K normalised weights
	mu     []float64 // K*dim means
	sigma  []float64 // K*dim standard deviations
	inv2   []float64 // K*dim 1/σ²
	logc   []float64 // K: log w_k − Σ_i log σ_ki − (dim/2) log 2π
}

// NewGaussianMixture returns the mixture with the given positive weights
// (normalised to sum 1), means and diagonal standard deviations: one mean
// and one standard deviation vector of the same length D ≥ 1 per
// component. The slices are copied.
func NewGaussianMixture(weights []float64, means, sigmas [][]float64) (*GaussianMixture, error) {
	nk := len(weights)
	if nk == 0 || len(means) != nk || len(sigmas) != nk {
		return nil, fmt.Errorf("gaussian mixture: %d weights, %d means, %d standard deviations: want the same non-zero number", nk, len(means), len(sigmas))
	}
	dim := len(means[0])
	if dim == 0 {
		return nil, fmt.Errorf("gaussian mixture: component 0 has an empty mean")
	}
	g := &GaussianMixture{dim: dim, k: nk, w: make([]float64, nk), logc: make([]float64, nk)}
	total := 0.0
	for k, w := range weights {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("gaussian mixture: weight %d is %v, want finite and positive", k, w)
		}
		total += w
	}
	for k := range nk {
		if len(means[k]) != dim || len(sigmas[k]) != dim {
			return nil, fmt.Errorf("gaussian mixture: component %d has a mean of length %d and standard deviations of length %d, want %d", k, len(means[k]), len(sigmas[k]), dim)
		}
		g.w[k] = weights[k] / total
		g.logc[k] = math.Log(g.w[k]) - 0.5*float64(dim)*math.Log(2*math.Pi)
		for i := range dim {
			m, s := means[k][i], sigmas[k][i]
			if !finite(m) {
				return nil, fmt.Errorf("gaussian mixture: mean %d, coordinate %d is %v, want finite", k, i, m)
			}
			if !(s > 0) || math.IsInf(s, 0) {
				return nil, fmt.Errorf("gaussian mixture: standard deviation %d, coordinate %d is %v, want finite and positive", k, i, s)
			}
			g.mu = append(g.mu, m)
			g.sigma = append(g.sigma, s)
			g.inv2 = append(g.inv2, 1/(s*s))
			g.logc[k] -= math.Log(s)
		}
	}
	return g, nil
}

// GaussianMixturePreset returns a two-dimensional benchmark mixture of Máté
// and Fleuret (unit standard deviations):
//
//	"gmm4": ¼ each at (−8, −8), (−8, 8), (8, −8), (8, 8)   (their Eq. 2)
//	"gmm2": ⅓ at (4, 4) and ⅔ at (−8, −8)                   (their Eq. 11)
func GaussianMixturePreset(name string) (*GaussianMixture, error) {
	one := [][]float64{{1, 1}, {1, 1}, {1, 1}, {1, 1}}
	switch strings.ToLower(name) {
	case "gmm4":
		return NewGaussianMixture([]float64{1, 1, 1, 1},
			[][]float64{{-8, -8}, {-8, 8}, {8, -8}, {8, 8}}, one)
	case "gmm2":
		return NewGaussianMixture([]float64{1.0 / 3, 2.0 / 3},
			[][]float64{{4, 4}, {-8, -8}}, one[:2])
	}
	return nil, fmt.Errorf("gaussian mixture preset %q: want gmm4 or gmm2", name)
}

// Weights returns the normalised component weights: the exact mode
// fractions at kT = 1.
func (g *GaussianMixture) Weights() []float64 { return append([]float64(nil), g.w...) }

// Dim implements forcefields.Model.
func (g *GaussianMixture) Dim() int { return g.dim }

// Terms implements forcefields.Model: "gmm".
func (g *GaussianMixture) Terms() []string { return []string{TermGMM} }

// logComponent returns log(w_k N_k(x)).
func (g *GaussianMixture) logComponent(k int, x []float64) float64 {
	off := k * g.dim
	s := 0.0
	for i, v := range x {
		d := v - g.mu[off+i]
		s += d * d * g.inv2[off+i]
	}
	return g.logc[k] - 0.5*s
}

// Evaluate implements forcefields.Model. The log-sum-exp runs in one pass
// with a running maximum; the gradient Σ_k r_k (x − μ_k)/σ_k², r_k the
// responsibilities, is accumulated in the batch's force slice, so nothing is
// allocated. A configuration so far away that every component's log density
// is −Inf in float64 (|x| ≳ 1e154) is an error.
func (g *GaussianMixture) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	dim := g.dim
	if err := check(ctx, b, dim, 1); err != nil {
		return err
	}
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
		m, s := math.Inf(-1), 0.0
		for k := range g.k {
			l := g.logComponent(k, x)
			if math.IsInf(l, -1) {
				continue
			}
			var e float64
			if l > m {
				scale := math.Exp(m - l) // 0 on the first component
				s = s*scale + 1
				for i := range f {
					f[i] *= scale
				}
				m, e = l, 1
			} else {
				e = math.Exp(l - m)
				s += e
			}
			off := k * dim
			for i := range f {
				// f accumulates −Σ e_k (x − μ_k)/σ_k².
				f[i] -= e * (x[i] - g.mu[off+i]) * g.inv2[off+i]
			}
		}
		if math.IsInf(m, -1) {
			return fmt.Errorf("gaussian mixture: configuration %d is too far from every component: its density underflows float64", n)
		}
		for i := range f {
			f[i] /= s
		}
		e := -(m + math.Log(s))
		b.Energy[n] = e
		if b.Terms != nil {
			b.Terms[n] = e
		}
	}
	return nil
}

// NumModes implements Modal: the number of components.
func (g *GaussianMixture) NumModes() int { return g.k }

// ModeCenters implements Modal: the component means.
func (g *GaussianMixture) ModeCenters() [][]float64 {
	out := make([][]float64, g.k)
	for k := range out {
		out[k] = append([]float64(nil), g.mu[k*g.dim:(k+1)*g.dim]...)
	}
	return out
}

// ModeOf implements Modal: the component with the largest responsibility
// w_k N_k(x). For overlapping components this differs slightly from "the
// component that generated x", whose probability ModeFraction gives; for
// the presets the difference is below 1e-15.
func (g *GaussianMixture) ModeOf(x []float64) int {
	if len(x) != g.dim || !allFinite(x) {
		return -1
	}
	best, arg := math.Inf(-1), -1
	for k := range g.k {
		if l := g.logComponent(k, x); l > best {
			best, arg = l, k
		}
	}
	if arg < 0 {
		// Every log density underflowed: fall back to the nearest mean.
		near := math.Inf(1)
		for k := range g.k {
			d := 0.0
			for i, v := range x {
				d = math.Max(d, math.Abs(v-g.mu[k*g.dim+i]))
			}
			if d < near {
				near, arg = d, k
			}
		}
	}
	return arg
}

func kTOne(kT float64) error {
	if err := checkKT(kT); err != nil {
		return err
	}
	if kT != 1 {
		return fmt.Errorf("gaussian mixture at kT = %v: %w (exact only at kT = 1)", kT, ErrNotExact)
	}
	return nil
}

// ModeFraction implements Modal: the weight w_mode at kT = 1.
func (g *GaussianMixture) ModeFraction(mode int, kT float64) (float64, error) {
	if err := checkMode(mode, g.k); err != nil {
		return 0, err
	}
	if err := kTOne(kT); err != nil {
		return 0, err
	}
	return g.w[mode], nil
}

// Mean implements Moments: Σ_k w_k μ_ki at kT = 1.
func (g *GaussianMixture) Mean(coord int, kT float64) (float64, error) {
	if err := checkCoord(coord, g.dim); err != nil {
		return 0, err
	}
	if err := kTOne(kT); err != nil {
		return 0, err
	}
	s := 0.0
	for k, w := range g.w {
		s += w * g.mu[k*g.dim+coord]
	}
	return s, nil
}

// Variance implements Moments: Σ_k w_k (σ_ki² + (μ_ki − mean_i)²) at kT = 1.
func (g *GaussianMixture) Variance(coord int, kT float64) (float64, error) {
	mean, err := g.Mean(coord, kT)
	if err != nil {
		return 0, err
	}
	s := 0.0
	for k, w := range g.w {
		sd, d := g.sigma[k*g.dim+coord], g.mu[k*g.dim+coord]-mean
		s += w * (sd*sd + d*d)
	}
	return s, nil
}

// LogZ implements Partition: 0 at kT = 1.
func (g *GaussianMixture) LogZ(kT float64) (float64, error) {
	if err := kTOne(kT); err != nil {
		return 0, err
	}
	return 0, nil
}
