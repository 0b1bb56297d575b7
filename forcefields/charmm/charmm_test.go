package charmm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/forcefields"
)

// perturbed returns n configurations: the reference system's first structure
// with Gaussian noise of the given width, from a fixed seed.
func perturbed(t testing.TB, x0 []float64, n int, sigma float64, seed uint64) []float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]float64, 0, n*len(x0))
	for c := 0; c < n; c++ {
		for _, v := range x0 {
			out = append(out, v+sigma*rng.NormFloat64())
		}
	}
	return out
}

func evaluate(t testing.TB, m forcefields.Model, x []float64) *forcefields.Batch {
	t.Helper()
	n := len(x) / m.Dim()
	b := forcefields.NewBatch(m, n, true, true)
	copy(b.Coords, x)
	if err := m.Evaluate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b
}

// checkFiniteDifferences compares every force component with minus the
// central difference of the energy.
func checkFiniteDifferences(t *testing.T, m forcefields.Model, x []float64, h, tol float64) {
	t.Helper()
	dim := m.Dim()
	base := evaluate(t, m, x)
	shifted := make([]float64, 0, 2*dim*dim)
	for j := 0; j < dim; j++ {
		for _, s := range []float64{h, -h} {
			y := append([]float64(nil), x...)
			y[j] += s
			shifted = append(shifted, y...)
		}
	}
	b := evaluate(t, m, shifted)
	// Total: the force must equal minus the central difference of the total.
	for j := 0; j < dim; j++ {
		fd := -(b.Energy[2*j] - b.Energy[2*j+1]) / (2 * h)
		if d := math.Abs(fd - base.Forces[j]); d > tol*(1+math.Abs(fd)) {
			t.Errorf("coordinate %d: force %.8g, finite difference %.8g", j, base.Forces[j], fd)
		}
	}
}

// termModel restricts a plan to one term, so that its forces are checked on
// their own.
func termModel(t *testing.T, full *Plan, term string) *Model {
	t.Helper()
	p := *full
	keep := func(name string) bool { return name == term }
	if !keep(TermBond) {
		p.Bonds = bondTerms{}
	}
	if !keep(TermUreyBradley) {
		p.UB = bondTerms{}
	}
	if !keep(TermAngle) {
		p.Angles = angleTerms{}
	}
	if !keep(TermDihedral) {
		p.Dihedrals = dihedralTerms{Start: []int32{0}}
	}
	if !keep(TermImproper) {
		p.Impropers = improperTerms{}
	}
	if !keep(TermCMap) {
		p.CMaps = cmapTerms{}
	}
	if !keep(TermLennardJones) && !keep(TermCoulomb) {
		if p.Pairs != nil {
			p.Pairs = &pairTerms{}
		} else {
			p.Nonbonded = nonbondedTable{Type: make([]int32, p.NumAtoms), Q: make([]float64, p.NumAtoms), NumTypes: 1, A: []float64{0}, B: []float64{0}, SpecialStart: make([]int32, p.NumAtoms+1)}
			p.Pairs14 = pairTerms{}
		}
	}
	if !keep(TermAlignment) {
		p.align = nil
	}
	m, err := NewFromPlan(&p, KernelCPU)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFiniteDifferences checks the force of every term, separately, against
// central differences of its energy, on strained configurations of each
// reference system, for both kernels.
func TestFiniteDifferences(t *testing.T) {
	for _, system := range testSystems {
		sys, ref := loadReference(t, system)
		x0 := flatten(ref.Configurations[0].Positions)
		for _, kernel := range Kernels() {
			full, err := New(sys, Options{}, kernel)
			if err != nil {
				t.Fatal(err)
			}
			x := perturbed(t, x0, 1, 0.1, 3)
			for _, term := range baseTerms {
				t.Run(system+"/"+kernel+"/"+term, func(t *testing.T) {
					m := termModel(t, full.Plan(), term)
					m.kernel = full.kernel
					checkFiniteDifferences(t, m, x, 1e-6, 1e-6)
				})
			}
		}
	}
}

// TestKernelsAgree compares the CPU kernel with the reference kernel on many
// strained configurations, term by term and force by force.
func TestKernelsAgree(t *testing.T) {
	for _, system := range testSystems {
		sys, ref := loadReference(t, system)
		x := perturbed(t, flatten(ref.Configurations[0].Positions), 64, 0.15, 11)
		for _, opts := range []Options{{}, {Cutoff: 8, SwitchDistance: 6}, {Clip: &ClipOptions{Bond: 50, Angle: 50, UreyBradley: 50, Improper: 50, LennardJones: 100, Coulomb: 100}}} {
			ref, err := New(sys, opts, KernelReference)
			if err != nil {
				t.Fatal(err)
			}
			cpu, err := New(sys, opts, KernelCPU)
			if err != nil {
				t.Fatal(err)
			}
			a, b := evaluate(t, ref, x), evaluate(t, cpu, x)
			for i := range a.Terms {
				if d := math.Abs(a.Terms[i] - b.Terms[i]); d > 1e-9*(1+math.Abs(a.Terms[i])) {
					t.Errorf("%s %+v: term %s of configuration %d: reference %.12g, cpu %.12g", system, opts, ref.Terms()[i%len(ref.Terms())], i/len(ref.Terms()), a.Terms[i], b.Terms[i])
				}
			}
			for i := range a.Forces {
				if d := math.Abs(a.Forces[i] - b.Forces[i]); d > 1e-8*(1+math.Abs(a.Forces[i])) {
					t.Fatalf("%s %+v: force %d: reference %.12g, cpu %.12g", system, opts, i, a.Forces[i], b.Forces[i])
				}
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	sys, _ := loadReference(t, "dialanine")
	m, err := New(sys, Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	b := forcefields.NewBatch(m, 2, true, false)
	b.Coords[70] = math.NaN()
	var nf *forcefields.NonFiniteError
	if err := m.Evaluate(context.Background(), b); !errors.As(err, &nf) || nf.Config != 1 || nf.Coord != 4 {
		t.Errorf("NaN coordinate: got %v", err)
	}
	b.Coords[70] = math.Inf(-1)
	if err := m.Evaluate(context.Background(), b); !errors.As(err, &nf) {
		t.Errorf("infinite coordinate: got %v", err)
	}
	short := &forcefields.Batch{Coords: make([]float64, 3*21), Energy: make([]float64, 1)}
	if err := m.Evaluate(context.Background(), short); err == nil || !strings.Contains(err.Error(), "22 atoms") {
		t.Errorf("wrong atom count: got %v", err)
	}
	if _, err := New(sys, Options{Cutoff: 5, SwitchDistance: 6}, ""); err == nil {
		t.Error("switch distance beyond the cut-off accepted")
	}
	if _, err := New(sys, Options{}, "gpu"); err == nil {
		t.Error("unknown kernel accepted")
	}
}
