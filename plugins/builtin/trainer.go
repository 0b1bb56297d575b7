package builtin

// The trainer plugin runs the thesis' protocol (section 4.4): pre-training
// by maximum likelihood on a dataset, then training with the host's loss
// plugin, over the flow plugin and the host's energy, with evaluation and
// checkpoints. Options (all strings):
//
//	beta                  1/kT in the energy's units (required)
//	data                  a dataset .npz ("coordinates" rows of the flow's
//	                      configurations): pre-training, data losses, evaluation
//	placer_steps, placer_batch, placer_lr, placer_lr_final, placer_clip
//	                      training of the hydrogen placer on the data's heavy
//	                      atoms, first; defaults 0, 256, 1e-3, lr, 0
//	pretrain_steps, pretrain_batch, pretrain_lr, pretrain_lr_final, pretrain_clip
//	                      defaults 0, 256, 1e-3, lr, 0
//	steps, batch, lr, lr_final, clip     the training with the loss;
//	                      defaults 0, 256, 1e-4, lr, 0. In every phase the
//	                      learning rate decays geometrically from lr to
//	                      lr_final, and clip (when positive) bounds the
//	                      gradient's norm
//	eval_every, eval_samples   evaluation (defaults: at the end; 2000 samples)
//	modes, psf, params, analytic, analytic_params   the modes evaluated
//	                      (engine.ModeSetFor) and the system that defines them
//	oversample_modes, oversample_fraction   training draws from the data
//	                      repeat the frames of each mode of that set (same
//	                      syntax as modes) holding less than the fraction,
//	                      so that it holds about the fraction
//	                      (Trainer.Oversample); the evaluation does not
//	log_every             steps between progress events (default 10)
//	checkpoint, checkpoint_every   a path prefix and a period: the flow is
//	                      saved as PREFIX.flow.npz, the trainer's state as
//	                      PREFIX.trainer.json
//	resume                true continues from the checkpoint
//	seed                  of the trainer's random draws (default 1)

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/engine"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/losses"
	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/plugins/pluginpb"
	"github.com/flowmd/flowmd/topology"
	"github.com/flowmd/flowmd/training"
)

type trainerProvider struct{}

var trainerOptions = []string{"beta", "data", "validation", "validation_fraction", "placer_steps", "placer_batch", "placer_lr", "placer_lr_final", "placer_clip", "placer_warmup", "pretrain_warmup", "warmup",
	"pretrain_steps", "pretrain_batch", "pretrain_lr", "pretrain_lr_final", "pretrain_clip", "steps", "batch", "lr",
	"lr_final", "clip", "eval_every", "eval_samples", "modes", "psf", "params", "analytic", "analytic_params", "log_every",
	"oversample_modes", "oversample_fraction", "checkpoint", "checkpoint_every", "resume", "seed"}

// trainPlan is the trainer's options, parsed.
type trainPlan struct {
	beta                             float64
	data                             string
	validation                       string
	validationFraction               float64
	placerSteps, placerBatch         int
	placerLR, placerLRFinal          float64
	placerClip                       float64
	preSteps, preBatch               int
	preLR, preLRFinal, preClip       float64
	steps, batch                     int
	lr, lrFinal, clip                float64
	evalEvery, evalSamples, logEvery int
	oversample                       float64
	placerWarmup, preWarmup, warmup  int
	checkpoint                       string
	checkpointEvery                  int
	resume                           bool
	seed                             uint64
}

