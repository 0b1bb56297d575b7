package engine

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/integrators"
	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// TrainConfig is what `mdrun train -c train.yaml` reads: the system and
// its energy (as for mdrun run), a dataset, the flow, loss and trainer
// plugins, and the phases of the thesis' protocol.
type TrainConfig struct {
	System     SystemConfig     `mapstructure:"system" json:"system"`
	ForceField ForceFieldConfig `mapstructure:"forcefield" json:"forcefield"`
	// Temperature in K (kT for reduced units). Default 300 K, or kT = 1.
	Temperature float64 `mapstructure:"temperature" json:"temperature"`
	// Data are dataset .npz files from mdrun gendata or mdrun run, their
	// frames pooled in order (a single path is a list of one).
	Data []string `mapstructure:"data" json:"data,omitempty"`
	// Validation holds frames out of training, to compare the flow's
	// likelihood of them with that of the training frames.
	Validation ValidationConfig `mapstructure:"validation" json:"validation,omitempty"`
	// Flow, Loss and Trainer are plugins; their names default to the
	// built-in flow, loss and trainer.
	Flow PluginConfig `mapstructure:"flow" json:"flow"`
	Loss PluginConfig `mapstructure:"loss" json:"loss"`
	// Losses, instead of Loss, is a weighted sum of losses, each evaluated
	// on its own samples before one optimizer step.
	Losses  []WeightedPluginConfig `mapstructure:"losses" json:"losses,omitempty"`
	Trainer PluginConfig           `mapstructure:"trainer" json:"trainer"`
	// Placer trains the hydrogen placer of a molecular flow on the data's
	// heavy atoms; Pretrain is maximum likelihood on Data; Train uses Loss.
	Placer   PhaseConfig `mapstructure:"placer" json:"placer"`
	Pretrain PhaseConfig `mapstructure:"pretrain" json:"pretrain"`
	Train    PhaseConfig `mapstructure:"train" json:"train"`
	Evaluate EvalConfig  `mapstructure:"evaluate" json:"evaluate"`
	// Oversample repeats the data frames of rare modes in every training
	// draw (placer, pre-training, data losses), for flows meant as
	// proposals: see training.Trainer.Oversample.
	Oversample OversampleConfig `mapstructure:"oversample" json:"oversample,omitempty"`
	// Checkpoint is the number of steps between checkpoints (0: at the
	// end only).
	Checkpoint int    `mapstructure:"checkpoint" json:"checkpoint,omitempty"`
	Seed       uint64 `mapstructure:"seed" json:"seed,omitempty"`
	Output     struct {
		Dir    string `mapstructure:"dir" json:"dir,omitempty"`
		Prefix string `mapstructure:"prefix" json:"prefix,omitempty"`
		// Log is the number of steps between rows of the metrics CSV.
		Log int `mapstructure:"log" json:"log,omitempty"`
	} `mapstructure:"output" json:"output"`
	Plugins PluginsConfig `mapstructure:"plugins" json:"plugins"`
}

// WeightedPluginConfig is a term of a weighted sum of losses.
type WeightedPluginConfig struct {
	Weight       float64 `mapstructure:"weight" json:"weight"`
	PluginConfig `mapstructure:",squash"`
}

// lossTerms returns the loss's terms: Losses, or Loss with weight 1.
func (c *TrainConfig) lossTerms() []WeightedPluginConfig {
	if len(c.Losses) > 0 {
		return c.Losses
	}
	return []WeightedPluginConfig{{Weight: 1, PluginConfig: c.Loss}}
}

// PhaseConfig is one phase of training.
type PhaseConfig struct {
	Steps   int     `mapstructure:"steps" json:"steps,omitempty"`
	Batch   int     `mapstructure:"batch" json:"batch,omitempty"`
	LR      float64 `mapstructure:"lr" json:"lr,omitempty"`
	LRFinal float64 `mapstructure:"lr_final" json:"lr_final,omitempty"`
	Clip    float64 `mapstructure:"clip" json:"clip,omitempty"`
	// Warmup is the number of first steps over which the rate rises
	// linearly to LR; the schedule to LRFinal follows.
	Warmup int `mapstructure:"warmup" json:"warmup,omitempty"`
}

