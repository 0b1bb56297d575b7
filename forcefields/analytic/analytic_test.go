package analytic

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/forcefields"
)

// evaluate runs m on the configurations x with forces and per-term energies.
func evaluate(t testing.TB, m forcefields.Model, x []float64) *forcefields.Batch {
	t.Helper()
	b := forcefields.NewBatch(m, len(x)/m.Dim(), true, true)
	copy(b.Coords, x)
	if err := m.Evaluate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b
}

// energy1 returns the energy of one configuration.
func energy1(t testing.TB, m forcefields.Model, x []float64) float64 {
	t.Helper()
	return evaluate(t, m, x).Energy[0]
}

// checkFiniteDifferences compares every force component of every
// configuration of the batch x with minus the central difference of the
// energy, and the per-term energies with the total.
func checkFiniteDifferences(t *testing.T, m forcefields.Model, x []float64, h, tol float64) {
	t.Helper()
	dim, nt := m.Dim(), len(m.Terms())
	base := evaluate(t, m, x)
	for c := range base.Size() {
		sum := 0.0
		for _, e := range base.Terms[c*nt : (c+1)*nt] {
			sum += e
		}
		if d := math.Abs(sum - base.Energy[c]); d > 1e-12*(1+math.Abs(base.Energy[c])) {
			t.Errorf("configuration %d: terms sum to %.15g, energy %.15g", c, sum, base.Energy[c])
		}
		xc := x[c*dim : (c+1)*dim]
		shifted := make([]float64, 0, 2*dim*dim)
		for j := range dim {
			for _, s := range []float64{h, -h} {
				y := slices.Clone(xc)
				y[j] += s
				shifted = append(shifted, y...)
			}
		}
		b := evaluate(t, m, shifted)
		for j := range dim {
			fd := -(b.Energy[2*j] - b.Energy[2*j+1]) / (2 * h)
			f := base.Forces[c*dim+j]
			if d := math.Abs(fd - f); d > tol*(1+math.Abs(fd)) {
				t.Errorf("configuration %d, coordinate %d: force %.10g, finite difference %.10g", c, j, f, fd)
			}
		}
	}
}

// points draws n configurations suited to the named registry model.
func points(name string, m forcefields.Model, n int, rng *rand.Rand) []float64 {
	dim := m.Dim()
	x := make([]float64, n*dim)
	switch {
	case name == "lj13":
		// A jittered 3×3×2 lattice of spacing 1.1: no close contacts.
		for c := range n {
			for i := range dim / 3 {
				site := []float64{float64(i % 3), float64(i / 3 % 3), float64(i / 9)}
				for k := range 3 {
					x[c*dim+3*i+k] = 1.1*site[k] + 0.08*rng.NormFloat64()
				}
			}
		}
	case strings.HasPrefix(name, "gmm"):
		for i := range x {
			x[i] = 24*rng.Float64() - 12
		}
	case strings.HasPrefix(name, "double_well"):
		sigma := m.(*DoubleWell).Sigma()
		for c := range n {
			x[c*dim] = 5*rng.Float64() - 2.5
			for i := 1; i < dim; i++ {
				x[c*dim+i] = sigma * rng.NormFloat64()
			}
		}
	case name == "quartic":
		for i := range x {
			x[i] = 5*rng.Float64() - 2.5
		}
	case name == "dw4":
		for i := range x {
			x[i] = 2.5 * rng.NormFloat64()
		}
	default:
		for i := range x {
			x[i] = 1.5 * rng.NormFloat64()
		}
	}
	return x
}

// testParams gives the registry parameters the tests use for each name.
func testParams(name string) map[string]float64 {
	if name == "phi4" {
		return map[string]float64{"m": 0.5}
	}
	return nil
}

// allModels returns every registered model plus a few non-default ones.
func allModels(t *testing.T) map[string]forcefields.Model {
	t.Helper()
	out := map[string]forcefields.Model{}
	for _, name := range Names() {
		m, err := New(name, testParams(name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = m
	}
	extra := map[string]func() (forcefields.Model, error){
		"harmonic_anisotropic": func() (forcefields.Model, error) {
			return NewHarmonic([]float64{1, 2, 0.5}, []float64{0.1, -1, 3})
		},
		"double_well_medium_1d": func() (forcefields.Model, error) { return DoubleWellPreset("medium", 1) },
		"double_well_narrow_2d": func() (forcefields.Model, error) { return DoubleWellPreset("narrow", 2) },
		"dw4_3d": func() (forcefields.Model, error) {
			p := DefaultDW4()
			p.Particles, p.SpaceDim, p.A, p.Tau = 5, 3, 0.3, 2
			return NewDW4(p)
		},
		"lj13_tau": func() (forcefields.Model, error) {
			p := DefaultLJ13()
			p.Tau, p.Epsilon, p.Restraint = 2, 1.5, 1
			return NewLJ13(p)
		},
		"phi4_m1": func() (forcefields.Model, error) { return NewPhi4(DefaultPhi4(1)) },
		"gmm_3d": func() (forcefields.Model, error) {
			return NewGaussianMixture([]float64{2, 1, 1},
				[][]float64{{0, 1, 2}, {3, -1, 0}, {-2, -2, 5}},
				[][]float64{{1, 0.5, 2}, {0.7, 1, 1}, {1.5, 1, 0.3}})
		},
	}
	for name, build := range extra {
		m, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = m
	}
	return out
}

// baseName maps the extra test models to the registry name whose point
// generator suits them.
func baseName(name string) string {
	for _, p := range []string{"double_well", "lj13", "dw4", "gmm", "phi4", "harmonic"} {
		if strings.HasPrefix(name, p) {
			return p
		}
	}
	return name
}

func TestFiniteDifferences(t *testing.T) {
	for name, m := range allModels(t) {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(name))))
			x := points(baseName(name), m, 4, rng)
			checkFiniteDifferences(t, m, x, 1e-5, 1e-6)
		})
	}
}

