package losses

import (
	"fmt"
	"math"
)

// MaximumLikelihood is the data-dependent KLz^dd (thesis eq. 17): the mean
// negative log-likelihood -log p_G of data, differentiated through the
// inverse pass. Its value differs from KL(q_F || q_N) by a constant.
type MaximumLikelihood struct{}

func (MaximumLikelihood) Info() Info {
	return Info{Name: "ml", Inputs: []string{LogPG}, Samples: []string{Data}}
}

func (MaximumLikelihood) Evaluate(in Inputs) (Result, error) {
	n, err := batch(in, LogPG)
	if err != nil {
		return Result{}, err
	}
	lp := in[LogPG]
	g := make([]float64, n)
	for i := range g {
		g[i] = -1 / float64(n)
	}
	nll := -mean(lp)
	return Result{Value: nll, Grad: map[string][]float64{LogPG: g}, Metrics: map[string]float64{"nll": nll}}, nil
}

// ReverseKL is the data-free KLx of Noe et al. (thesis eq. 16): the mean of
// beta U_B(G(z)) - log |det dG/dz| = beta U_B + log p_G - log q_N over
// reparameterized samples, differentiated through the forward pass and the
// forces. It collapses modes (thesis chapter 5); it is the baseline.
type ReverseKL struct{}

func (ReverseKL) Info() Info {
	return Info{Name: "klx", Inputs: []string{BetaU, LogPG, LogQN}, Samples: []string{ModelReparameterized}, NeedsForces: true}
}

func (ReverseKL) Evaluate(in Inputs) (Result, error) {
	n, err := batch(in, BetaU, LogPG, LogQN)
	if err != nil {
		return Result{}, err
	}
	return weightedReverseKL(in, n, nil)
}

// weightedReverseKL is (1/n) sum w_i (beta U_i + log p_G,i - log q_N,i),
// with w = 1 when nil.
func weightedReverseKL(in Inputs, n int, w []float64) (Result, error) {
	bu, lp, lq := in[BetaU], in[LogPG], in[LogQN]
	gu, gp, gq := make([]float64, n), make([]float64, n), make([]float64, n)
	var v float64
	for i := 0; i < n; i++ {
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		v += wi * (bu[i] + lp[i] - lq[i]) / float64(n)
		gu[i], gp[i], gq[i] = wi/float64(n), wi/float64(n), -wi/float64(n)
	}
	m := map[string]float64{"mean_beta_u": mean(bu)}
	ratioMetrics(logRatio(bu, lp), m)
	return Result{Value: v, Grad: map[string][]float64{BetaU: gu, LogPG: gp, LogQN: gq}, Metrics: m}, nil
}

// Batch-weight schemes of KLz^df (thesis section 5.3).
const (
	// WeightsSoftmax: w = n softmax(r), the importance weights (eq. 21).
	WeightsSoftmax = "softmax"
	// WeightsStandardized: w = n softmax(r / max(1, std r) / T), less
	// peaky and "incorrect everywhere" (eq. 23).
	WeightsStandardized = "standardized"
	// WeightsClamped: n softmax(r) clamped to [0.1, 10], renormalized to
	// mean 1 (eq. 24 as footnote 44 means it).
	WeightsClamped = "clamped"
	// WeightsNone: w = 1.
	WeightsNone = "none"
)

// CheckWeights reports whether scheme names a batch-weight scheme.
func CheckWeights(scheme string) error {
	_, err := batchWeights(scheme, 1, []float64{0})
	return err
}

// batchWeights returns the detached, mean-1 weights of a scheme for log
// ratios r.
func batchWeights(scheme string, temperature float64, r []float64) ([]float64, error) {
	n := float64(len(r))
	switch scheme {
	case WeightsSoftmax, "":
		return normalize(softmax(r)), nil
	case WeightsStandardized:
		var mu, ss float64
		for _, x := range r {
			mu += x / n
		}
		for _, x := range r {
			ss += (x - mu) * (x - mu) / n
		}
		s := math.Max(1, math.Sqrt(ss))
		t := temperature
		if t == 0 {
			t = 1
		}
		v := make([]float64, len(r))
		for i, x := range r {
			v[i] = x / s / t
		}
		return normalize(softmax(v)), nil
	case WeightsClamped:
		w := softmax(r)
		for i := range w {
			w[i] = math.Min(math.Max(w[i]*n, 0.1), 10)
		}
		return normalize(w), nil
	case WeightsNone:
		w := make([]float64, len(r))
		for i := range w {
			w[i] = 1
		}
		return w, nil
	}
	return nil, fmt.Errorf("losses: unknown batch weights %q, expected softmax, standardized, clamped or none", scheme)
}

// DataFreeKLz is KLz^df (thesis eq. 20-24): the likelihood of the model's
// own detached samples, importance-weighted toward p_B, -(1/n) sum w_i log
// p_G(x_i), differentiated through the inverse pass. The weights follow
// Weights with Temperature for the standardized scheme.
type DataFreeKLz struct {
	Weights     string
	Temperature float64
}

func (l DataFreeKLz) Info() Info {
	return Info{Name: "klz_df", Inputs: []string{BetaU, LogPG}, Samples: []string{ModelDetached}}
}

func (l DataFreeKLz) Evaluate(in Inputs) (Result, error) {
	n, err := batch(in, BetaU, LogPG)
	if err != nil {
		return Result{}, err
	}
	bu, lp := in[BetaU], in[LogPG]
	r := logRatio(bu, lp)
	w, err := batchWeights(l.Weights, l.Temperature, r)
	if err != nil {
		return Result{}, err
	}
	g := make([]float64, n)
	var v float64
	for i := range g {
		v -= w[i] * lp[i] / float64(n)
		g[i] = -w[i] / float64(n)
	}
	m := map[string]float64{"mean_beta_u": mean(bu), "weight_max": maxOf(w)}
	ratioMetrics(r, m)
	// beta U enters only the detached weights.
	return Result{Value: v, Grad: map[string][]float64{LogPG: g, BetaU: make([]float64, n)}, Metrics: m}, nil
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// Renyi is the symmetric Renyi-1/2 divergence (thesis eq. 38): -log of the
// batch mean of sqrt(p~_B / p_G) over reparameterized samples, computed
// with a log-sum-exp. Biased for small batches; collapses too (fig. 30).
type Renyi struct{}

func (Renyi) Info() Info {
	return Info{Name: "renyi", Inputs: []string{BetaU, LogPG}, Samples: []string{ModelReparameterized}, NeedsForces: true}
}

func (Renyi) Evaluate(in Inputs) (Result, error) {
	n, err := batch(in, BetaU, LogPG)
	if err != nil {
		return Result{}, err
	}
	r := logRatio(in[BetaU], in[LogPG])
	half := make([]float64, n)
	for i, x := range r {
		half[i] = x / 2
	}
	v := -(logSumExp(half) - math.Log(float64(n)))
	s := softmax(half)
	// dv/dr_i = -s_i / 2; r = -beta U - log p_G.
	gu, gp := make([]float64, n), make([]float64, n)
	for i := range s {
		gu[i], gp[i] = s[i]/2, s[i]/2
	}
	m := map[string]float64{"mean_beta_u": mean(in[BetaU])}
	ratioMetrics(r, m)
	return Result{Value: v, Grad: map[string][]float64{BetaU: gu, LogPG: gp}, Metrics: m}, nil
}
