package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/integrators"
	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/topology"
)

// PluginLog receives the log lines of plugins, prefixed with their names;
// mdrun sets it to its standard error.
var PluginLog io.Writer = io.Discard

// Run is a simulation assembled from a Config: the model, the walkers, the
// move schedule and the outputs.
type Run struct {
	Config *Config // with defaults applied
	Model  forcefields.Model
	System *topology.System // nil for analytic models
	State  *integrators.State
	Driver *integrators.Driver
	// Moves are the schedule's moves in the order of Config.Moves.
	Moves    []integrators.Move
	Exchange *integrators.ReplicaExchange // nil without a ladder

	out     *outputs
	inputs  map[string]string // input file checksums
	start   time.Time
	host    *plugins.Host // nil without plugins
	reduced bool          // temperatures are kT and time steps reduced time
}

// Close ends the run's plugin processes. Execute does not: a caller may
// still need the model after the run.
func (r *Run) Close() {
	if r.host != nil {
		r.host.Close()
	}
}

// ErrInterrupted is returned by Execute when the context was cancelled (a
// SIGINT or SIGTERM): the run wrote a checkpoint and flushed its outputs.
type ErrInterrupted struct {
	Step       int64
	Checkpoint string
}

func (e *ErrInterrupted) Error() string {
	return fmt.Sprintf("interrupted at step %d; checkpoint written to %s (continue with --resume)", e.Step, e.Checkpoint)
}

// NewRun builds a run from a config (defaults are applied and the config
// validated here). With resume, the state, the moves and the outputs are
// restored from the checkpoint of a previous run of the same config.
func NewRun(ctx context.Context, cfg *Config, resume bool) (*Run, error) {
	c := cfg.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := &Run{Config: c, start: time.Now(), reduced: c.IsAnalytic()}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()
	if err := r.buildModel(ctx); err != nil {
		return nil, err
	}
	if c.System.Plugin.Enabled() && !r.reduced {
		// The plugin works on atoms: defaults in MD units, not reduced.
		md := *cfg
		md.pluginMDUnits = true
		c = md.WithDefaults()
		if err := c.Validate(); err != nil {
			return nil, err
		}
		r.Config = c
	}
	x0, err := r.startingPositions()
	if err != nil {
		return nil, err
	}
	if err := r.buildState(ctx, x0); err != nil {
		return nil, err
	}
	if err := r.buildMoves(ctx); err != nil {
		return nil, err
	}
	if r.inputs, err = inputChecksums(c); err != nil {
		return nil, err
	}
	if resume {
		err = r.resume(ctx)
	} else {
		err = r.fresh(ctx)
	}
	if err != nil {
		return nil, err
	}
	ok = true
	return r, nil
}

// PluginSpec resolves the system's plugin: its path, or the file
// flowmd-<name> in the plugins folder, or a built-in plugin of that name.
func (c *Config) PluginSpec() plugins.Spec {
	p := c.System.Plugin
	return ResolvePlugin(p.Name, p.Path, p.Args, p.SHA256, c.Plugins.Dir)
}

// BuiltinPlugin, when set, says how to start the built-in plugin of a name
// (analytic, charmm, flow, loss, trainer). mdrun sets it: it serves them
// itself, so that configs can name them without a plugin folder.
var BuiltinPlugin func(name string) (plugins.Spec, bool)

// ResolvePlugin turns a plugin's name or path into what to start: the
// path; else the file flowmd-<name> in dir when it exists; else the
// built-in plugin of that name.
func ResolvePlugin(name, path string, args []string, sha string, dir string) plugins.Spec {
	spec := plugins.Spec{Name: name, Path: path, Args: args, SHA256: sha}
	if spec.Path != "" {
		return spec
	}
	if dir != "" {
		spec.Path = filepath.Join(dir, "flowmd-"+name)
		if _, err := os.Stat(spec.Path); err == nil || BuiltinPlugin == nil {
			return spec
		}
	}
	if BuiltinPlugin != nil {
		if b, ok := BuiltinPlugin(name); ok {
			b.SHA256 = sha
			return b
		}
	}
	return spec
}

