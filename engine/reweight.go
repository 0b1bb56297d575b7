package engine

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/floats"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/plugins"
)

// ReweightJob is importance sampling with a trained flow: independent
// samples x ~ p_G with self-normalized weights w ∝ exp(-beta U(x)) / p_G(x)
// give unbiased (for many samples) estimates under the Boltzmann
// distribution, whatever the flow's errors, and the weights' effective
// sample size says what the flow is worth.
type ReweightJob struct {
	// Config is the training config of the flow: its system, force field
	// (clipping, alignment), temperature, reference dataset (Data, for the
	// forward ESS) and output prefix (the flow PREFIX.flow.npz).
	Config *TrainConfig
	// Flow is the trained flow (.npz); default the config's output.
	Flow string
	// Samples drawn from the flow (default 100000), Batch per call (4096).
	Samples, Batch int
	// ClipWeights, in (0, 1), truncates the largest ClipWeights fraction of
	// the weights to the smallest of them: lower variance, but biased, and
	// reported as such.
	ClipWeights float64
	// Modes names the mode set (see ModeSetFor); default auto.
	Modes string
	// Out, when set, is an .npz of the samples with their energies, log
	// p_G and log weights.
	Out  string
	Seed uint64
}

// ReweightReport is the result of importance sampling, for each target
// energy: the force field as configured, and without clipping when the
// config clips (the flow was trained on the clipped energy; the weights
// carry its samples over to the unclipped one).
type ReweightReport struct {
	Flow    string           `json:"flow"`
	Samples int              `json:"samples"`
	Seconds float64          `json:"seconds"`
	Targets []ReweightTarget `json:"targets"`
}

// ReweightTarget is importance sampling toward one energy.
type ReweightTarget struct {
	Name string `json:"name"`
	// ESS is Kish's effective sample size of the weights, ESSFraction the
	// same over the number of samples (the reverse ESS).
	ESS         float64 `json:"ess"`
	ESSFraction float64 `json:"ess_fraction"`
	// LogZ estimates log of the partition function of exp(-beta U) (up to
	// the flow's base normalization): log-mean-exp of the log weights.
	LogZ float64 `json:"log_z"`
	// ForwardESS is n^2 / (sum w sum 1/w) over the reference dataset
	// (fraction), when the config names one.
	ForwardESS *float64 `json:"forward_ess,omitempty"`
	// MeanEnergy is the reweighted mean potential energy, with the
	// delta-method standard error of a self-normalized estimate.
	MeanEnergy    float64 `json:"mean_energy"`
	MeanEnergyErr float64 `json:"mean_energy_stderr"`
	// Modes are the raw and reweighted mode fractions.
	Modes []ReweightedMode `json:"modes,omitempty"`
	// Clipped repeats the estimates with the largest weights truncated
	// (biased; present with ClipWeights).
	Clipped *ClippedEstimate `json:"clipped,omitempty"`
	// NonFinite counts samples whose energy is not finite (weight 0).
	NonFinite int `json:"non_finite,omitempty"`
}

// ReweightedMode is one mode's fraction among the flow's samples and
// reweighted, with the standard error of the reweighted fraction.
type ReweightedMode struct {
	Mode     string  `json:"mode"`
	Raw      float64 `json:"raw"`
	Fraction float64 `json:"fraction"`
	StdErr   float64 `json:"stderr"`
	// ESS is Kish's effective sample size of the weights within the
	// mode: how many equally weighted samples its reweighted fraction
	// rests on. The standard error assumes the samples cover the mode;
	// a mode whose weight sits on a handful of samples (an ESS far below
	// its sample count) is one the flow covers where the target has
	// little mass, and its fraction may be off by more than StdErr.
	ESS float64 `json:"ess"`
	// Reference is the mode's fraction in the reference dataset.
	Reference *float64 `json:"reference,omitempty"`
	// MedianBetaU is the median of beta U over the flow's samples in the
	// mode, ReferenceMedianBetaU over the reference frames in it: a mode
	// whose samples lie many kT above the data's is one the flow models
	// badly, and whose samples importance weights and Metropolis-Hastings
	// reject.
	MedianBetaU          *float64 `json:"median_beta_u,omitempty"`
	ReferenceMedianBetaU *float64 `json:"reference_median_beta_u,omitempty"`
	// ReferencePlacedMedianBetaU is the median over the reference frames
	// in the mode with their hydrogens re-placed by the flow's placer (for
	// flows that place hydrogens): the energy data-free training converges
	// toward. Far above the other modes', it says the placer, not the
	// flow's heavy atoms, takes the mode's weight away.
	ReferencePlacedMedianBetaU *float64 `json:"reference_placed_median_beta_u,omitempty"`
}

