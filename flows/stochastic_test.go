package flows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/flowmd/flowmd/topology"
)

// stochasticSpec is framedMolecule's spec with a stochastic placer, its
// offsets away from the frames' axes (as a hydrogen's are: theta near
// 110 degrees).
func stochasticSpec() GeneratorSpec {
	spec := toySpec("")
	spec.Frames = []int{2, 3, 2, 0}
	spec.Offsets = []float64{-0.4, 0.9, 0.3, -0.3, -0.8, 0.6}
	spec.Stochastic = true
	return spec
}

func stochasticMolecule(t *testing.T) *Generator {
	t.Helper()
	return newToy(t, stochasticSpec())
}

// TestStochasticPlacerRoundTrip: with a density over every atom, F(G(z))
// = z and G(F(x)) = x for all coordinates, log p agrees between sampling
// and the inverse pass, and moving a placed atom changes log p as its
// Gaussian says.
func TestStochasticPlacerRoundTrip(t *testing.T) {
	g := stochasticMolecule(t)
	perturb(g, 1)
	if g.LatentDim() != 15 || g.Dim() != 15 {
		t.Fatalf("latent %d, configuration %d: want 15 and 15", g.LatentDim(), g.Dim())
	}
	if got := len(g.GeneratedAtoms()); got != 5 {
		t.Errorf("the density covers %d atoms, want all 5", got)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	n := 40
	z, x, logp := g.Sample(n, rng, false)
	zz, ld := make([]float64, n*15), make([]float64, n)
	g.Inverse(n, x, zz, ld, false)
	for i := range z {
		if math.Abs(z[i]-zz[i]) > 1e-9 {
			t.Fatalf("F(G(z)) differs from z at %d: %g vs %g", i, zz[i], z[i])
		}
	}
	xx, ld2 := make([]float64, n*15), make([]float64, n)
	g.Forward(n, zz, xx, ld2, false)
	for i := range x {
		if math.Abs(x[i]-xx[i]) > 1e-9 {
			t.Fatalf("G(F(x)) differs from x at %d", i)
		}
	}
	for r := range ld {
		if math.Abs(ld[r]+ld2[r]) > 1e-9 {
			t.Errorf("row %d: log-det of F %g, of G %g: not opposite", r, ld[r], ld2[r])
		}
	}
	lp := g.LogProb(n, x)
	for r := range lp {
		if math.Abs(lp[r]-logp[r]) > 1e-9 {
			t.Errorf("row %d: log p by the inverse pass %g, by sampling %g", r, lp[r], logp[r])
		}
	}
	// Stretch atom 1's bond (the first placed, alone on its parent 0,
	// latent numbers 9-11) by delta: r is its first spherical coordinate,
	// so the first latent number moves by delta / L_00 (forward
	// substitution), and log p by the Gaussian's difference less that of
	// log r^2.
	L := g.placer.scale.matrices(g.Flow.Params.Values, nil)
	const delta = 0.05
	moved := append([]float64(nil), x[:15]...)
	bond := vec3{x[3] - x[0], x[4] - x[1], x[5] - x[2]}
	r := math.Sqrt(dot3(bond, bond))
	for k := 0; k < 3; k++ {
		moved[3+k] += delta * bond[k] / r
	}
	zm := make([]float64, 15)
	g.Inverse(1, moved, zm, make([]float64, 1), false)
	if want := z[9] + delta/L[0]; math.Abs(zm[9]-want) > 1e-9 {
		t.Errorf("atom 1's first latent number %g after the move, want %g", zm[9], want)
	}
	var dz2 float64
	for i := 9; i < 15; i++ {
		dz2 += zm[i]*zm[i] - z[i]*z[i]
	}
	s2 := g.Flow.Sigma * g.Flow.Sigma
	want := lp[0] - dz2/(2*s2) - 2*math.Log((r+delta)/r)
	if got := g.LogProb(1, moved)[0]; math.Abs(got-want) > 1e-9 {
		t.Errorf("log p after moving a placed atom %g, want %g", got, want)
	}
}

// TestStochasticPlacerLogDet compares the forward pass's log-determinant
// with that of the Jacobian of G by finite differences: the placed atoms'
// block is not orthogonal to the flow's, but the map is triangular.
func TestStochasticPlacerLogDet(t *testing.T) {
	g := stochasticMolecule(t)
	perturb(g, 7)
	rng := rand.New(rand.NewPCG(3, 3))
	d := g.LatentDim()
	for trial := 0; trial < 3; trial++ {
		z := randRows(rng, 1, d, 1)
		x, ld := make([]float64, d), make([]float64, 1)
		g.Forward(1, z, x, ld, false)
		jac := mat.NewDense(d, d, nil)
		const h = 1e-6
		for j := 0; j < d; j++ {
			zp, zm := append([]float64(nil), z...), append([]float64(nil), z...)
			zp[j] += h
			zm[j] -= h
			xp, xm := make([]float64, d), make([]float64, d)
			g.Forward(1, zp, xp, make([]float64, 1), false)
			g.Forward(1, zm, xm, make([]float64, 1), false)
			for i := 0; i < d; i++ {
				jac.Set(i, j, (xp[i]-xm[i])/(2*h))
			}
		}
		logdet, _ := mat.LogDet(jac)
		if math.Abs(logdet-ld[0]) > 1e-6 {
			t.Errorf("trial %d: log |det dG/dz| %g by finite differences, %g by the pass", trial, logdet, ld[0])
		}
	}
}

// TestStochasticPlacerSaves: a saved stochastic generator loads with its
// scale and gives the same densities.
func TestStochasticPlacerSaves(t *testing.T) {
	g := stochasticMolecule(t)
	perturb(g, 4)
	path := filepath.Join(t.TempDir(), "flow.npz")
	if err := g.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	h, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Spec.Stochastic || h.LatentDim() != g.LatentDim() {
		t.Fatalf("loaded: stochastic %v, latent %d; saved: %v, %d", h.Spec.Stochastic, h.LatentDim(), g.Spec.Stochastic, g.LatentDim())
	}
	_, x, logp := g.Sample(8, rand.New(rand.NewPCG(5, 5)), false)
	for r, v := range h.LogProb(8, x) {
		if math.Abs(v-logp[r]) > 1e-9 {
			t.Errorf("row %d: log p %g after loading, %g before", r, v, logp[r])
		}
	}
}

// methylToy has six atoms: 0, 2, 3 generated; 1 placed on 0; 4 and 5
// placed on 3 and interchangeable (places 1 and 2 of Placed).
func methylToy(t *testing.T) *Generator {
	t.Helper()
	return newToy(t, GeneratorSpec{
		Flow:            Spec{Blocks: 2, Hidden: 8, Householder: 1, Scale: true, Seed: 2},
		Atoms:           6,
		Generated:       []int{0, 2, 3},
		Placed:          []int{1, 4, 5},
		Parents:         []int{0, 3, 3},
		Offsets:         []float64{-0.4, 0.9, 0.3, -0.3, -0.8, 0.6, -0.3, 0.9, -0.4},
		Frames:          []int{2, 3, 2, 0, 2, 0},
		Interchangeable: [][]int{{1, 2}},
		Stochastic:      true,
		PlacerHidden:    16,
	})
}

// TestStochasticPlacerInterchangeable: swapping two interchangeable atoms
// changes neither z nor log p (the inverse puts them back in the order
// the flow models), the flow's own samples come back unchanged, and the
// VJP through a reordered inverse matches finite differences.
func TestStochasticPlacerInterchangeable(t *testing.T) {
	g := methylToy(t)
	perturb(g, 3)
	n, d := 16, g.LatentDim()
	z, x, logp := g.Sample(n, rand.New(rand.NewPCG(8, 8)), false)
	swapped := append([]float64(nil), x...)
	for r := 0; r < n; r++ {
		for k := 0; k < 3; k++ {
			swapped[r*18+12+k], swapped[r*18+15+k] = x[r*18+15+k], x[r*18+12+k]
		}
	}
	for _, in := range [][]float64{x, swapped} {
		zz, ld := make([]float64, n*d), make([]float64, n)
		g.Inverse(n, in, zz, ld, false)
		for i := range z {
			if math.Abs(z[i]-zz[i]) > 1e-9 {
				t.Fatalf("row %d: latent %d is %g, sampled %g", i/d, i%d, zz[i], z[i])
			}
		}
		for r, v := range g.LogProb(n, in) {
			if math.Abs(v-logp[r]) > 1e-9 {
				t.Errorf("row %d: log p %g, sampled %g", r, v, logp[r])
			}
		}
	}
	// The cotangents of a reordered inverse reach the atoms it read.
	checkGeneratorVJPAt(t, g, Invert, n, swapped, rand.New(rand.NewPCG(9, 9)))
}

func TestPermutations(t *testing.T) {
	got := permutations([]int{4, 5, 6})
	if len(got) != 6 {
		t.Fatalf("%d orders of 3, want 6: %v", len(got), got)
	}
	seen := map[[3]int]bool{}
	for _, o := range got {
		seen[[3]int(o)] = true
	}
	if len(seen) != 6 {
		t.Errorf("repeated orders: %v", got)
	}
}

// TestMoleculeInterchangeable: dialanine's three methyls and butane's two
// methyls and two methylenes are its groups of interchangeable hydrogens.
func TestMoleculeInterchangeable(t *testing.T) {
	for _, c := range []struct {
		psf   string
		sizes []int
	}{
		{"../data/systems/dialanine/dialanine.psf", []int{3, 3, 3}},
		{"../data/systems/butane/butane.psf", []int{3, 2, 2, 3}},
	} {
		psf, err := topology.ReadPSFFile(c.psf)
		if err != nil {
			t.Fatal(err)
		}
		gs, err := MoleculeSpec(psf, make([]float64, 3*len(psf.Atoms)), true, Spec{})
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for _, g := range gs.Interchangeable {
			sizes = append(sizes, len(g))
			for _, j := range g {
				a, b := psf.Atoms[gs.Placed[j]], psf.Atoms[gs.Placed[g[0]]]
				if gs.Parents[j] != gs.Parents[g[0]] || a.Type != b.Type || a.Charge != b.Charge {
					t.Errorf("%s: %s and %s grouped", c.psf, a.Name, b.Name)
				}
			}
		}
		if fmt.Sprint(sizes) != fmt.Sprint(c.sizes) {
			t.Errorf("%s: groups of %v, want %v", c.psf, sizes, c.sizes)
		}
	}
}
