package losses

// L2Plus is the thesis' best loss (eq. 58): the masked square of the log
// ratio above its detached batch mean, (1/n) sum (r_i - K)_+^2 with r = -beta
// U_B - log p_G and K = mean(r) detached, over detached model samples. Only
// log p_G is differentiated (through the inverse pass), and only upward:
// no forces, no importance weights, and K = -KL(p_G || p_B) never
// decreases (section 7.2).
type L2Plus struct{}

func (L2Plus) Info() Info {
	return Info{Name: "l2plus", Inputs: []string{BetaU, LogPG}, Samples: []string{ModelDetached}}
}

func (L2Plus) Evaluate(in Inputs) (Result, error) {
	n, err := batch(in, BetaU, LogPG)
	if err != nil {
		return Result{}, err
	}
	r := logRatio(in[BetaU], in[LogPG])
	k := mean(r)
	g := make([]float64, n)
	var v float64
	above := 0
	for i, x := range r {
		if d := x - k; d > 0 {
			v += d * d / float64(n)
			g[i] = -2 * d / float64(n) // dr_i/dlog p_G,i = -1
			above++
		}
	}
	m := map[string]float64{"mean_beta_u": mean(in[BetaU]), "fraction_above_mean": float64(above) / float64(n)}
	ratioMetrics(r, m)
	// beta U enters like log p_G (r = -beta U - log p_G); with detached
	// samples the trainer does not use its gradient.
	return Result{Value: v, Grad: map[string][]float64{LogPG: g, BetaU: append([]float64(nil), g...)}, Metrics: m}, nil
}

// PairGB is the pair loss PL^2_GB (thesis eq. 50): over a detached batch of
// model samples, (1/n^2) sum_i sum_j w_j max(r_i - r_j^, 0)^2, where only
// r_i is differentiated (log p_G through the inverse pass) and the
// reference points j carry the detached importance weights w_j toward p_B.
// Without Mask the max is dropped (which collapses, fig. 33); without
// Weights, w = 1 (masked PL^2_G).
type PairGB struct {
	Mask    bool
	Weights bool
}

func (l PairGB) Info() Info {
	return Info{Name: "pl2_gb", Inputs: []string{BetaU, LogPG}, Samples: []string{ModelDetached}}
}

func (l PairGB) Evaluate(in Inputs) (Result, error) {
	n, err := batch(in, BetaU, LogPG)
	if err != nil {
		return Result{}, err
	}
	r := logRatio(in[BetaU], in[LogPG])
	w := make([]float64, n)
	if l.Weights {
		w = normalize(softmax(r))
	} else {
		for i := range w {
			w[i] = 1
		}
	}
	g := make([]float64, n)
	var v float64
	nn := float64(n) * float64(n)
	for i := 0; i < n; i++ {
		var gi float64
		for j := 0; j < n; j++ {
			d := r[i] - r[j]
			if l.Mask && d < 0 {
				continue
			}
			v += w[j] * d * d / nn
			gi += 2 * w[j] * d / nn
		}
		g[i] = -gi
	}
	m := map[string]float64{"mean_beta_u": mean(in[BetaU])}
	ratioMetrics(r, m)
	return Result{Value: v, Grad: map[string][]float64{LogPG: g, BetaU: append([]float64(nil), g...)}, Metrics: m}, nil
}

// PairCB is the pair loss with a cache of under-sampled points, PL^2_CB
// (thesis section 6.4.4): as PairGB, with the differentiated points i the
// trainer's cache of the previous batch's most under-sampled half beside
// fresh samples, and the reference points j a separate fresh batch with its
// own importance weights. (1/(n m)) sum_i sum_j w_j max(r_i - r_j, 0)^2.
type PairCB struct{}

func (PairCB) Info() Info {
	return Info{Name: "pl2_cb", Inputs: []string{BetaU, LogPG, RefBetaU, RefLogPG}, Samples: []string{ModelDetached, ModelDetached}, Cache: true}
}

func (PairCB) Evaluate(in Inputs) (Result, error) {
	n, err := batch(in, BetaU, LogPG)
	if err != nil {
		return Result{}, err
	}
	m, err := batch(in, RefBetaU, RefLogPG)
	if err != nil {
		return Result{}, err
	}
	r := logRatio(in[BetaU], in[LogPG])
	rj := logRatio(in[RefBetaU], in[RefLogPG])
	w := normalize(softmax(rj))
	g := make([]float64, n)
	var v float64
	nm := float64(n) * float64(m)
	for i := 0; i < n; i++ {
		var gi float64
		for j := 0; j < m; j++ {
			if d := r[i] - rj[j]; d > 0 {
				v += w[j] * d * d / nm
				gi += 2 * w[j] * d / nm
			}
		}
		g[i] = -gi
	}
	met := map[string]float64{"mean_beta_u": mean(in[BetaU])}
	ratioMetrics(rj, met)
	return Result{Value: v, Grad: map[string][]float64{LogPG: g, BetaU: append([]float64(nil), g...),
		RefBetaU: make([]float64, m), RefLogPG: make([]float64, m)}, Metrics: met}, nil
}
