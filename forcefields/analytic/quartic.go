package analytic

import (
	"context"
	"fmt"
	"math"

	"github.com/flowmd/flowmd/forcefields"
)

// QuarticDoubleWell is the one-dimensional energy u(x) = a x⁴ + b x² + c x
// with a > 0: two wells when b < 0 and the tilt |c| is below
// (4|b|/3)·sqrt(|b|/(6a)), otherwise a single well. It is the test bed of the
// samplers: every statistic of exp(−u/kT) is known exactly, by quadrature.
//
// Modes: with two wells, mode 0 is x < x* and mode 1 is x > x*, where x* is
// the barrier top (the local maximum of u); with one well there is a single
// mode 0.
type QuarticDoubleWell struct {
	a, b, c    float64
	minima     []float64 // one or two, ascending
	barrier    float64   // local maximum, when hasBarrier
	hasBarrier bool
}

// TermQuartic is the single term of QuarticDoubleWell.
const TermQuartic = "quartic"

// NewQuarticDoubleWell returns the model u(x) = a x⁴ + b x² + c x. a must be
// positive (otherwise exp(−u) is not normalisable) and all three finite.
func NewQuarticDoubleWell(a, b, c float64) (*QuarticDoubleWell, error) {
	if !(a > 0) || !finite(a) || !finite(b) || !finite(c) {
		return nil, fmt.Errorf("quartic well a x⁴ + b x² + c x: need a > 0 and finite b, c, got a = %v, b = %v, c = %v", a, b, c)
	}
	q := &QuarticDoubleWell{a: a, b: b, c: c}
	if err := q.findCriticalPoints(); err != nil {
		return nil, err
	}
	return q, nil
}

// findCriticalPoints locates the minima and the barrier top by bisection on
// u'(x) = 4a x³ + 2b x + c, on the brackets delimited by the extrema of u'
// at ±s, s = sqrt(−b/(6a)).
func (q *QuarticDoubleWell) findCriticalPoints() error {
	du := q.Derivative
	// single returns the only root of u', which is increasing through it.
	single := func(from float64) (float64, error) {
		var lo, hi float64
		var ok bool
		if du(from) < 0 {
			lo = from
			hi, ok = bracketOut(du, from, 1, 1)
		} else {
			hi = from
			lo, ok = bracketOut(du, from, -1, 1)
		}
		if !ok {
			return 0, fmt.Errorf("quartic well %s: no minimum found in float64 range", q)
		}
		return bisect(du, lo, hi), nil
	}
	if q.b >= 0 {
		x, err := single(0)
		if err != nil {
			return err
		}
		q.minima = []float64{x}
		return nil
	}
	s := math.Sqrt(-q.b / (6 * q.a))
	if !(du(-s) > 0 && du(s) < 0) {
		// One real root of u' besides a possible double root at ±s (an
		// inflection, not a minimum).
		from := -s
		if du(-s) <= 0 {
			from = s
		}
		x, err := single(from)
		if err != nil {
			return err
		}
		q.minima = []float64{x}
		return nil
	}
	left, okl := bracketOut(du, -s, -1, s)
	right, okr := bracketOut(du, s, 1, s)
	if !okl || !okr {
		return fmt.Errorf("quartic well %s: no minimum found in float64 range", q)
	}
	q.minima = []float64{bisect(du, left, -s), bisect(du, s, right)}
	q.barrier = bisect(du, -s, s)
	q.hasBarrier = true
	return nil
}

// String formats the polynomial.
func (q *QuarticDoubleWell) String() string {
	return fmt.Sprintf("%.6g x⁴ %+.6g x² %+.6g x", q.a, q.b, q.c)
}

// Coefficients returns a, b, c of u(x) = a x⁴ + b x² + c x.
func (q *QuarticDoubleWell) Coefficients() (a, b, c float64) { return q.a, q.b, q.c }

// Energy returns u(x), in Horner form so that huge |x| gives +Inf, not NaN.
func (q *QuarticDoubleWell) Energy(x float64) float64 {
	return ((q.a*x*x+q.b)*x + q.c) * x
}

// Derivative returns u'(x) = 4a x³ + 2b x + c.
func (q *QuarticDoubleWell) Derivative(x float64) float64 {
	return (4*q.a*x*x+2*q.b)*x + q.c
}

// Minima returns the local minima of u, ascending: one or two points.
func (q *QuarticDoubleWell) Minima() []float64 { return append([]float64(nil), q.minima...) }

// Barrier returns the barrier top x* (the local maximum of u, the boundary
// between modes 0 and 1) and true, or false for a single well.
func (q *QuarticDoubleWell) Barrier() (float64, bool) { return q.barrier, q.hasBarrier }

