package training

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/dataset"
)

// Evaluation is what the trainer measures of the flow every so often.
type Evaluation struct {
	Samples int
	// MeanBetaU is the mean reduced energy of the model's samples, and
	// DataMeanBetaU that of the data (when there is data).
	MeanBetaU, DataMeanBetaU float64
	// LogZ is log-mean-exp of r = -beta U - log p_G over model samples, a
	// consistent estimate of log Z_B; MeanLogRatio = mean r = log Z_B -
	// KL(p_G || p_B) bounds it from below.
	LogZ, MeanLogRatio float64
	// ReverseKL = LogZ - MeanLogRatio estimates KL(p_G || p_B); ForwardKL
	// = mean over data of r - LogZ estimates KL(p_B || p_G).
	ReverseKL, ForwardKL float64
	// ReverseESS is Kish's effective sample size of the importance weights
	// of model samples, over their number; ForwardESS is the forward ESS
	// fraction n^2 / (sum w sum 1/w) of the weights on data.
	ReverseESS, ForwardESS float64
	// Modes are the model samples' mode fractions, raw and reweighted to
	// p_B, and the data's.
	Modes, ReweightedModes, DataModes []float64
	ModeNames                         []string
	// ModeMedianBetaU is the median beta U of the model samples in each
	// mode, DataModeMedianBetaU that of the data frames (NaN for a mode
	// without any). A mode whose samples lie kT above its data frames is
	// covered where it has little mass; most of its samples then have r
	// below the batch mean, which L^2_+ does not push up. (With placed
	// hydrogens the data frames keep their own, whose thermal energy
	// raises the data's figure.)
	ModeMedianBetaU, DataModeMedianBetaU []float64
	// TrainNLL is the mean -log p_G of the evaluated training frames and
	// ValidationNLL that of the held-out frames, when there are any;
	// TrainModeNLL and ValidationModeNLL are the same per mode (NaN for a
	// mode without frames). A validation NLL far above the training one
	// is a flow that learnt its frames, not their distribution.
	TrainNLL, ValidationNLL         float64
	TrainModeNLL, ValidationModeNLL []float64
	// ValidationFrames is the number of held-out frames evaluated (0:
	// none, and no NLLs).
	ValidationFrames int
}

// Evaluate draws n model samples (and up to n data configurations) and
// measures them. modes may be nil. Its draws come from a stream of their
// own, seeded by seed, so that evaluating does not change the training's.
func (t *Trainer) Evaluate(ctx context.Context, n int, modes *analysis.ModeSet, seed uint64) (Evaluation, error) {
	ev := Evaluation{Samples: n}
	z, logq := latentDraw(rand.New(rand.NewPCG(seed, 0x6576616c)), n, t.Flow.LatentDim(), t.Flow.BaseSigma())
	x, ld, err := t.Flow.Forward(ctx, z, false)
	if err != nil {
		return ev, err
	}
	bu, _, err := t.energies(ctx, x, n, false)
	if err != nil {
		return ev, err
	}
	r := make([]float64, n)
	for i := range r {
		r[i] = -bu[i] - (logq[i] - ld[i])
	}
	ev.MeanBetaU = mean(bu)
	ev.LogZ = floats.LogSumExp(r) - math.Log(float64(n))
	ev.MeanLogRatio = mean(r)
	ev.ReverseKL = ev.LogZ - ev.MeanLogRatio
	w := softmax(r)
	var s2 float64
	for _, v := range w {
		s2 += v * v
	}
	ev.ReverseESS = 1 / s2 / float64(n)
	dim := t.Flow.Dim()
	if modes != nil {
		ev.Modes, ev.ReweightedModes = make([]float64, len(modes.Modes)), make([]float64, len(modes.Modes))
		for _, m := range modes.Modes {
			ev.ModeNames = append(ev.ModeNames, m.Name)
		}
		labels := modes.ClassifyFrames(x, dim)
		for i, k := range labels {
			if k >= 0 {
				ev.Modes[k] += 1 / float64(n)
				ev.ReweightedModes[k] += w[i]
			}
		}
		ev.ModeMedianBetaU = analysis.ModeMedians(bu, labels, len(modes.Modes))
	}
	if t.Frames == 0 {
		return ev, nil
	}
	m := min(n, t.Frames)
	xd := dataset.EvenlySpaced(t.Data, t.Frames, m, dim)
	bd, _, err := t.energies(ctx, xd, m, false)
	if err != nil {
		return ev, err
	}
	_, logp, err := t.logDensity(ctx, xd, false)
	if err != nil {
		return ev, err
	}
	rd := make([]float64, m)
	for j := range rd {
		rd[j] = -bd[j] - logp[j]
	}
	ev.DataMeanBetaU = mean(bd)
	ev.ForwardKL = mean(rd) - ev.LogZ
	if ev.ForwardESS, err = analysis.ForwardESSFraction(rd); err != nil {
		return ev, err
	}
	dataMode := classify(modes, xd, dim)
	if modes != nil {
		ev.DataModes = analysis.LabelFractions(dataMode, len(modes.Modes))
		ev.DataModeMedianBetaU = analysis.ModeMedians(bd, dataMode, len(modes.Modes))
	}
	if t.ValidationFrames == 0 {
		return ev, nil
	}
	ev.TrainNLL, ev.TrainModeNLL = meanNLL(logp, dataMode, modes)
	mv := min(n, t.ValidationFrames)
	xv := dataset.EvenlySpaced(t.Validation, t.ValidationFrames, mv, dim)
	_, logpv, err := t.logDensity(ctx, xv, false)
	if err != nil {
		return ev, err
	}
	ev.ValidationNLL, ev.ValidationModeNLL = meanNLL(logpv, classify(modes, xv, dim), modes)
	ev.ValidationFrames = mv
	return ev, nil
}

