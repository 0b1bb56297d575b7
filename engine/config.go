package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Config is one run of `mdrun run`, as a YAML file describes it. Every key
// is documented in docs/config.md with its unit and default; zero values mean
// those defaults. Environment variables MDRUN_<KEY> (nested keys joined by
// underscores, such as MDRUN_OUTPUT_DIR) and command-line flags override the
// file.
type Config struct {
	System     SystemConfig     `mapstructure:"system" json:"system"`
	ForceField ForceFieldConfig `mapstructure:"forcefield" json:"forcefield"`

	// Temperature in K for CHARMM systems, kT in reduced units for analytic
	// ones. Default 300 K, or kT = 1.
	Temperature float64 `mapstructure:"temperature" json:"temperature"`
	// Ladder, when given, runs replica exchange over a temperature ladder;
	// Temperature is then ignored.
	Ladder LadderConfig `mapstructure:"ladder" json:"ladder"`
	// Walkers is the number of independent walkers (without a ladder) or of
	// independent ladders (with one). Default 1.
	Walkers int `mapstructure:"walkers" json:"walkers"`
	// Seed of the random streams. Default 1.
	Seed uint64 `mapstructure:"seed" json:"seed"`

	Minimize MinimizeConfig `mapstructure:"minimize" json:"minimize"`
	// Moves is the schedule: each entry is applied Count times in a row,
	// and the list repeats. Default: Langevin dynamics, 1 fs, friction 1/ps.
	Moves []MoveConfig `mapstructure:"moves" json:"moves"`
	// Steps is the number of moves applied (every application of any move
	// counts). Required.
	Steps int64 `mapstructure:"steps" json:"steps"`
	// Equilibration is the number of leading steps during which Monte
	// Carlo step sizes adapt and nothing is recorded.
	Equilibration int64 `mapstructure:"equilibration" json:"equilibration"`

	Output OutputConfig `mapstructure:"output" json:"output"`

	Plugins PluginsConfig `mapstructure:"plugins" json:"plugins"`

	// pluginMDUnits records that the system's plugin answered it works on
	// atoms: the defaults are then those of CHARMM systems (300 K, 1 fs),
	// not the reduced ones. Only known once the plugin has started.
	pluginMDUnits bool
}

// SystemConfig names the molecular system or the analytic energy.
type SystemConfig struct {
	PSF    string   `mapstructure:"psf" json:"psf,omitempty"`
	Params []string `mapstructure:"params" json:"params,omitempty"`
	// Coords is the starting structure: PDB, CRD or .npy. Its
	// configurations are spread over the walkers in turn.
	Coords string `mapstructure:"coords" json:"coords,omitempty"`
	// Analytic names an analytic benchmark energy instead of a PSF system.
	Analytic       string             `mapstructure:"analytic" json:"analytic,omitempty"`
	AnalyticParams map[string]float64 `mapstructure:"analytic_params" json:"analytic_params,omitempty"`
	// Plugin takes the energy from a forcefield plugin instead.
	Plugin PluginConfig `mapstructure:"plugin" json:"plugin"`
}

// PluginConfig names a plugin and how to configure it.
type PluginConfig struct {
	// Name of the plugin: the file flowmd-<name> in plugins.dir when Path
	// is not given, and how logs and errors call it.
	Name string `mapstructure:"name" json:"name,omitempty"`
	// Path of the plugin's executable.
	Path string   `mapstructure:"path" json:"path,omitempty"`
	Args []string `mapstructure:"args" json:"args,omitempty"`
	// SHA256 of the executable; the plugin is refused if it differs.
	SHA256  string            `mapstructure:"sha256" json:"sha256,omitempty"`
	Options map[string]string `mapstructure:"options" json:"options,omitempty"`
}

// Enabled reports whether a plugin is configured.
func (p PluginConfig) Enabled() bool { return p.Name != "" || p.Path != "" }

// untrainedBuiltinFlow reports whether p names the built-in flow without a
// trained flow to load: a fresh flow, useless to a flow move or a placer.
func (p PluginConfig) untrainedBuiltinFlow() bool {
	return p.Name == "flow" && p.Path == "" && p.Options["load"] == ""
}