func TestNoAllocations(t *testing.T) {
	for name, m := range allModels(t) {
		rng := rand.New(rand.NewPCG(2, 0))
		b := forcefields.NewBatch(m, 8, true, true)
		copy(b.Coords, points(baseName(name), m, 8, rng))
		ctx := context.Background()
		allocs := testing.AllocsPerRun(20, func() {
			if err := m.Evaluate(ctx, b); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Evaluate", name, allocs)
		}
	}
}

// TestBatchErrors checks that every model validates its batch: NaN and
// infinite coordinates, wrong lengths, a nil batch and a cancelled context.
func TestBatchErrors(t *testing.T) {
	cancelledCtx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, m := range allModels(t) {
		dim, nt := m.Dim(), len(m.Terms())
		b := forcefields.NewBatch(m, 3, true, true)
		copy(b.Coords, points(baseName(name), m, 3, rand.New(rand.NewPCG(3, 0))))
		good := slices.Clone(b.Coords)
		ctx := context.Background()

		b.Coords[dim+dim/2] = math.NaN()
		var nf *forcefields.NonFiniteError
		if err := m.Evaluate(ctx, b); !errors.As(err, &nf) || nf.Config != 1 || nf.Coord != dim/2 {
			t.Errorf("%s: NaN coordinate: got %v", name, err)
		}
		b.Coords[dim+dim/2] = math.Inf(1)
		if err := m.Evaluate(ctx, b); !errors.As(err, &nf) {
			t.Errorf("%s: infinite coordinate: got %v", name, err)
		}
		copy(b.Coords, good)

		bad := []*forcefields.Batch{
			nil,
			{Coords: good[:2*dim], Energy: make([]float64, 3)},
			{Coords: good, Energy: make([]float64, 3), Forces: make([]float64, 3*dim-1)},
			{Coords: good, Energy: make([]float64, 3), Terms: make([]float64, 3*nt+1)},
		}
		if dim > 1 {
			bad = append(bad, &forcefields.Batch{Coords: good[:3*dim-1], Energy: make([]float64, 3)})
		}
		for i, bb := range bad {
			if err := m.Evaluate(ctx, bb); err == nil {
				t.Errorf("%s: malformed batch %d accepted", name, i)
			}
		}
		if err := m.Evaluate(cancelledCtx, b); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled context: got %v", name, err)
		}
		//lint:ignore SA1012 a nil context means no cancellation
		if err := m.Evaluate(nil, b); err != nil {
			t.Errorf("%s: nil context: %v", name, err)
		}
		// Energies only.
		e := &forcefields.Batch{Coords: good, Energy: make([]float64, 3)}
		if err := m.Evaluate(ctx, e); err != nil {
			t.Errorf("%s: energies only: %v", name, err)
		}
		full := evaluate(t, m, good)
		for i := range e.Energy {
			if e.Energy[i] != full.Energy[i] {
				t.Errorf("%s: energy %d differs without forces: %v vs %v", name, i, e.Energy[i], full.Energy[i])
			}
		}
	}
}

// TestExtremeInputs feeds absurd but finite coordinates: no model may panic.
func TestExtremeInputs(t *testing.T) {
	vals := []float64{0, 1e-300, -1e-300, 1e150, -1e150, 1e300, -1e300, math.MaxFloat64, -math.MaxFloat64}
	for name, m := range allModels(t) {
		dim := m.Dim()
		for _, v := range vals {
			b := forcefields.NewBatch(m, 2, true, true)
			for i := range b.Coords {
				b.Coords[i] = v
				if i%2 == 1 {
					b.Coords[i] = -v / 3
				}
			}
			_ = m.Evaluate(context.Background(), b)
		}
		if mm, ok := m.(Modal); ok {
			for _, v := range vals {
				x := make([]float64, dim)
				for i := range x {
					x[i] = v
				}
				if k := mm.ModeOf(x); k < 0 || k >= mm.NumModes() {
					t.Errorf("%s: ModeOf(%v...) = %d", name, v, k)
				}
			}
			if mm.ModeOf(make([]float64, dim+1)) != -1 {
				t.Errorf("%s: ModeOf accepted a wrong length", name)
			}
		}
	}
}

func TestLJCoincident(t *testing.T) {
	m, _ := NewLJ13(DefaultLJ13())
	b := forcefields.NewBatch(m, 1, true, true)
	if err := m.Evaluate(context.Background(), b); err == nil || !strings.Contains(err.Error(), "coincide") {
		t.Errorf("coincident particles: got %v", err)
	}
}

// trapezoid integrates samples f on a uniform grid of step h.
func trapezoid(f []float64, h float64) float64 {
	s := 0.0
	for i, v := range f {
		if i == 0 || i == len(f)-1 {
			v /= 2
		}
		s += v
	}
	return s * h
}

// energiesAlong evaluates m on x0 + t e_coord for the grid t, in one batch.
func energiesAlong(t *testing.T, m forcefields.Model, coord int, grid []float64) []float64 {
	t.Helper()
	dim := m.Dim()
	x := make([]float64, len(grid)*dim)
	for i, g := range grid {
		x[i*dim+coord] = g
	}
	return evaluate(t, m, x).Energy
}

