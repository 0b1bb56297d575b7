package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/topology"
)

// defaultDialanine returns the embedded default system and its coordinates.
func defaultDialanine(t *testing.T) (*topology.System, *topology.Structure) {
	t.Helper()
	sys, err := LoadSystem(SystemFiles{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := DefaultCoordinates()
	if err != nil {
		t.Fatal(err)
	}
	return sys, st
}

// TestCarryHydrogens checks the map a flow move applies to the atoms a
// molecular flow places, rigid and turned with the placer: each hydrogen
// keeps its distance to its heavy atom, moves by a rotation (so the map
// preserves volume), comes back exactly along the reverse move, and
// hydrogens where the placer puts them stay where it puts them.
func TestCarryHydrogens(t *testing.T) {
	sys, st := defaultDialanine(t)
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
	ctx := context.Background()
	dim := len(x)
	dist := func(y []float64, a, b int) float64 {
		return math.Sqrt(sq(y[3*a]-y[3*b]) + sq(y[3*a+1]-y[3*b+1]) + sq(y[3*a+2]-y[3*b+2]))
	}
	// A placer that puts each group of hydrogens in a fixed shape in its
	// heavy atom's frame, turned about the frame's axes by angles that
	// depend on the heavy atoms (so it differs between x and prop).
	shape := map[int][3]float64{}
	for i, f := range frames {
		shape[f.h] = [3]float64{0.4, 0.9 * math.Cos(2.1*float64(i)), 0.9 * math.Sin(2.1*float64(i))}
	}
	place := func(_ context.Context, y []float64) ([]float64, error) {
		out := append([]float64(nil), y...)
		for _, f := range frames {
			e := flows.LocalFrame(y, f.p, f.a, f.b)
			th := 0.8 * math.Sin(y[3*f.a]+2*y[3*f.b+1])
			ph := 0.3 * math.Cos(y[3*f.a+2])
			u := shape[f.h]
			// about the frame's first axis by th, then its second by ph
			u = [3]float64{u[0], math.Cos(th)*u[1] - math.Sin(th)*u[2], math.Sin(th)*u[1] + math.Cos(th)*u[2]}
			u = [3]float64{math.Cos(ph)*u[0] + math.Sin(ph)*u[2], u[1], -math.Sin(ph)*u[0] + math.Cos(ph)*u[2]}
			for k := 0; k < 3; k++ {
				out[3*f.h+k] = y[3*f.p+k] + u[0]*e[0][k] + u[1]*e[1][k] + u[2]*e[2][k]
			}
		}
		return out, nil
	}
	for _, tc := range []struct {
		name  string
		place placer
	}{{"rigid", nil}, {"turned with the placer", place}} {
		carry := carry(frames, dim, tc.place)
		p := append([]float64(nil), prop...)
		if err := carry(ctx, x, p); err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			if d0, d1 := dist(x, f.h, f.p), dist(p, f.h, f.p); math.Abs(d0-d1) > 1e-12 {
				t.Errorf("%s: hydrogen %d: bond %.6f A before, %.6f after", tc.name, f.h+1, d0, d1)
			}
		}
		back := append([]float64(nil), x...)
		for _, f := range frames {
			for k := 0; k < 3; k++ {
				back[3*f.h+k] = 1e3 // whatever the reverse proposal's placer put
			}
		}
		if err := carry(ctx, p, back); err != nil {
			t.Fatal(err)
		}
		for i, v := range x {
			if math.Abs(back[i]-v) > 1e-12 {
				t.Fatalf("%s: coordinate %d: %.15f after the reverse move, %.15f before", tc.name, i, back[i], v)
			}
		}
		// For fixed heavy atoms each hydrogen moves by a rotation of its
		// own position (its Jacobian, by finite differences, is
		// orthogonal) and does not depend on the others.
		const h = 1e-6
		for _, f := range frames {
			var jac [3][3]float64
			for j := 0; j < 3; j++ {
				xp, xm := append([]float64(nil), x...), append([]float64(nil), x...)
				xp[3*f.h+j] += h
				xm[3*f.h+j] -= h
				pp, pm := append([]float64(nil), prop...), append([]float64(nil), prop...)
				carry(ctx, xp, pp)
				carry(ctx, xm, pm)
				for i := 0; i < dim; i++ {
					d := (pp[i] - pm[i]) / (2 * h)
					if i/3 == f.h {
						jac[i%3][j] = d
					} else if math.Abs(d) > 1e-8 {
						t.Fatalf("%s: coordinate %d moves with hydrogen %d", tc.name, i, f.h+1)
					}
				}
			}
			for i := 0; i < 3; i++ {
				for j := 0; j < 3; j++ {
					var dot float64
					for k := 0; k < 3; k++ {
						dot += jac[k][i] * jac[k][j]
					}
					if want := map[bool]float64{true: 1}[i == j]; math.Abs(dot-want) > 1e-6 {
						t.Fatalf("%s: hydrogen %d: J^T J[%d][%d] = %.8f, not a rotation", tc.name, f.h+1, i, j, dot)
					}
				}
			}
		}
	}
	// Hydrogens where the placer puts them on x land where it puts them on
	// the proposal: the placer's shape is the same, only turned.
	placed, _ := place(ctx, x)
	p := append([]float64(nil), prop...)
	if err := carry(frames, dim, place)(ctx, placed, p); err != nil {
		t.Fatal(err)
	}
	want, _ := place(ctx, p)
	for i := range want {
		if math.Abs(p[i]-want[i]) > 1e-9 {
			t.Fatalf("coordinate %d: carried to %.12f, the placer puts it at %.12f", i, p[i], want[i])
		}
	}
}

func sq(v float64) float64 { return v * v }

// TestPlacerTurnsWithMolecule: a fresh molecular generator puts dialanine's
// hydrogens where the reference has them relative to its heavy atoms, also
// after the whole molecule is rotated (the placer works in the heavy
// atoms' local frames).
func TestPlacerTurnsWithMolecule(t *testing.T) {
	sys, st := defaultDialanine(t)
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
