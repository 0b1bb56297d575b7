package losses

import (
	"math"
	"math/rand/v2"
	"testing"
)

// batchOf returns a batch of n samples with energies and log-densities of
// realistic spread.
func batchOf(n int, seed uint64) Inputs {
	rng := rand.New(rand.NewPCG(seed, 1))
	in := Inputs{BetaU: make([]float64, n), LogPG: make([]float64, n), LogQN: make([]float64, n), Coords: make([]float64, 2*n)}
	for i := 0; i < n; i++ {
		in[BetaU][i] = 3 + 2*rng.NormFloat64()
		in[LogPG][i] = -4 + 1.5*rng.NormFloat64()
		in[LogQN][i] = -2 + 0.5*rng.NormFloat64()
		in[Coords][2*i] = rng.NormFloat64()
		in[Coords][2*i+1] = rng.NormFloat64()
	}
	return in
}

func clone(in Inputs) Inputs {
	out := Inputs{}
	for k, v := range in {
		out[k] = append([]float64(nil), v...)
	}
	return out
}

// checkGradients compares a loss's gradients with central finite
// differences of surrogate, the loss's formula written out with its
// detached parts computed from frozen (the unperturbed inputs).
func checkGradients(t *testing.T, l Loss, in Inputs, surrogate func(in, frozen Inputs) float64) {
	t.Helper()
	res, err := l.Evaluate(clone(in))
	if err != nil {
		t.Fatal(err)
	}
	if v := surrogate(in, in); math.Abs(v-res.Value) > 1e-12*(1+math.Abs(v)) {
		t.Errorf("%s: value %.15g, the formula gives %.15g", l.Info().Name, res.Value, v)
	}
	const h = 1e-6
	for _, name := range l.Info().Inputs {
		g := res.Grad[name]
		if len(g) != len(in[name]) {
			t.Fatalf("%s: gradient of %s has %d values, the input %d", l.Info().Name, name, len(g), len(in[name]))
		}
		for i := range in[name] {
			p := clone(in)
			p[name][i] += h
			m := clone(in)
			m[name][i] -= h
			fd := (surrogate(p, in) - surrogate(m, in)) / (2 * h)
			if math.Abs(fd-g[i]) > 1e-7*(1+math.Abs(fd)) {
				t.Errorf("%s: d/d%s[%d] = %.10g, finite difference %.10g", l.Info().Name, name, i, g[i], fd)
			}
		}
	}
}

func TestMaximumLikelihood(t *testing.T) {
	checkGradients(t, MaximumLikelihood{}, batchOf(7, 1), func(in, _ Inputs) float64 {
		return -mean(in[LogPG])
	})
}

func TestReverseKL(t *testing.T) {
	checkGradients(t, ReverseKL{}, batchOf(7, 2), func(in, _ Inputs) float64 {
		var s float64
		for i := range in[BetaU] {
			// beta U - log|det dG/dz| with log p_G = log q_N - log|det|.
			s += in[BetaU][i] + in[LogPG][i] - in[LogQN][i]
		}
		return s / 7
	})
}

// weights21 is eq. 21 written out: n exp(r_i) / sum exp(r_j).
func weights21(frozen Inputs) []float64 {
	n := len(frozen[BetaU])
	w := make([]float64, n)
	var s float64
	for i := range w {
		w[i] = math.Exp(-frozen[BetaU][i] - frozen[LogPG][i])
		s += w[i]
	}
	for i := range w {
		w[i] *= float64(n) / s
	}
	return w
}

func TestDataFreeKLz(t *testing.T) {
	for _, scheme := range []string{WeightsSoftmax, WeightsStandardized, WeightsClamped, WeightsNone} {
		l := DataFreeKLz{Weights: scheme, Temperature: 2}
		checkGradients(t, l, batchOf(9, 3), func(in, frozen Inputs) float64 {
			n := len(in[LogPG])
			var w []float64
			switch scheme {
			case WeightsSoftmax:
				w = weights21(frozen)
			case WeightsStandardized:
				r := logRatio(frozen[BetaU], frozen[LogPG])
				var mu, ss float64
				for _, x := range r {
					mu += x / float64(n)
				}
				for _, x := range r {
					ss += (x - mu) * (x - mu) / float64(n)
				}
				v := make([]float64, n)
				for i, x := range r {
					v[i] = x / math.Max(1, math.Sqrt(ss)) / 2
				}
				w = normalize(softmax(v))
			case WeightsClamped:
				w = weights21(frozen)
				for i := range w {
					w[i] = math.Min(math.Max(w[i], 0.1), 10)
				}
				w = normalize(w)
			case WeightsNone:
				w = normalize(make([]float64, n))
				for i := range w {
					w[i] = 1
				}
			}
			var s float64
			for i := range w {
				s -= w[i] * in[LogPG][i]
			}
			return s / float64(n)
		})
	}
	if _, err := (DataFreeKLz{Weights: "cubic"}).Evaluate(batchOf(3, 1)); err == nil {
		t.Error("an unknown weight scheme was accepted")
	}
}