func grid(lo, h float64, n int) []float64 {
	g := make([]float64, n)
	for i := range g {
		g[i] = lo + float64(i)*h
	}
	return g
}

// boltzmannMass integrates exp(−(E − e0)/kT) over the grid.
func boltzmannMass(e []float64, e0, kT, h float64) float64 {
	w := make([]float64, len(e))
	for i, v := range e {
		w[i] = math.Exp(-(v - e0) / kT)
	}
	return trapezoid(w, h)
}

func TestDoubleWellPresets(t *testing.T) {
	for _, name := range []string{"medium", "wide", "narrow"} {
		for _, dim := range []int{1, 2, 12} {
			m, err := DoubleWellPreset(name, dim)
			if err != nil {
				t.Fatal(err)
			}
			if f := m.MinorModeFraction(1); math.Abs(f-0.22) > 1e-9 {
				t.Errorf("%s %dD: minor fraction at kT=1 is %.12f, want 0.22", name, dim, f)
			}
			if m.MinorMode() != 1 {
				t.Errorf("%s: minor mode %d, want 1", name, m.MinorMode())
			}
			if f0, _ := m.ModeFraction(0, 1); math.Abs(f0-0.78) > 1e-9 {
				t.Errorf("%s: major fraction %.12f", name, f0)
			}
		}
	}
	c, err := SolveTilt(DoubleWellA, DoubleWellB, DoubleWellMinorFraction, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c-DoubleWellC) > 1e-12 {
		t.Errorf("SolveTilt gives c = %.17g, constant is %.17g", c, DoubleWellC)
	}
}

// TestDoubleWellTrapezoid checks the quadrature's minor fraction, mean,
// variance and log Z of x0 with a fine trapezoid rule over energies from
// Evaluate, on a grid anchored at the barrier top, which is itself checked
// through the model's forces.
func TestDoubleWellTrapezoid(t *testing.T) {
	m, _ := DoubleWellPreset("medium", 12)
	top := m.Barrier()
	b := evaluate(t, m, append([]float64{top}, make([]float64, 11)...))
	if math.Abs(b.Forces[0]) > 1e-12 {
		t.Errorf("force at the barrier top %v: %v", top, b.Forces[0])
	}
	if e := energiesAlong(t, m, 0, []float64{top - 0.01, top + 0.01}); e[0] >= b.Energy[0] || e[1] >= b.Energy[0] {
		t.Errorf("barrier top %v is not a maximum", top)
	}
	const h, n = 1e-4, 70000 // 7 length units on each side
	left := energiesAlong(t, m, 0, grid(top-h*(n-1), h, n))
	right := energiesAlong(t, m, 0, grid(top, h, n))
	for _, kT := range []float64{1, 2, 0.5} {
		l := boltzmannMass(left, 0, kT, h)
		r := boltzmannMass(right, 0, kT, h)
		want := r / (l + r)
		got := m.MinorModeFraction(kT)
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("kT %v: quadrature %.12f, trapezoid %.12f", kT, got, want)
		}
		if kT == 1 && math.Abs(want-0.22) > 1e-6 {
			t.Errorf("trapezoid minor fraction %.9f, want 0.22", want)
		}
		// Mean, variance and log Z of x0.
		xs := append(grid(top-h*(n-1), h, n), grid(top, h, n)[1:]...)
		es := append(slices.Clone(left), right[1:]...)
		w := make([]float64, len(xs))
		wx := make([]float64, len(xs))
		for i, x := range xs {
			w[i] = math.Exp(-es[i] / kT)
			wx[i] = x * w[i]
		}
		z := trapezoid(w, h)
		mean := trapezoid(wx, h) / z
		for i, x := range xs {
			wx[i] = (x - mean) * (x - mean) * w[i]
		}
		variance := trapezoid(wx, h) / z
		if got, _ := m.Mean(0, kT); math.Abs(got-mean) > 1e-9 {
			t.Errorf("kT %v: mean of x0 %.12f, trapezoid %.12f", kT, got, mean)
		}
		if got, _ := m.Variance(0, kT); math.Abs(got-variance) > 1e-9 {
			t.Errorf("kT %v: variance of x0 %.12f, trapezoid %.12f", kT, got, variance)
		}
		lz, _ := m.Bimodal().LogZ(kT)
		if math.Abs(lz-math.Log(z)) > 1e-9 {
			t.Errorf("kT %v: log Z of x0 %.12f, trapezoid %.12f", kT, lz, math.Log(z))
		}
	}
	t.Logf("minor fraction: kT=1 %.9f, kT=2 %.9f", m.MinorModeFraction(1), m.MinorModeFraction(2))
}