// MinorMode returns the mode whose minimum is higher in energy (1 on a tie,
// and 0 for a single well).
func (q *QuarticDoubleWell) MinorMode() int {
	if !q.hasBarrier {
		return 0
	}
	if q.Energy(q.minima[0]) > q.Energy(q.minima[1]) {
		return 0
	}
	return 1
}

// MinorModeFraction returns the probability of the minor mode under
// exp(−u/kT), computed by quadrature: 0 for a single well, NaN for an invalid
// kT.
func (q *QuarticDoubleWell) MinorModeFraction(kT float64) float64 {
	if !q.hasBarrier {
		if checkKT(kT) != nil {
			return math.NaN()
		}
		return 0
	}
	f, err := q.ModeFraction(q.MinorMode(), kT)
	if err != nil {
		return math.NaN()
	}
	return f
}

// Dim implements forcefields.Model: 1.
func (q *QuarticDoubleWell) Dim() int { return 1 }

// Terms implements forcefields.Model: "quartic".
func (q *QuarticDoubleWell) Terms() []string { return []string{TermQuartic} }

// Evaluate implements forcefields.Model.
func (q *QuarticDoubleWell) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	if err := check(ctx, b, 1, 1); err != nil {
		return err
	}
	for i, x := range b.Coords {
		if err := cancelled(ctx, i); err != nil {
			return err
		}
		e := q.Energy(x)
		b.Energy[i] = e
		if b.Forces != nil {
			b.Forces[i] = -q.Derivative(x)
		}
		if b.Terms != nil {
			b.Terms[i] = e
		}
	}
	return nil
}

// boltzmann1D is the unnormalised density exp(−(u(x) − umin)/kT) of a
// quartic on the window [lo, hi] outside which it is below exp(−quadCut).
// In each well (either side of the barrier top) u(x) − umin is evaluated as
// the quartic expanded about that well's minimum m,
// off + y(d1 + y(d2 + y(d3 + y d4))) with y = x − m and off = u(m) − umin,
// which avoids the cancellation of u(x) − umin that 1/kT would amplify at
// small kT. (The offset between the two wells still carries float64
// roundoff, ~1e-16·|u(m)|, so mode fractions lose accuracy once kT falls
// below ~1e-8.)
type boltzmann1D struct {
	q          *QuarticDoubleWell
	kT, umin   float64
	wells      [2]expansion // wells[0] for x below the barrier, [1] above
	lo, hi     float64
	breakpoint []float64
}

// expansion is u(m + y) − umin = off + y(d1 + y(d2 + y(d3 + y d4))).
type expansion struct {
	m, off, d1, d2, d3, d4 float64
}

func (q *QuarticDoubleWell) expandAt(m, umin float64) expansion {
	return expansion{m: m, off: q.Energy(m) - umin,
		d1: q.Derivative(m), d2: 6*q.a*m*m + q.b, d3: 4 * q.a * m, d4: q.a}
}

func (q *QuarticDoubleWell) boltzmann(kT float64) (*boltzmann1D, error) {
	if err := checkKT(kT); err != nil {
		return nil, err
	}
	umin := math.Inf(1)
	for _, m := range q.minima {
		umin = math.Min(umin, q.Energy(m))
	}
	// Start from the thermal width of the outer minima and double outwards
	// until the energy is quadCut kT above the global minimum.
	reach := func(x, dir float64) (float64, error) {
		curv := 12*q.a*x*x + 2*q.b
		step := math.Pow(kT/q.a, 0.25)
		if curv > 0 {
			step = math.Min(step, math.Sqrt(kT/curv))
		}
		step *= 0.5
		for range 2200 {
			y := x + dir*step
			if math.IsInf(y, 0) {
				break
			}
			if (q.Energy(y)-umin)/kT >= quadCut {
				return y, nil
			}
			step *= 2
		}
		return 0, fmt.Errorf("quartic well %s at kT = %v: density does not decay within float64 range", q, kT)
	}
	lo, err := reach(q.minima[0], -1)
	if err != nil {
		return nil, err
	}
	hi, err := reach(q.minima[len(q.minima)-1], 1)
	if err != nil {
		return nil, err
	}
	bp := append([]float64(nil), q.minima...)
	if q.hasBarrier {
		bp = append(bp, q.barrier)
	}
	w := &boltzmann1D{q: q, kT: kT, umin: umin, lo: lo, hi: hi, breakpoint: bp}
	w.wells[0] = q.expandAt(q.minima[0], umin)
	w.wells[1] = q.expandAt(q.minima[len(q.minima)-1], umin)
	return w, nil
}

// weight is the unnormalised density at x.
func (w *boltzmann1D) weight(x float64) float64 {
	e := &w.wells[0]
	if w.q.hasBarrier && x > w.q.barrier {
		e = &w.wells[1]
	}
	y := x - e.m
	return math.Exp(-(e.off + y*(e.d1+y*(e.d2+y*(e.d3+y*e.d4)))) / w.kT)
}

