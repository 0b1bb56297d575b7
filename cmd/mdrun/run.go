package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/flowmd/flowmd/engine"
	"github.com/flowmd/flowmd/integrators"
)

// exitCodeError carries an exit code other than exitError.
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string { return e.err.Error() }
func (e exitCodeError) Unwrap() error { return e.err }

// exitInterrupted is the conventional status of a program ended by SIGINT.
const exitInterrupted = 130

func newRunCmd(out, errOut io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a simulation described by a YAML config",
		Long: `run assembles a simulation from a YAML config (see docs/config.md): the
system, the force field, the walkers and temperatures, the move schedule
(Langevin, velocity Verlet, Monte Carlo, MALA, HMC, replica exchange, and
Metropolis-Hastings proposals from a flow trained by mdrun train) and the
outputs (DCD trajectories, an .npz dataset, a CSV log, checkpoints and a
provenance record), and runs it with a progress display showing each
move's acceptance. It ends with the recorded frames' mode fractions.

SIGINT or SIGTERM stops the run cleanly: a checkpoint is written and every
output flushed; 'mdrun run -c config.yaml --resume' continues it, giving the
same trajectory bit for bit as a run that was never stopped.`,
		Example: `  mdrun run -c examples/dialanine-langevin.yaml
  mdrun run -c examples/butane-remd.yaml --steps 2000000 --resume
  mdrun run -c examples/dialanine-flow-proposals.yaml`,
		Args: noArgs,
	}
	f := cmd.Flags()
	f.StringP("config", "c", "", "the run's YAML config (required)")
	f.Bool("resume", false, "continue from the run's checkpoint")
	f.Int64("steps", 0, "override the config's steps")
	f.Uint64("seed", 0, "override the config's seed")
	f.Int("walkers", 0, "override the config's walkers")
	f.String("output-dir", "", "override the config's output.dir")
	f.Bool("quiet", false, "no progress display")
	f.Bool("json", false, "print the summary as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path, _ := f.GetString("config")
		if path == "" {
			return usageError{fmt.Errorf("mdrun run: give the config with -c")}
		}
		overrides := map[string]any{}
		for flag, key := range map[string]string{"steps": "steps", "seed": "seed", "walkers": "walkers", "output-dir": "output.dir"} {
			if f.Changed(flag) {
				overrides[key] = f.Lookup(flag).Value.String()
			}
		}
		cfg, err := engine.LoadConfig(path, overrides)
		if err != nil {
			return err
		}
		resume, _ := f.GetBool("resume")
		run, err := engine.NewRun(cmd.Context(), cfg, resume)
		if err != nil {
			return err
		}
		defer run.Close()
		quiet, _ := f.GetBool("quiet")
		display := newProgressDisplay(errOut, run.Config.Steps, run.State.Step, quiet)
		sum, err := run.Execute(cmd.Context(), display.update, 250*time.Millisecond)
		display.close(err == nil)
		var intr *engine.ErrInterrupted
		if errors.As(err, &intr) {
			return exitCodeError{exitInterrupted, err}
		}
		if err != nil {
			return err
		}
		if asJSON, _ := f.GetBool("json"); asJSON {
			return printJSON(out, sum)
		}
		return printSummary(out, sum)
	}
	return cmd
}