// TestDoubleWellGaussians checks the variance σ²kT of the Gaussian
// coordinates by integrating along one of them with energies from Evaluate.
func TestDoubleWellGaussians(t *testing.T) {
	for _, name := range []string{"medium", "wide", "narrow"} {
		m, _ := DoubleWellPreset(name, 12)
		s := m.Sigma()
		const n = 4001
		h := 24 * s / (n - 1)
		g := grid(-12*s, h, n)
		e := energiesAlong(t, m, 5, g)
		e0 := m.Bimodal().Energy(0)
		for _, kT := range []float64{1, 2} {
			w := make([]float64, n)
			wx := make([]float64, n)
			for i, x := range g {
				w[i] = math.Exp(-(e[i] - e0) / kT)
				wx[i] = x * x * w[i]
			}
			got := trapezoid(wx, h) / trapezoid(w, h)
			want, err := m.Variance(5, kT)
			if err != nil {
				t.Fatal(err)
			}
			if want != s*s*kT || math.Abs(got-want) > 1e-9*want {
				t.Errorf("%s kT %v: variance %v, trapezoid %v, want %v", name, kT, want, got, s*s*kT)
			}
			if mean, _ := m.Mean(5, kT); mean != 0 {
				t.Errorf("%s: mean %v", name, mean)
			}
		}
		lz, _ := m.LogZ(1)
		lz0, _ := m.Bimodal().LogZ(1)
		if want := lz0 + 11*0.5*math.Log(2*math.Pi*s*s); math.Abs(lz-want) > 1e-12 {
			t.Errorf("%s: log Z %v, want %v", name, lz, want)
		}
	}
}

func TestDoubleWellModes(t *testing.T) {
	m, _ := DoubleWellPreset("wide", 3)
	top := m.Barrier()
	if m.ModeOf([]float64{top - 1e-9, 5, -5}) != 0 || m.ModeOf([]float64{top + 1e-9, 5, -5}) != 1 {
		t.Error("ModeOf does not split at the barrier top")
	}
	centers := m.ModeCenters()
	mins := m.Bimodal().Minima()
	if len(centers) != 2 || centers[0][0] != mins[0] || centers[1][0] != mins[1] || centers[1][2] != 0 {
		t.Errorf("mode centres %v, minima %v", centers, mins)
	}
	cdf, err := m.Bimodal().CDF(top, 1)
	if err != nil || math.Abs(cdf-0.78) > 1e-9 {
		t.Errorf("CDF at the barrier top %v (%v), want 0.78", cdf, err)
	}
	t.Logf("minima %v, barrier %v, barrier heights %.4f / %.4f kT", mins, top,
		m.Bimodal().Energy(top)-m.Bimodal().Energy(mins[0]), m.Bimodal().Energy(top)-m.Bimodal().Energy(mins[1]))
}

// TestQuarticMoments checks arbitrary quartics against the trapezoid rule.
func TestQuarticMoments(t *testing.T) {
	cases := []struct{ a, b, c float64 }{
		{0.5, -3, -0.7}, // tilted to the right: minor mode 0
		{1, 2, 1},       // single well
		{2, 0, 0},       // pure quartic
		{1, -6, 1},      // Noé et al. 2019
		{0.1, -1, 0},    // symmetric
	}
	for _, cs := range cases {
		q, err := NewQuarticDoubleWell(cs.a, cs.b, cs.c)
		if err != nil {
			t.Fatal(err)
		}
		for _, kT := range []float64{0.3, 1, 3} {
			const n = 200001
			lo := -12.0
			h := 24.0 / (n - 1)
			g := grid(lo, h, n)
			e := make([]float64, n)
			for i, x := range g {
				e[i] = cs.a*x*x*x*x + cs.b*x*x + cs.c*x
			}
			emin := slices.Min(e)
			w := make([]float64, n)
			w1 := make([]float64, n)
			w2 := make([]float64, n)
			wr := make([]float64, n)
			top, two := q.Barrier()
			for i, x := range g {
				w[i] = math.Exp(-(e[i] - emin) / kT)
				w1[i] = x * w[i]
				w2[i] = x * x * w[i]
				if two && x > top {
					wr[i] = w[i]
				}
			}
			z := trapezoid(w, h)
			m1, _ := q.Moment(1, kT)
			m2, _ := q.Moment(2, kT)
			if d := math.Abs(m1 - trapezoid(w1, h)/z); d > 1e-8 {
				t.Errorf("%v kT %v: <x> %v vs %v", cs, kT, m1, trapezoid(w1, h)/z)
			}
			if d := math.Abs(m2 - trapezoid(w2, h)/z); d > 1e-8 {
				t.Errorf("%v kT %v: <x²> %v vs %v", cs, kT, m2, trapezoid(w2, h)/z)
			}
			v, _ := q.Variance(0, kT)
			if math.Abs(v-(m2-m1*m1)) > 1e-9 {
				t.Errorf("%v kT %v: variance %v, <x²> − <x>² = %v", cs, kT, v, m2-m1*m1)
			}
			lz, _ := q.LogZ(kT)
			if d := math.Abs(lz - (math.Log(z) - emin/kT)); d > 1e-8 {
				t.Errorf("%v kT %v: log Z %v vs %v", cs, kT, lz, math.Log(z)-emin/kT)
			}
			if two {
				// The grid does not contain the barrier top: allow h·p(x*).
				f, _ := q.ModeFraction(1, kT)
				if d := math.Abs(f - trapezoid(wr, h)/z); d > 1e-4 {
					t.Errorf("%v kT %v: fraction %v vs %v", cs, kT, f, trapezoid(wr, h)/z)
				}
				f0, _ := q.ModeFraction(0, kT)
				if math.Abs(f+f0-1) > 1e-12 {
					t.Errorf("%v: fractions sum to %v", cs, f+f0)
				}
			} else if q.MinorModeFraction(kT) != 0 || q.NumModes() != 1 {
				t.Errorf("%v: a single well has modes", cs)
			}
		}
	}
	q, _ := NewQuarticDoubleWell(0.5, -3, -0.7)
	if q.MinorMode() != 0 {
		t.Errorf("right-tilted well: minor mode %d, want 0", q.MinorMode())
	}
	// The critical points are roots of u'.
	for _, x := range append(q.Minima(), q.barrier) {
		if d := q.Derivative(x); math.Abs(d) > 1e-12 {
			t.Errorf("u'(%v) = %v", x, d)
		}
	}
}

