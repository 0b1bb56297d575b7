package flows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flowmd/flowmd/nn"
	"gonum.org/v1/gonum/mat"
)

// splineCase is a block layout: dimension, halves and angles.
type splineCase struct {
	name     string
	dim      int
	a, b     []int
	periodic []int
}

// The layouts the tests run on: no angles; an angle in A (2) and one in B
// (5); angles in A (1) and B (4) with an odd dimension and |A| < |B|.
var splineCases = []splineCase{
	{"dim5", 5, []int{0, 2, 4}, []int{1, 3}, nil},
	{"dim6-angles", 6, []int{0, 2, 4}, []int{1, 3, 5}, []int{2, 5}},
	{"dim5-angles", 5, []int{1, 3}, []int{0, 2, 4}, []int{1, 4}},
}

const splineTestBound = 3

// newSplineTest builds a block with 6 bins on [-3, 3]; with scale > 0,
// every parameter is redrawn from N(0, scale^2) so that the splines are
// far from the identity.
func newSplineTest(c splineCase, scale float64, seed uint64) (*nn.Set, *SplineCoupling) {
	rng := rand.New(rand.NewPCG(seed, 17))
	s := nn.NewSet()
	l := NewSplineCoupling(s, "spline", c.dim, c.a, c.b, []int{16}, SplineOptions{Bins: 6, Bound: splineTestBound, Periodic: c.periodic}, rng)
	if scale > 0 {
		for i := range s.Values {
			s.Values[i] = scale * rng.NormFloat64()
		}
	}
	return s, l
}

// splineInputs draws n rows: ordinary coordinates uniform on 1.6 times the
// bound (a third of them in the tails), angles uniform on [-pi, pi), or on
// [-3pi, 3pi) with wide. Values within margin of a tail's start or of the
// seam are redrawn, for finite differences that must not straddle them.
func splineInputs(rng *rand.Rand, l *SplineCoupling, n int, wide bool, margin float64) []float64 {
	x := make([]float64, n*l.dim)
	for r := 0; r < n; r++ {
		for i := 0; i < l.dim; i++ {
			for {
				var v float64
				if l.periodic[i] {
					v = math.Pi * (2*rng.Float64() - 1)
					if wide {
						v *= 3
					}
					if math.Abs(math.Abs(splineWrap(v))-math.Pi) < margin {
						continue
					}
				} else {
					v = 1.6 * splineTestBound * (2*rng.Float64() - 1)
					if math.Abs(math.Abs(v)-splineTestBound) < margin {
						continue
					}
				}
				x[r*l.dim+i] = v
				break
			}
		}
	}
	return x
}

func splinePass(l *SplineCoupling, p []float64, dir Direction, in []float64) (out, ld []float64) {
	n := len(in) / l.dim
	out, ld = make([]float64, len(in)), make([]float64, n)
	l.Pass(dir, p, n, in, out, ld, l.NewCache())
	return out, ld
}

// splineDelta is a - b for coordinate i, around the circle (in [-pi, pi])
// for an angle.
func splineDelta(l *SplineCoupling, i int, a, b float64) float64 {
	if l.periodic[i] {
		return math.Remainder(a-b, 2*math.Pi)
	}
	return a - b
}

// splineDiff is the distance between two values of coordinate i.
func splineDiff(l *SplineCoupling, i int, a, b float64) float64 {
	return math.Abs(splineDelta(l, i, a, b))
}

func TestSplineIdentityAtInit(t *testing.T) {
	for _, c := range splineCases {
		s, l := newSplineTest(c, 0, 1)
		in := splineInputs(rand.New(rand.NewPCG(3, 4)), l, 200, false, 0)
		for _, dir := range []Direction{Generate, Invert} {
			out, ld := splinePass(l, s.Values, dir, in)
			for k := range in {
				if math.Abs(out[k]-in[k]) > 1e-14 {
					t.Errorf("%s %v: zero-initialized block moved row %d coordinate %d from %.17g to %.17g", c.name, dir, k/c.dim, k%c.dim, in[k], out[k])
				}
			}
			for r, v := range ld {
				if math.Abs(v) > 1e-14 {
					t.Errorf("%s %v: zero-initialized block has log-det %g on row %d, want 0", c.name, dir, v, r)
				}
			}
		}
	}
}