func (r *Run) buildModel(ctx context.Context) error {
	c := r.Config
	if c.System.Plugin.Enabled() {
		r.host = &plugins.Host{Log: PluginLog, Timeout: c.Plugins.Timeout}
		ff, err := r.host.ForceField(ctx, c.PluginSpec(), c.System.Plugin.Options)
		if err != nil {
			return fmt.Errorf("system.plugin: %w", err)
		}
		switch ff.Units() {
		case "md":
			if len(ff.Masses()) != ff.Dim() {
				return fmt.Errorf("system.plugin: %s works in MD units but gives no masses", c.PluginSpec().Path)
			}
		case "reduced", "":
			r.reduced = true
		default:
			return fmt.Errorf("system.plugin: unknown units %q, expected md or reduced", ff.Units())
		}
		if r.reduced && c.Output.Trajectory > 0 {
			return fmt.Errorf("output.trajectory: the plugin works in reduced units, not on atoms; record its samples in the dataset")
		}
		r.Model = ff
		return nil
	}
	if c.IsAnalytic() {
		m, err := analytic.New(c.System.Analytic, c.System.AnalyticParams)
		if err != nil {
			return fmt.Errorf("system.analytic: %w", err)
		}
		r.Model = m
		return nil
	}
	sys, err := LoadSystem(SystemFiles{PSF: c.System.PSF, Params: c.System.Params})
	if err != nil {
		return err
	}
	opts, err := c.ForceField.options(sys.PSF)
	if err != nil {
		return err
	}
	m, err := charmm.New(sys, opts, c.ForceField.Kernel)
	if err != nil {
		return fmt.Errorf("forcefield: %w", err)
	}
	r.System, r.Model = sys, m
	if c.ForceField.Placer.Enabled() {
		return r.placeHydrogens(ctx)
	}
	return nil
}

// placeHydrogens starts the flow of forcefield.placer and makes the run's
// energy the one with its placed hydrogens (placedEnergy).
func (r *Run) placeHydrogens(ctx context.Context) error {
	pc := r.Config.ForceField.Placer
	flow, spec, err := r.startFlow(ctx, pc.Flow)
	if err != nil {
		return fmt.Errorf("forcefield.placer: %w", err)
	}
	m, err := newPlacedEnergy(r.Model, flow, generatedAtoms(flow), pc.Tether)
	if err != nil {
		return fmt.Errorf("forcefield.placer: %s: %w", spec.Name, err)
	}
	r.Model = m
	return nil
}

// AlignAtoms returns the atoms of the alignment penalty named by spec:
// nil for every atom ("" or "all"), the heavy atoms for "heavy".
func AlignAtoms(spec string, psf *topology.PSF) ([]int, error) {
	switch spec {
	case "", "all":
		return nil, nil
	case "heavy":
		return topology.NewGraph(psf).Heavy, nil
	}
	return nil, fmt.Errorf("align atoms %q: expected all or heavy", spec)
}

// options turns the force-field config into CHARMM options.
func (f ForceFieldConfig) options(psf *topology.PSF) (charmm.Options, error) {
	o := charmm.Options{
		CoulombConstant: f.CoulombConstant, Dielectric: f.Dielectric,
		Cutoff: f.Cutoff, SwitchDistance: f.Switch,
	}
	if len(f.Clip) > 0 {
		c := &charmm.ClipOptions{}
		fields := map[string]*float64{
			charmm.TermBond: &c.Bond, charmm.TermAngle: &c.Angle, charmm.TermUreyBradley: &c.UreyBradley,
			charmm.TermImproper: &c.Improper, charmm.TermLennardJones: &c.LennardJones, charmm.TermCoulomb: &c.Coulomb,
		}
		for name, g := range f.Clip {
			if name == "all" {
				for _, p := range fields {
					*p = g
				}
				continue
			}
			p, ok := fields[name]
			if !ok {
				return o, fmt.Errorf("forcefield.clip.%s: unknown term, expected bond, angle, urey_bradley, improper, lennard_jones, coulomb or all", name)
			}
			*p = g
		}
		o.Clip = c
	}
	if f.Align.Reference != "" {
		confs, err := LoadConfigurations(f.Align.Reference, psf)
		if err != nil {
			return o, fmt.Errorf("forcefield.align.reference: %w", err)
		}
		atoms, err := AlignAtoms(f.Align.Atoms, psf)
		if err != nil {
			return o, fmt.Errorf("forcefield.align.atoms: %w", err)
		}
		o.Align = &charmm.AlignOptions{Reference: confs.X[:3*len(psf.Atoms)], Lambda: f.Align.Lambda, MaxAngle: f.Align.MaxAngleDeg * math.Pi / 180, Atoms: atoms}
	}
	return o, nil
}