func TestClampedWeightsStayInRange(t *testing.T) {
	r := []float64{0, 0, 0, 30} // one point would take all the weight
	w, err := batchWeights(WeightsClamped, 0, r)
	if err != nil {
		t.Fatal(err)
	}
	if mean(w) < 1-1e-12 || mean(w) > 1+1e-12 || w[3]/w[0] > 100+1e-9 {
		t.Errorf("weights %v", w)
	}
}

func TestRenyi(t *testing.T) {
	checkGradients(t, Renyi{}, batchOf(8, 4), func(in, _ Inputs) float64 {
		var s float64
		for i := range in[BetaU] {
			s += math.Sqrt(math.Exp(-in[BetaU][i]) / math.Exp(in[LogPG][i]))
		}
		return -math.Log(s / 8)
	})
}

func TestL2Plus(t *testing.T) {
	checkGradients(t, L2Plus{}, batchOf(11, 5), func(in, frozen Inputs) float64 {
		k := mean(logRatio(frozen[BetaU], frozen[LogPG]))
		var s float64
		for i := range in[BetaU] {
			r := -in[BetaU][i] - in[LogPG][i]
			if r > k {
				s += (r - k) * (r - k)
			}
		}
		return s / 11
	})
}

func TestPairGB(t *testing.T) {
	for _, l := range []PairGB{{Mask: true, Weights: true}, {Mask: true}, {Weights: true}} {
		checkGradients(t, l, batchOf(6, 6), func(in, frozen Inputs) float64 {
			rf := logRatio(frozen[BetaU], frozen[LogPG])
			w := weights21(frozen)
			if !l.Weights {
				for i := range w {
					w[i] = 1
				}
			}
			var s float64
			for i := range rf {
				ri := -in[BetaU][i] - in[LogPG][i]
				for j := range rf {
					// Only U_G(x_i) is differentiated (eq. 50a): r_j frozen.
					d := ri - rf[j]
					if l.Mask && d < 0 {
						d = 0
					}
					s += w[j] * d * d
				}
			}
			return s / 36
		})
	}
}

func TestReweightedKLx(t *testing.T) {
	// Two modes by the sign of the first coordinate, target 50/50.
	mode := func(x []float64) int {
		if x[0] < 0 {
			return 0
		}
		return 1
	}
	in := batchOf(10, 7)
	for i := 0; i < 10; i++ {
		in[Coords][2*i] = float64(i) - 2.5 // 3 in mode 0, 7 in mode 1
	}
	ratio := &ReweightedKLx{Mode: mode, Targets: []float64{0.5, 0.5}}
	checkGradients(t, ratio, in, func(in, _ Inputs) float64 {
		// eq. 29: w~ = 0.5/0.3 for mode 0, 0.5/0.7 for mode 1.
		w := make([]float64, 10)
		for i := range w {
			w[i] = 0.5 / 0.7
			if i < 3 {
				w[i] = 0.5 / 0.3
			}
		}
		w = normalize(w)
		var s float64
		for i := range w {
			s += w[i] * (in[BetaU][i] + in[LogPG][i] - in[LogQN][i])
		}
		return s / 10
	})
	// Adaptive: after k steps with mode 0 under-represented, its weight
	// is 1.01^k and mode 1's 1.01^-k.
	ad := &ReweightedKLx{Mode: mode, Targets: []float64{0.5, 0.5}, Adaptive: true}
	for k := 0; k < 5; k++ {
		if _, err := ad.Evaluate(clone(in)); err != nil {
			t.Fatal(err)
		}
	}
	if s := ad.State(); math.Abs(s[0]-math.Pow(1.01, 5)) > 1e-12 || math.Abs(s[1]-math.Pow(1.01, -5)) > 1e-12 {
		t.Errorf("adaptive weights after 5 steps: %v", s)
	}
	res, _ := ad.Evaluate(clone(in))
	if res.Metrics["mode0_fraction"] != 0.3 {
		t.Errorf("metrics %v", res.Metrics)
	}
}

func TestInputsChecked(t *testing.T) {
	in := batchOf(4, 8)
	delete(in, BetaU)
	if _, err := (L2Plus{}).Evaluate(in); err == nil {
		t.Error("a missing input was accepted")
	}
	in = batchOf(4, 8)
	in[LogPG] = in[LogPG][:3]
	if _, err := (L2Plus{}).Evaluate(in); err == nil {
		t.Error("inputs of different lengths were accepted")
	}
	in = batchOf(4, 8)
	in[BetaU][2] = math.Inf(1)
	if _, err := (L2Plus{}).Evaluate(in); err == nil {
		t.Error("an infinite energy was accepted")
	}
}

// TestLogZEstimates: on samples of a known p_G and p~_B = Z p_G, the
// metrics estimate log Z exactly and the ESS is 1.
func TestLogZEstimates(t *testing.T) {
	in := batchOf(50, 9)
	for i := range in[BetaU] {
		in[BetaU][i] = -in[LogPG][i] - 2.5 // p~_B = e^2.5 p_G
	}
	res, err := L2Plus{}.Evaluate(in)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Metrics["log_z_estimate"]-2.5) > 1e-12 || math.Abs(res.Metrics["mean_log_ratio"]-2.5) > 1e-12 || math.Abs(res.Metrics["ess_fraction"]-1) > 1e-12 || res.Value != 0 {
		t.Errorf("%v, value %g", res.Metrics, res.Value)
	}
}

