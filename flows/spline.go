package flows

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/flowmd/flowmd/nn"
)

// Rational-quadratic spline couplings (Durkan et al. 2019, "Neural Spline
// Flows") and their circular variant for angles (Rezende et al. 2020,
// "Normalizing flows on tori and spheres").
//
// Each transformed coordinate goes through a monotonic spline made of K
// bins. Bin k runs from the knot (x_k, y_k) to (x_k+w_k, y_k+h_k) with
// derivatives d_k and d_k+1 at its ends; with s = h/w, xi = (x-x_k)/w and
// e = xi (1-xi), the spline is
//
//	f(x)  = y_k + h (s xi^2 + d_k e) / D,    D = s + (d_k + d_k+1 - 2s) e
//	f'(x) = s^2 (d_k+1 xi^2 + 2 s e + d_k (1-xi)^2) / D^2,
//
// a ratio of quadratics that is monotonic whenever s and the d are
// positive, has a closed-form inverse (a quadratic in xi) and is C1 across
// knots.

const (
	// splineMinBin is the least fraction of the interval a bin takes:
	// without it a bin can shrink to nothing and its slope h/w blow up.
	splineMinBin = 1e-3
	// splineMinDeriv bounds the knot derivatives away from zero, where
	// the map would stop being invertible in floating point.
	splineMinDeriv = 1e-3
)

var (
	// splineDerivShift is the c of d = minDeriv + softplus(u + c) that makes
	// u = 0 give d = 1: softplus(c) = 1 - minDeriv.
	splineDerivShift = math.Log(math.Expm1(1 - splineMinDeriv))
	// splineDerivZero is softplus(c) as splineSoftplus rounds it: d is
	// computed as 1 + (softplus(u+c) - splineDerivZero), which is exactly
	// 1 at u = 0 (1 - minDeriv + minDeriv need not round to 1).
	splineDerivZero = splineSoftplus(splineDerivShift)
)

// SplineOptions shape the splines of a SplineCoupling.
type SplineOptions struct {
	// Bins is the number of bins K of each spline. Default 8.
	Bins int
	// Bound: ordinary coordinates are transformed on [-Bound, Bound] and
	// left as they are outside (linear tails of slope 1). Default 5.
	Bound float64
	// Periodic lists coordinates (indices of the row) that are angles on
	// [-pi, pi): when transformed, a circular spline maps the circle to
	// itself; when conditioning, they enter the network as (cos, sin).
	Periodic []int
}

// SplineCoupling is a coupling block whose coordinates A go through
// rational-quadratic splines whose knots are a function of the coordinates
// B, which pass through unchanged (angles of B too: they are not wrapped).
// An angle of A is wrapped to [-pi, pi) before its circular spline and
// stays in [-pi, pi) after it.
type SplineCoupling struct {
	dim   int
	A, B  []int
	Bins  int
	Bound float64
	// periodic[i] tells whether coordinate i of the row is an angle.
	periodic []bool
	// off[j] is where the spline parameters of A[j] start in a row of the
	// network's output: 3K-1 numbers for an ordinary coordinate (K widths,
	// K heights, K-1 interior derivatives), 3K for an angle (the derivative
	// at -pi, shared with pi, is free too).
	off  []int
	nout int
	// nfeat is the network's input width: one feature per ordinary
	// coordinate of B, two per angle.
	nfeat int
	Net   *nn.MLP[float64]
}