func TestExactArgumentErrors(t *testing.T) {
	m, _ := DoubleWellPreset("medium", 2)
	for _, kT := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := m.ModeFraction(1, kT); err == nil {
			t.Errorf("kT %v accepted", kT)
		}
		if !math.IsNaN(m.MinorModeFraction(kT)) {
			t.Errorf("MinorModeFraction(%v) is not NaN", kT)
		}
		if _, err := m.LogZ(kT); err == nil {
			t.Errorf("LogZ(%v) accepted", kT)
		}
		if _, err := m.Variance(1, kT); err == nil {
			t.Errorf("Variance(1, %v) accepted", kT)
		}
	}
	if _, err := m.ModeFraction(2, 1); err == nil {
		t.Error("mode 2 accepted")
	}
	if _, err := m.Mean(2, 1); err == nil {
		t.Error("coordinate 2 accepted")
	}
	if _, err := m.Bimodal().Moment(-1, 1); err == nil {
		t.Error("moment -1 accepted")
	}
	if _, err := m.Bimodal().CDF(math.NaN(), 1); err == nil {
		t.Error("CDF(NaN) accepted")
	}
	if _, err := SolveTilt(1, -4, 0.6, 1); err == nil {
		t.Error("SolveTilt fraction 0.6 accepted")
	}
	if _, err := SolveTilt(1, 4, 0.2, 1); err == nil {
		t.Error("SolveTilt with a single well accepted")
	}
	if _, err := SolveTilt(1, -0.5, 1e-9, 1); err == nil {
		t.Error("SolveTilt: an unreachable fraction accepted")
	}
}

func TestHarmonicExact(t *testing.T) {
	h, _ := NewHarmonic([]float64{1, 4}, []float64{2, -1})
	for _, kT := range []float64{1, 2.5} {
		v, _ := h.Variance(1, kT)
		mu, _ := h.Mean(0, kT)
		lz, _ := h.LogZ(kT)
		f, _ := h.ModeFraction(0, kT)
		if v != kT/4 || mu != 2 || f != 1 || math.Abs(lz-(0.5*math.Log(2*math.Pi*kT)+0.5*math.Log(2*math.Pi*kT/4))) > 1e-14 {
			t.Errorf("kT %v: variance %v, mean %v, log Z %v, fraction %v", kT, v, mu, lz, f)
		}
	}
	if e := energy1(t, h, []float64{3, 0}); e != 0.5+0.5*4 {
		t.Errorf("energy %v, want 2.5", e)
	}
}

func TestGaussianMixture(t *testing.T) {
	for _, name := range []string{"gmm4", "gmm2"} {
		g, err := GaussianMixturePreset(name)
		if err != nil {
			t.Fatal(err)
		}
		// Energies against the density computed directly.
		rng := rand.New(rand.NewPCG(5, 5))
		x := make([]float64, 2*50)
		for i := range x {
			x[i] = 30*rng.Float64() - 15
		}
		b := evaluate(t, g, x)
		for c := range b.Size() {
			p := 0.0
			for k, w := range g.w {
				d0, d1 := x[2*c]-g.mu[2*k], x[2*c+1]-g.mu[2*k+1]
				p += w * math.Exp(-(d0*d0+d1*d1)/2) / (2 * math.Pi)
			}
			if want := -math.Log(p); math.Abs(b.Energy[c]-want) > 1e-12*(1+math.Abs(want)) {
				t.Errorf("%s at %v: energy %.15g, −log p %.15g", name, x[2*c:2*c+2], b.Energy[c], want)
			}
		}
		// Normalisation and moments on a grid.
		const h, n = 0.1, 401
		gr := grid(-20, h, n)
		pts := make([]float64, 0, 2*n*n)
		for _, u := range gr {
			for _, v := range gr {
				pts = append(pts, u, v)
			}
		}
		e := evaluate(t, g, pts).Energy
		z, m0, m1, v0 := 0.0, 0.0, 0.0, 0.0
		for i, v := range e {
			p := math.Exp(-v) * h * h
			z += p
			m0 += pts[2*i] * p
			m1 += pts[2*i+1] * p
			v0 += pts[2*i] * pts[2*i] * p
		}
		if math.Abs(z-1) > 1e-6 {
			t.Errorf("%s: ∫ exp(−U) = %v", name, z)
		}
		mean0, _ := g.Mean(0, 1)
		mean1, _ := g.Mean(1, 1)
		var0, _ := g.Variance(0, 1)
		if math.Abs(mean0-m0) > 1e-6 || math.Abs(mean1-m1) > 1e-6 || math.Abs(var0-(v0-m0*m0)) > 1e-5 {
			t.Errorf("%s: means %v %v vs %v %v, variance %v vs %v", name, mean0, mean1, m0, m1, var0, v0-m0*m0)
		}
		for k, w := range g.Weights() {
			f, err := g.ModeFraction(k, 1)
			if err != nil || f != w {
				t.Errorf("%s: fraction %d %v (%v), weight %v", name, k, f, err, w)
			}
			if g.ModeOf(g.ModeCenters()[k]) != k {
				t.Errorf("%s: ModeOf(centre %d) = %d", name, k, g.ModeOf(g.ModeCenters()[k]))
			}
		}
		if _, err := g.ModeFraction(0, 2); !errors.Is(err, ErrNotExact) {
			t.Errorf("%s: kT 2: %v", name, err)
		}
		if lz, err := g.LogZ(1); lz != 0 || err != nil {
			t.Errorf("%s: log Z %v, %v", name, lz, err)
		}
	}
	g, _ := GaussianMixturePreset("gmm2")
	if w := g.Weights(); math.Abs(w[0]-1.0/3) > 1e-15 || math.Abs(w[1]-2.0/3) > 1e-15 {
		t.Errorf("gmm2 weights %v", w)
	}
	// Far away the energy stays finite and equals the nearest component's.
	far := []float64{300, 300}
	want := (296*296*2)/2.0 - math.Log(1.0/3) + math.Log(2*math.Pi)
	if e := energy1(t, g, far); math.Abs(e-want) > 1e-9*want {
		t.Errorf("far energy %v, want %v", e, want)
	}
	b := forcefields.NewBatch(g, 1, true, false)
	b.Coords[0] = 1e300
	if err := g.Evaluate(context.Background(), b); err == nil {
		t.Error("underflowing density accepted")
	}
}

