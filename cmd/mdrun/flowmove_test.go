package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/engine"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
)

// trainedFlow trains a flow on Double Well Medium 2D by maximum likelihood
// for the given number of steps and returns the saved flow's path.
func trainedFlow(t *testing.T, data, dir, prefix string, steps int, precision ...string) string {
	t.Helper()
	options := `blocks: "4", hidden: "32"`
	if len(precision) > 0 {
		options += ", precision: " + precision[0]
	}
	cfg := writeConfig(t, dir, fmt.Sprintf(`system: {analytic: double_well_medium, analytic_params: {dim: 2}}
data: %s
flow: {options: {%s}}
pretrain: {steps: %d, batch: 256, lr: 1e-3}
output: {dir: %s, prefix: %s}
`, data, options, steps, dir, prefix))
	if code, _, errs := mdrun(t, "train", "-c", cfg, "--quiet"); code != exitOK {
		t.Fatalf("mdrun train: exit %d: %s", code, errs)
	}
	return filepath.Join(dir, prefix+".flow.npz")
}

// TestRunFlowProposals samples Double Well Medium 2D with Metropolis-
// Hastings flow proposals from mdrun run: from a trained flow, from a
// deliberately poor one (20 steps of training), and mixed with a random
// walk, and from a float32 flow. Each gives the exact minor-mode fraction
// within error bars; the poor flow only accepts less.
func TestRunFlowProposals(t *testing.T) {
	data := doubleWellData(t)
	dir := t.TempDir()
	good := trainedFlow(t, data, dir, "good", 600)
	poor := trainedFlow(t, data, dir, "poor", 20)
	single := trainedFlow(t, data, dir, "single", 600, "float32")
	acceptance := map[string]float64{}
	for _, tc := range []struct{ name, moves string }{
		{"good", fmt.Sprintf("[{type: flow, flow: {options: {load: %s}}}]", good)},
		{"poor", fmt.Sprintf("[{type: flow, flow: {options: {load: %s}}}]", poor)},
		{"poor with a random walk", fmt.Sprintf("[{type: random_walk, count: 4}, {type: flow, batch: 64, flow: {options: {load: %s}}}]", poor)},
		{"float32", fmt.Sprintf("[{type: flow, flow: {options: {load: %s}}}]", single)},
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
				// The proposals after equilibration are weighed.
				if m.Importance == nil || !(m.Importance.ESSFraction > 0 && m.Importance.ESSFraction <= 1) || !(m.Importance.Samples > 0 && m.Importance.Samples < m.Attempted) {
					t.Errorf("%s: importance sampling %+v", tc.name, m.Importance)
				}
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
// with proposals from a (small, briefly trained) molecular flow: one that
// places its hydrogens (the move carries the walker's) and one that
// samples them (a density over every atom, proposed whole). The flow move
// runs on the embedded system, its proposals are counted, and every
// walker's energy stays finite.
func TestRunFlowProposalsDialanine(t *testing.T) {
	t.Run("placed hydrogens", func(t *testing.T) {
		checkFlowProposalsDialanine(t, `flow: {options: {blocks: "2", hidden: "16"}}
placer: {steps: 30, batch: 64, lr: 1e-3}`, true)
	})
	t.Run("sampled hydrogens", func(t *testing.T) {
		checkFlowProposalsDialanine(t, `flow: {options: {blocks: "2", hidden: "16", hydrogens: sample}}`, false)
	})
}

func checkFlowProposalsDialanine(t *testing.T, flowConfig string, placed bool) {
	dir := t.TempDir()
	ref, _ := filepath.Abs("../../data/systems/dialanine/dialanine.pdb")
	data := exampleData(t, &engine.TrainConfig{})
	train := writeConfig(t, dir, fmt.Sprintf(`data: %s
forcefield: {clip: {all: 1000}, align: {reference: %s, lambda: 10}}
%s
pretrain: {steps: 60, batch: 64, lr: 1e-3}
output: {dir: %s, prefix: dia}
`, data, ref, flowConfig, dir))
	if code, _, errs := mdrun(t, "train", "-c", train, "--quiet"); code != exitOK {
		t.Fatalf("mdrun train: exit %d: %s", code, errs)
	}
	run := writeConfig(t, t.TempDir(), fmt.Sprintf(`forcefield: {align: {reference: %s, lambda: 10}}
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
	// The proposals are counted by the (phi, psi) basin they propose.
	for _, m := range sum.Moves {
		if m.Name != "flow" {
			continue
		}
		var n int64
		for _, c := range m.ByClass {
			n += c.Attempted
		}
		if len(m.ByClass) != 5 || n != m.Attempted {
			t.Errorf("flow proposals by basin %+v: %d of %d", m.ByClass, n, m.Attempted)
		}
	}
	if math.IsNaN(sum.MeanPotential) || math.IsInf(sum.MeanPotential, 0) || len(sum.ModeFractions) == 0 {
		t.Errorf("summary %+v", sum)
	}
	// Importance sampling toward the clipped energy the flow was trained
	// on and toward the unclipped one.
	code, out, errs = mdrun(t, "reweight", "-c", train, "--samples", "500", "--batch", "200", "--json")
	if code != exitOK {
		t.Fatalf("mdrun reweight: exit %d: %s", code, errs)
	}
	var rep engine.ReweightReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 2 || rep.Targets[1].Name != "unclipped energy" || len(rep.Targets[0].Modes) != 5 {
		t.Errorf("reweight report %s", out)
	}
	for _, tg := range rep.Targets {
		if !(tg.ESS >= 1) || tg.ForwardESS == nil {
			t.Errorf("%s: ESS %v, forward ESS %v", tg.Name, tg.ESS, tg.ForwardESS)
		}
		// The data's modes also get their energy with the placer's
		// hydrogens, when it places them.
		for _, m := range tg.Modes {
			if placed && (m.ReferenceMedianBetaU == nil) != (m.ReferencePlacedMedianBetaU == nil) ||
				!placed && m.ReferencePlacedMedianBetaU != nil ||
				(m.ReferencePlacedMedianBetaU != nil && math.IsNaN(*m.ReferencePlacedMedianBetaU)) {
				t.Errorf("%s, mode %s: median beta U of the data %v, with placed hydrogens %v", tg.Name, m.Mode, m.ReferenceMedianBetaU, m.ReferencePlacedMedianBetaU)
			}
		}
	}
	// The target of data-free training with this flow's placer, sampled
	// by gendata --placer; a flow that places nothing is refused.
	target := filepath.Join(t.TempDir(), "target.npz")
	code, out, errs = mdrun(t, "gendata", "--placer", filepath.Join(dir, "dia.flow.npz"), "--rungs", "2", "--max-temperature", "400",
		"--samples", "20", "--thin", "10", "--align", ref, "--align-atoms", "heavy", "--out", target, "--quiet", "--json")
	if !placed {
		if code != exitError || !strings.Contains(errs, "places no atoms") {
			t.Errorf("gendata --placer with a flow that places nothing: exit %d: %s", code, errs)
		}
		return
	}
	if code != exitOK {
		t.Fatalf("gendata --placer: exit %d: %s", code, errs)
	}
	var res engine.GenDataResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	names, err := openDataset(t, target).Strings("term_names")
	if err != nil || names[len(names)-1] != engine.TermPlacerTether || len(res.ModeFractions) != 5 || res.Frames != 20 {
		t.Errorf("gendata --placer: terms %v (%v), %d mode fractions over %d frames", names, err, len(res.ModeFractions), res.Frames)
	}
}

// TestReweight importance-samples Double Well Medium 2D with a trained
// flow: the reweighted minor-mode fraction is the exact 0.22 within its
// error bar, the ESS is a fraction, clipped weights are flagged as biased,
// and the samples are written with their log weights.
func TestReweight(t *testing.T) {
	data := doubleWellData(t)
	dir := t.TempDir()
	trainedFlow(t, data, dir, "dw", 300)
	cfg := filepath.Join(dir, "train.yaml")
	out := filepath.Join(dir, "is.npz")
	code, stdout, errs := mdrun(t, "reweight", "-c", cfg, "--samples", "40000", "--clip-weights", "0.001", "--out", out, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep engine.ReweightReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 1 {
		t.Fatalf("targets %+v", rep.Targets)
	}
	tg := rep.Targets[0]
	if !(tg.ESSFraction > 0.1 && tg.ESSFraction <= 1) || tg.ForwardESS == nil || !(*tg.ForwardESS > 0 && *tg.ForwardESS <= 1) {
		t.Errorf("reverse ESS %.4f, forward ESS %v", tg.ESSFraction, tg.ForwardESS)
	}
	minor := tg.Modes[1]
	t.Logf("minor mode: flow %.4f, reweighted %.4f +- %.4f, data %.4f; ESS %.3f, forward ESS %.3f", minor.Raw, minor.Fraction, minor.StdErr, *minor.Reference, tg.ESSFraction, *tg.ForwardESS)
	if math.Abs(minor.Fraction-analytic.DoubleWellMinorFraction) > 4*minor.StdErr || minor.StdErr > 0.01 {
		t.Errorf("reweighted minor-mode fraction %.4f +- %.4f, exact %.2f", minor.Fraction, minor.StdErr, analytic.DoubleWellMinorFraction)
	}
	if tg.Clipped == nil || !tg.Clipped.Biased || tg.Clipped.ESSFraction < tg.ESSFraction {
		t.Errorf("clipped estimate %+v", tg.Clipped)
	}
	d := openDataset(t, out)
	lw, shape, err := d.Float64("log_weight")
	if err != nil || shape[0] != 40000 || math.IsNaN(lw[0]) {
		t.Errorf("log weights %v: shape %v", err, shape)
	}
	// Each mode's median beta U (kT = 1), of the flow's samples as written
	// to the .npz and of the data as the analytic energy gives it.
	x, _, _ := d.Float64("coordinates")
	u, _, _ := d.Float64("energy")
	dd := openDataset(t, data)
	xd, _, _ := dd.Float64("coordinates")
	dw, _ := analytic.New("double_well_medium", map[string]float64{"dim": 2})
	b := forcefields.NewBatch(dw, len(xd)/2, false, false)
	copy(b.Coords, xd)
	if err := dw.Evaluate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	boundary, _ := strconv.ParseFloat(strings.TrimPrefix(tg.Modes[1].Mode, "x0>="), 64)
	median := func(x, u []float64, minor bool) float64 {
		var in []float64
		for i := range u {
			if (x[2*i] >= boundary) == minor {
				in = append(in, u[i])
			}
		}
		sort.Float64s(in)
		if len(in)%2 == 1 {
			return in[len(in)/2]
		}
		return (in[len(in)/2-1] + in[len(in)/2]) / 2
	}
	for k, m := range tg.Modes {
		if m.ReferencePlacedMedianBetaU != nil {
			t.Errorf("mode %s: a median with placed hydrogens for a flow that places none", m.Mode)
		}
		if m.MedianBetaU == nil || m.ReferenceMedianBetaU == nil {
			t.Fatalf("mode %s: no median beta U (flow %v, data %v)", m.Mode, m.MedianBetaU, m.ReferenceMedianBetaU)
		}
		flow, ref := median(x, u, k == 1), median(xd, b.Energy, k == 1)
		t.Logf("mode %s: median beta U of the flow %.3f (direct %.3f), of the data %.3f (direct %.3f)", m.Mode, *m.MedianBetaU, flow, *m.ReferenceMedianBetaU, ref)
		if math.Abs(*m.MedianBetaU-flow) > 0.02 || math.Abs(*m.ReferenceMedianBetaU-ref) > 0.02 {
			t.Errorf("mode %s: median beta U %.4f and %.4f, computed directly %.4f and %.4f", m.Mode, *m.MedianBetaU, *m.ReferenceMedianBetaU, flow, ref)
		}
	}
}

func openDataset(t *testing.T, path string) *dataset.Dataset {
	t.Helper()
	d, err := dataset.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
