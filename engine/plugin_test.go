package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/internal/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// TestSamplersOnAnalyticPlugin runs Langevin dynamics, Monte Carlo and
// replica exchange from configs whose energy is the flowmd-analytic plugin
// (the thesis' medium double well in 2D, in its own process), and compares
// the minor-mode fraction with the exact 0.22.
func TestSamplersOnAnalyticPlugin(t *testing.T) {
	plugin := testbin.Build(t, "cmd/flowmd-analytic")
	exact, err := analytic.DoubleWellPreset("medium", 2)
	if err != nil {
		t.Fatal(err)
	}
	system := fmt.Sprintf("system: {plugin: {path: %s, options: {model: double_well_medium, dim: '2'}}}\n", plugin)
	cases := map[string]string{
		// Every walker starts in the major well: equilibration must be
		// long against the time between crossings.
		"langevin":         "walkers: 16\nmoves: [{type: langevin, timestep: 0.05, friction: 1}]\nsteps: 30000\nequilibration: 4000\noutput: {dataset: 20}\n",
		"monte carlo":      "walkers: 16\nmoves: [{type: random_walk, step_size: 0.8}]\nsteps: 20000\nequilibration: 2000\noutput: {dataset: 10}\n",
		"replica exchange": "walkers: 8\nladder: {min: 1, max: 5, rungs: 4}\nmoves: [{type: random_walk, count: 5, step_size: 0.5}, {type: replica_exchange}]\nsteps: 24000\nequilibration: 2400\noutput: {dataset: 6}\n",
	}
	for name, yaml := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			execute(t, runConfig(t, dir, system+yaml), false, 0)
			fr, frames, err := DatasetModeFractions(filepath.Join(dir, "run.npz"), analyticModes(exact))
			if err != nil {
				t.Fatal(err)
			}
			minor := fr[exact.MinorMode()]
			want := exact.MinorModeFraction(1)
			if minor.StdErr == 0 || mathAbs(minor.Fraction-want) > 5*minor.StdErr {
				t.Errorf("minor-mode fraction %.4f +- %.4f over %d frames, exact %.4f", minor.Fraction, minor.StdErr, frames, want)
			}
			t.Logf("minor-mode fraction %.4f +- %.4f over %d frames, exact %.4f", minor.Fraction, minor.StdErr, frames, want)
		})
	}
}

func mathAbs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestPluginCrashMidRun runs on a plugin that crashes at its 50th energy
// call: the run stops with an error naming the plugin, the call and its
// last lines, after writing a checkpoint of the last complete step and
// flushing the outputs; resumed on a healthy plugin, it finishes.
func TestPluginCrashMidRun(t *testing.T) {
	plugin := testbin.Build(t, "plugins/testdata/misbehave")
	dir := t.TempDir()
	yaml := fmt.Sprintf(`system: {plugin: {name: misbehave, path: %s, options: {crash_after: '50'}}}
moves: [{type: langevin, timestep: 0.01}]
steps: 90
output: {dataset: 5, log: 10}
`, plugin)
	cfg := runConfig(t, dir, yaml)
	r, err := NewRun(t.Context(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Execute(t.Context(), nil, 0)
	r.Close()
	if err == nil {
		t.Fatal("the run did not stop")
	}
	for _, want := range []string{"plugin misbehave", "Evaluate", "the plugin process exited", "crashing as configured", "panic: simulated crash", "checkpoint written"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// The checkpoint is at the last complete step: 48 steps after the
	// initial evaluation (call 1) and 48 more calls.
	d := openData(t, filepath.Join(dir, "run.npz"))
	steps, _, err := d.Int64("step")
	if err != nil || len(steps) != 9 || steps[len(steps)-1] != 45 {
		t.Errorf("dataset steps %v (%v)", steps, err)
	}
	// Resuming needs the same plugin options (they are part of the
	// config the checkpoint belongs to).
	healthy := strings.Replace(yaml, "options: {crash_after: '50'}", "options: {}", 1)
	if _, err := NewRun(t.Context(), runConfig(t, dir, healthy), true); err == nil {
		t.Fatal("resuming with changed plugin options was accepted")
	}
	// The new plugin process counts its calls from zero: the 42 steps left
	// end before its 50th call.
	r2, err := NewRun(t.Context(), runConfig(t, dir, yaml), true)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if r2.State.Step != 48 {
		t.Errorf("resumed at step %d, want 48", r2.State.Step)
	}
	if _, err := r2.Execute(t.Context(), nil, 0); err != nil {
		t.Fatal(err)
	}
	steps, _, err = openData(t, filepath.Join(dir, "run.npz")).Int64("step")
	if err != nil || len(steps) != 18 || steps[17] != 90 {
		t.Errorf("after resuming: steps %v (%v)", steps, err)
	}
}

// TestCharmmPluginRunsLikeInProcess runs Langevin dynamics of dialanine
// with the energy from the flowmd-charmm plugin and in process, from the
// same seed: a plugin is an energy model like any other, so the two
// trajectories are the same bit for bit.
func TestCharmmPluginRunsLikeInProcess(t *testing.T) {
	plugin := testbin.Build(t, "cmd/flowmd-charmm")
	psf, _ := filepath.Abs(filepath.Join(dataDir, "systems/dialanine/dialanine.psf"))
	prm, _ := filepath.Abs(filepath.Join(dataDir, "toppar/par_all36m_prot.prm"))
	pdb, _ := filepath.Abs(filepath.Join(dataDir, "systems/dialanine/dialanine.pdb"))
	common := "walkers: 2\nmoves: [{type: langevin}]\nsteps: 300\noutput: {dataset: 50}\n"
	local, remote := t.TempDir(), t.TempDir()
	execute(t, runConfig(t, local, fmt.Sprintf("system: {psf: %s, params: [%s], coords: %s}\n", psf, prm, pdb)+common), false, 0)
	execute(t, runConfig(t, remote, fmt.Sprintf("system: {coords: %s, plugin: {path: %s, options: {psf: %s, params: %s}}}\n", pdb, plugin, psf, prm)+common), false, 0)
	a, _, err := openData(t, filepath.Join(local, "run.npz")).Float64("coordinates")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := openData(t, filepath.Join(remote, "run.npz")).Float64("coordinates")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d and %d values", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("coordinate %d: in process %.17g, through the plugin %.17g", i, a[i], b[i])
		}
	}
	// Without coordinates, a plugin on atoms is refused before running.
	cfg := runConfig(t, t.TempDir(), fmt.Sprintf("system: {plugin: {path: %s, options: {psf: %s, params: %s}}}\n", plugin, psf, prm)+common)
	if _, err := NewRun(t.Context(), cfg, false); err == nil || !strings.Contains(err.Error(), "give starting coordinates") {
		t.Errorf("no coordinates: %v", err)
	}
}