const untrainedFlowMessage = "the built-in flow needs a trained flow: flow: {options: {load: PREFIX.flow.npz}} (from mdrun train)"

// PluginsConfig are the settings of the plugin host.
type PluginsConfig struct {
	// Dir is where plugins are found by name (flowmd-<name>).
	Dir string `mapstructure:"dir" json:"dir,omitempty"`
	// Timeout bounds every call to a plugin. Default 60s.
	Timeout time.Duration `mapstructure:"timeout" json:"timeout,omitempty"`
}

// ForceFieldConfig are the options of the CHARMM energy.
type ForceFieldConfig struct {
	Kernel          string             `mapstructure:"kernel" json:"kernel,omitempty"`
	Cutoff          float64            `mapstructure:"cutoff" json:"cutoff,omitempty"`
	Switch          float64            `mapstructure:"switch" json:"switch,omitempty"`
	Dielectric      float64            `mapstructure:"dielectric" json:"dielectric,omitempty"`
	CoulombConstant float64            `mapstructure:"coulomb_constant" json:"coulomb_constant,omitempty"`
	Clip            map[string]float64 `mapstructure:"clip" json:"clip,omitempty"`
	Align           AlignConfig        `mapstructure:"align" json:"align"`
	// Placer samples the energy with the hydrogens a flow places instead
	// of the molecule's own: see PlacerConfig.
	Placer PlacerConfig `mapstructure:"placer" json:"placer"`
}

// PlacerConfig turns the energy into U(x^C, G^H(x^C)) plus a tether of
// the hydrogens to the placed positions, where G^H is the hydrogen placer
// of a flow trained by mdrun train: the distribution of heavy atoms that
// data-free training of that flow converges to (thesis App. A.2, eq. 84),
// whose mode fractions say what a data-free loss should reach. The tether
// leaves the heavy atoms' distribution exactly as it is (see
// engine/placed.go).
type PlacerConfig struct {
	// Flow is the flow plugin holding the placer, as for a flow move:
	// {options: {load: PREFIX.flow.npz}} for the built-in flow.
	Flow PluginConfig `mapstructure:"flow" json:"flow"`
	// Tether is the stiffness of the hydrogens' tether, kcal/mol/Å²
	// (default 50: 0.11 Å of thermal spread per coordinate at 300 K).
	Tether float64 `mapstructure:"tether" json:"tether,omitempty"`
}

// Enabled reports whether the energy places its hydrogens with a flow.
func (p PlacerConfig) Enabled() bool { return p.Flow.Enabled() || len(p.Flow.Options) > 0 }

// AlignConfig configures the alignment penalty; off without a reference.
type AlignConfig struct {
	Reference   string  `mapstructure:"reference" json:"reference,omitempty"`
	Lambda      float64 `mapstructure:"lambda" json:"lambda,omitempty"`
	MaxAngleDeg float64 `mapstructure:"max_angle" json:"max_angle,omitempty"`
	// Atoms is "all" (the default, the thesis' penalty) or "heavy": the
	// atoms that define the alignment and feel it.
	Atoms string `mapstructure:"atoms" json:"atoms,omitempty"`
}

// LadderConfig is a temperature ladder: explicit Temperatures, or Rungs
// temperatures from Min to Max in geometric progression.
type LadderConfig struct {
	Temperatures []float64 `mapstructure:"temperatures" json:"temperatures,omitempty"`
	Min          float64   `mapstructure:"min" json:"min,omitempty"`
	Max          float64   `mapstructure:"max" json:"max,omitempty"`
	Rungs        int       `mapstructure:"rungs" json:"rungs,omitempty"`
}

// Enabled reports whether the run uses a ladder.
func (l LadderConfig) Enabled() bool { return len(l.Temperatures) > 0 || l.Rungs > 0 }

// MinimizeConfig minimizes every walker before the run when Enabled.
type MinimizeConfig struct {
	Enabled        bool    `mapstructure:"enabled" json:"enabled"`
	ForceTolerance float64 `mapstructure:"force_tolerance" json:"force_tolerance,omitempty"`
	MaxIterations  int     `mapstructure:"max_iterations" json:"max_iterations,omitempty"`
}