func parsePlan(o map[string]string) (trainPlan, error) {
	for k := range o {
		if !contains(trainerOptions, k) {
			return trainPlan{}, fmt.Errorf("unknown trainer option %q", k)
		}
	}
	p := parser{o: o}
	t := trainPlan{
		beta: p.float("beta", 0), data: o["data"], validation: o["validation"], validationFraction: p.float("validation_fraction", 0),
		placerSteps: p.int("placer_steps", 0), placerBatch: p.int("placer_batch", 256), placerLR: p.float("placer_lr", 1e-3),
		preSteps: p.int("pretrain_steps", 0), preBatch: p.int("pretrain_batch", 256), preLR: p.float("pretrain_lr", 1e-3),
		steps: p.int("steps", 0), batch: p.int("batch", 256), lr: p.float("lr", 1e-4), clip: p.float("clip", 0),
		evalEvery: p.int("eval_every", 0), evalSamples: p.int("eval_samples", 2000), logEvery: p.int("log_every", 10),
		checkpoint: o["checkpoint"], checkpointEvery: p.int("checkpoint_every", 0), resume: p.boolDefault("resume", false),
		seed: uint64(p.int("seed", 1)),
	}
	t.lrFinal = p.float("lr_final", t.lr)
	t.placerWarmup, t.preWarmup, t.warmup = p.int("placer_warmup", 0), p.int("pretrain_warmup", 0), p.int("warmup", 0)
	t.oversample = p.float("oversample_fraction", 0.05)
	t.placerLRFinal, t.placerClip = p.float("placer_lr_final", t.placerLR), p.float("placer_clip", 0)
	t.preLRFinal, t.preClip = p.float("pretrain_lr_final", t.preLR), p.float("pretrain_clip", 0)
	if p.err != nil {
		return t, p.err
	}
	switch {
	case !(t.beta > 0):
		return t, fmt.Errorf("option beta: 1/kT must be positive, got %q", o["beta"])
	case t.placerSteps < 0 || t.preSteps < 0 || t.steps < 0 || t.placerBatch < 1 || t.preBatch < 1 || t.batch < 1 || t.logEvery < 1 || t.evalSamples < 1:
		return t, fmt.Errorf("steps must not be negative, batches, log_every and eval_samples must be positive")
	case !(t.lr > 0) || !(t.lrFinal > 0) || !(t.preLR > 0) || !(t.preLRFinal > 0) || !(t.placerLR > 0) || !(t.placerLRFinal > 0):
		return t, fmt.Errorf("learning rates must be positive")
	case !(t.validationFraction >= 0 && t.validationFraction < 1):
		return t, fmt.Errorf("option validation_fraction: %q is not a fraction in [0, 1)", o["validation_fraction"])
	case t.validationFraction > 0 && t.validation != "":
		return t, fmt.Errorf("options validation and validation_fraction: hold out a fraction of the data or give a validation dataset, not both")
	case (t.validationFraction > 0 || t.validation != "") && t.data == "":
		return t, fmt.Errorf("option validation: validation frames are compared with training data, and there is none")
	case t.placerWarmup < 0 || t.preWarmup < 0 || t.warmup < 0 ||
		(t.placerWarmup > 0 && t.placerWarmup >= t.placerSteps) || (t.preWarmup > 0 && t.preWarmup >= t.preSteps) || (t.warmup > 0 && t.warmup >= t.steps):
		return t, fmt.Errorf("a phase's warmup must be fewer steps than the phase, and not negative")
	case (t.checkpointEvery > 0 || t.resume) && t.checkpoint == "":
		return t, fmt.Errorf("option checkpoint: a path prefix is needed for checkpoint_every and resume")
	}
	return t, nil
}

// readCoordinates reads the configurations of a dataset .npz, or of
// several (comma-separated) pooled.
func readCoordinates(option, paths string) ([]float64, int, error) {
	x, frames, _, err := dataset.Coordinates(strings.Split(paths, ",")...)
	if err != nil {
		return nil, 0, fmt.Errorf("option %s: %w", option, err)
	}
	return x, frames, nil
}

// trainerState is what a checkpoint of the trainer holds besides the flow.
type trainerState struct {
	Step    int               `json:"step"`
	Trainer training.State    `json:"trainer"`
	Option  map[string]string `json:"options"`
	// LossStates are the states of the stateful losses, by term (nil for
	// the others, and for plugins that cannot save theirs).
	LossStates [][]byte `json:"loss_states,omitempty"`
}