// startingPositions returns the configurations walkers start from, in turn.
func (r *Run) startingPositions() ([]float64, error) {
	c := r.Config
	dim := r.Model.Dim()
	switch {
	case c.System.Coords != "" && r.System != nil:
		confs, err := LoadConfigurations(c.System.Coords, r.System.PSF)
		if err != nil {
			return nil, err
		}
		return confs.X, nil
	case c.System.Coords != "" && strings.EqualFold(filepath.Ext(c.System.Coords), ".npy"):
		return ReadNPYFile(c.System.Coords, dim)
	case c.System.Coords != "":
		// A PDB or CRD for a plugin's atoms: no PSF to check names against.
		s, err := topology.ReadCoordinates(c.System.Coords)
		if err != nil {
			return nil, err
		}
		if 3*len(s.Atoms) != dim {
			return nil, fmt.Errorf("system.coords: %s holds %d atoms, the plugin's model %d coordinates", c.System.Coords, len(s.Atoms), dim)
		}
		var x []float64
		for _, m := range s.Models {
			x = append(x, m...)
		}
		return x, nil
	case c.System.Plugin.Enabled() && !r.reduced:
		return nil, fmt.Errorf("system.coords: the plugin works on atoms (MD units): give starting coordinates")
	case c.System.Plugin.Enabled():
		// A plugin in reduced units starts at the origin unless given.
		return make([]float64, dim), nil
	case c.IsAnalytic():
		if m, ok := r.Model.(analytic.Modal); ok {
			return append([]float64(nil), m.ModeCenters()[0]...), nil
		}
		return nil, fmt.Errorf("system.coords: analytic model %s has no default start; give a .npy of starting configurations", c.System.Analytic)
	}
	s, err := DefaultCoordinates()
	if err != nil {
		return nil, err
	}
	confs, err := FromStructure(s, r.System.PSF)
	if err != nil {
		return nil, err
	}
	return confs.X, nil
}

func (r *Run) walkers() int {
	n := r.Config.Walkers
	if r.Config.Ladder.Enabled() {
		n *= len(r.Config.Ladder.Temperatures)
	}
	return n
}

// kT converts a config temperature to energy units.
func (r *Run) kT(t float64) float64 {
	if r.reduced {
		return t
	}
	return integrators.KT(t)
}

// timestep converts a config time step to the state's time unit.
func (r *Run) timestep(t float64) float64 {
	if r.reduced {
		return t
	}
	return t / 1000 // fs to ps
}

func (r *Run) buildState(ctx context.Context, x0 []float64) error {
	dim := r.Model.Dim()
	n := r.walkers()
	count := len(x0) / dim
	x := make([]float64, 0, n*dim)
	for w := 0; w < n; w++ {
		c := w % count
		x = append(x, x0[c*dim:(c+1)*dim]...)
	}
	masses, units := make([]float64, dim), integrators.ReducedUnits
	switch ff, isPlugin := r.Model.(*plugins.RemoteForceField); {
	case r.System != nil:
		masses, units = integrators.AtomMasses(r.System.Masses()), integrators.MDUnits
	case isPlugin && !r.reduced:
		masses, units = ff.Masses(), integrators.MDUnits
	default:
		for i := range masses {
			masses[i] = 1
		}
	}
	s, err := integrators.NewState(ctx, r.Model, x, masses, units, r.kT(r.Config.Temperature), r.Config.Seed)
	if err != nil {
		return err
	}
	r.State = s
	return nil
}

