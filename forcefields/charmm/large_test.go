package charmm

import (
	"math"
	"testing"

	"github.com/flowmd/flowmd/topology"
)

// replicated returns a system of copies of a reference system's molecule
// and coordinates placing them on a cubic grid with the given spacing (A),
// each copy perturbed differently. It exercises what small systems do not:
// more than maxPairList atoms (the all-pairs loop), several parts, and
// exclusions that must not leak between molecules.
func replicated(t testing.TB, system string, copies int, spacing float64) (*topology.System, []float64) {
	t.Helper()
	sys, ref := loadReference(t, system)
	one := sys.PSF
	psf := &topology.PSF{}
	n := len(one.Atoms)
	for c := 0; c < copies; c++ {
		off := c * n
		psf.Atoms = append(psf.Atoms, one.Atoms...)
		for _, b := range one.Bonds {
			psf.Bonds = append(psf.Bonds, [2]int{b[0] + off, b[1] + off})
		}
		for _, a := range one.Angles {
			psf.Angles = append(psf.Angles, [3]int{a[0] + off, a[1] + off, a[2] + off})
		}
		for _, d := range one.Dihedrals {
			psf.Dihedrals = append(psf.Dihedrals, [4]int{d[0] + off, d[1] + off, d[2] + off, d[3] + off})
		}
		for _, d := range one.Impropers {
			psf.Impropers = append(psf.Impropers, [4]int{d[0] + off, d[1] + off, d[2] + off, d[3] + off})
		}
		for _, d := range one.CrossTerms {
			var q [8]int
			for i := range q {
				q[i] = d[i] + off
			}
			psf.CrossTerms = append(psf.CrossTerms, q)
		}
	}
	params, err := topology.ReadParameterFiles(paramFiles(ref)...)
	if err != nil {
		t.Fatal(err)
	}
	big, err := topology.Assign(psf, params)
	if err != nil {
		t.Fatal(err)
	}
	x0 := flatten(ref.Configurations[0].Positions)
	side := int(math.Ceil(math.Cbrt(float64(copies))))
	noise := perturbed(t, x0, copies, 0.05, 17)
	x := make([]float64, 0, copies*len(x0))
	for c := 0; c < copies; c++ {
		shift := [3]float64{float64(c%side) * spacing, float64(c/side%side) * spacing, float64(c/(side*side)) * spacing}
		for i := range x0 {
			x = append(x, noise[c*len(x0)+i]+shift[i%3])
		}
	}
	return big, x
}

func paramFiles(ref *openmmReference) []string {
	var files []string
	for _, f := range ref.ParameterFiles {
		files = append(files, dataDir+"/toppar/"+f)
	}
	return files
}

// TestLargeSystemKernelsAgree runs the paths of large systems (all pairs
// without a list, the cell list with switching, clipping) on 60 dialanine
// molecules (1320 atoms) with both kernels.
func TestLargeSystemKernelsAgree(t *testing.T) {
	sys, x := replicated(t, "dialanine", 60, 9)
	for _, opts := range []Options{{}, {Cutoff: 10, SwitchDistance: 8}, {Cutoff: 12, Clip: testClip}} {
		ref, err := New(sys, opts, KernelReference)
		if err != nil {
			t.Fatal(err)
		}
		cpu, err := New(sys, opts, KernelCPU)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Plan().Pairs != nil || cpu.Plan().parts == 1 {
			t.Fatalf("%+v: expected the large-system paths (pairs %v, parts %d)", opts, ref.Plan().Pairs != nil, cpu.Plan().parts)
		}
		a, b := evaluate(t, ref, x), evaluate(t, cpu, x)
		for i := range a.Terms {
			if d := math.Abs(a.Terms[i] - b.Terms[i]); d > 1e-9*(1+math.Abs(a.Terms[i])) {
				t.Errorf("%+v: term %s: reference %.12g, cpu %.12g", opts, ref.Terms()[i], a.Terms[i], b.Terms[i])
			}
		}
		for i := range a.Forces {
			if d := math.Abs(a.Forces[i] - b.Forces[i]); d > 1e-8*(1+math.Abs(a.Forces[i])) {
				t.Fatalf("%+v: force %d: reference %.12g, cpu %.12g", opts, i, a.Forces[i], b.Forces[i])
			}
		}
	}
}