func (trainerProvider) Train(ctx context.Context, o map[string]string, svc plugins.Services, send func(*pluginpb.TrainEvent) error) error {
	plan, err := parsePlan(o)
	if err != nil {
		return err
	}
	var data, validation []float64
	frames, held := 0, 0
	if plan.data != "" {
		if data, frames, err = readCoordinates("data", plan.data); err != nil {
			return err
		}
	}
	if plan.validation != "" {
		if validation, held, err = readCoordinates("validation", plan.validation); err != nil {
			return err
		}
	}
	if plan.validationFraction > 0 {
		// The last frames, not a random draw: frames of a trajectory are
		// correlated with their neighbours, and a random split would hold
		// out near copies of training frames.
		held = int(math.Round(plan.validationFraction * float64(frames)))
		if held < 1 || held == frames {
			return fmt.Errorf("option validation_fraction: %g of %d frames leaves none to hold out or none to train on", plan.validationFraction, frames)
		}
		dim := len(data) / frames
		frames -= held
		data, validation = data[:frames*dim], data[frames*dim:]
	}
	modes, err := trainerModes(o, o["modes"])
	if err != nil {
		return err
	}
	tr, err := training.New(svc.Flow, svc.Energy, plan.beta, data, frames, plan.seed)
	if err != nil {
		return err
	}
	if held > 0 {
		if err := tr.SetValidation(validation, held); err != nil {
			return fmt.Errorf("option validation: %s: %w", plan.validation, err)
		}
		if err := send(&pluginpb.TrainEvent{Message: fmt.Sprintf("%d frames held out for validation, %d to train on", held, frames)}); err != nil {
			return err
		}
	}
	if o["oversample_modes"] != "" {
		msg, err := oversample(tr, o, plan.oversample)
		if err != nil {
			return err
		}
		if err := send(&pluginpb.TrainEvent{Message: msg}); err != nil {
			return err
		}
	}
	if (plan.placerSteps > 0 || plan.preSteps > 0 || needsData(svc.Losses)) && frames == 0 {
		return fmt.Errorf("option data: training the placer, pre-training and data losses need a dataset")
	}
	if plan.placerSteps > 0 && len(svc.Flow.Info().GetGeneratedAtoms())*3 == svc.Flow.Dim() {
		return fmt.Errorf("option placer_steps: the flow has a density over every atom (hydrogens generated or sampled); there is no deterministic placer to train, pre-training fits a sampling one")
	}
	if plan.steps > 0 && len(svc.Losses) == 0 {
		return fmt.Errorf("steps %d without a loss: the host must give one", plan.steps)
	}
	start := 0
	if plan.resume {
		if start, err = resumeTrainer(ctx, plan, o, svc.Flow, svc.Losses, tr); err != nil {
			return err
		}
		if err := send(&pluginpb.TrainEvent{Step: int64(start), Message: fmt.Sprintf("resumed at step %d", start)}); err != nil {
			return err
		}
	}
	placed, pre := plan.placerSteps, plan.placerSteps+plan.preSteps
	total := pre + plan.steps
	ml := losses.MaximumLikelihood{}
	for step := start + 1; step <= total; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var res training.StepResult
		var lr float64
		var phase string
		switch {
		case step <= placed:
			phase, lr = "placer", schedule(plan.placerLR, plan.placerLRFinal, plan.placerWarmup, step-1, plan.placerSteps)
			res, err = tr.PlacerStep(ctx, plan.placerBatch, lr, plan.placerClip)
		case step <= pre:
			phase, lr = "pretrain", schedule(plan.preLR, plan.preLRFinal, plan.preWarmup, step-placed-1, plan.preSteps)
			res, err = tr.Step(ctx, ml, plan.preBatch, lr, plan.preClip)
		default:
			if step == pre+1 {
				if err := send(&pluginpb.TrainEvent{Step: int64(step), Message: "training with " + termNames(svc.Losses)}); err != nil {
					return err
				}
			}
			phase, lr = "train", schedule(plan.lr, plan.lrFinal, plan.warmup, step-pre-1, plan.steps)
			res, err = tr.StepSum(ctx, svc.Losses, plan.batch, lr, plan.clip)
		}
		if err != nil {
			return fmt.Errorf("step %d (%s): %w", step, phase, err)
		}
		ev := &pluginpb.TrainEvent{Step: int64(step)}
		if step%plan.logEvery == 0 || step == total {
			ev.Metrics = map[string]float64{"loss": res.Loss, "grad_norm": res.GradNorm, "lr": lr,
				"phase": map[string]float64{"placer": 0, "pretrain": 1, "train": 2}[phase]}
			for k, v := range res.Metrics {
				ev.Metrics[k] = v
			}
		}
		if (plan.evalEvery > 0 && step%plan.evalEvery == 0) || step == total {
			e, err := tr.Evaluate(ctx, plan.evalSamples, modes, plan.seed+uint64(step))
			if err != nil {
				return fmt.Errorf("evaluation at step %d: %w", step, err)
			}
			if ev.Metrics == nil {
				ev.Metrics = map[string]float64{}
			}
			for k, v := range e.Metrics() {
				ev.Metrics[k] = v
			}
		}
		if plan.checkpointEvery > 0 && (step%plan.checkpointEvery == 0 || step == total) {
			if err := saveTrainer(ctx, plan, o, svc.Flow, svc.Losses, tr, step); err != nil {
				return err
			}
			ev.Checkpoint = plan.checkpoint + ".flow.npz"
		}
		if ev.Metrics != nil || ev.Checkpoint != "" {
			if err := send(ev); err != nil {
				return err
			}
		}
	}
	return send(&pluginpb.TrainEvent{Step: int64(total), Done: true, Message: "done"})
}