// TestSplineRoundTrip: Invert(Generate(z)) = z and Generate(Invert(x)) = x
// on random splines, with inputs in the tails and angles outside [-pi,
// pi) (which come back wrapped).
func TestSplineRoundTrip(t *testing.T) {
	for ci, c := range splineCases {
		// Scale 1e-6 makes splines within 1e-6 of the identity, where the
		// quadratic's leading coefficient nearly vanishes and the
		// textbook root (-b + sqrt(b^2 - 4ac)) / 2a would cancel.
		for _, scale := range []float64{1e-6, 0.2, 0.5} {
			s, l := newSplineTest(c, scale, uint64(10+ci))
			rng := rand.New(rand.NewPCG(5, uint64(ci)))
			for _, wide := range []bool{false, true} {
				in := splineInputs(rng, l, 300, wide, 0)
				for _, dir := range []Direction{Generate, Invert} {
					label := fmt.Sprintf("%s scale %g wide %v", c.name, scale, wide)
					checkRoundTrip(t, label, l, s.Values, dir, in, scale <= 0.2, scale > 1e-3)
				}
			}
		}
	}
}

// checkRoundTrip passes in through the block in direction dir and back,
// and checks that it comes back (angles wrapped to [-pi, pi)), that
// passing the result again reproduces the first output, and that the
// log-dets of the two directions cancel; with moves, that the splines
// moved at least a quarter of the coordinates by more than 1e-3.
//
// With strict, everything must hold to 1e-10. Otherwise the splines may
// have bins so flat (random scale 0.5 gives slopes down to 1e-7) that x =
// G(z) keeps only ulp(x)/slope of z: no inverse can do better, so
// Invert(Generate(z)) is held to 1e-10 plus 8 ulps of x pulled back
// through the slope, and the log-dets must cancel only where they are
// taken at the same latent point (the inverse's output and the forward
// pass from it).
func checkRoundTrip(t *testing.T, label string, l *SplineCoupling, p []float64, dir Direction, in []float64, strict, moves bool) {
	t.Helper()
	other := Invert
	if dir == Invert {
		other = Generate
	}
	out, ld1 := splinePass(l, p, dir, in)
	back, ld2 := splinePass(l, p, other, out)
	again, ld3 := splinePass(l, p, dir, back)
	var slope []float64
	if dir == Generate {
		slope = splineSlopes(l, p, in, out)
	}
	moved, bad := 0, 0
	report := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(label+": "+format, args...)
		}
	}
	for k := range in {
		i := k % l.dim
		tol := 1e-10
		if !strict && dir == Generate {
			tol += 8 * 0x1p-52 * max(1, math.Abs(out[k])) / slope[k]
		}
		if d := splineDiff(l, i, back[k], in[k]); d > tol {
			report("%v then %v moved row %d coordinate %d by %.3g > %.3g (%.17g -> %.17g -> %.17g)", dir, other, k/l.dim, i, d, tol, in[k], out[k], back[k])
		}
		if d := splineDiff(l, i, again[k], out[k]); d > 1e-10 {
			report("%v of the round trip's output differs from the first %v by %.3g at row %d coordinate %d", dir, dir, d, k/l.dim, i)
		}
		if l.periodic[i] && splineInA(l, i) {
			for _, v := range []float64{out[k], back[k]} {
				if v < -math.Pi || v >= math.Pi {
					report("angle %d left [-pi, pi): %.17g", i, v)
				}
			}
		}
		if splineDiff(l, i, out[k], in[k]) > 1e-3 {
			moved++
		}
	}
	for r := range ld1 {
		// The pair of log-dets taken at the same latent point: the
		// inverse's output and the forward pass from it.
		same, loose := math.Abs(ld2[r]+ld3[r]), math.Abs(ld1[r]+ld2[r])
		if dir == Invert {
			same, loose = loose, same
		}
		if same > 1e-10 || (strict && loose > 1e-10) {
			report("row %d: %v log-det %.15g, %v %.15g, %v again %.15g: they should cancel", r, dir, ld1[r], other, ld2[r], dir, ld3[r])
		}
	}
	if moves && moved < len(in)/4 {
		t.Errorf("%s: only %d of %d coordinates moved: the random splines are too close to the identity for the test to mean anything", label, moved, len(in))
	}
}

// splineSlopes is dx_i/dz_i of every coordinate by a forward difference:
// a scale, for tolerances.
func splineSlopes(l *SplineCoupling, p, z, x []float64) []float64 {
	const h = 1e-7
	slope := make([]float64, len(z))
	zp := append([]float64(nil), z...)
	for i := 0; i < l.dim; i++ {
		for k := i; k < len(z); k += l.dim {
			zp[k] = z[k] + h
		}
		xp, _ := splinePass(l, p, Generate, zp)
		for k := i; k < len(z); k += l.dim {
			slope[k] = splineDelta(l, i, xp[k], x[k]) / h
			zp[k] = z[k]
		}
	}
	return slope
}

