package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/internal/testbin"
	"github.com/flowmd/flowmd/training"
)

// dialaninePlacer returns the embedded dialanine's CHARMM energy (with the
// alignment penalty on the heavy atoms), a fresh molecular generator whose
// placer's network is perturbed (so that the placed hydrogens depend on
// the heavy atoms through the network, not only through their frames),
// and the reference structure.
func dialaninePlacer(t *testing.T, place bool) (forcefields.Model, *flows.Generator, []float64) {
	t.Helper()
	sys, st := defaultDialanine(t)
	ref := st.Models[0]
	heavy, err := AlignAtoms("heavy", sys.PSF)
	if err != nil {
		t.Fatal(err)
	}
	m, err := charmm.New(sys, charmm.Options{Align: &charmm.AlignOptions{Reference: ref, Lambda: 10, Atoms: heavy}}, "")
	if err != nil {
		t.Fatal(err)
	}
	gs, err := flows.MoleculeSpec(sys.PSF, ref, place, flows.Spec{Blocks: 1, Hidden: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	g, err := flows.NewGenerator(gs)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range g.Flow.Params.Values {
		g.Flow.Params.Values[i] += 0.05 * rng.NormFloat64()
	}
	return m, g, ref
}

// TestPlacedEnergy checks the energy with placed hydrogens against its
// definition, U(x^C, G^H(x^C)) + (k/2)|x^H - G^H(x^C)|² with the CHARMM
// energy and the placer evaluated directly, its per-term breakdown, and
// its forces against finite differences of the energy, on configurations
// whose hydrogens are off the placed positions.
func TestPlacedEnergy(t *testing.T) {
	inner, g, ref := dialaninePlacer(t, true)
	const k = 40.0
	m, err := newPlacedEnergy(inner, training.Local(g).(placerVJP), g.GeneratedAtoms(), k)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	rng := rand.New(rand.NewPCG(7, 7))
	b := forcefields.NewBatch(m, n, true, true)
	for r := 0; r < n; r++ {
		for i, v := range ref {
			b.Coords[r*len(ref)+i] = v + 0.05*rng.NormFloat64()
		}
	}
	ctx := context.Background()
	if err := m.Evaluate(ctx, b); err != nil {
		t.Fatal(err)
	}
	// The definition, directly.
	xp := append([]float64(nil), b.Coords...)
	g.Complete(n, xp, false)
	ib := forcefields.NewBatch(inner, n, false, false)
	copy(ib.Coords, xp)
	if err := inner.Evaluate(ctx, ib); err != nil {
		t.Fatal(err)
	}
	isGen := map[int]bool{}
	for _, a := range g.GeneratedAtoms() {
		isGen[a] = true
	}
	dim, nt := m.Dim(), len(m.Terms())
	if m.Terms()[nt-1] != TermPlacerTether || nt != len(inner.Terms())+1 {
		t.Fatalf("terms %v", m.Terms())
	}
	for r := 0; r < n; r++ {
		var tether float64
		for a := 0; a < dim/3; a++ {
			if isGen[a] {
				continue
			}
			for c := 0; c < 3; c++ {
				d := b.Coords[r*dim+3*a+c] - xp[r*dim+3*a+c]
				tether += k / 2 * d * d
			}
		}
		if want := ib.Energy[r] + tether; math.Abs(b.Energy[r]-want) > 1e-9*(1+math.Abs(want)) {
			t.Errorf("configuration %d: energy %.10g, want U at the placed configuration %.10g + tether %.10g", r, b.Energy[r], ib.Energy[r], tether)
		}
		if tether < 1 {
			t.Errorf("configuration %d: tether %.3g kcal/mol: the hydrogens should be off the placed positions", r, tether)
		}
		var sum float64
		for _, v := range b.Terms[r*nt : (r+1)*nt] {
			sum += v
		}
		if math.Abs(sum-b.Energy[r]) > 1e-9*(1+math.Abs(sum)) || math.Abs(b.Terms[r*nt+nt-1]-tether) > 1e-9*(1+tether) {
			t.Errorf("configuration %d: terms sum to %.10g (energy %.10g), tether term %.10g (want %.10g)", r, sum, b.Energy[r], b.Terms[r*nt+nt-1], tether)
		}
	}
	// Forces by central differences of the energy, every coordinate of
	// the first configuration.
	energy := func(x []float64) float64 {
		eb := forcefields.NewBatch(m, 1, false, false)
		copy(eb.Coords, x)
		if err := m.Evaluate(ctx, eb); err != nil {
			t.Fatal(err)
		}
		return eb.Energy[0]
	}
	x := append([]float64(nil), b.Coords[:dim]...)
	const h = 1e-5
	bad := 0
	for i := range x {
		old := x[i]
		x[i] = old + h
		ep := energy(x)
		x[i] = old - h
		em := energy(x)
		x[i] = old
		fd := -(ep - em) / (2 * h)
		if math.Abs(fd-b.Forces[i]) > 1e-4*(1+math.Abs(fd)) && bad < 6 {
			bad++
			kind := "hydrogen"
			if isGen[i/3] {
				kind = "heavy atom"
			}
			t.Errorf("coordinate %d (%s %d): force %.8g, finite difference %.8g", i, kind, i/3+1, b.Forces[i], fd)
		}
	}
}

func TestPlacedEnergyRefuses(t *testing.T) {
	inner, g, _ := dialaninePlacer(t, false) // every atom generated
	if _, err := newPlacedEnergy(inner, training.Local(g).(placerVJP), g.GeneratedAtoms(), 50); err == nil || !strings.Contains(err.Error(), "places no atoms") {
		t.Errorf("a flow that places no atoms: %v", err)
	}
	inner, g, _ = dialaninePlacer(t, true)
	if _, err := newPlacedEnergy(inner, training.Local(g).(placerVJP), g.GeneratedAtoms(), 0); err == nil {
		t.Errorf("a tether of 0 accepted")
	}
	if _, err := newPlacedEnergy(inner, training.Local(g).(placerVJP), []int{0, 99}, 50); err == nil {
		t.Errorf("a generated atom out of range accepted")
	}
}

// TestPlacedEnergyRun samples dialanine with the hydrogens of a flow
// plugin's placer (forcefield.placer in the config, the flow in its own
// process): by equipartition the tether holds (3/2) kT per hydrogen on
// average, whatever the placer, since the hydrogens' coordinates enter
// the energy only through it.
func TestPlacedEnergyRun(t *testing.T) {
	plugin := testbin.Build(t, "cmd/flowmd-flow")
	dir := t.TempDir()
	cfg := runConfig(t, dir, fmt.Sprintf(`walkers: 8
forcefield: {placer: {flow: {path: %s, options: {system: default, blocks: "1", hidden: "8"}}, tether: 30}}
moves: [{type: langevin, friction: 5}]
steps: 7000
equilibration: 1000
output: {dataset: 25}
`, plugin))
	execute(t, cfg, false, 0)
	d := openData(t, filepath.Join(dir, "run.npz"))
	names, err := d.Strings("term_names")
	if err != nil {
		t.Fatal(err)
	}
	terms, shape, err := d.Float64("energy_terms")
	if err != nil {
		t.Fatal(err)
	}
	slots, _, err := d.Int64("slot")
	if err != nil {
		t.Fatal(err)
	}
	nt := len(names)
	if names[nt-1] != TermPlacerTether {
		t.Fatalf("term names %v", names)
	}
	order, bySlot := chains(slots, shape[0])
	var mean, variance float64
	for _, s := range order {
		series := make([]float64, 0, len(bySlot[s]))
		for _, f := range bySlot[s] {
			series = append(series, terms[f*nt+nt-1])
		}
		b, err := analysis.BlockingAnalysis(series, nil)
		if err != nil {
			t.Fatal(err)
		}
		mean += b.Mean / float64(len(order))
		variance += b.StdErr * b.StdErr / float64(len(order)*len(order))
	}
	kT := 300 * 0.0019872041
	want := 1.5 * 12 * kT // dialanine's 12 hydrogens
	se := math.Sqrt(variance)
	t.Logf("mean tether energy %.3f +- %.3f kcal/mol, equipartition %.3f", mean, se, want)
	if math.Abs(mean-want) > 5*se || se > 0.05*want {
		t.Errorf("mean tether energy %.3f +- %.3f kcal/mol, equipartition gives %.3f", mean, se, want)
	}
}