// progressDisplay shows a run's progress: a bar on a terminal, or a line
// every few seconds when the output is a file or a pipe (CI logs).
type progressDisplay struct {
	w      io.Writer
	bar    *mpb.Bar
	p      *mpb.Progress
	text   atomic.Pointer[string]
	quiet  bool
	tty    bool
	lastAt time.Time
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgressDisplay(w io.Writer, total, start int64, quiet bool) *progressDisplay {
	d := &progressDisplay{w: w, quiet: quiet, tty: isTerminal(w)}
	if quiet || !d.tty {
		return d
	}
	d.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
	d.bar = d.p.AddBar(total,
		mpb.PrependDecorators(decor.CountersNoUnit("step %d/%d", decor.WC{W: 24, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			if t := d.text.Load(); t != nil {
				return " " + *t
			}
			return ""
		})),
	)
	d.bar.SetCurrent(start)
	return d
}

// message prints a line of news (a resume, a phase starting): above the
// bar on a terminal, else as a line of its own; nothing when quiet.
func (d *progressDisplay) message(line string) {
	switch {
	case d.quiet:
	case d.p != nil:
		fmt.Fprintln(d.p, line)
	default:
		fmt.Fprintln(d.w, line)
	}
}

func (d *progressDisplay) update(p engine.Progress) { d.show(p.Step, p.Total, progressLine(p)) }

// show moves the bar to step of total with text beside it.
func (d *progressDisplay) show(step, total int64, text string) {
	d.text.Store(&text)
	if d.quiet {
		return
	}
	if d.bar != nil {
		d.bar.SetCurrent(step)
		return
	}
	if time.Since(d.lastAt) >= 5*time.Second || step == total {
		d.lastAt = time.Now()
		fmt.Fprintf(d.w, "step %d/%d %s\n", step, total, text)
	}
}

func (d *progressDisplay) close(done bool) {
	if d.bar == nil {
		return
	}
	if !done {
		d.bar.Abort(false)
	}
	d.p.Wait()
}

// progressLine formats simulated time, speed, acceptance and ETA.
func progressLine(p engine.Progress) string {
	var parts []string
	if p.TimePS > 0 {
		parts = append(parts, fmt.Sprintf("%.3f ns", p.TimePS/1000))
	}
	if p.NsPerDay > 0 {
		parts = append(parts, fmt.Sprintf("%.1f ns/day", p.NsPerDay))
	}
	parts = append(parts, fmt.Sprintf("%.0f moves/s", p.StepsPerSec))
	names := make([]string, 0, len(p.Acceptance))
	for n := range p.Acceptance {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s acc %.2f", n, p.Acceptance[n]))
	}
	if p.Equilibrating {
		parts = append(parts, "equilibrating")
	}
	if p.ETA > 0 {
		parts = append(parts, "ETA "+p.ETA.Round(time.Second).String())
	}
	return strings.Join(parts, ", ")
}

func printSummary(out io.Writer, s *engine.Summary) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "steps\t%d\n", s.Steps)
	if s.SimulatedPS > 0 {
		fmt.Fprintf(w, "simulated\t%.4f ns\n", s.SimulatedPS/1000)
	}
	fmt.Fprintf(w, "wall time\t%.2f s (%.0f moves/s)\n", s.WallSeconds, s.StepsPerSecond)
	for _, m := range s.Moves {
		if m.Name == "langevin" || m.Name == "velocity_verlet" {
			fmt.Fprintf(w, "%s\t%d walker-steps\n", m.Name, m.Attempted)
			continue
		}
		fmt.Fprintf(w, "%s\tacceptance %.3f (%d of %d)\n", m.Name, m.Acceptance(), m.Accepted, m.Attempted)
		if imp := m.Importance; imp != nil {
			fmt.Fprintf(w, "%s importance sampling\treverse ESS %.4f, log Z %.4f (%d proposals at the lowest temperature)\n", m.Name, imp.ESSFraction, imp.LogZ, imp.Samples)
		}
		for _, c := range m.ByClass {
			fmt.Fprintln(w, classLine(m.Name, c))
		}
	}
	if len(s.PairAcceptance) > 0 {
		pairs := make([]string, len(s.PairAcceptance))
		for i, a := range s.PairAcceptance {
			pairs[i] = fmt.Sprintf("%.2f", a)
		}
		fmt.Fprintf(w, "swap acceptance by pair\t%s\n", strings.Join(pairs, " "))
	}
	if s.KineticTempMeanK > 0 {
		fmt.Fprintf(w, "kinetic temperature\t%.1f K (final, mean over walkers)\n", s.KineticTempMeanK)
	}
	fmt.Fprintf(w, "frames recorded\t%d\n", s.FramesRecorded)
	for _, m := range s.ModeFractions {
		fmt.Fprintf(w, "mode %s\t%.4f +- %.4f\n", m.Mode, m.Fraction, m.StdErr)
	}
	names := make([]string, 0, len(s.Files))
	for n := range s.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s\t%s\n", n, s.Files[n])
	}
	return w.Flush()
}

// classLine is a tab-separated report line of a move's proposals into one
// class (mode), for mdrun run's summary and mdrun analyze.
func classLine(move string, c integrators.ClassStats) string {
	return fmt.Sprintf("%s into %s\t%d proposals, %d accepted, mean acceptance %.3g, mean beta dU %.2f, mean log q ratio %.2f",
		move, c.Class, c.Attempted, c.Accepted, c.MeanAcceptance, c.MeanBetaDU, c.MeanLogRatio)
}