// NewSplineCoupling registers a spline coupling block on dim coordinates:
// the coordinates a are transformed by splines whose parameters come from
// an MLP of the coordinates b (features -> hidden... -> spline parameters,
// CELU). The last layer starts at zero, which makes every bin equally wide
// and high and every derivative 1: the block starts as the identity.
func NewSplineCoupling(s *nn.Set, name string, dim int, a, b []int, hidden []int, o SplineOptions, rng *rand.Rand) *SplineCoupling {
	if err := checkPartition(dim, a, b); err != nil {
		panic("flows: " + name + ": " + err.Error())
	}
	if o.Bins == 0 {
		o.Bins = 8
	}
	if o.Bound == 0 {
		o.Bound = 5
	}
	if o.Bins < 1 || float64(o.Bins)*splineMinBin >= 1 {
		panic(fmt.Sprintf("flows: %s: %d spline bins, need 1 to %d", name, o.Bins, int(1/splineMinBin)-1))
	}
	if !(o.Bound > 0) || math.IsInf(o.Bound, 0) {
		panic(fmt.Sprintf("flows: %s: spline bound %g must be positive and finite", name, o.Bound))
	}
	l := &SplineCoupling{dim: dim, A: a, B: b, Bins: o.Bins, Bound: o.Bound, periodic: make([]bool, dim)}
	for _, i := range o.Periodic {
		if i < 0 || i >= dim {
			panic(fmt.Sprintf("flows: %s: periodic coordinate %d out of range", name, i))
		}
		l.periodic[i] = true
	}
	for _, i := range b {
		l.nfeat++
		if l.periodic[i] {
			l.nfeat++
		}
	}
	K := o.Bins
	l.off = make([]int, len(a))
	for j, i := range a {
		l.off[j] = l.nout
		l.nout += 3*K - 1
		if l.periodic[i] {
			l.nout++
		}
	}
	sizes := append(append([]int{l.nfeat}, hidden...), l.nout)
	l.Net = nn.NewMLP[float64](s, name, sizes, nn.CELU, true, rng)
	return l
}

func (l *SplineCoupling) Dim() int { return l.dim }

// splineKnots is one spline made concrete: knots, derivatives, and what
// the backward pass needs to go back to the network's outputs.
type splineKnots struct {
	xs, ys []float64 // K+1 knot positions
	ds     []float64 // K+1 derivatives at the knots
	pw, ph []float64 // K softmax probabilities of the widths and heights
	sig    []float64 // K+1 sigmoid(u+c), the derivatives' slope in u
	// cotangents of the widths, heights and knot derivatives
	gw, gh, gd []float64
}

func (k *splineKnots) ensure(K int) {
	k.xs, k.ys, k.ds = grow(k.xs, K+1), grow(k.ys, K+1), grow(k.ds, K+1)
	k.pw, k.ph, k.sig = grow(k.pw, K), grow(k.ph, K), grow(k.sig, K+1)
	k.gw, k.gh, k.gd = grow(k.gw, K), grow(k.gh, K), grow(k.gd, K+1)
}

type splineCache struct {
	dir  Direction
	mlp  nn.MLPCache[float64]
	cond []float64 // n x nfeat, the network's input
	raw  []float64 // n x nout, the network's output
	// pt is, per row and coordinate of A, the abscissa of the spline: the
	// (wrapped) input of a forward pass, the unwrapped output of an
	// inverse one. bin is its bin, -1 in a tail.
	pt    []float64
	bin   []int
	dcond []float64
	draw  []float64
	k     splineKnots
}

func (l *SplineCoupling) NewCache() any { return &splineCache{} }

// interval is where the spline of coordinate i acts.
func (l *SplineCoupling) interval(i int) (lo, hi float64) {
	if l.periodic[i] {
		return -math.Pi, math.Pi
	}
	return -l.Bound, l.Bound
}

// knots turns the network outputs u of one coordinate into its spline.
func (l *SplineCoupling) knots(u []float64, periodic bool, lo, hi float64, k *splineKnots) {
	K := l.Bins
	k.ensure(K)
	splineSoftmax(u[:K], k.pw)
	splineSoftmax(u[K:2*K], k.ph)
	span := hi - lo
	scale := span * (1 - float64(K)*splineMinBin)
	k.xs[0], k.ys[0] = lo, lo
	for m := 0; m < K; m++ {
		k.xs[m+1] = k.xs[m] + span*splineMinBin + scale*k.pw[m]
		k.ys[m+1] = k.ys[m] + span*splineMinBin + scale*k.ph[m]
	}
	// The sums reach hi only up to rounding; pin the ends so that the
	// spline meets the tails (or closes the circle) exactly.
	k.xs[K], k.ys[K] = hi, hi
	du := u[2*K:]
	if periodic {
		for m := 0; m < K; m++ {
			k.ds[m], k.sig[m] = splineDeriv(du[m])
		}
		k.ds[K], k.sig[K] = k.ds[0], k.sig[0]
		return
	}
	k.ds[0], k.ds[K], k.sig[0], k.sig[K] = 1, 1, 0, 0
	for m := 1; m < K; m++ {
		k.ds[m], k.sig[m] = splineDeriv(du[m-1])
	}
}