// classify returns the mode of each configuration (-1 for none), or nil
// without modes.
func classify(modes *analysis.ModeSet, x []float64, dim int) []int {
	if modes == nil {
		return nil
	}
	return modes.ClassifyFrames(x, dim)
}

// meanNLL returns the mean of -logp, and its mean over the frames of each
// mode (NaN for a mode without frames; nil without modes).
func meanNLL(logp []float64, mode []int, modes *analysis.ModeSet) (float64, []float64) {
	all := -mean(logp)
	if modes == nil {
		return all, nil
	}
	sum, count := make([]float64, len(modes.Modes)), make([]float64, len(modes.Modes))
	for j, k := range mode {
		if k >= 0 {
			sum[k] -= logp[j]
			count[k]++
		}
	}
	for k := range sum {
		sum[k] /= count[k] // 0/0 is NaN: no frames in the mode
	}
	return all, sum
}

// Metrics flattens an evaluation into named numbers for logs and CSV
// files (mode fractions as mode.<name>, reweighted.<name>, data.<name>;
// median beta U as median_beta_u.<name> and data_median_beta_u.<name>).
func (ev Evaluation) Metrics() map[string]float64 {
	m := map[string]float64{
		"eval_mean_beta_u": ev.MeanBetaU, "eval_log_z": ev.LogZ, "eval_mean_log_ratio": ev.MeanLogRatio,
		"eval_reverse_kl": ev.ReverseKL, "eval_reverse_ess": ev.ReverseESS,
	}
	if ev.DataModes != nil || ev.ForwardESS > 0 {
		m["eval_data_mean_beta_u"], m["eval_forward_kl"], m["eval_forward_ess"] = ev.DataMeanBetaU, ev.ForwardKL, ev.ForwardESS
	}
	validation := ev.ValidationFrames > 0
	if validation {
		m["eval_nll_train"], m["eval_nll_validation"] = ev.TrainNLL, ev.ValidationNLL
	}
	for k, name := range ev.ModeNames {
		m[fmt.Sprintf("mode.%s", name)] = ev.Modes[k]
		m[fmt.Sprintf("reweighted.%s", name)] = ev.ReweightedModes[k]
		if ev.DataModes != nil {
			m[fmt.Sprintf("data.%s", name)] = ev.DataModes[k]
		}
		if v := ev.ModeMedianBetaU[k]; !math.IsNaN(v) {
			m[fmt.Sprintf("median_beta_u.%s", name)] = v
		}
		if ev.DataModeMedianBetaU != nil && !math.IsNaN(ev.DataModeMedianBetaU[k]) {
			m[fmt.Sprintf("data_median_beta_u.%s", name)] = ev.DataModeMedianBetaU[k]
		}
		// A mode without frames on either side has no comparison to show.
		if validation && !math.IsNaN(ev.TrainModeNLL[k]) && !math.IsNaN(ev.ValidationModeNLL[k]) {
			m[fmt.Sprintf("nll_train.%s", name)] = ev.TrainModeNLL[k]
			m[fmt.Sprintf("nll_validation.%s", name)] = ev.ValidationModeNLL[k]
		}
	}
	return m
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func softmax(v []float64) []float64 {
	l := floats.LogSumExp(v)
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Exp(x - l)
	}
	return out
}