// MoveConfig is one entry of the move schedule. Which fields apply depends
// on Type.
type MoveConfig struct {
	// Type is langevin, velocity_verlet, random_walk, mala, hmc,
	// replica_exchange or flow.
	Type  string `mapstructure:"type" json:"type"`
	Count int    `mapstructure:"count" json:"count,omitempty"`
	// Timestep of langevin, velocity_verlet, hmc and mala: fs for CHARMM
	// systems, reduced time for analytic ones.
	Timestep  float64 `mapstructure:"timestep" json:"timestep,omitempty"`
	Friction  float64 `mapstructure:"friction" json:"friction,omitempty"` // 1/ps, langevin
	RemoveCOM bool    `mapstructure:"remove_com" json:"remove_com,omitempty"`
	// StepSize of random_walk: A (or reduced length).
	StepSize float64 `mapstructure:"step_size" json:"step_size,omitempty"`
	// Group of random_walk: coordinates moved together (3: one atom; 0: all).
	Group            int     `mapstructure:"group" json:"group,omitempty"`
	TargetAcceptance float64 `mapstructure:"target_acceptance" json:"target_acceptance,omitempty"`
	LeapfrogSteps    int     `mapstructure:"leapfrog_steps" json:"leapfrog_steps,omitempty"`
	// Flow of a flow move: the flow plugin (by default the built-in one,
	// with options {load: a flow saved by mdrun train}).
	Flow PluginConfig `mapstructure:"flow" json:"flow,omitempty"`
	// Batch of a flow move: proposals drawn per call to the flow (default
	// 256); one batch serves all walkers, and several steps if larger.
	Batch int `mapstructure:"batch" json:"batch,omitempty"`
}

// OutputConfig says what a run writes and how often (in steps; 0 turns an
// output off, except the checkpoint interval, where 0 means at the end and
// on interruption only).
type OutputConfig struct {
	Dir    string `mapstructure:"dir" json:"dir"`
	Prefix string `mapstructure:"prefix" json:"prefix"`
	// Trajectory writes DCD frames every this many steps.
	Trajectory int64 `mapstructure:"trajectory" json:"trajectory"`
	// Dataset records frames into the .npz dataset every this many steps.
	Dataset int64 `mapstructure:"dataset" json:"dataset"`
	// Log writes a CSV line every this many steps.
	Log int64 `mapstructure:"log" json:"log"`
	// Checkpoint saves the run every this many steps.
	Checkpoint int64 `mapstructure:"checkpoint" json:"checkpoint"`
	// Record selects the walkers whose frames are written: "all", or
	// "lowest" (with a ladder: the walker at the lowest temperature of each
	// ladder, the usual replica-exchange dataset). Default: lowest with a
	// ladder, all without.
	Record string `mapstructure:"record" json:"record"`
}

// LoadConfig reads a YAML config. Unknown keys are errors (a misspelt key
// would otherwise silently do nothing), environment variables MDRUN_<KEY>
// override the file, and overrides (already parsed, such as command-line
// flags) override both. Relative paths in the file are taken relative to the
// file's folder.
func LoadConfig(path string, overrides map[string]any) (*Config, error) {
	var cfg Config
	if err := loadYAML(path, &cfg, overrides); err != nil {
		return nil, err
	}
	cfg.resolvePaths(dirOf(path))
	return &cfg, nil
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return "."
}

// leafKeys lists the dotted keys of the struct fields of t.
func leafKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("mapstructure")
		if name == "" {
			continue
		}
		key := prefix + name
		if f.Type.Kind() == reflect.Struct {
			out = append(out, leafKeys(f.Type, key+".")...)
			continue
		}
		out = append(out, key)
	}
	return out
}