// splineDeriv maps an unconstrained u to a knot derivative d >= minDeriv
// with d(0) = 1, and returns dd/du too.
func splineDeriv(u float64) (d, slope float64) {
	v := u + splineDerivShift
	return 1 + (splineSoftplus(v) - splineDerivZero), splineSigmoid(v)
}

func splineSoftplus(v float64) float64 {
	if v > 0 {
		return v + math.Log1p(math.Exp(-v))
	}
	return math.Log1p(math.Exp(v))
}

func splineSigmoid(v float64) float64 {
	if v >= 0 {
		return 1 / (1 + math.Exp(-v))
	}
	e := math.Exp(v)
	return e / (1 + e)
}

func splineSoftmax(u, p []float64) {
	m := u[0]
	for _, v := range u[1:] {
		m = max(m, v)
	}
	var sum float64
	for i, v := range u {
		p[i] = math.Exp(v - m)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
}

// splineBin returns the k with knots[k] <= v < knots[k+1], clamped to the
// K bins, by bisection (knots has K+1 increasing entries).
func splineBin(knots []float64, v float64) int {
	lo, hi := 0, len(knots)-2
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if knots[mid] <= v {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// splineWrap maps an angle to [-pi, pi).
func splineWrap(x float64) float64 {
	if x >= -math.Pi && x < math.Pi {
		return x
	}
	x -= 2 * math.Pi * math.Floor((x+math.Pi)/(2*math.Pi))
	// Rounding can land on either end.
	if x >= math.Pi {
		x -= 2 * math.Pi
	}
	if x < -math.Pi {
		x = -math.Pi
	}
	return x
}

// rqSegment is one bin of a spline at one point x: the value F, the slope
// dF = F'(x) and the partial derivatives of F and of L = log F'(x) with
// respect to the point and to the bin's left knot (xk, yk), width w,
// height h and end derivatives d0, d1.
type rqSegment struct {
	F, dF                          float64
	Fx, Fxk, Fw, Fyk, Fh, Fd0, Fd1 float64
	Lx, Lxk, Lw, Lh, Ld0, Ld1      float64
}

func (g *rqSegment) eval(x, xk, w, yk, h, d0, d1 float64) {
	s := h / w
	xi := (x - xk) / w
	om := 1 - xi
	e := xi * om
	delta := d0 + d1 - 2*s
	N := s*xi*xi + d0*e
	D := s + delta*e
	R := N / D
	M := d1*xi*xi + 2*s*e + d0*om*om
	g.F = yk + h*R
	g.dF = s * s * M / (D * D)
	// Partials in (xi, s, d0, d1) first, with h standing alone in F = yk +
	// h R; then the chain rule through xi = (x-xk)/w and s = h/w.
	Nxi, Dxi := 2*s*xi+d0*(1-2*xi), delta*(1-2*xi)
	Ns, Ds := xi*xi, 1-2*e
	Rxi := (Nxi - R*Dxi) / D
	Rs := (Ns - R*Ds) / D
	Rd0 := (e - R*e) / D // N and D both grow by e per unit of d0
	Rd1 := -R * e / D    // only D depends on d1
	Mxi := 2*d1*xi + 2*s*(1-2*xi) - 2*d0*om
	Lxi := Mxi/M - 2*Dxi/D
	Ls := 2/s + 2*e/M - 2*Ds/D
	g.Ld0 = om*om/M - 2*e/D
	g.Ld1 = xi*xi/M - 2*e/D
	Fxi, Fs := h*Rxi, h*Rs
	g.Fd0, g.Fd1 = h*Rd0, h*Rd1
	g.Fyk = 1
	g.Fx = Fxi / w
	g.Fxk = -g.Fx
	g.Fw = -(Fxi*xi + Fs*s) / w
	g.Fh = R + Fs/w
	g.Lx = Lxi / w
	g.Lxk = -g.Lx
	g.Lw = -(Lxi*xi + Ls*s) / w
	g.Lh = Ls / w
}

// rqInverse solves f(x) = y in bin k for xi in [0, 1]: the quadratic
// a xi^2 + b xi + c = 0 with the root in the form 2c / (-b - sqrt(b^2 -
// 4ac)), which does not cancel when a is small (a nearly linear bin).
func rqInverse(y, yk, h, s, d0, d1 float64) float64 {
	t := y - yk
	delta := d0 + d1 - 2*s
	a := h*(s-d0) + t*delta
	b := h*d0 - t*delta
	c := -s * t
	disc := max(b*b-4*a*c, 0)
	den := -b - math.Sqrt(disc)
	if den == 0 {
		return 0
	}
	return min(max(2*c/den, 0), 1)
}

func (l *SplineCoupling) Pass(dir Direction, p []float64, n int, in, out, ld []float64, cache any) {
	c := cache.(*splineCache)
	c.dir = dir
	na := len(l.A)
	c.cond = grow(c.cond, n*l.nfeat)
	c.raw = grow(c.raw, n*l.nout)
	c.pt = grow(c.pt, n*na)
	if cap(c.bin) < n*na {
		c.bin = make([]int, n*na)
	}
	c.bin = c.bin[:n*na]
	for r := 0; r < n; r++ {
		l.features(in[r*l.dim:(r+1)*l.dim], c.cond[r*l.nfeat:(r+1)*l.nfeat])
	}
	l.Net.Forward(p, n, c.cond, c.raw, &c.mlp)
	copy(out[:n*l.dim], in[:n*l.dim])
	var seg rqSegment
	k := &c.k
	for r := 0; r < n; r++ {
		x, y := in[r*l.dim:(r+1)*l.dim], out[r*l.dim:(r+1)*l.dim]
		raw := c.raw[r*l.nout : (r+1)*l.nout]
		for j, i := range l.A {
			per := l.periodic[i]
			lo, hi := l.interval(i)
			v := x[i]
			if per {
				v = splineWrap(v)
			}
			q := r*na + j
			if !per && (v < lo || v > hi) {
				// Tail: the identity, log-det 0.
				c.pt[q], c.bin[q] = v, -1
				continue
			}
			l.knots(raw[l.off[j]:], per, lo, hi, k)
			if dir == Generate {
				b := splineBin(k.xs, v)
				seg.eval(v, k.xs[b], k.xs[b+1]-k.xs[b], k.ys[b], k.ys[b+1]-k.ys[b], k.ds[b], k.ds[b+1])
				c.pt[q], c.bin[q] = v, b
				y[i] = seg.F
				ld[r] += math.Log(seg.dF)
			} else {
				b := splineBin(k.ys, v)
				w, h := k.xs[b+1]-k.xs[b], k.ys[b+1]-k.ys[b]
				xi := rqInverse(v, k.ys[b], h, h/w, k.ds[b], k.ds[b+1])
				u := k.xs[b] + xi*w
				seg.eval(u, k.xs[b], w, k.ys[b], h, k.ds[b], k.ds[b+1])
				c.pt[q], c.bin[q] = u, b
				y[i] = u
				ld[r] -= math.Log(seg.dF)
			}
			if per && y[i] >= math.Pi {
				// Only rounding reaches pi, which is -pi on the circle.
				y[i] -= 2 * math.Pi
			}
		}
	}
}

// features writes the network input of one row: ordinary coordinates of
// B as they are, angles as (cos, sin), continuous across the seam.
func (l *SplineCoupling) features(x, f []float64) {
	m := 0
	for _, i := range l.B {
		if l.periodic[i] {
			f[m], f[m+1] = math.Cos(x[i]), math.Sin(x[i])
			m += 2
		} else {
			f[m] = x[i]
			m++
		}
	}
}

func (l *SplineCoupling) Backward(p, grad []float64, n int, in, out, dout, dld, din []float64, cache any) {
	c := cache.(*splineCache)
	na, K := len(l.A), l.Bins
	c.draw = grow(c.draw, n*l.nout)
	c.dcond = grow(c.dcond, n*l.nfeat)
	for i := range c.draw {
		c.draw[i] = 0
	}
	copy(din[:n*l.dim], dout[:n*l.dim])
	var seg rqSegment
	k := &c.k
	for r := 0; r < n; r++ {
		dy, dx := dout[r*l.dim:(r+1)*l.dim], din[r*l.dim:(r+1)*l.dim]
		raw, draw := c.raw[r*l.nout:(r+1)*l.nout], c.draw[r*l.nout:(r+1)*l.nout]
		for j, i := range l.A {
			q := r*na + j
			b := c.bin[q]
			if b < 0 {
				continue // tail: dx = dy, no parameters
			}
			per := l.periodic[i]
			lo, hi := l.interval(i)
			l.knots(raw[l.off[j]:], per, lo, hi, k)
			w, h := k.xs[b+1]-k.xs[b], k.ys[b+1]-k.ys[b]
			seg.eval(c.pt[q], k.xs[b], w, k.ys[b], h, k.ds[b], k.ds[b+1])
			// The pass added F(x) to the output and L = log F'(x) to the
			// log-det (forward), or x = F^-1(y) and -L(x) (inverse). With
			// alpha and beta the cotangents of F and L at fixed x, the
			// knots' cotangents are alpha dF/dtheta + beta dL/dtheta.
			var alpha, beta float64
			if c.dir == Generate {
				alpha, beta = dy[i], dld[r]
				dx[i] = alpha*seg.dF + beta*seg.Lx
			} else {
				// dx/dy = 1/F' and dx/dtheta = -(dF/dtheta)/F' (implicit
				// function), so y's cotangent is v = (dy - dld L_x)/F' and
				// theta's is -v dF/dtheta - dld dL/dtheta.
				v := (dy[i] - dld[r]*seg.Lx) / seg.dF
				dx[i] = v
				alpha, beta = -v, -dld[r]
			}
			l.knotsBackward(b, K, per, lo, hi, &seg, alpha, beta, k, draw[l.off[j]:])
		}
	}
	l.Net.Backward(p, grad, n, c.cond, c.draw, c.dcond, &c.mlp)
	for r := 0; r < n; r++ {
		x, dx := in[r*l.dim:(r+1)*l.dim], din[r*l.dim:(r+1)*l.dim]
		f := c.dcond[r*l.nfeat : (r+1)*l.nfeat]
		m := 0
		for _, i := range l.B {
			if l.periodic[i] {
				dx[i] += -math.Sin(x[i])*f[m] + math.Cos(x[i])*f[m+1]
				m += 2
			} else {
				dx[i] += f[m]
				m++
			}
		}
	}
}

// knotsBackward takes the cotangents of bin b's knot, width, height and
// end derivatives back through the cumulative sums, the softmaxes and the
// softplus to the network outputs du of one coordinate.
func (l *SplineCoupling) knotsBackward(b, K int, per bool, lo, hi float64, seg *rqSegment, alpha, beta float64, k *splineKnots, du []float64) {
	gxk := alpha*seg.Fxk + beta*seg.Lxk
	gyk := alpha * seg.Fyk
	for m := 0; m < K; m++ {
		k.gw[m], k.gh[m] = 0, 0
	}
	// x_b is lo plus the widths before b, and w_b = x_b+1 - x_b the
	// width of bin b.
	for m := 0; m < b; m++ {
		k.gw[m], k.gh[m] = gxk, gyk
	}
	k.gw[b] = alpha*seg.Fw + beta*seg.Lw
	k.gh[b] = alpha*seg.Fh + beta*seg.Lh
	// width_m = span (minBin + (1 - K minBin) p_m), p = softmax(u):
	// du_j = scale p_j (g_j - sum_m g_m p_m).
	scale := (hi - lo) * (1 - float64(K)*splineMinBin)
	var sw, sh float64
	for m := 0; m < K; m++ {
		sw += k.gw[m] * k.pw[m]
		sh += k.gh[m] * k.ph[m]
	}
	for m := 0; m < K; m++ {
		du[m] += scale * k.pw[m] * (k.gw[m] - sw)
		du[K+m] += scale * k.ph[m] * (k.gh[m] - sh)
	}
	// Derivatives: only d_b and d_b+1 enter bin b. An ordinary spline has
	// fixed ends (d_0 = d_K = 1) and u for d_1..d_K-1; a circular one has u
	// for d_0..d_K-1 and d_K = d_0.
	for e, g := range [2]float64{alpha*seg.Fd0 + beta*seg.Ld0, alpha*seg.Fd1 + beta*seg.Ld1} {
		m := b + e
		switch {
		case per:
			du[2*K+m%K] += g * k.sig[m]
		case m >= 1 && m <= K-1:
			du[2*K+m-1] += g * k.sig[m]
		}
	}
}
