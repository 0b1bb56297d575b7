package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/topology"
)

// TestCarryHydrogens checks the map a flow move applies to the atoms a
// molecular flow places: each hydrogen keeps its distance to its heavy
// atom and its place in that atom's frame (the map is rigid per hydrogen,
// so it preserves volume), and carrying the result back along the reverse
// move gives the starting hydrogens exactly.
func TestCarryHydrogens(t *testing.T) {
	sys, err := LoadSystem(SystemFiles{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := DefaultCoordinates()
	if err != nil {
		t.Fatal(err)
	}
	x := st.Models[0]
	g := topology.NewGraph(sys.PSF)
	frames, err := carryFrames(sys.PSF, g.Heavy)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 12 {
		t.Fatalf("%d hydrogens carried, dialanine has 12", len(frames))
	}
	// A proposal: the heavy atoms rotated, moved and distorted, the
	// hydrogens anywhere (the flow's placer would put them somewhere else).
	r := rand.New(rand.NewPCG(1, 2))
	c, s := math.Cos(0.7), math.Sin(0.7)
	prop := make([]float64, len(x))
	for a := 0; a < len(x)/3; a++ {
		px, py, pz := x[3*a], x[3*a+1], x[3*a+2]
		prop[3*a], prop[3*a+1], prop[3*a+2] = c*px-s*py+1, s*px+c*py-2, pz+0.5
		for k := 0; k < 3; k++ {
			prop[3*a+k] += 0.1 * r.NormFloat64()
		}
	}
	carry := carry(frames)
	carry(x, prop)
	dist := func(y []float64, a, b int) float64 {
		return math.Sqrt(sq(y[3*a]-y[3*b]) + sq(y[3*a+1]-y[3*b+1]) + sq(y[3*a+2]-y[3*b+2]))
	}
	for _, f := range frames {
		if d0, d1 := dist(x, f.h, f.p), dist(prop, f.h, f.p); math.Abs(d0-d1) > 1e-12 {
			t.Errorf("hydrogen %d: bond %.6f A before, %.6f after", f.h+1, d0, d1)
		}
	}
	back := append([]float64(nil), x...)
	for _, f := range frames {
		for k := 0; k < 3; k++ {
			back[3*f.h+k] = 1e3 // whatever the reverse proposal's placer put
		}
	}
	carry(prop, back)
	for i, v := range x {
		if math.Abs(back[i]-v) > 1e-12 {
			t.Fatalf("coordinate %d: %.15f after the reverse move, %.15f before", i, back[i], v)
		}
	}
}

func sq(v float64) float64 { return v * v }

// TestPlacerTurnsWithMolecule: a fresh molecular generator puts dialanine's
// hydrogens where the reference has them relative to its heavy atoms, also
// after the whole molecule is rotated (the placer works in the heavy
// atoms' local frames).
func TestPlacerTurnsWithMolecule(t *testing.T) {
	sys, err := LoadSystem(SystemFiles{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := DefaultCoordinates()
	if err != nil {
		t.Fatal(err)
	}
	ref := st.Models[0]
	gs, err := flows.MoleculeSpec(sys.PSF, ref, true, flows.Spec{Blocks: 1, Hidden: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	g, err := flows.NewGenerator(gs)
	if err != nil {
		t.Fatal(err)
	}
	c, s := math.Cos(2.1), math.Sin(2.1)
	rot := make([]float64, len(ref))
	for a := 0; a < len(ref)/3; a++ {
		x, y, z := ref[3*a], ref[3*a+1], ref[3*a+2]
		rot[3*a], rot[3*a+1], rot[3*a+2] = c*x+s*z+3, y-1, -s*x+c*z
	}
	for name, want := range map[string][]float64{"reference": ref, "rotated": rot} {
		x := append([]float64(nil), want...)
		for _, h := range gs.Placed {
			x[3*h], x[3*h+1], x[3*h+2] = 0, 0, 0
		}
		g.Complete(1, x, false)
		for i, v := range want {
			if math.Abs(x[i]-v) > 1e-9 {
				t.Fatalf("%s: coordinate %d placed at %.6f, want %.6f", name, i, x[i], v)
			}
		}
	}
}