func TestPhi4Table(t *testing.T) {
	// Máté & Fleuret φ⁴ parameters: the science summary's table (3 decimals).
	// Its m = 0.75 row is double-rounded, off by 5e-4 in the last digit
	// (a = −2.43447, b = 2.46447 solve V' = 0 and the forces vanish there,
	// checked below), hence the 1e-3 tolerance.
	table := []struct{ m, a, b, dist, weight float64 }{
		{0.25, -1.399, 1.429, 11.31, 1.25},
		{0.5, -1.985, 2.015, 16.00, 1.90},
		{0.75, -2.435, 2.465, 19.60, 3.24},
		{1.0, -2.813, 2.843, 22.63, 6.11},
	}
	for _, row := range table {
		m, err := NewPhi4(DefaultPhi4(row.m))
		if err != nil {
			t.Fatal(err)
		}
		mins := m.Minima()
		if len(mins) != 2 || math.Abs(mins[0]-row.a) > 1e-3 || math.Abs(mins[1]-row.b) > 1e-3 {
			t.Errorf("m = %v: minima %v, table %v %v", row.m, mins, row.a, row.b)
			continue
		}
		if d := 4 * (mins[1] - mins[0]); math.Abs(d-row.dist) > 5e-3 {
			t.Errorf("m = %v: mode distance %v, table %v", row.m, d, row.dist)
		}
		if w := m.MeanFieldRatio(); math.Abs(w-row.weight) > 5e-3 {
			t.Errorf("m = %v: mean-field ratio %v, table %v", row.m, w, row.weight)
		}
		c := m.ModeCenters()
		if m.ModeOf(c[0]) != 0 || m.ModeOf(c[1]) != 1 {
			t.Errorf("m = %v: ModeOf the centres", row.m)
		}
		if _, err := m.ModeFraction(0, 1); !errors.Is(err, ErrNotExact) {
			t.Errorf("m = %v: ModeFraction: %v", row.m, err)
		}
		// The constant fields are stationary points of S.
		for k, ck := range c {
			if f := evaluate(t, m, ck).Forces; math.Abs(f[3]) > 1e-12 {
				t.Errorf("m = %v: force at mode centre %d: %v", row.m, k, f[3])
			}
		}
		t.Logf("m = %v: a = %.6f, b = %.6f, ratio %.4f", row.m, mins[0], mins[1], m.MeanFieldRatio())
	}
	single, _ := NewPhi4(Phi4Params{Sites: 4, M: -1, Lambda: 1, Alpha: 0})
	if single.NumModes() != 1 || single.MeanFieldRatio() != 1 {
		t.Error("m < 0 should have a single mode")
	}
}

// transform maps particle coordinates x (sd per particle) to
// y_i = r·x_perm(i) + shift: an orthogonal map, a translation and a
// permutation.
func transform(x []float64, sd int, r [][]float64, shift []float64, perm []int) []float64 {
	np := len(x) / sd
	y := make([]float64, len(x))
	for i := range np {
		src := perm[i]
		for a := range sd {
			v := shift[a]
			for bb := range sd {
				v += r[a][bb] * x[src*sd+bb]
			}
			y[i*sd+a] = v
		}
	}
	return y
}

func randomRotation(sd int, rng *rand.Rand) [][]float64 {
	// Gram–Schmidt on a Gaussian matrix: a random orthogonal matrix.
	r := make([][]float64, sd)
	for i := range r {
		r[i] = make([]float64, sd)
		for j := range r[i] {
			r[i][j] = rng.NormFloat64()
		}
		for k := range i {
			dot := 0.0
			for j := range sd {
				dot += r[i][j] * r[k][j]
			}
			for j := range sd {
				r[i][j] -= dot * r[k][j]
			}
		}
		n := 0.0
		for _, v := range r[i] {
			n += v * v
		}
		for j := range r[i] {
			r[i][j] /= math.Sqrt(n)
		}
	}
	return r
}