// OversampleConfig names a mode set (as evaluate.modes) and the fraction
// of the training draws each of its modes gets at least (default 0.05).
type OversampleConfig struct {
	Modes    string  `mapstructure:"modes" json:"modes,omitempty"`
	Fraction float64 `mapstructure:"fraction" json:"fraction,omitempty"`
}

// ValidationConfig is the held-out data: datasets of their own (best
// independent runs: frames of one trajectory are correlated), or the last
// Fraction of Data's frames.
type ValidationConfig struct {
	Data     []string `mapstructure:"data" json:"data,omitempty"`
	Fraction float64  `mapstructure:"fraction" json:"fraction,omitempty"`
}

// EvalConfig is the evaluation during training.
type EvalConfig struct {
	Every   int    `mapstructure:"every" json:"every,omitempty"`
	Samples int    `mapstructure:"samples" json:"samples,omitempty"`
	Modes   string `mapstructure:"modes" json:"modes,omitempty"`
}

// LoadTrainConfig reads a training config (YAML).
func LoadTrainConfig(path string) (*TrainConfig, error) {
	var c TrainConfig
	if err := loadYAML(path, &c, nil); err != nil {
		return nil, err
	}
	dir := dirOf(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.System.PSF, c.System.Coords = rel(c.System.PSF), rel(c.System.Coords)
	for i, p := range c.Data {
		c.Data[i] = rel(p)
	}
	for i, p := range c.Validation.Data {
		c.Validation.Data[i] = rel(p)
	}
	for i, p := range c.System.Params {
		c.System.Params[i] = rel(p)
	}
	c.ForceField.Align.Reference = rel(c.ForceField.Align.Reference)
	for _, p := range []*PluginConfig{&c.System.Plugin, &c.Flow, &c.Loss, &c.Trainer} {
		p.Path = rel(p.Path)
	}
	// A flow to start from (load) is a file too.
	if load, ok := c.Flow.Options["load"]; ok {
		c.Flow.Options["load"] = rel(load)
	}
	for i := range c.Losses {
		c.Losses[i].Path = rel(c.Losses[i].Path)
	}
	if c.Plugins.Dir != "" {
		c.Plugins.Dir = rel(c.Plugins.Dir)
	}
	if c.Output.Dir == "" {
		c.Output.Dir = dir
	} else {
		c.Output.Dir = rel(c.Output.Dir)
	}
	return &c, nil
}

// loadYAML reads a YAML file into target with every key checked, the
// environment (MDRUN_ + the dotted key with underscores) applied.
func loadYAML(path string, target any, overrides map[string]any) error {
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	for _, k := range leafKeys(reflect.TypeOf(target).Elem(), "") {
		v.SetDefault(k, nil)
	}
	v.SetEnvPrefix("MDRUN")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	for k, val := range overrides {
		v.Set(k, val)
	}
	err := v.UnmarshalExact(target, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.WeaklyTypedInput = true
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(mapstructure.StringToSliceHookFunc(","), mapstructure.StringToTimeDurationHookFunc())
	})
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

func (c *TrainConfig) withDefaults() *TrainConfig {
	out := *c
	reduced := c.System.Analytic != "" || c.System.Plugin.Enabled()
	if out.Temperature == 0 {
		out.Temperature = 300
		if reduced {
			out.Temperature = 1
		}
	}
	for _, p := range []struct {
		cfg  *PluginConfig
		name string
	}{{&out.Flow, "flow"}, {&out.Loss, "loss"}, {&out.Trainer, "trainer"}} {
		if !p.cfg.Enabled() {
			p.cfg.Name = p.name
		}
	}
	out.Losses = append([]WeightedPluginConfig(nil), c.Losses...)
	for i := range out.Losses {
		if !out.Losses[i].Enabled() {
			out.Losses[i].Name = "loss"
		}
	}
	if out.Placer.Batch == 0 {
		out.Placer.Batch = 256
	}
	if out.Placer.LR == 0 {
		out.Placer.LR = 1e-3
	}
	if out.Pretrain.Batch == 0 {
		out.Pretrain.Batch = 256
	}
	if out.Pretrain.LR == 0 {
		out.Pretrain.LR = 1e-3
	}
	if out.Train.Batch == 0 {
		out.Train.Batch = 256
	}
	if out.Train.LR == 0 {
		out.Train.LR = 1e-4
	}
	if out.Evaluate.Samples == 0 {
		out.Evaluate.Samples = 2000
	}
	if out.Evaluate.Modes == "" {
		out.Evaluate.Modes = "auto"
	}
	if out.Seed == 0 {
		out.Seed = 1
	}
	if out.Output.Prefix == "" {
		out.Output.Prefix = "train"
	}
	if out.Output.Log == 0 {
		out.Output.Log = 10
	}
	return &out
}

// Validate checks a training config before anything starts.
func (c *TrainConfig) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) { errs = append(errs, key+": "+fmt.Sprintf(format, args...)) }
	if c.Placer.Steps < 0 || c.Pretrain.Steps < 0 || c.Train.Steps < 0 || c.Placer.Steps+c.Pretrain.Steps+c.Train.Steps == 0 {
		bad("placer.steps, pretrain.steps, train.steps", "at least one phase needs steps, none negative")
	}
	if c.Pretrain.Steps > 0 && len(c.Data) == 0 {
		bad("data", "pre-training needs a dataset")
	}
	if c.Placer.Steps > 0 && len(c.Data) == 0 {
		bad("data", "training the placer needs a dataset")
	}
	if c.ForceField.Placer.Enabled() {
		bad("forcefield.placer", "a flow trains on the molecule's own energy; the energy with a flow's placed hydrogens is for sampling (mdrun run, mdrun gendata --placer)")
	}
	if c.Oversample.Modes != "" && len(c.Data) == 0 {
		bad("oversample", "oversampling modes needs a dataset")
	}
	if f := c.Oversample.Fraction; f != 0 && !(f > 0 && f < 1) {
		bad("oversample.fraction", "%g is not a fraction in (0, 1)", f)
	}
	datasets := func(key string, paths []string) {
		for _, p := range paths {
			if strings.Contains(p, ",") {
				// The plugins get the list comma-separated.
				bad(key, "%s: a dataset's path may not hold a comma", p)
			} else if _, err := os.Stat(p); err != nil {
				bad(key, "%v", err)
			}
		}
	}
	datasets("data", c.Data)
	if v := c.Validation; len(v.Data) > 0 || v.Fraction != 0 {
		switch {
		case len(c.Data) == 0:
			bad("validation", "validation frames are compared with the training data, and there is none")
		case len(v.Data) > 0 && v.Fraction != 0:
			bad("validation", "give data (held-out datasets) or fraction (of the training data), not both")
		case !(v.Fraction >= 0 && v.Fraction < 1):
			bad("validation.fraction", "%g is not a fraction in (0, 1)", v.Fraction)
		}
		datasets("validation.data", v.Data)
	}
	for key, p := range map[string]PhaseConfig{"placer": c.Placer, "pretrain": c.Pretrain, "train": c.Train} {
		if p.Batch < 1 || !(p.LR > 0) || p.LRFinal < 0 || p.Clip < 0 {
			bad(key, "batch and lr must be positive, lr_final and clip not negative")
		}
		if p.Warmup < 0 || (p.Warmup > 0 && p.Warmup >= p.Steps) {
			bad(key+".warmup", "%d is not a number of steps below the phase's %d", p.Warmup, p.Steps)
		}
	}
	if len(c.Losses) > 0 && (c.Loss.Path != "" || len(c.Loss.Options) > 0 || c.Loss.Name != "loss") {
		bad("loss, losses", "give one loss or a weighted sum of losses, not both")
	}
	for k, t := range c.lossTerms() {
		key := "loss"
		if len(c.Losses) > 0 {
			key = fmt.Sprintf("losses[%d]", k)
		}
		if c.Train.Steps > 0 && t.Name == "loss" && t.Path == "" && t.Options["name"] == "" {
			bad(key+".options.name", "the built-in loss needs a name: ml, klx, klz_df, klx_bw, renyi, pl2_gb, l2plus or sinkhorn")
		}
		if !(t.Weight > 0) {
			bad(key+".weight", "must be positive")
		}
		if t.Path == "" {
			if spec := ResolvePlugin(t.Name, "", nil, "", c.Plugins.Dir); spec.Path == "" {
				bad(key, "no built-in plugin is called %q: give path, or plugins.dir", t.Name)
			}
		} else if _, err := os.Stat(t.Path); err != nil {
			bad(key+".path", "%v", err)
		}
	}
	if !(c.Temperature > 0) {
		bad("temperature", "must be positive")
	}
	for key, p := range map[string]PluginConfig{"flow": c.Flow, "trainer": c.Trainer} {
		if p.Path == "" {
			if spec := ResolvePlugin(p.Name, "", nil, "", c.Plugins.Dir); spec.Path == "" {
				bad(key, "no built-in plugin is called %q: give path, or plugins.dir", p.Name)
			}
		} else if _, err := os.Stat(p.Path); err != nil {
			bad(key+".path", "%v", err)
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("invalid training config:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// TrainEvent is one report of a training in progress.
type TrainEvent struct {
	Step, Steps int
	Metrics     map[string]float64
	Message     string
	Checkpoint  string
}

// TrainReport is what a finished training wrote.
type TrainReport struct {
	Steps   int
	Seconds float64
	Flow    string // the trained flow (.npz)
	Metrics string // the CSV of metrics
	Plots   []string
	Final   map[string]float64 // the last evaluation
}

// Train runs a training config to the end: it starts the energy (as mdrun
// run does), the flow, loss and trainer plugins, offers them to the
// trainer, follows its events, and writes the metrics CSV, the trained
// flow and plots. With resume it continues from the last checkpoint.
func Train(ctx context.Context, cfg *TrainConfig, resume bool, onEvent func(TrainEvent)) (*TrainReport, error) {
	c := cfg.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	// The energy: the same model mdrun run would use.
	r := &Run{Config: (&Config{System: c.System, ForceField: c.ForceField, Plugins: c.Plugins}).WithDefaults(), reduced: c.System.Analytic != ""}
	defer r.Close()
	if err := r.buildModel(ctx); err != nil {
		return nil, err
	}
	beta := 1 / r.kT(c.Temperature)
	var masses []float64
	units := "reduced"
	if !r.reduced {
		units = "md"
		if r.System != nil {
			masses = integrators.AtomMasses(r.System.Masses())
		}
	}
	host := &plugins.Host{Log: PluginLog, Timeout: c.Plugins.Timeout}
	defer host.Close()
	spec := func(p PluginConfig) plugins.Spec {
		return ResolvePlugin(p.Name, p.Path, p.Args, p.SHA256, c.Plugins.Dir)
	}
	flowOpts, err := c.flowOptions(r)
	if err != nil {
		return nil, err
	}
	flow, err := host.Flow(ctx, spec(c.Flow), flowOpts)
	if err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	if flow.Dim() != r.Model.Dim() {
		return nil, fmt.Errorf("flow: the flow makes configurations of %d numbers, the system has %d", flow.Dim(), r.Model.Dim())
	}
	var terms []plugins.WeightedLoss
	if c.Train.Steps > 0 {
		for k, t := range c.lossTerms() {
			l, err := host.Loss(ctx, spec(t.PluginConfig), t.Options)
			if err != nil {
				return nil, fmt.Errorf("loss %d: %w", k+1, err)
			}
			terms = append(terms, plugins.WeightedLoss{Weight: t.Weight, Loss: l})
		}
	}
	trainer, err := host.Trainer(spec(c.Trainer))
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	if err := os.MkdirAll(c.Output.Dir, 0o755); err != nil {
		return nil, err
	}
	prefix := filepath.Join(c.Output.Dir, c.Output.Prefix)
	opts := c.trainerOptions(beta, prefix, resume)
	total := c.Placer.Steps + c.Pretrain.Steps + c.Train.Steps
	log := &metricsLog{path: prefix + ".metrics.csv"}
	if resume {
		if err := log.read(); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	final := map[string]float64{}
	err = trainer.Train(ctx, opts, flow, terms, r.Model, masses, units, func(ev *pluginpb.TrainEvent) error {
		if len(ev.GetMetrics()) > 0 {
			log.add(int(ev.GetStep()), ev.GetMetrics())
			if _, ok := ev.GetMetrics()["eval_log_z"]; ok {
				final = ev.GetMetrics()
			}
		}
		if ev.GetCheckpoint() != "" {
			if err := log.write(); err != nil {
				return err
			}
		}
		if onEvent != nil {
			onEvent(TrainEvent{Step: int(ev.GetStep()), Steps: total, Metrics: ev.GetMetrics(), Message: ev.GetMessage(), Checkpoint: ev.GetCheckpoint()})
		}
		return nil
	})
	// Whatever happened, keep the metrics so far.
	if werr := log.write(); err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	rep := &TrainReport{Steps: total, Flow: prefix + ".flow.npz", Metrics: log.path, Final: final}
	if err := flow.Save(ctx, rep.Flow); err != nil {
		return nil, err
	}
	rep.Plots, err = c.plots(ctx, prefix, log, flow, r.Model, beta)
	if err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// flowOptions completes the flow plugin's options from the system: a
// built-in flow on a CHARMM system gets the PSF and reference structure,
// on an analytic one its dimension, and the dataset for standardization.
func (c *TrainConfig) flowOptions(r *Run) (map[string]string, error) {
	o := map[string]string{}
	for k, v := range c.Flow.Options {
		o[k] = v
	}
	builtin := c.Flow.Name == "flow" && c.Flow.Path == ""
	if !builtin || o["load"] != "" {
		return o, nil
	}
	if _, ok := o["dim"]; !ok && r.System == nil {
		o["dim"] = strconv.Itoa(r.Model.Dim())
	}
	if r.System != nil && o["psf"] == "" && o["system"] == "" {
		if c.System.PSF == "" {
			o["system"] = "default"
		} else {
			o["psf"] = c.System.PSF
			if o["coords"] == "" {
				o["coords"] = c.System.Coords
			}
		}
	}
	if len(c.Data) > 0 && o["data"] == "" {
		o["data"] = strings.Join(c.Data, ",")
	}
	if o["seed"] == "" {
		o["seed"] = strconv.FormatUint(c.Seed, 10)
	}
	return o, nil
}

// trainerOptions are the built-in trainer's options for the config.
func (c *TrainConfig) trainerOptions(beta float64, prefix string, resume bool) map[string]string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	i := strconv.Itoa
	o := map[string]string{
		"beta": f(beta), "data": strings.Join(c.Data, ","), "seed": strconv.FormatUint(c.Seed, 10),
		"placer_steps": i(c.Placer.Steps), "placer_batch": i(c.Placer.Batch), "placer_lr": f(c.Placer.LR),
		"pretrain_steps": i(c.Pretrain.Steps), "pretrain_batch": i(c.Pretrain.Batch), "pretrain_lr": f(c.Pretrain.LR),
		"steps": i(c.Train.Steps), "batch": i(c.Train.Batch), "lr": f(c.Train.LR), "clip": f(c.Train.Clip),
		"eval_every": i(c.Evaluate.Every), "eval_samples": i(c.Evaluate.Samples), "modes": c.Evaluate.Modes,
		"log_every": i(c.Output.Log), "checkpoint": prefix, "checkpoint_every": i(max(c.Checkpoint, 0)),
		"resume": strconv.FormatBool(resume),
	}
	if len(c.Validation.Data) > 0 {
		o["validation"] = strings.Join(c.Validation.Data, ",")
	}
	if c.Validation.Fraction > 0 {
		o["validation_fraction"] = f(c.Validation.Fraction)
	}
	if c.Oversample.Modes != "" {
		o["oversample_modes"] = c.Oversample.Modes
		if c.Oversample.Fraction != 0 {
			o["oversample_fraction"] = f(c.Oversample.Fraction)
		}
	}
	if c.Checkpoint == 0 {
		o["checkpoint_every"] = i(c.Placer.Steps + c.Pretrain.Steps + c.Train.Steps)
	}
	for prefix, ph := range map[string]PhaseConfig{"placer_": c.Placer, "pretrain_": c.Pretrain, "": c.Train} {
		if ph.LRFinal > 0 {
			o[prefix+"lr_final"] = f(ph.LRFinal)
		}
		if prefix != "" && ph.Clip > 0 {
			o[prefix+"clip"] = f(ph.Clip)
		}
		if ph.Warmup > 0 {
			o[prefix+"warmup"] = i(ph.Warmup)
		}
	}
	if c.System.Analytic != "" {
		o["analytic"] = c.System.Analytic
		var kv []string
		for k, v := range c.System.AnalyticParams {
			kv = append(kv, k+"="+f(v))
		}
		sort.Strings(kv)
		o["analytic_params"] = strings.Join(kv, ",")
	} else if c.System.PSF != "" {
		o["psf"], o["params"] = c.System.PSF, strings.Join(c.System.Params, ",")
	}
	if c.System.Plugin.Enabled() {
		o["modes"] = "none"
	}
	return o
}

// metricsLog collects the trainer's metrics by step, for the CSV file and
// the plots.
type metricsLog struct {
	path  string
	steps []int
	rows  []map[string]float64
}

func (l *metricsLog) add(step int, m map[string]float64) {
	if n := len(l.steps); n > 0 && l.steps[n-1] == step {
		for k, v := range m {
			l.rows[n-1][k] = v
		}
		return
	}
	row := map[string]float64{}
	for k, v := range m {
		row[k] = v
	}
	l.steps = append(l.steps, step)
	l.rows = append(l.rows, row)
}

func (l *metricsLog) columns() []string {
	set := map[string]bool{}
	for _, r := range l.rows {
		for k := range r {
			set[k] = true
		}
	}
	cols := make([]string, 0, len(set))
	for k := range set {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	return cols
}

// write replaces the CSV with every row so far (empty cells where a row
// lacks a metric), atomically.
func (l *metricsLog) write() error {
	tmp := l.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	cols := l.columns()
	w.Write(append([]string{"step"}, cols...))
	for i, r := range l.rows {
		rec := []string{strconv.Itoa(l.steps[i])}
		for _, c := range cols {
			v, ok := r[c]
			if !ok {
				rec = append(rec, "")
				continue
			}
			rec = append(rec, strconv.FormatFloat(v, 'g', 8, 64))
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, l.path)
}

// read loads the rows of an existing CSV, for a resumed training.
func (l *metricsLog) read() error {
	f, err := os.Open(l.path)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	if len(recs) == 0 {
		return nil
	}
	head := recs[0]
	for _, rec := range recs[1:] {
		step, err := strconv.Atoi(rec[0])
		if err != nil {
			return fmt.Errorf("%s: step %q", l.path, rec[0])
		}
		row := map[string]float64{}
		for j := 1; j < len(rec) && j < len(head); j++ {
			if rec[j] == "" {
				continue
			}
			if v, err := strconv.ParseFloat(rec[j], 64); err == nil {
				row[head[j]] = v
			}
		}
		l.add(step, row)
	}
	return nil
}

// series returns the steps and values of a metric where it was recorded.
func (l *metricsLog) series(name string) (x, y []float64) {
	for i, r := range l.rows {
		if v, ok := r[name]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			x = append(x, float64(l.steps[i]))
			y = append(y, v)
		}
	}
	return x, y
}

// plots draws the training curves and the energy histogram of the trained
// flow's samples against the data.
func (c *TrainConfig) plots(ctx context.Context, prefix string, log *metricsLog, flow *plugins.RemoteFlow, energy forcefields.Model, beta float64) ([]string, error) {
	var out []string
	x, y := log.series("loss")
	if len(x) > 1 {
		path := prefix + ".loss.png"
		if err := analysis.PlotLines([]analysis.LineSeries{{Name: "loss", X: x, Y: y}}, "step", "loss", "training loss", path, false); err != nil {
			return out, err
		}
		out = append(out, path)
	}
	var evals []analysis.LineSeries
	for _, name := range []string{"eval_reverse_ess", "eval_forward_ess"} {
		if x, y := log.series(name); len(x) > 0 {
			evals = append(evals, analysis.LineSeries{Name: strings.TrimPrefix(name, "eval_"), X: x, Y: y})
		}
	}
	if len(evals) > 0 && len(evals[0].X) > 1 {
		path := prefix + ".ess.png"
		if err := analysis.PlotLines(evals, "step", "ESS / n", "effective sample size", path, false); err != nil {
			return out, err
		}
		out = append(out, path)
	}
	// Energies of the trained flow's samples and of the data.
	n := min(c.Evaluate.Samples, 4000)
	_, xs, _, err := flow.Sample(ctx, n, c.Seed+7)
	if err != nil {
		return out, err
	}
	series := []analysis.Series{{Name: "flow", Values: energiesOf(ctx, energy, xs)}}
	if len(c.Data) > 0 {
		sub, err := referenceFrames(c.Data, energy.Dim(), n)
		if err != nil {
			return out, err
		}
		series = append(series, analysis.Series{Name: "data", Values: energiesOf(ctx, energy, sub)})
	}
	for _, s := range series {
		if s.Values == nil {
			return out, fmt.Errorf("energies of the %s samples could not be evaluated", s.Name)
		}
	}
	series, lo, hi, title := histogramRange(series)
	path := prefix + ".energy.png"
	if err := analysis.PlotHistogram(series, 60, "energy", title, path, analysis.WithRange(lo, hi)); err != nil {
		return out, err
	}
	return append(out, path), nil
}

// histogramRange spans the central 98% of every series, but not more than
// three times the last (reference) series' spread above it: a flow's tail
// can reach energies of 1e6. A series with no value inside is left out and
// named in the title.
func histogramRange(series []analysis.Series) (kept []analysis.Series, lo, hi float64, title string) {
	quantile := func(v []float64, q float64) float64 {
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		return s[int(q*float64(len(s)-1))]
	}
	ref := series[len(series)-1].Values
	rlo, rhi := quantile(ref, 0.01), quantile(ref, 0.99)
	lo, hi = rlo, rhi
	for _, s := range series {
		lo = math.Min(lo, quantile(s.Values, 0.01))
		hi = math.Max(hi, quantile(s.Values, 0.99))
	}
	hi = math.Min(hi, rhi+3*(rhi-rlo))
	lo = math.Max(lo, rlo-3*(rhi-rlo))
	title = "energies of the trained flow's samples and the data"
	for _, s := range series {
		inside := false
		for _, v := range s.Values {
			if v >= lo && v <= hi {
				inside = true
				break
			}
		}
		if !inside {
			title = fmt.Sprintf("energies (no %s sample between %.3g and %.3g)", s.Name, lo, hi)
			continue
		}
		kept = append(kept, s)
	}
	return kept, lo, hi, title
}

// energiesOf is evaluateEnergies for the plots: a failure leaves the
// series empty rather than failing the training that is already done.
func energiesOf(ctx context.Context, m forcefields.Model, x []float64) []float64 {
	e, err := evaluateEnergies(ctx, m, x)
	if err != nil {
		return nil
	}
	return e
}