// ClippedEstimate is the estimate with truncated weights.
type ClippedEstimate struct {
	Fraction    float64          `json:"fraction_clipped"`
	Threshold   float64          `json:"log_weight_threshold"`
	ESSFraction float64          `json:"ess_fraction"`
	MeanEnergy  float64          `json:"mean_energy"`
	Modes       []ReweightedMode `json:"modes,omitempty"`
	Biased      bool             `json:"biased"`
}

// Run draws the samples and reweights them.
func (j *ReweightJob) Run(ctx context.Context) (*ReweightReport, error) {
	c := j.Config.withDefaults()
	samples, batch := j.Samples, j.Batch
	if samples == 0 {
		samples = 100000
	}
	if batch == 0 {
		batch = 4096
	}
	if samples < 2 || batch < 1 {
		return nil, fmt.Errorf("reweight: %d samples in batches of %d: need at least 2 samples and a batch of 1", samples, batch)
	}
	if !(j.ClipWeights >= 0 && j.ClipWeights < 1) {
		return nil, fmt.Errorf("reweight: the fraction of weights to clip, %v, must lie in [0, 1)", j.ClipWeights)
	}
	flowPath := j.Flow
	if flowPath == "" {
		flowPath = filepath.Join(c.Output.Dir, c.Output.Prefix+".flow.npz")
	}
	start := time.Now()
	// The target energies: as configured, and unclipped when clipped.
	type target struct {
		name  string
		model forcefields.Model
		run   *Run
	}
	var targets []target
	ffs := []ForceFieldConfig{c.ForceField}
	names := []string{"energy as configured"}
	if len(c.ForceField.Clip) > 0 {
		unclipped := c.ForceField
		unclipped.Clip = nil
		ffs = append(ffs, unclipped)
		names = []string{"clipped energy (as trained)", "unclipped energy"}
	}
	for k, ff := range ffs {
		r := &Run{Config: (&Config{System: c.System, ForceField: ff, Plugins: c.Plugins}).WithDefaults(), reduced: c.System.Analytic != ""}
		defer r.Close()
		if err := r.buildModel(ctx); err != nil {
			return nil, err
		}
		targets = append(targets, target{name: names[k], model: r.Model, run: r})
	}
	first := targets[0].run
	beta := 1 / first.kT(c.Temperature)
	set, err := ModeSetFor(orDefault(j.Modes, "auto"), first.System, first.Model)
	if err != nil {
		return nil, err
	}
	host := &plugins.Host{Log: PluginLog, Timeout: c.Plugins.Timeout}
	defer host.Close()
	flow, err := host.Flow(ctx, ResolvePlugin(c.Flow.Name, c.Flow.Path, c.Flow.Args, c.Flow.SHA256, c.Plugins.Dir), map[string]string{"load": flowPath})
	if err != nil {
		return nil, fmt.Errorf("flow %s: %w", flowPath, err)
	}
	dim := first.Model.Dim()
	if flow.Dim() != dim {
		return nil, fmt.Errorf("flow %s makes configurations of %d numbers, the system has %d", flowPath, flow.Dim(), dim)
	}
	// Draw and evaluate.
	x := make([]float64, 0, samples*dim)
	logq := make([]float64, 0, samples)
	energies := make([][]float64, len(targets))
	for done, k := 0, uint64(0); done < samples; k++ {
		n := min(batch, samples-done)
		_, xb, lq, err := flow.Sample(ctx, n, j.Seed<<24+k)
		if err != nil {
			return nil, err
		}
		for t, tg := range targets {
			e, err := evaluateEnergies(ctx, tg.model, xb)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", tg.name, err)
			}
			energies[t] = append(energies[t], e...)
		}
		x, logq = append(x, xb...), append(logq, lq...)
		done += n
	}
	// The reference dataset, for the forward ESS and the modes' reference.
	var refLogW, refEnergies, refPlacedEnergies [][]float64
	var refModes []float64
	var refLabels []int
	if len(c.Data) > 0 {
		xd, err := referenceFrames(c.Data, dim, samples)
		if err != nil {
			return nil, err
		}
		logp, err := (&flowDensity{flow: flow, sigma: flow.BaseSigma()}).LogDensity(ctx, xd)
		if err != nil {
			return nil, err
		}
		for _, tg := range targets {
			e, err := evaluateEnergies(ctx, tg.model, xd)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", tg.name, strings.Join(c.Data, ", "), err)
			}
			lw := make([]float64, len(e))
			for i := range lw {
				lw[i] = -beta*e[i] - logp[i]
			}
			refLogW, refEnergies = append(refLogW, lw), append(refEnergies, e)
		}
		if set != nil {
			refLabels = set.ClassifyFrames(xd, dim)
			refModes = analysis.LabelFractions(refLabels, len(set.Modes))
		}
		if places := len(flow.Info().GetGeneratedAtoms()); places > 0 && 3*places < dim {
			xp, err := flow.Complete(ctx, xd, false)
			if err != nil {
				return nil, fmt.Errorf("placing the hydrogens of %s: %w", strings.Join(c.Data, ", "), err)
			}
			for _, tg := range targets {
				e, err := evaluateEnergies(ctx, tg.model, xp)
				if err != nil {
					return nil, fmt.Errorf("%s on %s with placed hydrogens: %w", tg.name, strings.Join(c.Data, ", "), err)
				}
				refPlacedEnergies = append(refPlacedEnergies, e)
			}
		}
	}
	// Each sample's mode, once for every target and estimate.
	var labels []int
	var raw []float64
	if set != nil {
		labels = set.ClassifyFrames(x, dim)
		raw = analysis.LabelFractions(labels, len(set.Modes))
	}
	rep := &ReweightReport{Flow: flowPath, Samples: samples}
	var logws [][]float64
	for t, tg := range targets {
		logw := make([]float64, samples)
		nonFinite := 0
		for i := range logw {
			u := energies[t][i]
			if math.IsNaN(u) || math.IsInf(u, 0) || math.IsNaN(logq[i]) {
				logw[i] = math.Inf(-1)
				nonFinite++
				continue
			}
			logw[i] = -beta*u - logq[i]
		}
		logws = append(logws, logw)
		tr, err := reweight(tg.name, logw, energies[t], set, labels, raw, refModes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tg.name, err)
		}
		tr.NonFinite = nonFinite
		medians := func(labels []int, energy []float64) []float64 {
			return analysis.ModeMedians(energy, labels, len(tr.Modes))
		}
		flowMed := medians(labels, energies[t])
		var refMed, placedMed []float64
		if refEnergies != nil {
			refMed = medians(refLabels, refEnergies[t])
		}
		if refPlacedEnergies != nil {
			placedMed = medians(refLabels, refPlacedEnergies[t])
		}
		for k := range tr.Modes {
			tr.Modes[k].MedianBetaU = scaledOrNil(flowMed, k, beta)
			tr.Modes[k].ReferenceMedianBetaU = scaledOrNil(refMed, k, beta)
			tr.Modes[k].ReferencePlacedMedianBetaU = scaledOrNil(placedMed, k, beta)
		}
		if refLogW != nil {
			f, err := analysis.ForwardESSFraction(refLogW[t])
			if err != nil {
				return nil, err
			}
			tr.ForwardESS = &f
		}
		if j.ClipWeights > 0 {
			if tr.Clipped, err = clippedEstimate(logw, energies[t], set, labels, raw, j.ClipWeights); err != nil {
				return nil, err
			}
		}
		rep.Targets = append(rep.Targets, *tr)
	}
	if j.Out != "" {
		if err := writeReweighted(j.Out, first, x, dim, energies, logq, logws); err != nil {
			return nil, err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// reweight computes the estimates of one target from log weights; labels
// are the samples' modes and raw their fractions (nil without modes).
func reweight(name string, logw, energy []float64, set *analysis.ModeSet, labels []int, raw, ref []float64) (*ReweightTarget, error) {
	w, err := analysis.NormalizedWeights(logw)
	if err != nil {
		return nil, err
	}
	tr := &ReweightTarget{Name: name, LogZ: floats.LogSumExp(logw) - math.Log(float64(len(logw)))}
	tr.ESS = 1 / floats.Dot(w, w) // Kish's, as analysis.ESS, from the weights at hand
	tr.ESSFraction = tr.ESS / float64(len(w))
	tr.MeanEnergy, tr.MeanEnergyErr = selfNormalized(w, func(i int) float64 { return energy[i] })
	tr.Modes = modeEstimates(set, labels, w, raw, ref)
	return tr, nil
}

// selfNormalized returns sum w f (w normalized) and its delta-method
// standard error sqrt(sum w^2 (f - mean)^2). Terms with zero weight are
// skipped, so a non-finite f there does no harm.
func selfNormalized(w []float64, f func(int) float64) (mean, se float64) {
	for i, v := range w {
		if v > 0 {
			mean += v * f(i)
		}
	}
	var s float64
	for i, v := range w {
		if v > 0 {
			d := f(i) - mean
			s += v * v * d * d
		}
	}
	return mean, math.Sqrt(s)
}

// modeEstimates returns the raw and reweighted fractions of each mode.
func modeEstimates(set *analysis.ModeSet, labels []int, w, raw, ref []float64) []ReweightedMode {
	if set == nil {
		return nil
	}
	out := make([]ReweightedMode, len(set.Modes))
	for k, m := range set.Modes {
		frac, se := selfNormalized(w, func(i int) float64 {
			if labels[i] == k {
				return 1
			}
			return 0
		})
		var sw, sw2 float64
		for i, v := range w {
			if labels[i] == k && v > 0 {
				sw += v
				sw2 += v * v
			}
		}
		var ess float64
		if sw2 > 0 {
			ess = sw * sw / sw2
		}
		out[k] = ReweightedMode{Mode: m.Name, Raw: raw[k], Fraction: frac, StdErr: se, ESS: ess}
		if ref != nil {
			out[k].Reference = &ref[k]
		}
	}
	return out
}

// scaledOrNil returns beta*v[k], or nil when v is nil or v[k] is NaN (a
// mode without finite energies).
func scaledOrNil(v []float64, k int, beta float64) *float64 {
	if v == nil || math.IsNaN(v[k]) {
		return nil
	}
	m := beta * v[k]
	return &m
}

// clippedEstimate truncates the largest fraction q of the weights to the
// smallest of them and repeats the estimates: less variance, some bias.
func clippedEstimate(logw, energy []float64, set *analysis.ModeSet, labels []int, raw []float64, q float64) (*ClippedEstimate, error) {
	sorted := append([]float64(nil), logw...)
	sort.Float64s(sorted)
	k := int(math.Ceil(q * float64(len(sorted))))
	th := sorted[len(sorted)-1-min(k, len(sorted)-1)]
	clipped := make([]float64, len(logw))
	for i, v := range logw {
		clipped[i] = math.Min(v, th)
	}
	tr, err := reweight("clipped", clipped, energy, set, labels, raw, nil)
	if err != nil {
		return nil, err
	}
	return &ClippedEstimate{Fraction: float64(k) / float64(len(logw)), Threshold: th, ESSFraction: tr.ESSFraction,
		MeanEnergy: tr.MeanEnergy, Modes: tr.Modes, Biased: true}, nil
}

// evaluateEnergies returns the energies of the configurations x.
func evaluateEnergies(ctx context.Context, m forcefields.Model, x []float64) ([]float64, error) {
	b := forcefields.NewBatch(m, len(x)/m.Dim(), false, false)
	copy(b.Coords, x)
	if err := m.Evaluate(ctx, b); err != nil {
		return nil, err
	}
	return b.Energy, nil
}

// referenceFrames reads up to maxFrames evenly spaced frames of datasets
// pooled.
func referenceFrames(paths []string, dim, maxFrames int) ([]float64, error) {
	x, n, d, err := dataset.Coordinates(paths...)
	if err != nil {
		return nil, err
	}
	if d != dim {
		return nil, fmt.Errorf("%s: frames of %d coordinates, the system has %d", strings.Join(paths, ", "), d, dim)
	}
	return dataset.EvenlySpaced(x, n, min(n, maxFrames), dim), nil
}

// writeReweighted saves the samples with their energies and weights.
func writeReweighted(path string, r *Run, x []float64, dim int, energies [][]float64, logq []float64, logws [][]float64) error {
	w, err := dataset.Create(path, false)
	if err != nil {
		return err
	}
	frame := []int{dim}
	if r.System != nil {
		frame = []int{dim / 3, 3}
	}
	type column struct {
		name  string
		frame []int
		data  []float64
	}
	cols := []column{{"coordinates", frame, x}, {"log_q", nil, logq}, {"energy", nil, energies[0]}, {"log_weight", nil, logws[0]}}
	if len(logws) > 1 {
		cols = append(cols, column{"energy_unclipped", nil, energies[1]}, column{"log_weight_unclipped", nil, logws[1]})
	}
	for _, c := range cols {
		if err := w.Define(c.name, dataset.Float64, c.frame...); err != nil {
			return err
		}
	}
	n := len(logq)
	for i := 0; i < n; i++ {
		for _, c := range cols {
			size := len(c.data) / n
			if err := w.Append(c.name, c.data[i*size:(i+1)*size]); err != nil {
				return err
			}
		}
	}
	return w.Close()
}