func (r *Run) buildMoves(ctx context.Context) error {
	c := r.Config
	var sched integrators.Schedule
	for i, mc := range c.Moves {
		var mv integrators.Move
		var err error
		switch mc.Type {
		case MoveLangevin:
			mv, err = integrators.NewLangevin(r.timestep(mc.Timestep), mc.Friction, mc.RemoveCOM)
		case MoveVelocityVerlet:
			mv, err = integrators.NewVelocityVerlet(r.timestep(mc.Timestep))
		case MoveRandomWalk:
			var p *integrators.RandomWalk
			if p, err = integrators.NewRandomWalk(mc.StepSize, mc.Group, mc.TargetAcceptance); err == nil {
				mv = integrators.NewMetropolis(p)
			}
		case MoveMALA:
			var p *integrators.MALA
			dt := r.timestep(mc.Timestep)
			if p, err = integrators.NewMALA(dt*dt, mc.TargetAcceptance); err == nil {
				mv = integrators.NewMetropolis(p)
			}
		case MoveHMC:
			mv, err = integrators.NewHMC(mc.LeapfrogSteps, r.timestep(mc.Timestep), mc.TargetAcceptance)
		case MoveReplicaExchange:
			if r.Exchange == nil {
				ladder := make([]float64, len(c.Ladder.Temperatures))
				for k, t := range c.Ladder.Temperatures {
					ladder[k] = r.kT(t)
				}
				if r.Exchange, err = integrators.NewReplicaExchange(ladder); err == nil {
					err = r.Exchange.Setup(r.State)
				}
			}
			mv = r.Exchange
		case MoveFlow:
			mv, err = r.flowMove(ctx, i, mc)
		}
		if err != nil {
			return fmt.Errorf("moves[%d]: %w", i, err)
		}
		r.Moves = append(r.Moves, mv)
		sched = append(sched, integrators.Entry{Move: mv, Count: mc.Count})
	}
	// A plugin can crash mid-step: keep the state restorable so that the
	// run can still write a checkpoint of the last complete step.
	r.Driver = &integrators.Driver{Schedule: sched, Equilibration: c.Equilibration, Transactional: r.host != nil}
	return nil
}

// fresh starts a new run: minimization if asked, velocities, outputs.
func (r *Run) fresh(ctx context.Context) error {
	if r.Config.Minimize.Enabled {
		if _, err := integrators.Minimize(ctx, r.State, integrators.MinimizeOptions{
			ForceTolerance: r.Config.Minimize.ForceTolerance, MaxIterations: r.Config.Minimize.MaxIterations,
		}); err != nil {
			return err
		}
	}
	r.State.InitVelocities()
	out, err := openOutputs(r, nil)
	if err != nil {
		return err
	}
	r.out = out
	return nil
}

// Execute runs the remaining steps. progress, when not nil, is called
// about every interval of wall time, and once at the end.
func (r *Run) Execute(ctx context.Context, progress func(Progress), interval time.Duration) (*Summary, error) {
	c := r.Config
	remaining := c.Steps - r.State.Step
	startStep, startTime := r.State.Step, time.Now()
	last := time.Time{}
	report := func(force bool) {
		if progress == nil {
			return
		}
		if now := time.Now(); force || now.Sub(last) >= interval {
			last = now
			progress(r.progress(startStep, startTime))
		}
	}
	r.Driver.Observers = []integrators.Observer{func(s *integrators.State) error {
		if err := r.out.observe(r); err != nil {
			return err
		}
		if s.Step&63 == 0 {
			report(false)
		}
		return nil
	}}
	err := r.Driver.Run(ctx, r.State, max(0, remaining))
	var rolled *integrators.RolledBack
	if errors.As(err, &rolled) && ctx.Err() == nil {
		// The failed step was undone: save the state of the last
		// complete step and everything recorded, then report.
		if cerr := r.writeCheckpoint(); cerr != nil {
			err = errors.Join(err, cerr)
		} else {
			err = fmt.Errorf("%w\n(the run stopped at step %d; checkpoint written to %s and outputs flushed: fix the cause and continue with --resume)", err, r.State.Step, r.out.checkpointPath())
		}
		if ferr := r.out.flush(); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return nil, errors.Join(err, r.out.abandon())
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		// Save what was written; the state may be mid-failure, so no
		// checkpoint of it.
		if ferr := r.out.flush(); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return nil, errors.Join(err, r.out.abandon())
	}
	interrupted := err != nil
	if cerr := r.writeCheckpoint(); cerr != nil {
		return nil, cerr
	}
	report(true)
	if interrupted {
		if ferr := r.out.flush(); ferr != nil {
			return nil, ferr
		}
		if aerr := r.out.abandon(); aerr != nil {
			return nil, aerr
		}
		return nil, &ErrInterrupted{Step: r.State.Step, Checkpoint: r.out.checkpointPath()}
	}
	sum := r.summary(startStep, startTime)
	if err := r.out.finish(r, sum); err != nil {
		return nil, err
	}
	// The recorded frames' mode fractions, for systems with known modes
	// (the double wells, butane, dialanine); none when the series are too
	// short for error bars (mdrun analyze says why).
	if path, ok := sum.Files["dataset"]; ok && sum.FramesRecorded > 1 {
		if set, err := ModeSetFor("auto", r.System, r.Model); err == nil && set != nil {
			if fr, _, err := DatasetModeFractions(path, set); err == nil {
				sum.ModeFractions = fr
			}
		}
	}
	return sum, nil
}