func splineInA(l *SplineCoupling, i int) bool {
	for _, a := range l.A {
		if a == i {
			return true
		}
	}
	return false
}

// TestSplineLogDetMatchesJacobian compares the log-determinant of each
// pass with log |det J| of the Jacobian of the whole row map, by central
// differences, on moderate (scale 0.2) and extreme (0.5) random splines.
//
// A central difference of step h carries a rounding error of about
// eps |out| / h in each entry; on a coordinate whose slope J_ii is tiny
// that is a large relative error in log |J_ii|. The tolerance is 1e-6 plus
// that estimate summed over the diagonal (the Jacobian of a coupling is
// block triangular with a diagonal transformed block, so log |det J| is
// the sum of the log |J_ii|).
func TestSplineLogDetMatchesJacobian(t *testing.T) {
	const h = 1e-6
	for ci, c := range splineCases {
		for _, scale := range []float64{0.2, 0.5} {
			s, l := newSplineTest(c, scale, uint64(20+ci))
			in := splineInputs(rand.New(rand.NewPCG(6, uint64(ci))), l, 6, false, 1e-3)
			for _, dir := range []Direction{Generate, Invert} {
				out, ld := splinePass(l, s.Values, dir, in)
				for r := 0; r < len(ld); r++ {
					row := append([]float64(nil), in[r*c.dim:(r+1)*c.dim]...)
					J := mat.NewDense(c.dim, c.dim, nil)
					for k := 0; k < c.dim; k++ {
						old := row[k]
						row[k] = old + h
						plus, _ := splinePass(l, s.Values, dir, row)
						row[k] = old - h
						minus, _ := splinePass(l, s.Values, dir, row)
						row[k] = old
						for i := 0; i < c.dim; i++ {
							J.Set(i, k, splineDelta(l, i, plus[i], minus[i])/(2*h))
						}
					}
					tol := 1e-6
					for i := 0; i < c.dim; i++ {
						tol += 0x1p-52 * max(1, math.Abs(out[r*c.dim+i])) / (h * math.Abs(J.At(i, i)))
					}
					logDet, sign := mat.LogDet(J)
					if sign <= 0 || math.Abs(logDet-ld[r]) > tol {
						t.Errorf("%s scale %g %v row %d: log-det %.10g, finite-difference Jacobian gives %.10g (sign %g), tolerance %.3g", c.name, scale, dir, r, ld[r], logDet, sign, tol)
					}
				}
			}
		}
	}
}

// TestSplineBackward checks Backward against central differences of L =
// sum(w_out out) + sum(w_ld ld) for every parameter and input, on extreme
// random splines (scale 0.5). The loss carries rounding noise of about
// 1e-13 (log-dets of 20 and more, ill-conditioned inverses), which a step
// of 1e-6 turns into errors of 3e-7; so the step is 1e-5, and the
// five-point stencil keeps the truncation error (h^4) far below 1e-6.
func TestSplineBackward(t *testing.T) {
	const h = 1e-5
	for ci, c := range splineCases {
		for _, dir := range []Direction{Generate, Invert} {
			s, l := newSplineTest(c, 0.5, uint64(30+ci))
			rng := rand.New(rand.NewPCG(7, uint64(ci)))
			n := 7
			in := splineInputs(rng, l, n, true, 1e-3)
			// The last two rows put the angles of A next to the seam, in
			// the last and the first bin, where the derivative shared by
			// -pi and pi enters.
			for _, i := range c.a {
				if l.periodic[i] {
					in[(n-2)*c.dim+i], in[(n-1)*c.dim+i] = math.Pi-0.01, -math.Pi+0.01
				}
			}
			wOut, wLd := make([]float64, n*c.dim), make([]float64, n)
			for k := range wOut {
				wOut[k] = rng.NormFloat64()
			}
			for r := range wLd {
				wLd[r] = rng.NormFloat64()
			}
			loss := func() float64 {
				out, ld := splinePass(l, s.Values, dir, in)
				var sum float64
				for k, v := range out {
					sum += wOut[k] * v
				}
				for r, v := range ld {
					sum += wLd[r] * v
				}
				return sum
			}
			cache := l.NewCache()
			out, ld := make([]float64, n*c.dim), make([]float64, n)
			l.Pass(dir, s.Values, n, in, out, ld, cache)
			// The gradient must be added to what is there.
			grad := make([]float64, len(s.Values))
			for k := range grad {
				grad[k] = 0.25
			}
			din := make([]float64, n*c.dim)
			l.Backward(s.Values, grad, n, in, out, wOut, wLd, din, cache)
			check := func(what string, v []float64, k int, analytic float64) {
				old := v[k]
				at := func(d float64) float64 {
					v[k] = old + d
					defer func() { v[k] = old }()
					return loss()
				}
				fd := (8*(at(h)-at(-h)) - (at(2*h) - at(-2*h))) / (12 * h)
				if math.Abs(fd-analytic) > 1e-6*(1+math.Abs(fd)) {
					t.Errorf("%s %v: %s %d: backward %.10g, finite difference %.10g", c.name, dir, what, k, analytic, fd)
				}
			}
			nonzero := 0
			for k := range s.Values {
				check("parameter", s.Values, k, grad[k]-0.25)
				if math.Abs(grad[k]-0.25) > 1e-8 {
					nonzero++
				}
			}
			for k := range in {
				check("input", in, k, din[k])
			}
			if nonzero < len(s.Values)/2 {
				t.Errorf("%s %v: only %d of %d parameter gradients are nonzero", c.name, dir, nonzero, len(s.Values))
			}
		}
	}
}

