package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/trajectory"
)

// runConfig loads a config written to dir with the given YAML.
func runConfig(t *testing.T, dir, yaml string) *Config {
	t.Helper()
	path := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// execute runs a config to the end, or until step stop when stop > 0, in
// which case it must end interrupted.
func execute(t *testing.T, cfg *Config, resume bool, stop int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := NewRun(ctx, cfg, resume)
	if err != nil {
		t.Fatal(err)
	}
	progress := func(p Progress) {
		if stop > 0 && p.Step >= stop {
			cancel()
		}
	}
	_, err = r.Execute(ctx, progress, 0)
	if stop > 0 {
		if _, ok := err.(*ErrInterrupted); !ok {
			t.Fatalf("expected an interruption, got %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStopAndResumeBitForBit runs each config once straight through and once
// interrupted (as SIGINT does, by cancelling the context) then resumed: the
// trajectories, datasets and logs must be the same bit for bit.
func TestStopAndResumeBitForBit(t *testing.T) {
	const common = `
steps: 3000
equilibration: 200
`
	const output = "output: {trajectory: 50, dataset: 50, log: 100, checkpoint: 1000}\n"
	cases := map[string]string{
		"langevin": `
moves: [{type: langevin, timestep: 1, friction: 1, remove_com: true}]
walkers: 2
` + output,
		"monte carlo": `
moves: [{type: random_walk, step_size: 0.02, group: 3}, {type: mala, timestep: 0.2}]
` + output,
		"replica exchange": `
ladder: {min: 300, max: 500, rungs: 3}
walkers: 2
moves: [{type: langevin, timestep: 1}, {type: hmc, leapfrog_steps: 3, timestep: 0.5}, {type: replica_exchange}]
output: {trajectory: 50, dataset: 50, log: 100, checkpoint: 1000, record: all}
`,
	}
	for name, yaml := range cases {
		t.Run(name, func(t *testing.T) {
			whole, parts := t.TempDir(), t.TempDir()
			execute(t, runConfig(t, whole, common+yaml), false, 0)
			cfg := runConfig(t, parts, common+yaml)
			execute(t, cfg, false, 1280) // stops at the first progress check past 1280
			execute(t, cfg, true, 0)
			entries, err := os.ReadDir(whole)
			if err != nil {
				t.Fatal(err)
			}
			compared := 0
			for _, e := range entries {
				n := e.Name()
				if strings.HasSuffix(n, ".dcd") || strings.HasSuffix(n, ".log.csv") {
					compared++
					a, b := readAll(t, filepath.Join(whole, n)), readAll(t, filepath.Join(parts, n))
					if strings.HasSuffix(n, ".dcd") {
						// The title records the creation time; frames follow.
						a, b = dcdFrames(t, filepath.Join(whole, n)), dcdFrames(t, filepath.Join(parts, n))
					}
					if string(a) != string(b) {
						t.Errorf("%s differs after stop and resume", n)
					}
				}
			}
			da, db := openData(t, filepath.Join(whole, "run.npz")), openData(t, filepath.Join(parts, "run.npz"))
			for _, arr := range []string{"coordinates", "energy", "energy_terms", "temperature", "kinetic_temperature", "rung", "walker", "step", "time_ps"} {
				x, _, err := da.Float64(arr)
				if err != nil {
					t.Fatal(err)
				}
				y, _, err := db.Float64(arr)
				if err != nil {
					t.Fatal(err)
				}
				if len(x) != len(y) {
					t.Fatalf("%s: %d values straight through, %d after resuming", arr, len(x), len(y))
				}
				for i := range x {
					if x[i] != y[i] {
						t.Fatalf("%s[%d]: %.17g straight through, %.17g after resuming", arr, i, x[i], y[i])
					}
				}
			}
			if compared == 0 {
				t.Fatal("no trajectory or log compared")
			}
		})
	}
}

func openData(t *testing.T, path string) *dataset.Dataset {
	t.Helper()
	d, err := dataset.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// dcdFrames returns a DCD's frames as the bytes of their values.
func dcdFrames(t *testing.T, path string) []byte {
	t.Helper()
	r, err := trajectory.OpenDCD(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	frames, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, f := range frames {
		for _, v := range f {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

// TestDoubleWellFromConfig runs replica exchange (random walk) on the
// thesis' medium double well in 2D from a config and compares the
// minor-mode fraction of the lowest rung with the exact 0.22.
func TestDoubleWellFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := runConfig(t, dir, `
system: {analytic: double_well_medium, analytic_params: {dim: 2}}
ladder: {min: 1, max: 5, rungs: 4}
walkers: 16
seed: 3
moves: [{type: random_walk, count: 5, step_size: 0.5}, {type: replica_exchange}]
steps: 36000
equilibration: 6000
output: {dataset: 6}
`)
	execute(t, cfg, false, 0)
	d := openData(t, filepath.Join(dir, "run.npz"))
	x, shape, err := d.Float64("coordinates")
	if err != nil {
		t.Fatal(err)
	}
	slots, _, err := d.Int64("slot")
	if err != nil {
		t.Fatal(err)
	}
	m, err := analytic.DoubleWellPreset("medium", 2)
	if err != nil {
		t.Fatal(err)
	}
	xb := m.Barrier()
	// One estimate per ladder (slot): the ladders are independent.
	minor := m.MinorMode()
	counts, hits := make([]float64, 16), make([]float64, 16)
	for f := 0; f < shape[0]; f++ {
		k := slots[f]
		counts[k]++
		inMinor := x[f*shape[1]] > xb
		if minor == 0 {
			inMinor = !inMinor
		}
		if inMinor {
			hits[k]++
		}
	}
	fr := make([]float64, 16)
	for k := range fr {
		fr[k] = hits[k] / counts[k]
	}
	mean, se := meanStdErr(fr)
	want := m.MinorModeFraction(1)
	if math.Abs(mean-want) > 5*se {
		t.Errorf("minor-mode fraction %.4f +- %.4f, exact %.4f", mean, se, want)
	}
	t.Logf("minor-mode fraction %.4f +- %.4f from %d frames, exact %.4f", mean, se, shape[0], want)
}

func meanStdErr(x []float64) (float64, float64) {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return m, math.Sqrt(ss / float64(len(x)-1) / float64(len(x)))
}

// TestGenDataButaneSeedsAgree makes two short butane datasets with
// different seeds by Langevin replica exchange and checks that their
// dihedral mode fractions agree within their error bars (4 standard errors
// of the difference).
func TestGenDataButaneSeedsAgree(t *testing.T) {
	var results [][]ModeFractionReport
	for _, seed := range []uint64{1, 2} {
		job := &GenDataJob{
			System: SystemConfig{PSF: filepath.Join(dataDir, "systems/butane/butane.psf"), Coords: filepath.Join(dataDir, "systems/butane/butane.pdb"),
				Params: []string{filepath.Join(dataDir, "toppar/par_all36_cgenff.prm"), filepath.Join(dataDir, "toppar/top_all36_cgenff.rtf")}},
			Temperature: 300, MaxTemperature: 600, Rungs: 4, Ladders: 4, Samples: 250, Thin: 200, Seed: seed,
			Out: filepath.Join(t.TempDir(), "butane.npz"),
		}
		res, err := job.Run(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.ModeFractions) != 3 || res.Frames != 1000 {
			t.Fatalf("seed %d: %d modes, %d frames", seed, len(res.ModeFractions), res.Frames)
		}
		results = append(results, res.ModeFractions)
		t.Logf("seed %d: %+v", seed, res.ModeFractions)
	}
	for k := range results[0] {
		a, b := results[0][k], results[1][k]
		se := math.Hypot(a.StdErr, b.StdErr)
		if se == 0 || math.Abs(a.Fraction-b.Fraction) > 4*se {
			t.Errorf("%s: %.3f +- %.3f with seed 1, %.3f +- %.3f with seed 2", a.Mode, a.Fraction, a.StdErr, b.Fraction, b.StdErr)
		}
	}
}

// TestExamplesRun runs every run config in examples/ for a few hundred
// steps, so the examples cannot rot. The training configs (*-train.yaml),
// and the run configs with flow moves (which need a trained flow), are
// run by cmd/mdrun's TestTrainExamples.
func TestExamplesRun(t *testing.T) {
	paths, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, "-train.yaml") {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, err := LoadConfig(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range cfg.Moves {
				if m.Type == MoveFlow {
					t.Skip("needs a trained flow: run by cmd/mdrun's TestTrainExamples")
				}
			}
			cfg.Equilibration = min(cfg.Equilibration, 200)
			cfg.Steps = cfg.Equilibration + 600
			cfg.Output.Dir = t.TempDir()
			execute(t, cfg, false, 0)
		})
	}
}

// TestOutputsReadByNumPyAndMDTraj runs Langevin dynamics of dialanine and
// reads the dataset with NumPy and the trajectory with MDTraj (through the
// PSF): both must hold what the engine wrote. Skipped without them, except
// in CI, where scripts/test.sh installs Debian's python3-numpy and
// python3-mdtraj.
func TestOutputsReadByNumPyAndMDTraj(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import numpy, mdtraj").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("NumPy or MDTraj missing in CI")
		}
		t.Skip("NumPy and MDTraj (Debian python3-numpy, python3-mdtraj) not available")
	}
	dir := t.TempDir()
	execute(t, runConfig(t, dir, `
steps: 2000
equilibration: 500
moves: [{type: langevin}]
output: {trajectory: 100, dataset: 100}
`), false, 0)
	script := `import sys, json, numpy as np, mdtraj as md
d = np.load(sys.argv[1])
t = md.load_dcd(sys.argv[2], top=sys.argv[3])
print(json.dumps({"frames": int(d["coordinates"].shape[0]), "dcd_frames": t.n_frames, "atoms": t.n_atoms,
  "max_diff": float(np.abs(t.xyz * 10 - d["coordinates"]).max()), "first": d["coordinates"][0, 0].tolist(),
  "energy0": float(d["energy"][0]), "steps": d["step"].tolist()[:3], "terms": [str(s) for s in d["term_names"]]}))`
	out, err := exec.Command("/usr/bin/python3", "-c", script, filepath.Join(dir, "run.npz"), filepath.Join(dir, "run.dcd"),
		filepath.Join(dataDir, "systems/dialanine/dialanine.psf")).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var got struct {
		Frames    int     `json:"frames"`
		DCDFrames int     `json:"dcd_frames"`
		Atoms     int     `json:"atoms"`
		MaxDiff   float64 `json:"max_diff"`
		First     []float64
		Energy0   float64
		Steps     []int64
		Terms     []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	d := openData(t, filepath.Join(dir, "run.npz"))
	x, _, _ := d.Float64("coordinates")
	e, _, _ := d.Float64("energy")
	if got.Frames != 15 || got.DCDFrames != 15 || got.Atoms != 22 || got.MaxDiff > 1e-4 ||
		got.First[0] != x[0] || got.Energy0 != e[0] || got.Steps[0] != 600 || len(got.Terms) != 8 {
		t.Errorf("NumPy/MDTraj read %+v", got)
	}
}