// resolvePaths makes relative file paths relative to dir.
func (c *Config) resolvePaths(dir string) {
	rel := func(p string) string {
		if p == "" || strings.HasPrefix(p, "/") || dir == "." {
			return p
		}
		return dir + "/" + p
	}
	c.System.PSF = rel(c.System.PSF)
	c.System.Coords = rel(c.System.Coords)
	for i, p := range c.System.Params {
		c.System.Params[i] = rel(p)
	}
	c.ForceField.Align.Reference = rel(c.ForceField.Align.Reference)
	c.System.Plugin.Path = rel(c.System.Plugin.Path)
	c.ForceField.Placer.Flow.Path = rel(c.ForceField.Placer.Flow.Path)
	if load, ok := c.ForceField.Placer.Flow.Options["load"]; ok {
		c.ForceField.Placer.Flow.Options["load"] = rel(load)
	}
	for i := range c.Moves {
		m := &c.Moves[i]
		m.Flow.Path = rel(m.Flow.Path)
		if load, ok := m.Flow.Options["load"]; ok {
			m.Flow.Options["load"] = rel(load)
		}
	}
	c.Plugins.Dir = rel(c.Plugins.Dir)
	if c.Output.Dir == "" {
		c.Output.Dir = dir
	} else {
		c.Output.Dir = rel(c.Output.Dir)
	}
}

// IsAnalytic reports whether the config runs an analytic energy.
func (c *Config) IsAnalytic() bool { return c.System.Analytic != "" }

// reducedUnits reports whether the run's temperatures are kT and its time
// steps reduced time: analytic models, and plugins unless they report MD
// units (decided when the plugin answers; see Run.reduced).
func (c *Config) reducedUnits() bool {
	return c.IsAnalytic() || (c.System.Plugin.Enabled() && !c.pluginMDUnits)
}

// Moves types.
const (
	MoveLangevin        = "langevin"
	MoveVelocityVerlet  = "velocity_verlet"
	MoveRandomWalk      = "random_walk"
	MoveMALA            = "mala"
	MoveHMC             = "hmc"
	MoveReplicaExchange = "replica_exchange"
	MoveFlow            = "flow"
)

// WithDefaults returns the config with every zero value replaced by its
// documented default.
func (c *Config) WithDefaults() *Config {
	out := *c
	if out.Temperature == 0 {
		out.Temperature = 300
		if out.reducedUnits() {
			out.Temperature = 1
		}
	}
	if out.Walkers == 0 {
		out.Walkers = 1
	}
	if out.Seed == 0 {
		out.Seed = 1
	}
	if len(out.Moves) == 0 {
		out.Moves = []MoveConfig{{Type: MoveLangevin}}
	}
	out.Moves = append([]MoveConfig(nil), out.Moves...)
	for i := range out.Moves {
		m := &out.Moves[i]
		if m.Count == 0 {
			m.Count = 1
		}
		switch m.Type {
		case MoveLangevin, MoveVelocityVerlet, MoveHMC, MoveMALA:
			if m.Timestep == 0 {
				m.Timestep = map[string]float64{MoveLangevin: 1, MoveVelocityVerlet: 0.5, MoveHMC: 1, MoveMALA: 0.5}[m.Type]
				if out.reducedUnits() {
					m.Timestep = 0.01
				}
			}
		}
		switch m.Type {
		case MoveLangevin:
			if m.Friction == 0 {
				m.Friction = 1
			}
		case MoveRandomWalk:
			if m.StepSize == 0 {
				m.StepSize = 0.05
				if out.reducedUnits() {
					m.StepSize = 0.5
				}
			}
			if m.TargetAcceptance == 0 {
				m.TargetAcceptance = 0.4
			}
		case MoveMALA:
			if m.TargetAcceptance == 0 {
				m.TargetAcceptance = 0.574
			}
		case MoveFlow:
			if m.Flow.Name == "" {
				m.Flow.Name = "flow"
			}
			if m.Batch == 0 {
				m.Batch = 256
			}
		case MoveHMC:
			if m.LeapfrogSteps == 0 {
				m.LeapfrogSteps = 10
			}
			if m.TargetAcceptance == 0 {
				m.TargetAcceptance = 0.7
			}
		}
	}
	if pl := &out.ForceField.Placer; pl.Enabled() {
		if pl.Flow.Name == "" {
			pl.Flow.Name = "flow"
		}
		if pl.Tether == 0 {
			pl.Tether = 50
		}
	}
	if out.Ladder.Enabled() && len(out.Ladder.Temperatures) == 0 && out.Ladder.Rungs > 0 && out.Ladder.Min > 0 && out.Ladder.Max > out.Ladder.Min {
		lo, hi, n := out.Ladder.Min, out.Ladder.Max, out.Ladder.Rungs
		t := make([]float64, n)
		for i := range t {
			t[i] = lo * math.Pow(hi/lo, float64(i)/float64(max(1, n-1)))
		}
		out.Ladder.Temperatures = t
	}
	if out.Output.Prefix == "" {
		out.Output.Prefix = "run"
	}
	if out.Output.Record == "" {
		out.Output.Record = "all"
		if out.Ladder.Enabled() {
			out.Output.Record = "lowest"
		}
	}
	if out.Minimize.Enabled && out.Minimize.ForceTolerance == 0 {
		out.Minimize.ForceTolerance = 1
	}
	return &out
}