// Progress is what the progress display shows.
type Progress struct {
	Step, Total   int64
	TimePS        float64 // simulated time
	Elapsed       time.Duration
	StepsPerSec   float64
	NsPerDay      float64 // per walker; 0 without dynamics
	Acceptance    map[string]float64
	Equilibrating bool
	ETA           time.Duration
}

func (r *Run) progress(startStep int64, startTime time.Time) Progress {
	el := time.Since(startTime)
	done := r.State.Step - startStep
	p := Progress{Step: r.State.Step, Total: r.Config.Steps, TimePS: r.State.Time, Elapsed: el,
		Equilibrating: r.State.Equilibrating, Acceptance: map[string]float64{}}
	if el > 0 {
		p.StepsPerSec = float64(done) / el.Seconds()
		if r.State.Time > 0 && r.State.Step > 0 && !r.Config.IsAnalytic() {
			psPerStep := r.State.Time / float64(r.State.Step)
			p.NsPerDay = p.StepsPerSec * psPerStep * 1e-3 * 86400
		}
		if p.StepsPerSec > 0 {
			p.ETA = time.Duration(float64(r.Config.Steps-r.State.Step) / p.StepsPerSec * float64(time.Second))
		}
	}
	for _, st := range r.Driver.Stats() {
		if st.Name != "langevin" && st.Name != "velocity_verlet" {
			p.Acceptance[st.Name] = st.Acceptance()
		}
	}
	return p
}

// Summary is what a finished run reports.
type Summary struct {
	Steps            int64                   `json:"steps"`
	SimulatedPS      float64                 `json:"simulated_ps"`
	WallSeconds      float64                 `json:"wall_seconds"`
	StepsPerSecond   float64                 `json:"steps_per_second"`
	Moves            []integrators.MoveStats `json:"moves"`
	PairAcceptance   []float64               `json:"replica_pair_acceptance,omitempty"`
	FramesRecorded   int                     `json:"frames_recorded"`
	Files            map[string]string       `json:"files"`
	MeanPotential    float64                 `json:"mean_potential_final"`
	ModeFractions    []ModeFractionReport    `json:"mode_fractions,omitempty"`
	KineticTempMeanK float64                 `json:"mean_kinetic_temperature_final,omitempty"`
}

// ModeFractionReport is a mode fraction with its standard error.
type ModeFractionReport struct {
	Set      string  `json:"set"`
	Mode     string  `json:"mode"`
	Fraction float64 `json:"fraction"`
	StdErr   float64 `json:"stderr"`
}

func (r *Run) summary(startStep int64, startTime time.Time) *Summary {
	el := time.Since(startTime).Seconds()
	s := &Summary{
		Steps: r.State.Step, SimulatedPS: r.State.Time, WallSeconds: el,
		Moves: r.Driver.Stats(), FramesRecorded: r.out.frames(), Files: r.out.files(),
	}
	if el > 0 {
		s.StepsPerSecond = float64(r.State.Step-startStep) / el
	}
	if r.Exchange != nil {
		s.PairAcceptance = r.Exchange.PairAcceptance()
	}
	for _, u := range r.State.U {
		s.MeanPotential += u / float64(len(r.State.U))
	}
	if !r.Config.IsAnalytic() {
		for w := 0; w < r.State.Walkers; w++ {
			s.KineticTempMeanK += r.State.Temperature(w) / integrators.Boltzmann / float64(r.State.Walkers)
		}
	}
	return s
}
