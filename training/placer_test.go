package training

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/flowmd/flowmd/engine"
	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/integrators"
)

// TestPlacerStep trains dialanine's hydrogen placer on jiggled copies of
// the minimized structure: the energy of the placed configurations falls,
// and the flow's own parameters do not move.
func TestPlacerStep(t *testing.T) {
	sys, err := engine.LoadSystem(engine.SystemFiles{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := engine.DefaultCoordinates()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := engine.FromStructure(s, sys.PSF)
	if err != nil {
		t.Fatal(err)
	}
	model, err := charmm.New(sys, charmm.Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	gs, err := flows.MoleculeSpec(sys.PSF, ref.X, true, flows.Spec{Blocks: 1, Hidden: 8})
	if err != nil {
		t.Fatal(err)
	}
	gs.PlacerHidden = 64
	g, err := flows.NewGenerator(gs)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	// Start the placer off: each hydrogen 0.15 A from where the reference
	// has it.
	bias, _ := g.Flow.Params.Lookup("placer.2.bias")
	for i := range bias.Of(g.Flow.Params.Values) {
		bias.Of(g.Flow.Params.Values)[i] += 0.15 * rng.NormFloat64()
	}
	frames := 64
	data := make([]float64, 0, frames*66)
	for f := 0; f < frames; f++ {
		for _, v := range ref.X {
			data = append(data, v+0.02*rng.NormFloat64())
		}
	}
	tr, err := New(Local(g), model, 1/integrators.KT(300), data, frames, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float64(nil), g.Flow.Params.Values...)
	ctx := context.Background()
	var first, last float64
	for k := 0; k < 80; k++ {
		res, err := tr.PlacerStep(ctx, 32, 1e-3, 0)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			first = res.Loss
		}
		last = res.Loss
	}
	t.Logf("mean beta U of the placed configurations: %.1f -> %.1f", first, last)
	if !(last < first-20) {
		t.Errorf("training the placer took the mean beta U from %.1f to %.1f", first, last)
	}
	placed := 0
	for _, p := range g.Flow.Params.Params() {
		moved := false
		for i := p.Offset; i < p.Offset+p.Size; i++ {
			if g.Flow.Params.Values[i] != before[i] {
				moved = true
			}
		}
		isPlacer := len(p.Name) > 6 && p.Name[:6] == "placer"
		if moved && !isPlacer {
			t.Errorf("the flow's parameter %s moved while training the placer", p.Name)
		}
		if moved && isPlacer {
			placed++
		}
	}
	if placed == 0 {
		t.Error("the placer did not move")
	}
}
