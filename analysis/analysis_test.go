package analysis

import (
	"bytes"
	"errors"
	"image"
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/vg"
)

// frame4 builds a four-atom frame a-b-c-d with b at the origin, c on the z
// axis and d displaced from c by (cos θ, sin θ) in the xy plane. Looking
// from b towards c (along +z) the x→y rotation appears clockwise, so by the
// IUPAC rule the dihedral is +θ when a lies on +x.
func frame4(theta, az float64) []float64 {
	return []float64{
		1, 0, az, // a
		0, 0, 0, // b
		0, 0, 1.5, // c
		math.Cos(theta), math.Sin(theta), 1.5 + 0.3, // d
	}
}

func TestDihedralConventions(t *testing.T) {
	cases := []struct {
		name  string
		theta float64
		want  float64
	}{
		{"cis", 0, 0},
		{"+60", math.Pi / 3, math.Pi / 3},
		{"-60", -math.Pi / 3, -math.Pi / 3},
		{"+120", 2 * math.Pi / 3, 2 * math.Pi / 3},
		{"-150", -5 * math.Pi / 6, -5 * math.Pi / 6},
	}
	for _, c := range cases {
		got := Dihedral(frame4(c.theta, -0.4), 0, 1, 2, 3)
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Dihedral = %v, want %v", c.name, got, c.want)
		}
	}
	// Exact trans. With a above b the numerator is −0 and atan2 gives −π;
	// the documented range (−π, π] requires +π.
	trans := []float64{1, 0, 0.5, 0, 0, 0, 0, 0, 1.5, -1, 0, 2}
	if got := Dihedral(trans, 0, 1, 2, 3); got != math.Pi {
		t.Errorf("trans: Dihedral = %v, want exactly π", got)
	}
	// A butane-like explicit gauche+ geometry, written out by hand: looking
	// down C2→C3 (+z), C1 points along +x and C4 along +60° towards +y,
	// a clockwise turn from the viewer's side.
	gplus := []float64{
		1.0, 0.0, -0.5,
		0.0, 0.0, 0.0,
		0.0, 0.0, 1.54,
		0.5, math.Sqrt(3) / 2, 2.04,
	}
	if got := Dihedral(gplus, 0, 1, 2, 3); math.Abs(got-math.Pi/3) > 1e-12 {
		t.Errorf("gauche+: Dihedral = %v°, want +60°", got/deg)
	}
	// Reversing the atom order leaves the dihedral unchanged; a mirror image
	// flips its sign.
	f := frame4(1.0, 0.2)
	if a, b := Dihedral(f, 0, 1, 2, 3), Dihedral(f, 3, 2, 1, 0); math.Abs(a-b) > 1e-12 {
		t.Errorf("reversed order: %v vs %v", a, b)
	}
	m := append([]float64(nil), f...)
	for i := 2; i < len(m); i += 3 {
		m[i] = -m[i]
	}
	if a, b := Dihedral(f, 0, 1, 2, 3), Dihedral(m, 0, 1, 2, 3); math.Abs(a+b) > 1e-12 {
		t.Errorf("mirror: %v vs %v, want opposite signs", a, b)
	}
	// Collinear atoms have no dihedral.
	line := []float64{0, 0, -1, 0, 0, 0, 0, 0, 1, 1, 0, 2}
	if got := Dihedral(line, 0, 1, 2, 3); !math.IsNaN(got) {
		t.Errorf("collinear: Dihedral = %v, want NaN", got)
	}
}

// dihedralAcos is the GROMACS/CHARMM textbook form: the angle between the
// plane normals m = r_ij×r_kj and n = r_kj×r_kl, signed by r_ij·n.
func dihedralAcos(x []float64, i, j, k, l int) float64 {
	p := func(a int) vec { return vec{x[3*a], x[3*a+1], x[3*a+2]} }
	rij, rkj, rkl := p(i).sub(p(j)), p(k).sub(p(j)), p(k).sub(p(l))
	m, n := rij.cross(rkj), rkj.cross(rkl)
	c := m.dot(n) / (m.norm() * n.norm())
	phi := math.Acos(math.Max(-1, math.Min(1, c)))
	if rij.dot(n) < 0 {
		phi = -phi
	}
	return phi
}

func TestDihedralAgainstAcosFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		x := make([]float64, 12)
		for i := range x {
			x[i] = 4 * (r.Float64() - 0.5)
		}
		got, want := Dihedral(x, 0, 1, 2, 3), dihedralAcos(x, 0, 1, 2, 3)
		d := math.Abs(WrapAngle(got - want))
		// acos loses precision near 0 and π; 1e-6 rad is far below that
		// loss for random geometries and far above rounding of atan2.
		if d > 1e-6 {
			t.Fatalf("Dihedral %v, acos form %v for %v", got, want, x)
		}
		if got <= -math.Pi || got > math.Pi {
			t.Fatalf("Dihedral %v outside (−π, π]", got)
		}
	}
}