// TestSplinePeriodicSeam: a circular spline fixes -pi, is continuous
// across the seam with the same slope on both sides, and keeps angles in
// [-pi, pi) in both directions.
func TestSplinePeriodicSeam(t *testing.T) {
	c := splineCase{"seam", 2, []int{0}, []int{1}, []int{0, 1}}
	s, l := newSplineTest(c, 0.5, 40)
	f := func(x, cond float64, dir Direction) (float64, float64) {
		out, ld := splinePass(l, s.Values, dir, []float64{x, cond})
		return out[0], ld[0]
	}
	const eps, delta, h = 1e-9, 1e-6, 1e-8
	farFromOne := false
	for _, cond := range []float64{-3, -1.2, 0.4, 2.9, math.Pi - 1e-3} {
		for _, dir := range []Direction{Generate, Invert} {
			if y, _ := f(-math.Pi, cond, dir); y != -math.Pi {
				t.Errorf("%v, conditioner %g: f(-pi) = %.17g, want -pi", dir, cond, y)
			}
			lo, _ := f(-math.Pi+eps, cond, dir)
			hi, _ := f(math.Pi-eps, cond, dir)
			below, above := math.Pi-hi, lo+math.Pi
			if !(below > 0 && above > 0 && below+above < 1e-6) {
				t.Errorf("%v, conditioner %g: f(-pi+%g) = -pi + %.3g and f(pi-%g) = pi - %.3g: not continuous across the seam", dir, cond, eps, above, eps, below)
			}
			// Slopes on both sides: the log-det at the ends, and central
			// differences just inside.
			_, ldLo := f(-math.Pi, cond, dir)
			_, ldHi := f(math.Pi-1e-14, cond, dir)
			if math.Abs(ldLo-ldHi) > 1e-9 {
				t.Errorf("%v, conditioner %g: log slope %.12g at -pi but %.12g at pi", dir, cond, ldLo, ldHi)
			}
			p1, _ := f(-math.Pi+delta+h, cond, dir)
			m1, _ := f(-math.Pi+delta-h, cond, dir)
			p2, _ := f(math.Pi-delta+h, cond, dir)
			m2, _ := f(math.Pi-delta-h, cond, dir)
			slopeLo, slopeHi := (p1-m1)/(2*h), (p2-m2)/(2*h)
			if math.Abs(slopeLo-slopeHi) > 1e-4*slopeLo || math.Abs(math.Log(slopeLo)-ldLo) > 1e-4 {
				t.Errorf("%v, conditioner %g: finite-difference slope %.10g just above -pi, %.10g just below pi, exp(log-det) %.10g", dir, cond, slopeLo, slopeHi, math.Exp(ldLo))
			}
			if math.Abs(ldLo) > 0.05 {
				farFromOne = true
			}
		}
	}
	if !farFromOne {
		t.Errorf("the seam slopes are all near 1: the test does not exercise the shared derivative")
	}
	rng := rand.New(rand.NewPCG(8, 9))
	xs := []float64{-math.Pi, math.Nextafter(-math.Pi, 0), math.Nextafter(math.Pi, 0), math.Pi, -3 * math.Pi, 7.5, -100}
	for k := 0; k < 500; k++ {
		xs = append(xs, 4*math.Pi*(rng.Float64()-0.5))
	}
	for _, x := range xs {
		for _, dir := range []Direction{Generate, Invert} {
			y, _ := f(x, rng.Float64()*6-3, dir)
			if y < -math.Pi || y >= math.Pi {
				t.Errorf("%v maps the angle %.17g to %.17g, outside [-pi, pi)", dir, x, y)
			}
		}
	}
}