// schedule is the learning rate at step k (from 0) of n: rising linearly
// to lr over the first warmup steps, then geometric from lr to final.
func schedule(lr, final float64, warmup, k, n int) float64 {
	if k < warmup {
		// Adam's first steps move every parameter by about the rate,
		// whatever the gradient: they start small while its moments fill.
		return lr * float64(k+1) / float64(warmup)
	}
	return lr * math.Pow(final/lr, float64(k-warmup)/math.Max(1, float64(n-warmup-1)))
}

func needsData(terms []losses.Scaled) bool {
	for _, t := range terms {
		if contains(t.Info().Samples, losses.Data) {
			return true
		}
	}
	return false
}

// termNames describes a weighted sum of losses: "l2plus", or
// "1 klz_df + 0.02 klx".
func termNames(terms []losses.Scaled) string {
	if len(terms) == 1 {
		return terms[0].Info().Name
	}
	var parts []string
	for _, t := range terms {
		parts = append(parts, fmt.Sprintf("%g %s", t.Weight, t.Info().Name))
	}
	return strings.Join(parts, " + ")
}

// saveTrainer writes the flow and the trainer's state: the flow first, so
// that a state file always has its flow.
func saveTrainer(ctx context.Context, plan trainPlan, o map[string]string, f *plugins.RemoteFlow, terms []losses.Scaled, tr *training.Trainer, step int) error {
	if err := f.Save(ctx, plan.checkpoint+".flow.npz"); err != nil {
		return err
	}
	ts, err := tr.State()
	if err != nil {
		return err
	}
	st := trainerState{Step: step, Trainer: ts, Option: comparable(o)}
	for k, term := range terms {
		saver, ok := term.Loss.(losses.StateSaver)
		if !term.Info().Stateful || !ok {
			continue
		}
		b, err := saver.SaveState()
		if errors.Is(err, plugins.ErrNoState) {
			continue // the state restarts on resume, as the plugin chose
		}
		if err != nil {
			return fmt.Errorf("checkpoint: the state of loss %s: %w", term.Info().Name, err)
		}
		if st.LossStates == nil {
			st.LossStates = make([][]byte, len(terms))
		}
		st.LossStates[k] = b
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	path := plan.checkpoint + ".trainer.json"
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// comparable drops the options a resumed training may change.
func comparable(o map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range o {
		switch k {
		case "resume", "steps", "eval_every", "log_every", "checkpoint_every", "eval_samples":
			continue
		}
		out[k] = v
	}
	return out
}

func resumeTrainer(ctx context.Context, plan trainPlan, o map[string]string, f *plugins.RemoteFlow, terms []losses.Scaled, tr *training.Trainer) (int, error) {
	path := plan.checkpoint + ".trainer.json"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("resume: %w", err)
	}
	var st trainerState
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("resume: %s is not a trainer checkpoint: %w", path, err)
	}
	want := comparable(o)
	if len(want) != len(st.Option) {
		return 0, fmt.Errorf("resume: the trainer's options differ from those of %s", path)
	}
	for k, v := range want {
		if st.Option[k] != v {
			return 0, fmt.Errorf("resume: option %s is %q, the checkpoint %s was written with %q", k, v, path, st.Option[k])
		}
	}
	if err := f.Load(ctx, plan.checkpoint+".flow.npz"); err != nil {
		return 0, err
	}
	if err := tr.SetState(st.Trainer); err != nil {
		return 0, fmt.Errorf("resume: %s: %w", path, err)
	}
	if st.LossStates != nil && len(st.LossStates) != len(terms) {
		return 0, fmt.Errorf("resume: %s holds the states of %d losses, the training has %d", path, len(st.LossStates), len(terms))
	}
	for k, b := range st.LossStates {
		if b == nil {
			continue
		}
		saver, ok := terms[k].Loss.(losses.StateSaver)
		if !ok {
			return 0, fmt.Errorf("resume: %s holds a state for loss %s, which keeps none", path, terms[k].Info().Name)
		}
		if err := saver.LoadState(b); err != nil {
			return 0, fmt.Errorf("resume: the state of loss %s: %w", terms[k].Info().Name, err)
		}
	}
	return st.Step, nil
}