// Validate checks the config, with its defaults applied, before any work
// starts: every problem is reported with the key it concerns.
func (c *Config) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, args...))
	}
	sys := c.System
	sources := 0
	for _, set := range []bool{sys.Analytic != "", sys.PSF != "" || len(sys.Params) > 0, sys.Plugin.Enabled()} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		bad("system", "give one of analytic, psf/params or plugin")
	}
	if sys.Plugin.Enabled() && sys.Plugin.Path == "" {
		if spec := ResolvePlugin(sys.Plugin.Name, "", nil, "", c.Plugins.Dir); spec.Path == "" {
			bad("system.plugin", "no built-in plugin is called %q: give path, or plugins.dir to find flowmd-%s in", sys.Plugin.Name, sys.Plugin.Name)
		}
	}
	if sys.Plugin.Path != "" {
		if _, err := os.Stat(sys.Plugin.Path); err != nil {
			bad("system.plugin.path", "%v", err)
		}
	}
	if c.Plugins.Timeout < 0 {
		bad("plugins.timeout", "%v must be positive", c.Plugins.Timeout)
	}
	switch {
	case sys.Analytic != "" && (sys.PSF != "" || len(sys.Params) > 0):
	case sys.Analytic == "" && sys.PSF == "" && len(sys.Params) > 0:
		bad("system.params", "parameter files without system.psf")
	case sys.Analytic == "" && sys.PSF != "" && len(sys.Params) == 0:
		bad("system.params", "system.psf needs at least one parameter file")
	}
	for key, p := range map[string]string{"system.psf": sys.PSF, "system.coords": sys.Coords, "forcefield.align.reference": c.ForceField.Align.Reference} {
		if p != "" {
			if _, err := os.Stat(p); err != nil {
				bad(key, "%v", err)
			}
		}
	}
	for i, p := range sys.Params {
		if _, err := os.Stat(p); err != nil {
			bad(fmt.Sprintf("system.params[%d]", i), "%v", err)
		}
	}
	if sys.PSF != "" && sys.Coords == "" {
		bad("system.coords", "a PSF system needs starting coordinates (PDB, CRD or .npy)")
	}
	if !(c.Temperature > 0) || math.IsInf(c.Temperature, 0) {
		bad("temperature", "%v must be positive", c.Temperature)
	}
	if c.Ladder.Enabled() {
		t := c.Ladder.Temperatures
		if len(t) < 2 {
			bad("ladder", "needs at least two temperatures: give temperatures, or min < max and rungs >= 2")
		}
		for i := range t {
			if !(t[i] > 0) || (i > 0 && t[i] <= t[i-1]) {
				bad("ladder.temperatures", "%v must be positive and increasing", t)
				break
			}
		}
	}
	if c.Walkers < 1 {
		bad("walkers", "%d must be at least 1", c.Walkers)
	}
	if c.Steps < 1 {
		bad("steps", "%d must be at least 1", c.Steps)
	}
	if c.Equilibration < 0 || c.Equilibration > c.Steps {
		bad("equilibration", "%d must lie in 0..steps (%d)", c.Equilibration, c.Steps)
	}
	hasExchange := false
	for i, m := range c.Moves {
		key := fmt.Sprintf("moves[%d]", i)
		if m.Count < 1 {
			bad(key+".count", "%d must be at least 1", m.Count)
		}
		switch m.Type {
		case MoveLangevin, MoveVelocityVerlet, MoveHMC, MoveMALA:
			if !(m.Timestep > 0) {
				bad(key+".timestep", "%v must be positive", m.Timestep)
			}
		case MoveRandomWalk:
			if !(m.StepSize > 0) {
				bad(key+".step_size", "%v must be positive", m.StepSize)
			}
			if m.Group < 0 {
				bad(key+".group", "%d must be 0 (all coordinates) or positive", m.Group)
			}
		case MoveReplicaExchange:
			hasExchange = true
			if !c.Ladder.Enabled() {
				bad(key, "replica_exchange needs a ladder")
			}
		case MoveFlow:
			if m.Batch < 1 {
				bad(key+".batch", "%d must be at least 1", m.Batch)
			}
			if m.Flow.untrainedBuiltinFlow() {
				bad(key+".flow", untrainedFlowMessage)
			}
		default:
			bad(key+".type", "%q is not a move: expected langevin, velocity_verlet, random_walk, mala, hmc, replica_exchange or flow", m.Type)
		}
		if m.Friction < 0 {
			bad(key+".friction", "%v must not be negative", m.Friction)
		}
		if m.TargetAcceptance < 0 || m.TargetAcceptance >= 1 {
			bad(key+".target_acceptance", "%v must lie in (0, 1)", m.TargetAcceptance)
		}
		if m.RemoveCOM && c.IsAnalytic() {
			bad(key+".remove_com", "only for molecules")
		}
	}
	if c.Ladder.Enabled() && !hasExchange {
		bad("moves", "a ladder without a replica_exchange move would run independent temperatures: add one")
	}
	o := c.Output
	for key, v := range map[string]int64{"output.trajectory": o.Trajectory, "output.dataset": o.Dataset, "output.log": o.Log, "output.checkpoint": o.Checkpoint} {
		if v < 0 {
			bad(key, "%d must not be negative", v)
		}
	}
	if o.Trajectory > 0 && c.IsAnalytic() {
		bad("output.trajectory", "DCD trajectories are for molecules; analytic runs record their samples in the dataset")
	}
	if o.Record != "all" && o.Record != "lowest" {
		bad("output.record", "%q: expected all or lowest", o.Record)
	}
	if strings.ContainsAny(o.Prefix, "/\\") {
		bad("output.prefix", "%q must be a file name prefix, not a path (use output.dir)", o.Prefix)
	}
	for name, g := range c.ForceField.Clip {
		if !(g > 0) {
			bad("forcefield.clip."+name, "%v must be positive", g)
		}
	}
	if pl := c.ForceField.Placer; pl.Enabled() {
		if sys.PSF == "" && (sys.Analytic != "" || sys.Plugin.Enabled()) {
			bad("forcefield.placer", "places hydrogens of a molecule: it needs system.psf (or the default dialanine)")
		}
		if !(pl.Tether > 0) || math.IsInf(pl.Tether, 0) {
			bad("forcefield.placer.tether", "%v kcal/mol/A^2 must be positive", pl.Tether)
		}
		if pl.Flow.untrainedBuiltinFlow() {
			bad("forcefield.placer.flow", untrainedFlowMessage)
		}
		if pl.Flow.Path != "" {
			if _, err := os.Stat(pl.Flow.Path); err != nil {
				bad("forcefield.placer.flow.path", "%v", err)
			}
		}
		if load := pl.Flow.Options["load"]; load != "" {
			if _, err := os.Stat(load); err != nil {
				bad("forcefield.placer.flow.options.load", "%v", err)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sort.Strings(errs)
	return fmt.Errorf("invalid config:\n  %s", strings.Join(errs, "\n  "))
}

// Hash identifies the parts of a config that a resumed run must share with
// the run that wrote the checkpoint: everything but the number of steps and
// the output intervals.
func (c *Config) Hash() string {
	cp := *c
	cp.Steps = 0
	cp.Output.Checkpoint = 0
	raw, _ := json.Marshal(cp)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