func TestDistanceAngle(t *testing.T) {
	x := []float64{0, 0, 0, 3, 0, 0, 3, 4, 0}
	if d := Distance(x, 0, 2); d != 5 {
		t.Errorf("Distance = %v, want 5", d)
	}
	if a := Angle(x, 0, 1, 2); math.Abs(a-math.Pi/2) > 1e-15 {
		t.Errorf("Angle = %v, want π/2", a)
	}
	if a := Angle(x, 2, 0, 1); math.Abs(a-math.Atan2(4, 3)) > 1e-15 {
		t.Errorf("Angle = %v, want atan(4/3)", a)
	}
	straight := []float64{-1, 0, 0, 0, 0, 0, 2, 0, 0}
	if a := Angle(straight, 0, 1, 2); a != math.Pi {
		t.Errorf("straight Angle = %v, want π", a)
	}
	if a := Angle(x, 0, 0, 1); !math.IsNaN(a) {
		t.Errorf("degenerate Angle = %v, want NaN", a)
	}
}

func TestWrapAngle(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{0, 0}, {math.Pi, math.Pi}, {-math.Pi, math.Pi}, {3 * math.Pi / 2, -math.Pi / 2},
		{-3 * math.Pi / 2, math.Pi / 2}, {7 * math.Pi, math.Pi}, {0.5, 0.5},
	} {
		if got := WrapAngle(c.in); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("WrapAngle(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestEvalCVErrors(t *testing.T) {
	cv := DihedralCV("phi", [4]int{0, 1, 2, 3})
	if _, err := EvalCV(make([]float64, 9), 9, cv); err == nil {
		t.Error("frame of 3 atoms accepted for a dihedral of atom 3")
	}
	if _, err := EvalCV(make([]float64, 13), 12, cv); err == nil {
		t.Error("13 values accepted as frames of 12")
	}
	if _, err := EvalCV(nil, 12, cv); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty trajectory: err = %v", err)
	}
	line := []float64{0, 0, -1, 0, 0, 0, 0, 0, 1, 1, 0, 2}
	if _, err := EvalCV(line, 12, cv); !errors.Is(err, ErrNotFinite) {
		t.Errorf("collinear frame: err = %v, want ErrNotFinite", err)
	}
	if _, err := EvalCV(make([]float64, 4), 2, CoordinateCV("x", -1)); err == nil {
		t.Error("negative coordinate index accepted")
	}
	got, err := EvalCV([]float64{1, 2, 3, 4, 5, 6}, 3, CoordinateCV("x1", 1))
	if err != nil || len(got) != 2 || got[0] != 2 || got[1] != 5 {
		t.Errorf("CoordinateCV series = %v, %v; want [2 5]", got, err)
	}
}

// ar1 returns n samples of the stationary AR(1) process x' = φx + ε with
// unit-variance noise; its variance is 1/(1−φ²) and τ = (1+φ)/(1−φ).
func ar1(r *rand.Rand, n int, phi float64) []float64 {
	x := make([]float64, n)
	v := r.NormFloat64() / math.Sqrt(1-phi*phi)
	for i := range x {
		x[i] = v
		v = phi*v + r.NormFloat64()
	}
	return x
}

// ar1MeanStdErr is the exact standard deviation of the mean of n samples
// of the AR(1) process above.
func ar1MeanStdErr(n int, phi float64) float64 {
	fn := float64(n)
	v := 1 / (1 - phi*phi) / fn * ((1+phi)/(1-phi) - 2*phi*(1-math.Pow(phi, fn))/(fn*(1-phi)*(1-phi)))
	return math.Sqrt(v)
}

func TestIntegratedAutocorrelationTimeAR1(t *testing.T) {
	const n = 1 << 17
	for _, phi := range []float64{0, 0.5, 0.8, 0.9} {
		r := rand.New(rand.NewPCG(7, uint64(phi*100)))
		x := ar1(r, n, phi)
		want := (1 + phi) / (1 - phi)
		got, err := IntegratedAutocorrelationTime(x)
		if err != nil {
			t.Fatalf("φ=%v: %v", phi, err)
		}
		// Sokal: var(τ̂) ≈ 2(2M+1)τ²/n with M ≈ 5τ; allow 4 standard
		// deviations plus the truncation bias 2φ^(M+1)/(1−φ), negligible here.
		m := SokalWindowC * want
		tol := 4 * want * math.Sqrt(2*(2*m+1)/n)
		if math.Abs(got-want) > tol {
			t.Errorf("φ=%v: τ = %.3f, want %.3f ± %.3f", phi, got, want, tol)
		}
	}
}

func TestIntegratedAutocorrelationTimeErrors(t *testing.T) {
	if _, err := IntegratedAutocorrelationTime(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: err = %v", err)
	}
	if _, err := IntegratedAutocorrelationTime(make([]float64, 100)); err == nil {
		t.Error("constant series: no error")
	}
	if _, err := IntegratedAutocorrelationTime([]float64{1, 2, math.NaN(), 4}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN: err = %v", err)
	}
	// τ = 199 from 2000 samples: far fewer than 50τ.
	x := ar1(rand.New(rand.NewPCG(3, 3)), 2000, 0.99)
	tau, err := IntegratedAutocorrelationTime(x)
	if !errors.Is(err, ErrTooShort) {
		t.Errorf("short correlated series: err = %v, want ErrTooShort", err)
	}
	if !(tau > 1) {
		t.Errorf("short correlated series: τ = %v, want an estimate > 1 with the error", tau)
	}
}