// TestCopiesDoNotInteractBeyondCutoff: molecules further apart than the
// cut-off contribute exactly the sum of their separate energies, so no
// exclusion or 1-4 pair leaks between molecules and the cell list misses
// nothing within a molecule.
func TestCopiesDoNotInteractBeyondCutoff(t *testing.T) {
	const copies = 50
	sys, x := replicated(t, "dialanine", copies, 40)
	single, ref := loadReference(t, "dialanine")
	_ = ref
	opts := Options{Cutoff: 12}
	big, err := New(sys, opts, "")
	if err != nil {
		t.Fatal(err)
	}
	one, err := New(single, opts, "")
	if err != nil {
		t.Fatal(err)
	}
	got := evaluate(t, big, x)
	// The same molecules one at a time, moved back by their grid shift
	// (energies are translation invariant).
	ones := evaluate(t, one, x)
	var sum float64
	for _, e := range ones.Energy {
		sum += e
	}
	if math.Abs(got.Energy[0]-sum) > 1e-8*math.Abs(sum) {
		t.Errorf("%d separated molecules: %.10g, sum of their energies %.10g", copies, got.Energy[0], sum)
	}
}

// TestSameResultWithAnyWorkers: a large system's energy and forces are
// bit for bit the same whether its parts run one after the other or
// concurrently, and whatever the batch size.
func TestSameResultWithAnyWorkers(t *testing.T) {
	sys, x := replicated(t, "dialanine", 60, 9)
	n := len(x)
	batch := append(append(append([]float64(nil), x...), x...), x...)
	var first []float64
	for _, workers := range []int{1, 2, 3} {
		m, err := New(sys, Options{Cutoff: 10, Workers: workers}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, xs := range [][]float64{x, batch} {
			b := evaluate(t, m, xs)
			for c := 0; c < len(xs)/n; c++ {
				f := b.Forces[c*n : (c+1)*n]
				if first == nil {
					first = append([]float64{b.Energy[c]}, f...)
					continue
				}
				if b.Energy[c] != first[0] {
					t.Fatalf("workers %d, batch %d: energy %.17g, first %.17g", workers, len(xs)/n, b.Energy[c], first[0])
				}
				for i := range f {
					if f[i] != first[i+1] {
						t.Fatalf("workers %d, batch %d: force %d differs", workers, len(xs)/n, i)
					}
				}
			}
		}
	}
}

// TestSwitchingIsSmooth checks the cut-off forms at the switching distance
// and the cut-off: energy and force continuous, both zero at the cut-off, and
// the derivative consistent with the energy in between.
func TestSwitchingIsSmooth(t *testing.T) {
	nb := newNBForm(Options{Cutoff: 12, SwitchDistance: 10})
	a, b := lj(0.15, 3.6)
	const qq = -40.0
	for _, r := range []float64{10, 12} {
		for name, f := range map[string]func(float64) (float64, float64){
			"lj":      func(s float64) (float64, float64) { return nb.lj(a, b, s) },
			"coulomb": func(s float64) (float64, float64) { return nb.coulomb(qq, s) },
		} {
			e1, d1 := f(r - 1e-9)
			e2, d2 := f(r + 1e-9)
			if math.Abs(e1-e2) > 1e-9 || math.Abs(d1-d2) > 1e-7 {
				t.Errorf("%s at %g: energy %g / %g, derivative %g / %g", name, r, e1, e2, d1, d2)
			}
			if r == 12 && (math.Abs(e1) > 1e-9 || math.Abs(d1) > 1e-7) {
				t.Errorf("%s does not vanish at the cut-off: %g %g", name, e1, d1)
			}
			for s := 3.0; s < 12; s += 0.37 {
				ep, _ := f(s + 1e-6)
				em, _ := f(s - 1e-6)
				_, d := f(s)
				if math.Abs((ep-em)/2e-6-d) > 1e-6*(1+math.Abs(d)) {
					t.Errorf("%s at %g: derivative %g, finite difference %g", name, s, d, (ep-em)/2e-6)
				}
			}
		}
	}
}

// TestCutoffFiniteDifferences checks the forces of the cut-off forms on
// strained configurations small enough for pairs to fall before, inside and
// beyond the switching region.
func TestCutoffFiniteDifferences(t *testing.T) {
	for _, system := range testSystems {
		sys, ref := loadReference(t, system)
		m, err := New(sys, Options{Cutoff: 6, SwitchDistance: 4}, "")
		if err != nil {
			t.Fatal(err)
		}
		x := perturbed(t, flatten(ref.Configurations[0].Positions), 1, 0.1, 23)
		checkFiniteDifferences(t, m, x, 1e-6, 1e-6)
	}
}