// integral returns ∫_a^b g(x) weight(x) dx, with g = nil meaning 1.
func (w *boltzmann1D) integral(g func(float64) float64, a, b float64) float64 {
	a, b = math.Max(a, w.lo), math.Min(b, w.hi)
	f := w.weight
	if g != nil {
		f = func(x float64) float64 { return g(x) * w.weight(x) }
	}
	return integratePieces(f, a, b, w.breakpoint)
}

// mass returns the unnormalised probability of [a, b].
func (w *boltzmann1D) mass(a, b float64) float64 { return w.integral(nil, a, b) }

// NumModes implements Modal: 2 for a double well, 1 otherwise.
func (q *QuarticDoubleWell) NumModes() int { return len(q.minima) }

// ModeCenters implements Modal: the minima.
func (q *QuarticDoubleWell) ModeCenters() [][]float64 {
	out := make([][]float64, len(q.minima))
	for i, m := range q.minima {
		out[i] = []float64{m}
	}
	return out
}

// ModeOf implements Modal: 0 below the barrier top, 1 above.
func (q *QuarticDoubleWell) ModeOf(x []float64) int {
	if len(x) != 1 || !finite(x[0]) {
		return -1
	}
	if q.hasBarrier && x[0] > q.barrier {
		return 1
	}
	return 0
}

// ModeFraction implements Modal: the probability of x < x* (mode 0) or
// x > x* (mode 1) under exp(−u/kT), by adaptive Gauss–Legendre quadrature
// (relative accuracy about 1e-12 for kT ≳ 1e-6; see boltzmann1D).
func (q *QuarticDoubleWell) ModeFraction(mode int, kT float64) (float64, error) {
	if err := checkMode(mode, q.NumModes()); err != nil {
		return 0, err
	}
	w, err := q.boltzmann(kT)
	if err != nil {
		return 0, err
	}
	if !q.hasBarrier {
		return 1, nil
	}
	left := w.mass(math.Inf(-1), q.barrier)
	right := w.mass(q.barrier, math.Inf(1))
	if mode == 0 {
		return left / (left + right), nil
	}
	return right / (left + right), nil
}

// CDF returns P(X ≤ x) under exp(−u/kT), by quadrature: the reference for
// Kolmogorov–Smirnov tests of samplers.
func (q *QuarticDoubleWell) CDF(x, kT float64) (float64, error) {
	w, err := q.boltzmann(kT)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(x) {
		return 0, fmt.Errorf("CDF at NaN")
	}
	below := w.mass(math.Inf(-1), x)
	above := w.mass(x, math.Inf(1))
	return below / (below + above), nil
}

// Moment returns the raw moment ⟨x^k⟩ under exp(−u/kT), by quadrature.
func (q *QuarticDoubleWell) Moment(k int, kT float64) (float64, error) {
	if k < 0 {
		return 0, fmt.Errorf("moment of order %d: want k ≥ 0", k)
	}
	w, err := q.boltzmann(kT)
	if err != nil {
		return 0, err
	}
	all := math.Inf(1)
	z := w.mass(-all, all)
	m := w.integral(func(x float64) float64 { return math.Pow(x, float64(k)) }, -all, all)
	return m / z, nil
}

// Mean implements Moments: ⟨x⟩ under exp(−u/kT).
func (q *QuarticDoubleWell) Mean(coord int, kT float64) (float64, error) {
	if err := checkCoord(coord, 1); err != nil {
		return 0, err
	}
	return q.Moment(1, kT)
}

// Variance implements Moments: ⟨(x − ⟨x⟩)²⟩ under exp(−u/kT), integrated
// about the mean to avoid cancellation.
func (q *QuarticDoubleWell) Variance(coord int, kT float64) (float64, error) {
	if err := checkCoord(coord, 1); err != nil {
		return 0, err
	}
	mean, err := q.Moment(1, kT)
	if err != nil {
		return 0, err
	}
	w, err := q.boltzmann(kT)
	if err != nil {
		return 0, err
	}
	all := math.Inf(1)
	z := w.mass(-all, all)
	v := w.integral(func(x float64) float64 { return (x - mean) * (x - mean) }, -all, all)
	return v / z, nil
}

// LogZ implements Partition: log ∫ exp(−u(x)/kT) dx, by quadrature.
func (q *QuarticDoubleWell) LogZ(kT float64) (float64, error) {
	w, err := q.boltzmann(kT)
	if err != nil {
		return 0, err
	}
	all := math.Inf(1)
	return math.Log(w.mass(-all, all)) - w.umin/kT, nil
}
