package losses

import (
	"fmt"
	"math"
)

// Names of the per-sample vector inputs of force matching.
const (
	// Score is the flow's score at each sample, grad_x log p_G(x), rows of
	// n x dim.
	Score = "score"
	// BetaForce is beta times the force at each sample, -beta grad_x U,
	// rows of n x dim: the score of the Boltzmann distribution.
	BetaForce = "beta_force"
)

// ForceMatching is the force-matching loss of the smooth-flows paper
// (eq. 4): over data, (1/n) sum_i |beta F(x_i) - grad_x log p_G(x_i)|^2,
// the score matched to the known forces. It needs no energies of flow
// samples, and it is unbiased from any data distribution covering the
// region. The paper combines it with maximum likelihood (a weighted sum
// of losses, e.g. 0.999 ml + 0.001 force_matching).
//
// Its gradient reaches the flow's parameters through the score, a second
// derivative of the flow; the trainer obtains it without second-order
// passes, as the directional difference of the likelihood's gradient
// along the loss's gradient of the score (see training).
type ForceMatching struct{}

func (ForceMatching) Info() Info {
	return Info{Name: "force_matching", Inputs: []string{Score, BetaForce, LogPG}, Samples: []string{Data}}
}

func (ForceMatching) Evaluate(in Inputs) (Result, error) {
	n, err := batch(in, LogPG)
	if err != nil {
		return Result{}, err
	}
	s, f := in[Score], in[BetaForce]
	if len(s) == 0 || len(s)%n != 0 || len(s) != len(f) {
		return Result{}, fmt.Errorf("losses: force matching: %d score values and %d force values are not rows for %d samples", len(s), len(f), n)
	}
	for i := range s {
		if math.IsNaN(s[i]+f[i]) || math.IsInf(s[i]+f[i], 0) {
			return Result{}, fmt.Errorf("losses: force matching: score %g, force %g at value %d", s[i], f[i], i)
		}
	}
	g := make([]float64, len(s))
	var v, ff float64
	for i := range s {
		d := s[i] - f[i]
		v += d * d / float64(n)
		g[i] = 2 * d / float64(n)
		ff += f[i] * f[i] / float64(n)
	}
	dim := float64(len(s) / n)
	m := map[string]float64{
		// The residual and the forces' size, per coordinate (kT per
		// length unit), to compare.
		"rms_residual": math.Sqrt(v / dim),
		"rms_force":    math.Sqrt(ff / dim),
	}
	return Result{Value: v, Grad: map[string][]float64{Score: g, BetaForce: negate(g), LogPG: make([]float64, n)}, Metrics: m}, nil
}

func negate(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}