func TestAutocorrelationDirect(t *testing.T) {
	x := ar1(rand.New(rand.NewPCG(5, 5)), 300, 0.7)
	rho, err := Autocorrelation(x, 20)
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	c := func(lag int) float64 {
		s := 0.0
		for i := 0; i+lag < len(x); i++ {
			s += (x[i] - mean) * (x[i+lag] - mean)
		}
		return s
	}
	for lag := range rho {
		if want := c(lag) / c(0); math.Abs(rho[lag]-want) > 1e-10 {
			t.Errorf("ρ(%d) = %v, direct sum %v", lag, rho[lag], want)
		}
	}
}

func TestBlockAverageHandComputed(t *testing.T) {
	// 5 samples in 2 blocks: the leading 100 is dropped, blocks {1,2},{3,4}.
	mean, se, err := BlockAverage([]float64{100, 1, 2, 3, 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Block means 1.5 and 3.5: sample sd √2, standard error √2/√2 = 1.
	if mean != 2.5 || math.Abs(se-1) > 1e-15 {
		t.Errorf("BlockAverage = %v ± %v, want 2.5 ± 1", mean, se)
	}
	for _, c := range []struct {
		x      []float64
		blocks int
	}{
		{nil, 2}, {[]float64{1, 2, 3}, 4}, {[]float64{1, 2, 3, 4}, 1}, {[]float64{1, math.NaN(), 3, 4}, 2},
	} {
		if _, _, err := BlockAverage(c.x, c.blocks); err == nil {
			t.Errorf("BlockAverage(%v, %d): no error", c.x, c.blocks)
		}
	}
}

func TestBlockAverageIID(t *testing.T) {
	const n, blocks, sigma = 20000, 200, 2.0
	r := rand.New(rand.NewPCG(11, 12))
	x := make([]float64, n)
	for i := range x {
		x[i] = 5 + sigma*r.NormFloat64()
	}
	want := sigma / math.Sqrt(n)
	mean, se, err := BlockAverage(x, blocks)
	if err != nil {
		t.Fatal(err)
	}
	// The block estimate of the error has relative spread 1/√(2(blocks−1)).
	if tol := 4 / math.Sqrt(2*(blocks-1)); math.Abs(se/want-1) > tol {
		t.Errorf("iid stderr %v, want σ/√n = %v within %.0f%%", se, want, 100*tol)
	}
	if math.Abs(mean-5) > 4*want {
		t.Errorf("iid mean %v, want 5 ± %v", mean, 4*want)
	}
	b, err := BlockingAnalysis(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	tol := 4/math.Sqrt(2*float64(b.Blocks-1)) + 0.02
	if !b.Plateau || math.Abs(b.StdErr/want-1) > tol {
		t.Errorf("iid blocking: stderr %v (plateau %v), want %v within %.0f%%", b.StdErr, b.Plateau, want, 100*tol)
	}
}

func TestBlockAverageAutoAR1(t *testing.T) {
	const n, phi = 1 << 16, 0.9
	x := ar1(rand.New(rand.NewPCG(21, 22)), n, phi)
	want := ar1MeanStdErr(n, phi) // ≈ √(τ/n)·σ with τ = 19
	mean, se, blocks, err := BlockAverageAuto(x)
	if err != nil {
		t.Fatal(err)
	}
	// Noise of the blocked estimate, plus 5% for the residual bias of
	// finite blocks (of order τ/blockSize).
	tol := 4/math.Sqrt(2*float64(blocks-1)) + 0.05
	if math.Abs(se/want-1) > tol {
		t.Errorf("AR(1) blocked stderr %v, want %v within %.0f%% (blocks %d)", se, want, 100*tol, blocks)
	}
	naive := math.Sqrt(1/(1-phi*phi)) / math.Sqrt(n)
	if se < 3*naive {
		t.Errorf("blocked stderr %v barely above the iid value %v: correlation ignored", se, naive)
	}
	if math.Abs(mean) > 4*want {
		t.Errorf("AR(1) mean %v, want 0 ± %v", mean, 4*want)
	}
	b, _ := BlockingAnalysis(x, nil)
	if !b.Plateau {
		t.Error("no plateau for 3400 correlation times")
	}
}

// TestBlockingCoverage checks that the error bars mean what they say: over
// many independent AR(1) runs the true mean lies within 2 reported
// standard errors about 95% of the time. The naive iid error would cover
// far less (about 35% for τ = 9).
func TestBlockingCoverage(t *testing.T) {
	const runs, n, phi = 300, 4096, 0.8
	r := rand.New(rand.NewPCG(31, 32))
	hits := 0
	for range runs {
		mean, se, _, err := BlockAverageAuto(ar1(r, n, phi))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(mean) < 2*se {
			hits++
		}
	}
	// Binomial spread at p = 0.95 over 300 runs is 1.3%; accept ≥ 88%.
	if cov := float64(hits) / runs; cov < 0.88 {
		t.Errorf("2σ coverage %.3f, want ≈ 0.95", cov)
	}
}

func TestBlockingNoPlateau(t *testing.T) {
	// A drifting (non-stationary) series has no correlation time at all:
	// for a ramp every blocking level's error is √2 times the previous
	// one, far beyond its uncertainty, so no plateau may be reported and
	// the error is the largest level's.
	x := make([]float64, 4096)
	for i := range x {
		x[i] = float64(i)
	}
	b, err := BlockingAnalysis(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := b.Levels[len(b.Levels)-1]
	if b.Plateau || b.StdErr != last.StdErr || b.Blocks != last.Blocks {
		t.Errorf("ramp: plateau %v, stderr %v from %d blocks; want no plateau and the last level %+v", b.Plateau, b.StdErr, b.Blocks, last)
	}
	if _, err := BlockingAnalysis(make([]float64, MinBlocks-1), nil); !errors.Is(err, ErrTooShort) {
		t.Errorf("too short: err = %v", err)
	}
	// A constant series has zero error and a trivial plateau.
	b, err = BlockingAnalysis(make([]float64, 100), nil)
	if err != nil || b.StdErr != 0 || !b.Plateau {
		t.Errorf("constant series: %+v, %v", b, err)
	}
}

func TestWeightedMean(t *testing.T) {
	got, err := WeightedMean([]float64{1, 2, 3}, []float64{1, 1, 2})
	if err != nil || got != 2.25 {
		t.Errorf("WeightedMean = %v, %v; want 2.25", got, err)
	}
	if got, _ := WeightedMean([]float64{1, 2, 3}, nil); got != 2 {
		t.Errorf("unweighted mean = %v, want 2", got)
	}
	bad := [][2][]float64{
		{nil, nil},
		{{1, 2}, {1}},
		{{1, 2}, {1, -1}},
		{{1, 2}, {0, 0}},
		{{1, math.NaN()}, {1, 1}},
		{{1, 2}, {1, math.Inf(1)}},
	}
	for _, c := range bad {
		if _, err := WeightedMean(c[0], c[1]); err == nil {
			t.Errorf("WeightedMean(%v, %v): no error", c[0], c[1])
		}
	}
}

func TestNormalizedWeightsESS(t *testing.T) {
	ln3 := math.Log(3)
	for _, off := range []float64{0, 1000, -1000} { // stability: huge offsets
		w, err := NormalizedWeights([]float64{off, off + ln3})
		if err != nil || math.Abs(w[0]-0.25) > 1e-12 || math.Abs(w[1]-0.75) > 1e-12 {
			t.Errorf("offset %v: weights %v, %v; want [0.25 0.75]", off, w, err)
		}
		// ESS of weights 1:3 is (1+3)²/(1+9) = 1.6.
		if ess, err := ESS([]float64{off, off + ln3}); err != nil || math.Abs(ess-1.6) > 1e-12 {
			t.Errorf("offset %v: ESS = %v, %v; want 1.6", off, ess, err)
		}
	}
	if ess, _ := ESS([]float64{2, 2, 2, 2}); math.Abs(ess-4) > 1e-12 {
		t.Errorf("equal weights: ESS = %v, want 4", ess)
	}
	if f, _ := ESSFraction([]float64{0, ln3}); math.Abs(f-0.8) > 1e-12 {
		t.Errorf("ESSFraction = %v, want 0.8", f)
	}
	inf := math.Inf(-1)
	if ess, err := ESS([]float64{0, inf, inf}); err != nil || ess != 1 {
		t.Errorf("one live weight: ESS = %v, %v; want 1", ess, err)
	}
	if w, err := NormalizedWeights([]float64{inf, 0}); err != nil || w[0] != 0 || w[1] != 1 {
		t.Errorf("-Inf weight: %v, %v", w, err)
	}
	for _, bad := range [][]float64{nil, {inf, inf}, {0, math.NaN()}, {0, math.Inf(1)}} {
		if _, err := NormalizedWeights(bad); err == nil {
			t.Errorf("NormalizedWeights(%v): no error", bad)
		}
		if _, err := ESS(bad); err == nil {
			t.Errorf("ESS(%v): no error", bad)
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	vals := []float64{0, 0.25, 0.5, 0.999, 1, -0.1, 1.1}
	counts, outside, err := Histogram(vals, nil, 0, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	// [0,.25) gets 0; 0.25 opens bin 1; 0.5 opens bin 2; 0.999 and the
	// closed upper edge 1 fall in bin 3; −0.1 and 1.1 are outside.
	want := []float64{1, 1, 1, 2}
	for i := range want {
		if counts[i] != want[i] {
			t.Errorf("counts = %v, want %v", counts, want)
			break
		}
	}
	if outside != 2 {
		t.Errorf("outside = %v, want 2", outside)
	}
	w := []float64{1, 2, 3, 4, 5, 6, 7}
	counts, outside, _ = Histogram(vals, w, 0, 1, 4)
	if counts[3] != 9 || outside != 13 {
		t.Errorf("weighted: counts %v outside %v; want counts[3]=9, outside 13", counts, outside)
	}
	// Dihedrals: π (the top of Dihedral's range) is in the last bin.
	counts, outside, _ = Histogram([]float64{math.Pi, -math.Pi + 1e-9}, nil, -math.Pi, math.Pi, 36)
	if counts[35] != 1 || counts[0] != 1 || outside != 0 {
		t.Errorf("periodic edges: first %v last %v outside %v", counts[0], counts[35], outside)
	}
	for _, c := range []struct {
		lo, hi float64
		bins   int
		vals   []float64
	}{
		{0, 1, 0, nil}, {1, 1, 3, nil}, {1, 0, 3, nil}, {0, math.Inf(1), 3, nil}, {0, 1, 3, []float64{math.NaN()}},
	} {
		if _, _, err := Histogram(c.vals, nil, c.lo, c.hi, c.bins); err == nil {
			t.Errorf("Histogram(%v, %v, %v, %v): no error", c.vals, c.lo, c.hi, c.bins)
		}
	}
	if c := BinCenters(0, 1, 4); c[0] != 0.125 || c[3] != 0.875 {
		t.Errorf("BinCenters = %v", c)
	}
}

func TestHistogram2D(t *testing.T) {
	x := []float64{0.1, 0.9, 0.9, 2}
	y := []float64{0.1, 0.1, 0.9, 0.5}
	counts, outside, err := Histogram2D(x, y, []float64{1, 2, 3, 4}, 0, 1, 0, 1, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	// counts[ix][iy]: (0.9, 0.1) is x bin 1, y bin 0.
	if counts[0][0] != 1 || counts[1][0] != 2 || counts[1][1] != 3 || counts[0][1] != 0 || outside != 4 {
		t.Errorf("counts %v outside %v", counts, outside)
	}
	if _, _, err := Histogram2D(x, y[:3], nil, 0, 1, 0, 1, 2, 2); !errors.Is(err, ErrLength) {
		t.Errorf("length mismatch: err = %v", err)
	}
}

// assertPartition checks that every point lies in exactly one mode.
func assertPartition(t *testing.T, set ModeSet, points [][]float64) {
	t.Helper()
	for _, p := range points {
		in := 0
		for _, m := range set.Modes {
			if m.Contains(p) {
				in++
			}
		}
		if in != 1 {
			t.Fatalf("%s: point %v (deg %v) in %d modes", set.Name, p, []float64{p[0] / deg}, in)
		}
	}
}

func TestButaneModes(t *testing.T) {
	set := ButaneModes(0, 1, 2, 3)
	var pts [][]float64
	for d := -360.0; d <= 360; d += 0.5 {
		pts = append(pts, []float64{d * deg})
	}
	assertPartition(t, set, pts)
	for _, c := range []struct {
		deg  float64
		want string
	}{
		{180, "trans"}, {-179, "trans"}, {121, "trans"}, {-121, "trans"},
		{60, "gauche+"}, {120, "gauche+"}, {0.5, "gauche+"},
		{-60, "gauche-"}, {-120, "gauche-"}, {0, "gauche-"}, {300, "gauche-"},
	} {
		if got := set.Modes[set.Classify([]float64{c.deg * deg})].Name; got != c.want {
			t.Errorf("φ = %v°: %s, want %s", c.deg, got, c.want)
		}
	}
}

func TestDialanineModes(t *testing.T) {
	set := DialanineModes([4]int{4, 6, 8, 14}, [4]int{6, 8, 14, 16})
	var pts [][]float64
	for phi := -200.0; phi <= 200; phi += 2.5 {
		for psi := -200.0; psi <= 200; psi += 2.5 {
			pts = append(pts, []float64{phi * deg, psi * deg})
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 20000 {
		pts = append(pts, []float64{(r.Float64() - 0.5) * 4 * math.Pi, (r.Float64() - 0.5) * 4 * math.Pi})
	}
	assertPartition(t, set, pts)
	names := map[string]string{"C7eq": "C7eq", "C5": "C5", "αR": "alphaR", "C7ax": "C7ax", "αL": "alphaL"}
	for _, c := range dialanineCentres {
		got := set.Modes[set.Classify([]float64{c.phi * deg, c.psi * deg})].Name
		if got != names[c.name] {
			t.Errorf("basin centre %s (%v, %v) classified as %s", c.name, c.phi, c.psi, got)
		}
	}
	// Tobias & Brooks CHARMM minima and the C5 basin wrapping past ±180°.
	for _, c := range []struct {
		phi, psi float64
		want     string
	}{
		{-77.5, 89.9, "C7eq"}, {-134.8, 145.9, "C5"}, {60.6, -72.4, "C7ax"},
		{170, 170, "C5"}, {-170, -175, "C5"}, {100, 30, "alphaL"},
	} {
		if got := set.Modes[set.Classify([]float64{c.phi * deg, c.psi * deg})].Name; got != c.want {
			t.Errorf("(%v, %v): %s, want %s", c.phi, c.psi, got, c.want)
		}
	}
	if set.CVs[0].MinFrameLen != 45 || set.CVs[1].MinFrameLen != 51 {
		t.Errorf("MinFrameLen %d, %d; want 45 (atom 14) and 51 (atom 16)", set.CVs[0].MinFrameLen, set.CVs[1].MinFrameLen)
	}
	coarse := DialaninePhiModes([4]int{4, 6, 8, 14})
	var cp [][]float64
	for phi := -400.0; phi <= 400; phi += 0.5 {
		cp = append(cp, []float64{phi * deg})
	}
	assertPartition(t, coarse, cp)
	if coarse.Modes[coarse.Classify([]float64{170 * deg})].Name != "phi>0" {
		t.Error("φ = 170° not in phi>0")
	}
}

func TestDoubleWellModes(t *testing.T) {
	set := DoubleWellModes(1, 0.5)
	if set.Modes[0].Name != "x1<0.5" || set.Modes[1].Name != "x1>=0.5" {
		t.Errorf("names %q %q", set.Modes[0].Name, set.Modes[1].Name)
	}
	frames := make([]float64, 0, 64)
	for i := range 32 {
		x1 := 0.0
		if i%4 == 0 {
			x1 = 0.5 // on the boundary: counts as x1>=0.5
		}
		frames = append(frames, 9, x1)
	}
	fr, err := ModeFractions(frames, 2, set, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fr[0].Fraction != 0.75 || fr[1].Fraction != 0.25 {
		t.Errorf("fractions %+v, want 0.75 / 0.25", fr)
	}
	// One frame at a time, through a reused buffer.
	cvs := make([]float64, 1)
	for i := range 32 {
		want := 0
		if i%4 == 0 {
			want = 1
		}
		if got := set.ClassifyFrame(frames[2*i:2*i+2], cvs); got != want {
			t.Errorf("frame %d: mode %d, want %d", i, got, want)
		}
	}
	// Coordinate 1 does not exist in frames of one value.
	if _, err := ModeFractions(frames, 1, set, nil); err == nil {
		t.Error("x1 read from frames of size 1")
	}
}

// butaneTrajectory returns n frames of a 4-atom chain whose dihedral follows
// a Markov chain over the three rotamers: at each step the state is kept
// with probability 1−q and otherwise redrawn from pi (trans, g+, g−). Every
// indicator then has autocorrelation (1−q)^t, so τ = (2−q)/q exactly.
func butaneTrajectory(r *rand.Rand, n int, q float64, pi [3]float64) []float64 {
	centre := [3]float64{180, 60, -60}
	draw := func() int {
		u := r.Float64()
		if u < pi[0] {
			return 0
		}
		if u < pi[0]+pi[1] {
			return 1
		}
		return 2
	}
	s := draw()
	frames := make([]float64, 0, 12*n)
	for range n {
		if r.Float64() < q {
			s = draw()
		}
		theta := (centre[s] + 100*(r.Float64()-0.5)) * deg // ±50° keeps inside the rotamer
		frames = append(frames, frame4(theta, -0.4)...)
	}
	return frames
}

func TestModeFractionsButane(t *testing.T) {
	const n, q = 40000, 0.05
	pi := [3]float64{0.6, 0.25, 0.15}
	frames := butaneTrajectory(rand.New(rand.NewPCG(51, 52)), n, q, pi)
	fr, err := ModeFractions(frames, 12, ButaneModes(0, 1, 2, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	tau := (2 - q) / q
	sum := 0.0
	for i, f := range fr {
		sum += f.Fraction
		want := math.Sqrt(pi[i] * (1 - pi[i]) * tau / n)
		if math.Abs(f.Fraction-pi[i]) > 4*want {
			t.Errorf("%s: %.4f ± %.4f, want %.4f", f.Name, f.Fraction, f.StdErr, pi[i])
		}
		// With n/τ ≈ 1000 the plateau search fails now and then (about 2%
		// of seeds); the error reported then is the largest of all levels,
		// which may overshoot but must not undershoot.
		tol := 4/math.Sqrt(2*float64(f.Blocks-1)) + 0.05
		ratio := f.StdErr / want
		if ratio < 1-tol || ratio > 1+tol && f.Plateau || ratio > 2 {
			t.Errorf("%s: stderr %.5f (plateau %v, %d blocks), want %.5f within %.0f%%", f.Name, f.StdErr, f.Plateau, f.Blocks, want, 100*tol)
		}
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("fractions of a partition sum to %v", sum)
	}
}

func TestModeFractionsWeighted(t *testing.T) {
	// Independent draws from a uniform proposal over three states, with
	// weights π/q turning them into samples of π.
	const n = 30000
	pi := [3]float64{0.7, 0.2, 0.1}
	r := rand.New(rand.NewPCG(61, 62))
	x := make([]float64, n)
	w := make([]float64, n)
	for i := range x {
		s := r.IntN(3)
		x[i] = float64(s)
		w[i] = 3 * pi[s] * (0.5 + r.Float64()) // noisy weights, unbiased up to a constant
	}
	modes := []Mode{
		{Name: "s0", Contains: func(v []float64) bool { return v[0] == 0 }},
		{Name: "s1", Contains: func(v []float64) bool { return v[0] == 1 }},
		{Name: "s2", Contains: func(v []float64) bool { return v[0] == 2 }},
	}
	fr, err := ModeFractionsOfSeries([][]float64{x}, modes, w)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fr {
		// Delta method for a ratio of iid sums, with weights W = 3π_s·U,
		// E[U] = 1, E[U²] = 13/12: Var = E[W²(I−π_i)²]/(n E[W]²), E[W] = 1.
		v := 0.0
		for s := range 3 {
			d := -pi[i]
			if s == i {
				d += 1
			}
			v += (1.0 / 3) * 9 * pi[s] * pi[s] * (13.0 / 12) * d * d
		}
		want := math.Sqrt(v / n)
		if math.Abs(f.Fraction-pi[i]) > 4*want {
			t.Errorf("%s: %.4f, want %.4f ± %.4f", f.Name, f.Fraction, pi[i], want)
		}
		if tol := 4/math.Sqrt(2*float64(f.Blocks-1)) + 0.03; math.Abs(f.StdErr/want-1) > tol {
			t.Errorf("%s: stderr %.5f, want %.5f within %.0f%%", f.Name, f.StdErr, want, 100*tol)
		}
	}
}

func TestModeFractionsErrors(t *testing.T) {
	set := ButaneModes(0, 1, 2, 3)
	good := butaneTrajectory(rand.New(rand.NewPCG(1, 1)), 32, 0.5, [3]float64{0.5, 0.25, 0.25})
	if _, err := ModeFractions(good[:12*10], 12, set, nil); !errors.Is(err, ErrTooShort) {
		t.Errorf("10 frames: err = %v, want ErrTooShort", err)
	}
	if _, err := ModeFractions(good, 9, ButaneModes(0, 1, 2, 3), nil); err == nil {
		t.Error("frame size 9 accepted for a dihedral of atom 3")
	}
	if _, err := ModeFractions(good, 12, set, make([]float64, 3)); !errors.Is(err, ErrLength) {
		t.Errorf("3 weights for 32 frames: err = %v", err)
	}
	bad := append([]float64(nil), good...)
	bad[5] = math.NaN()
	if _, err := ModeFractions(bad, 12, set, nil); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN coordinate: err = %v", err)
	}
	if _, err := ModeFractions(good, 12, ModeSet{Name: "empty", CVs: set.CVs}, nil); err == nil {
		t.Error("set without modes accepted")
	}
	dial := DialanineModes([4]int{0, 1, 2, 3}, [4]int{0, 1, 2, 3})
	series := [][]float64{make([]float64, 32)} // one series, modes read two
	if _, err := ModeFractionsOfSeries(series, dial.Modes, nil); err == nil {
		t.Error("modes reading a missing CV: no error")
	}
}

// checkPNG verifies a PNG file's signature and decoded size.
func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s: not a PNG (%d bytes)", path, len(b))
	}
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil || format != "png" {
		t.Fatalf("%s: decode: %v (%s)", path, err, format)
	}
	if got := img.Bounds().Size(); got.X != w || got.Y != h {
		t.Errorf("%s: %v pixels, want %dx%d", path, got, w, h)
	}
}

// syntheticRamachandran draws (φ, ψ) around the alanine dipeptide basins.
func syntheticRamachandran(r *rand.Rand, n int) (phi, psi []float64) {
	for range n {
		c := dialanineCentres[0]
		switch u := r.Float64(); {
		case u < 0.3:
			c = dialanineCentres[1]
		case u < 0.4:
			c = dialanineCentres[2]
		case u < 0.43:
			c = dialanineCentres[3]
		case u < 0.44:
			c = dialanineCentres[4]
		}
		phi = append(phi, WrapAngle((c.phi+15*r.NormFloat64())*deg))
		psi = append(psi, WrapAngle((c.psi+20*r.NormFloat64())*deg))
	}
	return phi, psi
}

func TestPlotRamachandran(t *testing.T) {
	dir := t.TempDir()
	phi, psi := syntheticRamachandran(rand.New(rand.NewPCG(71, 72)), 20000)
	p := filepath.Join(dir, "rama.png")
	if err := PlotRamachandran(phi, psi, nil, "synthetic alanine dipeptide", p, WithSize(5*vg.Inch, 4*vg.Inch), WithDPI(100)); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, p, 500, 400)
	// Defaults: 7×6 in at 96 dpi; weights; all samples in one bin.
	p = filepath.Join(dir, "rama_default.png")
	w := make([]float64, len(phi))
	for i := range w {
		w[i] = 1 + float64(i%3)
	}
	if err := PlotRamachandran(phi, psi, w, "weighted", p); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, p, 672, 576)
	one := []float64{1, 1, 1}
	if err := PlotRamachandran(one, one, nil, "", filepath.Join(dir, "one.png"), WithoutModeBoundaries()); err != nil {
		t.Errorf("single-bin data: %v", err)
	}
	if err := PlotRamachandran(phi, psi[:10], nil, "", filepath.Join(dir, "x.png")); !errors.Is(err, ErrLength) {
		t.Errorf("length mismatch: err = %v", err)
	}
	if err := PlotRamachandran(nil, nil, nil, "", filepath.Join(dir, "x.png")); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: err = %v", err)
	}
	if err := PlotRamachandran(phi, psi, nil, "", filepath.Join(dir, "x.bmp")); err == nil {
		t.Error("unknown extension accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.png")); !os.IsNotExist(err) {
		t.Error("a failed plot left a file behind")
	}
	if err := PlotRamachandran(phi, psi, nil, "svg", filepath.Join(dir, "rama.svg")); err != nil {
		t.Errorf("SVG output: %v", err)
	}
}

func TestPlotHistogram(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(81, 82))
	a, b := make([]float64, 5000), make([]float64, 5000)
	for i := range a {
		a[i] = r.NormFloat64()
		b[i] = 0.5 + 1.3*r.NormFloat64()
	}
	p := filepath.Join(dir, "hist.png")
	w := make([]float64, len(b))
	for i := range w {
		w[i] = 0.5 + float64(i%2) // a weighted series too
	}
	series := []Series{{Name: "data", Values: a}, {Name: "model", Values: b, Weights: w}}
	if err := PlotHistogram(series, 40, "energy (kcal/mol)", "energies", p, WithSize(6*vg.Inch, 4*vg.Inch), WithDPI(80)); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, p, 480, 320)
	p = filepath.Join(dir, "dihedral.png")
	if err := PlotHistogram(series, 36, "φ (rad)", "", p, WithRange(-math.Pi, math.Pi)); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, p, 576, 432)
	if err := PlotHistogram([]Series{{Name: "const", Values: []float64{2, 2, 2}}}, 5, "", "", filepath.Join(dir, "c.png")); err != nil {
		t.Errorf("constant series: %v", err)
	}
	if err := PlotHistogram(nil, 10, "", "", filepath.Join(dir, "e.png")); !errors.Is(err, ErrEmpty) {
		t.Errorf("no series: err = %v", err)
	}
	if err := PlotHistogram([]Series{{Name: "nan", Values: []float64{1, math.NaN()}}}, 10, "", "", filepath.Join(dir, "e.png")); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN: err = %v", err)
	}
	if err := PlotHistogram(series, 10, "", "", filepath.Join(dir, "e.png"), WithRange(10, 20)); err == nil {
		t.Error("range holding no data accepted")
	}
}

func TestPlotLines(t *testing.T) {
	dir := t.TempDir()
	n := 200
	loss, val := make([]float64, n), make([]float64, n)
	steps := make([]float64, n)
	for i := range n {
		steps[i] = float64(10 * i)
		loss[i] = 5*math.Exp(-float64(i)/40) + 0.1
		val[i] = 5*math.Exp(-float64(i)/50) + 0.2
	}
	p := filepath.Join(dir, "loss.png")
	series := []LineSeries{{Name: "train", X: steps, Y: loss}, {Name: "validation", Y: val}}
	if err := PlotLines(series, "step", "loss", "training", p, true, WithSize(4*vg.Inch, 3*vg.Inch), WithDPI(120)); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, p, 480, 360)
	if err := PlotLines(series, "step", "loss", "linear", filepath.Join(dir, "lin.png"), false); err != nil {
		t.Fatal(err)
	}
	neg := []LineSeries{{Name: "kl", Y: []float64{1, -0.1, 0.5}}}
	if err := PlotLines(neg, "", "", "", filepath.Join(dir, "neg.png"), true); err == nil {
		t.Error("negative y on a log axis accepted")
	}
	if err := PlotLines(neg, "", "", "", filepath.Join(dir, "neg.png"), false); err != nil {
		t.Errorf("negative y on a linear axis: %v", err)
	}
	if err := PlotLines([]LineSeries{{Name: "m", X: []float64{1}, Y: []float64{1, 2}}}, "", "", "", filepath.Join(dir, "m.png"), false); !errors.Is(err, ErrLength) {
		t.Errorf("length mismatch: err = %v", err)
	}
	if err := PlotLines(series, "", "", "", filepath.Join(dir, "s.png"), false, WithSize(0, 1)); err == nil {
		t.Error("zero size accepted")
	}
}

func TestModeMedians(t *testing.T) {
	values := []float64{5, 1, 3, math.Inf(1), 2, 4, math.NaN(), 7}
	labels := []int{0, 0, 0, 0, 1, 1, 1, -1}
	got := ModeMedians(values, labels, 3)
	// Mode 0: {1, 3, 5} (Inf skipped); mode 1: {2, 4} (NaN skipped); mode
	// 2: no frames; the unlabelled 7 counts nowhere.
	if got[0] != 3 || got[1] != 3 || !math.IsNaN(got[2]) {
		t.Errorf("medians %v, want [3 3 NaN]", got)
	}
}
