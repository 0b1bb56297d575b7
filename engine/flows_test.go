package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/integrators"
	"github.com/flowmd/flowmd/topology"
)

// TestFlowLearnsDoubleWell trains the thesis' double-well flow (8x4
// coupling blocks of width 64) by maximum likelihood on Monte Carlo samples
// of Double Well Medium 2D from the engine, and checks that its samples
// reproduce the exact minor-mode fraction.
func TestFlowLearnsDoubleWell(t *testing.T) {
	exact, err := analytic.DoubleWellPreset("medium", 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	execute(t, runConfig(t, dir, `system: {analytic: double_well_medium, analytic_params: {dim: 2}}
walkers: 16
moves: [{type: random_walk, step_size: 0.8}]
steps: 20000
equilibration: 2000
output: {dataset: 10}
`), false, 0)
	d := openData(t, filepath.Join(dir, "run.npz"))
	x, shape, err := d.Float64("coordinates")
	if err != nil {
		t.Fatal(err)
	}
	frames := shape[0]
	g, err := flows.NewGenerator(flows.GeneratorSpec{Flow: flows.Spec{Dim: 2, Blocks: 8, Hidden: 64, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	losses, err := flows.TrainML(context.Background(), g, x, frames, flows.TrainOptions{Steps: 1500, Batch: 256, LR: 1e-3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	first, last := mean(losses[:50]), mean(losses[len(losses)-100:])
	modes := analyticModes(exact)
	minor := exact.MinorMode()
	fraction := func(x []float64, n int) float64 {
		k := 0
		for r := 0; r < n; r++ {
			if modes.Classify(x[r*2:r*2+1]) == minor {
				k++
			}
		}
		return float64(k) / float64(n)
	}
	const n = 20000
	_, xs, _ := g.Sample(n, rand.New(rand.NewPCG(3, 3)), false)
	got, data, want := fraction(xs, n), fraction(x, frames), exact.MinorModeFraction(1)
	t.Logf("NLL %.3f -> %.3f; minor-mode fraction: flow %.4f, data %.4f (%d frames), exact %.4f", first, last, got, data, frames, want)
	if !(last < first-0.3) {
		t.Errorf("the negative log-likelihood went from %.3f to %.3f", first, last)
	}
	if d := got - want; d > 0.03 || d < -0.03 {
		t.Errorf("the flow's minor-mode fraction is %.4f, exact %.4f", got, want)
	}
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// dialanineComparison holds what TestFlowLearnsDialanine compares between
// the flow's samples and the data.
type dialanineComparison struct {
	flowMedian, dataMedian float64 // energies, kcal/mol
	flowQ90, dataQ90       float64
	tvd                    float64 // total variation distance of the (phi, psi) histograms
	flowModes, dataModes   []float64
}

// compareDialanine evaluates the plain CHARMM energy of both sets of
// configurations and their (phi, psi) distributions on 30-degree bins.
func compareDialanine(t *testing.T, sys *topology.System, model forcefields.Model, data []float64, nd int, flow []float64, nf int) dialanineComparison {
	t.Helper()
	set, err := ModeSetFor("dialanine", sys, model)
	if err != nil {
		t.Fatal(err)
	}
	energies := func(x []float64, n int) []float64 {
		b := forcefields.NewBatch(model, n, false, false)
		copy(b.Coords, x[:n*model.Dim()])
		if err := model.Evaluate(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		e := append([]float64(nil), b.Energy...)
		sort.Float64s(e)
		return e
	}
	const bins = 12
	hist := func(x []float64, n int) ([]float64, []float64) {
		h := make([]float64, bins*bins)
		modes := make([]float64, len(set.Modes))
		dim := model.Dim()
		cv := make([]float64, len(set.CVs))
		for r := 0; r < n; r++ {
			for k, c := range set.CVs {
				cv[k] = c.Eval(x[r*dim : (r+1)*dim])
			}
			i := int((cv[0] + math.Pi) / (2 * math.Pi) * bins)
			j := int((cv[1] + math.Pi) / (2 * math.Pi) * bins)
			h[min(max(i, 0), bins-1)*bins+min(max(j, 0), bins-1)] += 1 / float64(n)
			if m := set.Classify(cv); m >= 0 {
				modes[m] += 1 / float64(n)
			}
		}
		return h, modes
	}
	ed, ef := energies(data, nd), energies(flow, nf)
	hd, md := hist(data, nd)
	hf, mf := hist(flow, nf)
	c := dialanineComparison{flowMedian: ef[nf/2], dataMedian: ed[nd/2], flowQ90: ef[nf*9/10], dataQ90: ed[nd*9/10], flowModes: mf, dataModes: md}
	for i := range hd {
		c.tvd += 0.5 * math.Abs(hd[i]-hf[i])
	}
	return c
}

// TestFlowLearnsDialanine trains the two-stage molecular generator (a flow
// on the 10 heavy atoms, the hydrogen placer) on dialanine configurations
// from the engine: the placer by minimizing the hydrogens' energy with the
// heavy atoms of the data, the flow by maximum likelihood. The flow's
// structures must have energies and a (phi, psi) distribution close to the
// data's. The suite's version trains a small flow briefly on a short
// Langevin run; with FLOWMD_LONG=1 and FLOWMD_DIALANINE_DATA set to a
// dataset from mdrun gendata (with --align), it trains the thesis' 24x4
// width-256 flow and reports the figures of the README.
func TestFlowLearnsDialanine(t *testing.T) {
	long := os.Getenv("FLOWMD_LONG") == "1"
	sys, ref := defaultDialanine(t)
	refConf, err := FromStructure(ref, sys.PSF)
	if err != nil {
		t.Fatal(err)
	}
	model, err := charmm.New(sys, charmm.Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	var x []float64
	var frames int
	spec := flows.Spec{Blocks: 4, Hidden: 64, Precision: "float32", Seed: 1}
	ml := flows.TrainOptions{Steps: 600, Batch: 128, LR: 1e-3, Seed: 1}
	placer := flows.TrainOptions{Steps: 300, Batch: 64, LR: 1e-3, Clip: 100, Seed: 1}
	if path := os.Getenv("FLOWMD_DIALANINE_DATA"); long && path != "" {
		d, err := dataset.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var shape []int
		x, shape, err = d.Float64("coordinates")
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		frames = shape[0]
		spec = flows.Spec{Blocks: 24, Hidden: 256, Precision: "float32", Seed: 1}
		ml = flows.TrainOptions{Steps: 12000, Batch: 256, LR: 5e-4, Seed: 1}
		placer = flows.TrainOptions{Steps: 2000, Batch: 256, LR: 1e-3, Clip: 100, Seed: 1}
	} else {
		x, frames = dialanineLangevinData(t)
	}
	gs, err := flows.MoleculeSpec(sys.PSF, refConf.X, true, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := gs.FitStandardization(x, frames, 1e-3); err != nil {
		t.Fatal(err)
	}
	g, err := flows.NewGenerator(gs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	beta := 1 / integrators.KT(300)
	report := func(what string) func(int, float64) {
		if !long {
			return nil
		}
		return func(step int, v float64) {
			if step%500 == 0 {
				t.Logf("%s step %d: %.3f", what, step, v)
			}
		}
	}
	placer.Report = report("placer mean energy")
	es, err := flows.TrainPlacer(ctx, g, model, beta, x, frames, placer)
	if err != nil {
		t.Fatal(err)
	}
	ml.Report = report("NLL")
	losses, err := flows.TrainML(ctx, g, x, frames, ml)
	if err != nil {
		t.Fatal(err)
	}
	n := 4000
	_, xs, _ := g.Sample(n, rand.New(rand.NewPCG(5, 5)), false)
	c := compareDialanine(t, sys, model, x, frames, xs, n)
	// The placer puts hydrogens where their energy is lowest: the data's
	// heavy atoms with placed hydrogens are the fair reference for the
	// flow's energies (the data's own hydrogens carry ~kT/2 per degree of
	// freedom more).
	placed := append([]float64(nil), x...)
	g.Place(frames, placed, false)
	cp := compareDialanine(t, sys, model, placed, frames, xs, n)
	t.Logf("placer: mean energy %.1f -> %.1f kcal/mol; NLL %.2f -> %.2f over %d frames", mean(es[:10]), mean(es[len(es)-10:]), mean(losses[:20]), mean(losses[len(losses)-50:]), frames)
	t.Logf("energy median: flow %.2f, data %.2f, data with placed hydrogens %.2f; 90th percentile: flow %.2f, data %.2f, placed %.2f kcal/mol",
		c.flowMedian, c.dataMedian, cp.dataMedian, c.flowQ90, c.dataQ90, cp.dataQ90)
	if path := os.Getenv("FLOWMD_SAVE_FLOW"); path != "" {
		if err := g.Save(path, false); err != nil {
			t.Error(err)
		}
	}
	t.Logf("(phi, psi) histogram total variation distance %.3f; modes (C7eq C5 alphaR C7ax alphaL): flow %.4f, data %.4f", c.tvd, c.flowModes, c.dataModes)
	if !(mean(es[len(es)-10:]) < mean(es[:10])) {
		t.Errorf("training the placer did not lower the energy")
	}
	if math.Abs(c.flowMedian-cp.dataMedian) > 10 || c.tvd > 0.25 {
		t.Errorf("the flow's structures are far from the data's")
	}
}

// dialanineLangevinData runs a short aligned Langevin simulation of the
// embedded dialanine (4 walkers, 40,000 steps) and returns its dataset's
// coordinates: the suite's stand-in for a replica-exchange dataset.
func dialanineLangevinData(t *testing.T) (x []float64, frames int) {
	t.Helper()
	dir := t.TempDir()
	pdb, err := filepath.Abs(filepath.Join(dataDir, "systems/dialanine/dialanine.pdb"))
	if err != nil {
		t.Fatal(err)
	}
	execute(t, runConfig(t, dir, fmt.Sprintf(`walkers: 4
forcefield: {align: {reference: %s}}
steps: 40000
equilibration: 2000
output: {dataset: 20}
`, pdb)), false, 0)
	d := openData(t, filepath.Join(dir, "run.npz"))
	x, shape, err := d.Float64("coordinates")
	if err != nil {
		t.Fatal(err)
	}
	return x, shape[0]
}

// TestFlowSamplesDialanineHydrogens fits a molecular flow whose hydrogens
// are drawn from the stochastic placer (hydrogens: sample) by maximum
// likelihood on dialanine configurations from the engine, and checks the
// hydrogens' model on the data's own heavy atoms: the data's hydrogens
// must be typical of it (each latent number's mean square near 1), and
// hydrogens drawn from it must cost what the data's own do (median bond,
// angle, Urey-Bradley and dihedral terms within 3 kT). Widths started at
// 0.1 for r (the thermal width is 0.03 A) drew bonds 97 kT above the
// data's after 1,500 steps.
func TestFlowSamplesDialanineHydrogens(t *testing.T) {
	sys, ref := defaultDialanine(t)
	refConf, err := FromStructure(ref, sys.PSF)
	if err != nil {
		t.Fatal(err)
	}
	model, err := charmm.New(sys, charmm.Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	x, frames := dialanineLangevinData(t)
	gs, err := flows.MoleculeSpec(sys.PSF, refConf.X, true, flows.Spec{Blocks: 2, Hidden: 32, Precision: "float32", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	gs.Stochastic = true
	if err := gs.FitStandardization(x, frames, 1e-3); err != nil {
		t.Fatal(err)
	}
	g, err := flows.NewGenerator(gs)
	if err != nil {
		t.Fatal(err)
	}
	nll, err := flows.TrainML(context.Background(), g, x, frames, flows.TrainOptions{Steps: 2000, Batch: 128, LR: 1e-3, Clip: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NLL %.2f -> %.2f over %d steps", nll[0], nll[len(nll)-1], len(nll))
	n, dim, d2, dc := min(frames, 1000), g.Dim(), g.LatentDim(), g.Flow.Dim()
	data := x[:n*dim]
	z, ld := make([]float64, n*d2), make([]float64, n)
	g.Inverse(n, data, z, ld, false)
	// Per latent number of the hydrogens, the data's mean square: 1 for a
	// model that fits.
	rng := rand.New(rand.NewPCG(3, 3))
	comp := make([]float64, d2-dc)
	for r := 0; r < n; r++ {
		for k := dc; k < d2; k++ {
			comp[k-dc] += z[r*d2+k] * z[r*d2+k] / float64(n)
			z[r*d2+k] = rng.NormFloat64()
		}
	}
	for k, v := range comp {
		if !(v > 0.5 && v < 2) {
			t.Errorf("hydrogen latent number %d: mean square %.2f on the data, want about 1", k, v)
		}
	}
	resampled := make([]float64, n*dim)
	g.Forward(n, z, resampled, ld, false)
	medians := func(c []float64) map[string]float64 {
		b := forcefields.NewBatch(model, n, false, true)
		copy(b.Coords, c)
		if err := model.Evaluate(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		beta := 1 / integrators.KT(300)
		out := map[string]float64{}
		names := model.Terms()
		for k, name := range names {
			v := make([]float64, n)
			for r := range v {
				v[r] = beta * b.Terms[r*len(names)+k]
			}
			sort.Float64s(v)
			out[name] = v[n/2]
		}
		return out
	}
	own, drawn := medians(data), medians(resampled)
	t.Logf("median beta U terms: data's hydrogens %v, drawn %v", own, drawn)
	for _, term := range []string{"bond", "angle", "urey_bradley", "dihedral"} {
		if diff := drawn[term] - own[term]; math.Abs(diff) > 3 {
			t.Errorf("%s term of drawn hydrogens %.1f kT from the data's own", term, diff)
		}
	}
}
