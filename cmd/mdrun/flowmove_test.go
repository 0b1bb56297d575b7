package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/engine"
	"github.com/flowmd/flowmd/forcefields/analytic"
)

// trainedFlow trains a flow on Double Well Medium 2D by maximum likelihood
// for the given number of steps and returns the saved flow's path.
func trainedFlow(t *testing.T, data, dir, prefix string, steps int) string {
	t.Helper()
	cfg := writeConfig(t, dir, fmt.Sprintf(`system: {analytic: double_well_medium, analytic_params: {dim: 2}}
data: %s
flow: {options: {blocks: "4", hidden: "32"}}
pretrain: {steps: %d, batch: 256, lr: 1e-3}
output: {dir: %s, prefix: %s}
`, data, steps, dir, prefix))
	if code, _, errs := mdrun(t, "train", "-c", cfg, "--quiet"); code != exitOK {
		t.Fatalf("mdrun train: exit %d: %s", code, errs)
	}
	return filepath.Join(dir, prefix+".flow.npz")
}

// TestRunFlowProposals samples Double Well Medium 2D with Metropolis-
// Hastings flow proposals from mdrun run: from a trained flow, from a
// deliberately poor one (20 steps of training), and mixed with a random
// walk. Each gives the exact minor-mode fraction within error bars; the
// poor flow only accepts less.
func TestRunFlowProposals(t *testing.T) {
	data := doubleWellData(t)
	dir := t.TempDir()
	good := trainedFlow(t, data, dir, "good", 600)
	poor := trainedFlow(t, data, dir, "poor", 20)
	acceptance := map[string]float64{}
	for _, tc := range []struct{ name, moves string }{
		{"good", fmt.Sprintf("[{type: flow, flow: {options: {load: %s}}}]", good)},
		{"poor", fmt.Sprintf("[{type: flow, flow: {options: {load: %s}}}]", poor)},
		{"poor with a random walk", fmt.Sprintf("[{type: random_walk, count: 4}, {type: flow, batch: 64, flow: {options: {load: %s}}}]", poor)},
	} {
		run := t.TempDir()
		cfg := writeConfig(t, run, fmt.Sprintf(`system: {analytic: double_well_medium, analytic_params: {dim: 2}}
walkers: 32
moves: %s
steps: 3000
equilibration: 1000
output: {dataset: 5}
`, tc.moves))
		code, out, errs := mdrun(t, "run", "-c", cfg, "--quiet", "--json")
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", tc.name, code, errs)
		}
		var sum engine.Summary
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, out)
		}
		var minor *engine.ModeFractionReport
		for i, m := range sum.ModeFractions {
			if strings.Contains(m.Mode, ">=") {
				minor = &sum.ModeFractions[i]
			}
		}
		if minor == nil {
			t.Fatalf("%s: no mode fractions in %s", tc.name, out)
		}
		for _, m := range sum.Moves {
			if m.Name == "flow" {
				acceptance[tc.name] = m.Acceptance()
			}
		}
		t.Logf("%s: minor-mode fraction %.4f +- %.4f (exact %.2f), flow acceptance %.3f", tc.name, minor.Fraction, minor.StdErr, analytic.DoubleWellMinorFraction, acceptance[tc.name])
		if math.Abs(minor.Fraction-analytic.DoubleWellMinorFraction) > 4*minor.StdErr || minor.StdErr > 0.02 {
			t.Errorf("%s: minor-mode fraction %.4f +- %.4f, exact %.2f", tc.name, minor.Fraction, minor.StdErr, analytic.DoubleWellMinorFraction)
		}
	}
	if !(acceptance["poor"] < acceptance["good"]) || acceptance["good"] < 0.3 {
		t.Errorf("flow acceptance: %v", acceptance)
	}
}

// TestRunFlowProposalsDialanine runs Langevin dynamics of dialanine mixed
// with proposals from a (small, briefly trained) molecular flow that
// places its hydrogens: the flow move runs on the embedded system, its
// proposals are counted, and every walker's energy stays finite.
func TestRunFlowProposalsDialanine(t *testing.T) {
	dir := t.TempDir()
	ref, _ := filepath.Abs("../../data/systems/dialanine/dialanine.pdb")
	data := exampleData(t, &engine.TrainConfig{})
	train := writeConfig(t, dir, fmt.Sprintf(`data: %s
forcefield: {align: {reference: %s, lambda: 10}}
flow: {options: {blocks: "2", hidden: "16"}}
placer: {steps: 30, batch: 64, lr: 1e-3}
pretrain: {steps: 60, batch: 64, lr: 1e-3}
output: {dir: %s, prefix: dia}
`, data, ref, dir))
	if code, _, errs := mdrun(t, "train", "-c", train, "--quiet"); code != exitOK {
		t.Fatalf("mdrun train: exit %d: %s", code, errs)
	}
	run := writeConfig(t, dir, fmt.Sprintf(`forcefield: {align: {reference: %s, lambda: 10}}
walkers: 8
moves: [{type: langevin, count: 10}, {type: flow, batch: 32, flow: {options: {load: %s}}}]
steps: 400
output: {dataset: 20, prefix: run}
`, ref, filepath.Join(dir, "dia.flow.npz")))
	code, out, errs := mdrun(t, "run", "-c", run, "--quiet", "--json")
	if code != exitOK {
		t.Fatalf("mdrun run: exit %d: %s", code, errs)
	}
	var sum engine.Summary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatal(err)
	}
	var flow int64
	for _, m := range sum.Moves {
		if m.Name == "flow" {
			flow = m.Attempted
		}
	}
	if flow != 8*(400/11) {
		t.Errorf("%d flow proposals, want %d", flow, 8*(400/11))
	}
	if math.IsNaN(sum.MeanPotential) || math.IsInf(sum.MeanPotential, 0) || len(sum.ModeFractions) == 0 {
		t.Errorf("summary %+v", sum)
	}
}