// oversample classifies the data's frames by the oversample_modes set and
// makes the trainer repeat the rare ones; it returns the message saying
// which modes are repeated how often.
func oversample(tr *training.Trainer, o map[string]string, fraction float64) (string, error) {
	set, err := trainerModes(o, o["oversample_modes"])
	if err != nil {
		return "", fmt.Errorf("option oversample_modes: %w", err)
	}
	if set == nil || tr.Frames == 0 {
		return "", fmt.Errorf("option oversample_modes: oversampling needs a mode set and data")
	}
	dim := tr.Flow.Dim()
	series := make([][]float64, len(set.CVs))
	for k, cv := range set.CVs {
		if series[k], err = analysis.EvalCV(tr.Data, dim, cv); err != nil {
			return "", fmt.Errorf("option oversample_modes: %w", err)
		}
	}
	modeOf := make([]int, tr.Frames)
	cvs := make([]float64, len(series))
	for i := range modeOf {
		for k := range series {
			cvs[k] = series[k][i]
		}
		modeOf[i] = set.Classify(cvs)
	}
	factor, err := tr.Oversample(modeOf, fraction)
	if err != nil {
		return "", fmt.Errorf("option oversample_fraction: %w", err)
	}
	var parts []string
	for m, mode := range set.Modes {
		if f := factor[m]; f > 1 {
			parts = append(parts, fmt.Sprintf("%s x%d", mode.Name, f))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("oversampling to %g: every mode already holds that much of the data", fraction), nil
	}
	return fmt.Sprintf("oversampling to %g: %s", fraction, strings.Join(parts, ", ")), nil
}

// trainerModes builds the mode set spec names (engine.ModeSetFor) from the
// system options; nil for "" and "none".
func trainerModes(o map[string]string, spec string) (*analysis.ModeSet, error) {
	if spec == "" || spec == "none" {
		return nil, nil
	}
	if name := o["analytic"]; name != "" {
		params := map[string]float64{}
		for _, kv := range strings.Split(o["analytic_params"], ",") {
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			x, err := strconv.ParseFloat(v, 64)
			if !ok || err != nil {
				return nil, fmt.Errorf("option analytic_params: %q is not NAME=NUMBER", kv)
			}
			params[k] = x
		}
		m, err := analytic.New(name, params)
		if err != nil {
			return nil, err
		}
		return engine.ModeSetFor(spec, nil, m)
	}
	files := engine.SystemFiles{PSF: o["psf"]}
	if p := o["params"]; p != "" {
		files.Params = strings.Split(p, ",")
	}
	var sys *topology.System
	var err error
	if sys, err = engine.LoadSystem(files); err != nil {
		return nil, err
	}
	var m forcefields.Model
	return engine.ModeSetFor(spec, sys, m)
}

// ServeTrainer runs the trainer plugin.
func ServeTrainer() {
	plugins.ServeTrainer(&pluginpb.PluginInfo{
		Name:        "flowmd-trainer",
		Version:     Version,
		Description: "pre-training by maximum likelihood, then training with any loss plugin, over the host's energy",
	}, trainerProvider{})
}