func TestParticleInvariance(t *testing.T) {
	dw4, _ := NewDW4(DefaultDW4())
	lj, _ := NewLJ13(DefaultLJ13())
	rng := rand.New(rand.NewPCG(9, 9))
	for _, tc := range []struct {
		name string
		m    forcefields.Model
		sd   int
	}{{"dw4", dw4, 2}, {"lj13", lj, 3}} {
		x := points(tc.name, tc.m, 1, rng)
		np := len(x) / tc.sd
		base := evaluate(t, tc.m, x)
		for trial := range 5 {
			r := randomRotation(tc.sd, rng)
			shift := make([]float64, tc.sd)
			for i := range shift {
				shift[i] = 10 * rng.NormFloat64()
			}
			perm := rng.Perm(np)
			y := transform(x, tc.sd, r, shift, perm)
			b := evaluate(t, tc.m, y)
			for i := range base.Terms {
				if d := math.Abs(b.Terms[i] - base.Terms[i]); d > 1e-10*(1+math.Abs(base.Terms[i])) {
					t.Errorf("%s trial %d: term %d changed from %.15g to %.15g", tc.name, trial, i, base.Terms[i], b.Terms[i])
				}
			}
			// Forces are equivariant: F(y)_i = R F(x)_perm(i).
			want := transform(base.Forces, tc.sd, r, make([]float64, tc.sd), perm)
			for i := range want {
				if d := math.Abs(b.Forces[i] - want[i]); d > 1e-9*(1+math.Abs(want[i])) {
					t.Errorf("%s trial %d: force %d is %.12g, want %.12g", tc.name, trial, i, b.Forces[i], want[i])
				}
			}
		}
	}
}

func TestParticleValues(t *testing.T) {
	p := DefaultDW4()
	p.Particles = 2
	dw, _ := NewDW4(p)
	if e := energy1(t, dw, []float64{0, 0, 4, 0}); e != 0 {
		t.Errorf("DW4 pair at d0: %v", e)
	}
	if e := energy1(t, dw, []float64{0, 0, 0, 5}); math.Abs(e-(-4+0.9)) > 1e-14 {
		t.Errorf("DW4 pair at d0 + 1: %v, want -3.1", e)
	}
	if b := evaluate(t, dw, []float64{1, 1, 1, 1}); !allFinite(b.Forces) || b.Energy[0] != -4*16+0.9*256 {
		t.Errorf("DW4 coincident pair: energy %v, forces %v", b.Energy[0], b.Forces)
	}
	q := DefaultLJ13()
	q.Particles = 2
	lj, _ := NewLJ13(q)
	b := evaluate(t, lj, []float64{0, 0, 0, 1, 0, 0})
	if b.Terms[0] != -1 || b.Terms[1] != 0.25 {
		t.Errorf("LJ pair at r_m: terms %v, want -1, 0.25", b.Terms)
	}
}