// TestSplineNearKnots: inverse and forward stay inverse to each other on
// many random rows and on rows whose transformed coordinates sit on a
// knot, or within 1e-15 to 1e-9 of one, in x (forward first) and in y
// (inverse first).
func TestSplineNearKnots(t *testing.T) {
	for _, scale := range []float64{0.2, 0.5} {
		splineNearKnots(t, scale)
	}
}

func splineNearKnots(t *testing.T, scale float64) {
	c := splineCases[1]
	s, l := newSplineTest(c, scale, 50)
	rng := rand.New(rand.NewPCG(10, 11))
	n := 3000
	x := splineInputs(rng, l, n, false, 0)
	// The knots depend on B only: a pass gives the network's outputs.
	cache := l.NewCache().(*splineCache)
	l.Pass(Generate, s.Values, n, x, make([]float64, len(x)), make([]float64, n), cache)
	offsets := []float64{0, 1e-15, -1e-15, 1e-12, -1e-12, 1e-9, -1e-9}
	var k splineKnots
	for r := 0; r < n/2; r++ {
		// Rows r go on the x knots, rows n/2 + r (same B) on the y knots.
		copy(x[(n/2+r)*c.dim:(n/2+r+1)*c.dim], x[r*c.dim:(r+1)*c.dim])
		for j, i := range l.A {
			lo, hi := l.interval(i)
			l.knots(cache.raw[r*l.nout+l.off[j]:], l.periodic[i], lo, hi, &k)
			b := rng.IntN(l.Bins + 1)
			v := k.xs[b] + offsets[rng.IntN(len(offsets))]
			u := k.ys[b] + offsets[rng.IntN(len(offsets))]
			if l.periodic[i] {
				v, u = splineWrap(v), splineWrap(u)
			}
			x[r*c.dim+i], x[(n/2+r)*c.dim+i] = v, u
		}
	}
	for _, dir := range []Direction{Generate, Invert} {
		checkRoundTrip(t, fmt.Sprintf("scale %g near knots", scale), l, s.Values, dir, x, scale <= 0.2, true)
	}
}

// TestSplineNoAllocations: once the cache has grown, passes and backward
// passes allocate nothing.
func TestSplineNoAllocations(t *testing.T) {
	c := splineCases[1]
	s, l := newSplineTest(c, 0.5, 60)
	n := 64
	in := splineInputs(rand.New(rand.NewPCG(12, 13)), l, n, true, 0)
	out, ld, din := make([]float64, len(in)), make([]float64, n), make([]float64, len(in))
	dout, dld := make([]float64, len(in)), make([]float64, n)
	grad := make([]float64, len(s.Values))
	cache := l.NewCache()
	run := func() {
		for _, dir := range []Direction{Generate, Invert} {
			l.Pass(dir, s.Values, n, in, out, ld, cache)
			l.Backward(s.Values, grad, n, in, out, dout, dld, din, cache)
		}
	}
	run()
	if a := testing.AllocsPerRun(5, run); a != 0 {
		t.Errorf("a pass and backward pass over %d rows allocate %g times, want 0", n, a)
	}
}

// TestSplineBuild: the spline flow Build makes starts as the identity.
func TestSplineBuild(t *testing.T) {
	f, err := Build(Spec{Dim: 6, Blocks: 2, Hidden: 8, Transform: "spline", Periodic: []int{1, 4}})
	if err != nil {
		t.Fatal(err)
	}
	n := 4
	z := splineInputs(rand.New(rand.NewPCG(14, 15)), f.Layers[0].(*SplineCoupling), n, false, 0)
	x, ld := make([]float64, len(z)), make([]float64, n)
	f.Forward(n, z, x, ld, false)
	for k := range z {
		if math.Abs(x[k]-z[k]) > 1e-13 {
			t.Errorf("the new spline flow moved coordinate %d from %.17g to %.17g", k, z[k], x[k])
		}
	}
	for r, v := range ld {
		if math.Abs(v) > 1e-13 {
			t.Errorf("the new spline flow has log-det %g on row %d", v, r)
		}
	}
}
