package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	path := writeConfig(t, `
system:
  analytic: double_well_medium
  analytic_params: {dim: 2}
temperature: 1
ladder: {min: 1, max: 4, rungs: 4}
walkers: 3
moves:
  - {type: random_walk, count: 10, step_size: 0.3}
  - {type: replica_exchange}
steps: 1000
equilibration: 100
output: {dataset: 10, log: 100}
`)
	t.Setenv("MDRUN_SEED", "17")
	t.Setenv("MDRUN_OUTPUT_PREFIX", "dw")
	cfg, err := LoadConfig(path, map[string]any{"steps": 2000})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Seed != 17 || c.Output.Prefix != "dw" || c.Steps != 2000 || c.Walkers != 3 {
		t.Errorf("overrides: seed %d prefix %q steps %d walkers %d", c.Seed, c.Output.Prefix, c.Steps, c.Walkers)
	}
	if len(c.Ladder.Temperatures) != 4 || c.Ladder.Temperatures[3] != 4 || c.Moves[1].Count != 1 || c.Moves[0].TargetAcceptance != 0.4 {
		t.Errorf("defaults: %+v %+v", c.Ladder, c.Moves)
	}
	if c.Output.Record != "lowest" || c.Output.Dir != filepath.Dir(path) {
		t.Errorf("output %+v", c.Output)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct{ text, want string }{
		{"steps: 10\nstpes: 5\n", "stpes"},
		{"steps: 10\nmoves: [{type: langevn}]\n", `moves[0].type: "langevn" is not a move`},
		{"steps: 10\nsystem: {psf: /nonexistent.psf, params: [/nonexistent.prm], coords: x.pdb}\n", "system.psf: stat /nonexistent.psf"},
		{"steps: 0\n", "steps: 0 must be at least 1"},
		{"steps: 10\nladder: {min: 300, max: 400, rungs: 4}\n", "a ladder without a replica_exchange move"},
		{"steps: 10\nmoves: [{type: replica_exchange}]\n", "replica_exchange needs a ladder"},
		{"steps: 10\ntemperature: -5\n", "temperature: -5 must be positive"},
		{"steps: 10\noutput: {record: some}\n", `output.record: "some"`},
		{"steps: 10\nmoves: [{type: langevin, timestep: -1}]\n", "moves[0].timestep: -1 must be positive"},
		{"steps: 10\nwalkers: many\n", "walkers"},
		{"steps: 10\nforcefield: {placer: {flow: {name: flow}}}\n", "forcefield.placer.flow: the built-in flow needs a trained flow"},
		{"steps: 10\nforcefield: {placer: {flow: {options: {load: /nonexistent.flow.npz}}}}\n", "forcefield.placer.flow.options.load: stat /nonexistent.flow.npz"},
		{"steps: 10\nforcefield: {placer: {flow: {options: {load: x}}, tether: -1}}\n", "forcefield.placer.tether: -1"},
		{"steps: 10\nsystem: {analytic: double_well_medium}\nforcefield: {placer: {flow: {options: {load: x}}}}\n", "forcefield.placer: places hydrogens of a molecule"},
	}
	for _, c := range cases {
		cfg, err := LoadConfig(writeConfig(t, c.text), nil)
		if err == nil {
			err = cfg.WithDefaults().Validate()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %q: got %v, want an error mentioning %q", c.text, err, c.want)
		}
	}
}