func TestConstructorErrors(t *testing.T) {
	errs := map[string]func() error{
		"harmonic empty":     func() error { _, err := NewHarmonic(nil, nil); return err },
		"harmonic lengths":   func() error { _, err := NewHarmonic([]float64{1}, []float64{1, 2}); return err },
		"harmonic k<0":       func() error { _, err := NewHarmonic([]float64{-1}, []float64{0}); return err },
		"harmonic NaN":       func() error { _, err := NewHarmonic([]float64{1}, []float64{math.NaN()}); return err },
		"harmonic dim 0":     func() error { _, err := NewIsotropicHarmonic(0, 1, 0); return err },
		"quartic a=0":        func() error { _, err := NewQuarticDoubleWell(0, -1, 0); return err },
		"quartic Inf":        func() error { _, err := NewQuarticDoubleWell(1, math.Inf(-1), 0); return err },
		"double well dim":    func() error { _, err := NewDoubleWell(0, 1, -4, 0, 1); return err },
		"double well sigma":  func() error { _, err := NewDoubleWell(2, 1, -4, 0, 0); return err },
		"double well single": func() error { _, err := NewDoubleWell(2, 1, 4, 0, 1); return err },
		"double well tilt":   func() error { _, err := NewDoubleWell(2, 1, -4, 100, 1); return err },
		"double well preset": func() error { _, err := DoubleWellPreset("huge", 2); return err },
		"gmm empty":          func() error { _, err := NewGaussianMixture(nil, nil, nil); return err },
		"gmm weight": func() error {
			_, err := NewGaussianMixture([]float64{0}, [][]float64{{0}}, [][]float64{{1}})
			return err
		},
		"gmm sigma": func() error {
			_, err := NewGaussianMixture([]float64{1}, [][]float64{{0}}, [][]float64{{0}})
			return err
		},
		"gmm dims": func() error {
			_, err := NewGaussianMixture([]float64{1, 1}, [][]float64{{0}, {0, 1}}, [][]float64{{1}, {1, 1}})
			return err
		},
		"gmm empty mean":      func() error { _, err := NewGaussianMixture([]float64{1}, [][]float64{{}}, [][]float64{{}}); return err },
		"gmm preset":          func() error { _, err := GaussianMixturePreset("gmm3"); return err },
		"dw4 particles":       func() error { p := DefaultDW4(); p.Particles = 1; _, err := NewDW4(p); return err },
		"dw4 tau":             func() error { p := DefaultDW4(); p.Tau = 0; _, err := NewDW4(p); return err },
		"dw4 NaN":             func() error { p := DefaultDW4(); p.C = math.NaN(); _, err := NewDW4(p); return err },
		"lj particles":        func() error { p := DefaultLJ13(); p.Particles = 0; _, err := NewLJ13(p); return err },
		"lj rm":               func() error { p := DefaultLJ13(); p.Rm = -1; _, err := NewLJ13(p); return err },
		"lj restraint":        func() error { p := DefaultLJ13(); p.Restraint = -1; _, err := NewLJ13(p); return err },
		"phi4 sites":          func() error { _, err := NewPhi4(Phi4Params{Sites: 0, M: 1, Lambda: 1}); return err },
		"phi4 lambda":         func() error { _, err := NewPhi4(Phi4Params{Sites: 4, M: 1, Lambda: 0}); return err },
		"phi4 alpha":          func() error { _, err := NewPhi4(Phi4Params{Sites: 4, M: 1, Lambda: 1, Alpha: math.NaN()}); return err },
		"registry name":       func() error { _, err := New("lj14", nil); return err },
		"registry param":      func() error { _, err := New("dw4", map[string]float64{"dim": 2}); return err },
		"registry fractional": func() error { _, err := New("double_well_medium", map[string]float64{"dim": 2.5}); return err },
		"registry NaN":        func() error { _, err := New("harmonic", map[string]float64{"k": math.NaN()}); return err },
		"registry phi4 m":     func() error { _, err := New("phi4", nil); return err },
		"registry bad value":  func() error { _, err := New("harmonic", map[string]float64{"dim": -3}); return err },
		"registry huge dim":   func() error { _, err := New("harmonic", map[string]float64{"dim": 1e12}); return err },
		"registry preset arg": func() error { _, err := New("gmm4", map[string]float64{"dim": 2}); return err },
	}
	for name, f := range errs {
		if err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRegistry(t *testing.T) {
	names := Names()
	for _, want := range []string{"harmonic", "quartic", "double_well", "double_well_medium", "double_well_wide",
		"double_well_narrow", "dw4", "lj13", "gmm4", "gmm2", "phi4"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() lacks %q", want)
		}
	}
	if !slices.IsSorted(names) {
		t.Error("Names() not sorted")
	}
	_, err := New("nope", nil)
	if err == nil || !strings.Contains(err.Error(), "double_well_medium") {
		t.Errorf("unknown name: %v", err)
	}
	_, err = New("lj13", map[string]float64{"sigma": 1})
	if err == nil || !strings.Contains(err.Error(), "epsilon") {
		t.Errorf("unknown parameter: %v", err)
	}
	m, err := New("double_well_narrow", map[string]float64{"dim": 2})
	if err != nil || m.Dim() != 2 || m.(*DoubleWell).Sigma() != 0.1 {
		t.Errorf("double_well_narrow dim 2: %v %v", m, err)
	}
	m, err = New("phi4", map[string]float64{"m": 0.75, "n": 8})
	if err != nil || m.Dim() != 8 || m.(*Phi4).Params().M != 0.75 {
		t.Errorf("phi4: %v %v", m, err)
	}
	m, _ = New("lj13", map[string]float64{"particles": 5})
	if m.Dim() != 15 {
		t.Errorf("lj13 with 5 particles: dim %d", m.Dim())
	}
	for _, name := range names {
		if d, err := Describe(name); d == "" || err != nil {
			t.Errorf("Describe(%q): %q, %v", name, d, err)
		}
		if _, err := Parameters(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := Parameters("nope"); err == nil {
		t.Error("Parameters of an unknown name")
	}
	// Each model reports its exact knowledge through the interfaces.
	for name, want := range map[string][3]bool{
		"harmonic": {true, true, true}, "quartic": {true, true, true}, "double_well_wide": {true, true, true},
		"gmm4": {true, true, true}, "phi4": {true, false, false}, "dw4": {false, false, false}, "lj13": {false, false, false},
	} {
		m, _ := New(name, testParams(name))
		_, modal := m.(Modal)
		_, moments := m.(Moments)
		_, part := m.(Partition)
		if [3]bool{modal, moments, part} != want {
			t.Errorf("%s: Modal, Moments, Partition = %v %v %v, want %v", name, modal, moments, part, want)
		}
	}
}

// TestExtremeTemperatures checks that the quadrature stays accurate and
// terminates far from kT = 1, against closed forms.
func TestExtremeTemperatures(t *testing.T) {
	sym, _ := NewQuarticDoubleWell(1, -4, 0)
	pure, _ := NewQuarticDoubleWell(2, 0, 0)
	for _, kT := range []float64{1e-8, 1e-3, 1, 1e3, 1e8} {
		// Below kT ~ 1e-8 the float64 roundoff of the wells' energies,
		// ~1e-16·|u|, divided by kT limits the fractions.
		tol := 1e-10
		if kT < 1e-6 {
			tol = 1e-6
		}
		if f, err := sym.ModeFraction(1, kT); err != nil || math.Abs(f-0.5) > tol {
			t.Errorf("symmetric well, kT %v: fraction %v (%v), want 0.5", kT, f, err)
		}
		// exp(−2x⁴/kT): ⟨x²⟩ = sqrt(kT/2) Γ(3/4)/Γ(1/4), log Z = log(Γ(1/4)/2) + ¼ log(kT/2).
		v, err := pure.Variance(0, kT)
		want := math.Sqrt(kT/2) * math.Gamma(0.75) / math.Gamma(0.25)
		if err != nil || math.Abs(v-want) > 1e-10*want {
			t.Errorf("pure quartic, kT %v: variance %v (%v), want %v", kT, v, err, want)
		}
		lz, _ := pure.LogZ(kT)
		if want := math.Log(math.Gamma(0.25)/2) + 0.25*math.Log(kT/2); math.Abs(lz-want) > 1e-10*(1+math.Abs(want)) {
			t.Errorf("pure quartic, kT %v: log Z %v, want %v", kT, lz, want)
		}
	}
}