// TestSinkhorn checks the debiased divergence's gradient in the model's
// points against finite differences (with a temperature and iterations
// at which Sinkhorn converges), that it vanishes in expectation for
// identical clouds, and the data-free weights.
func TestSinkhorn(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 1))
	n, m, dim := 5, 4, 2
	in := Inputs{Coords: make([]float64, n*dim), LogPG: make([]float64, n), RefCoords: make([]float64, m*dim),
		RefBetaU: make([]float64, m), RefLogPG: make([]float64, m)}
	for i := range in[Coords] {
		in[Coords][i] = rng.NormFloat64()
	}
	for i := range in[RefCoords] {
		in[RefCoords][i] = 0.5 + rng.NormFloat64()
	}
	for j := 0; j < m; j++ {
		in[RefBetaU][j], in[RefLogPG][j] = rng.NormFloat64(), rng.NormFloat64()
	}
	for _, l := range []Sinkhorn{{Epsilon: 0.3, Iterations: 3000}, {Epsilon: 0.3, Iterations: 3000, DataFree: true}} {
		res, err := l.Evaluate(clone(in))
		if err != nil {
			t.Fatal(err)
		}
		const h = 1e-5
		for i := range in[Coords] {
			p, q := clone(in), clone(in)
			p[Coords][i] += h
			q[Coords][i] -= h
			rp, _ := l.Evaluate(p)
			rq, _ := l.Evaluate(q)
			fd := (rp.Value - rq.Value) / (2 * h)
			if math.Abs(fd-res.Grad[Coords][i]) > 1e-6*(1+math.Abs(fd)) {
				t.Errorf("%s: d/dx[%d] = %.10g, finite difference %.10g", l.Info().Name, i, res.Grad[Coords][i], fd)
			}
		}
	}
	// The data-free weights are the normalized importance weights.
	w := softmax(logRatio(in[RefBetaU], in[RefLogPG]))
	var s float64
	for _, x := range w {
		s += x
	}
	if math.Abs(s-1) > 1e-12 {
		t.Errorf("weights sum to %g", s)
	}
	// Far apart clouds cost more than overlapping ones.
	near, _ := Sinkhorn{Epsilon: 0.3, Iterations: 500}.Evaluate(clone(in))
	far := clone(in)
	for i := range far[RefCoords] {
		far[RefCoords][i] += 5
	}
	farRes, _ := Sinkhorn{Epsilon: 0.3, Iterations: 500}.Evaluate(far)
	if !(farRes.Value > near.Value+10) {
		t.Errorf("divergence %g near, %g with the reference moved by 5", near.Value, farRes.Value)
	}
}

func TestScaled(t *testing.T) {
	in := batchOf(5, 11)
	a, _ := L2Plus{}.Evaluate(clone(in))
	b, err := Scaled{Weight: 0.02, Loss: L2Plus{}}.Evaluate(clone(in))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(b.Value-0.02*a.Value) > 1e-15 || math.Abs(b.Grad[LogPG][2]-0.02*a.Grad[LogPG][2]) > 1e-15 {
		t.Errorf("scaled %v, unscaled %v", b, a)
	}
}

func TestPairCB(t *testing.T) {
	in := batchOf(6, 12)
	ref := batchOf(4, 13)
	in[RefBetaU], in[RefLogPG] = ref[BetaU], ref[LogPG]
	checkGradients(t, PairCB{}, in, func(in, frozen Inputs) float64 {
		rj := logRatio(frozen[RefBetaU], frozen[RefLogPG])
		w := normalize(softmax(rj))
		var s float64
		for i := range in[BetaU] {
			ri := -in[BetaU][i] - in[LogPG][i]
			for j := range rj {
				if d := ri - rj[j]; d > 0 {
					s += w[j] * d * d
				}
			}
		}
		return s / 24
	})
}

// TestForceMatching checks the smooth-flows paper's eq. 4 written out:
// the mean over samples of the squared distance between beta F and the
// score, with its gradients by finite differences.
func TestForceMatching(t *testing.T) {
	in := batchOf(5, 9)
	rng := rand.New(rand.NewPCG(9, 2))
	in[Score], in[BetaForce] = make([]float64, 15), make([]float64, 15)
	for i := range in[Score] {
		in[Score][i], in[BetaForce][i] = rng.NormFloat64(), 2*rng.NormFloat64()
	}
	checkGradients(t, ForceMatching{}, in, func(in, _ Inputs) float64 {
		var s float64
		for r := 0; r < 5; r++ {
			for k := 0; k < 3; k++ {
				d := in[BetaForce][3*r+k] - in[Score][3*r+k]
				s += d * d
			}
		}
		return s / 5
	})
	bad := clone(in)
	bad[Score] = bad[Score][:14]
	if _, err := (ForceMatching{}).Evaluate(bad); err == nil {
		t.Error("a score of 14 values for 5 samples was accepted")
	}
}
