package analytic

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/integrate/quad"
)

// ErrNotExact is returned (wrapped) by the exact-reference methods for a
// quantity the model does not know exactly, for instance a Gaussian mixture's
// mode fractions at kT ≠ 1 or the φ⁴ ring's mode weights.
var ErrNotExact = errors.New("analytic: no exact reference")

// Modal is implemented by models whose Boltzmann density exp(−U/kT) has
// named metastable states. The modes are numbered 0..NumModes()-1.
type Modal interface {
	// NumModes is the number of modes.
	NumModes() int
	// ModeCenters returns one representative point per mode (a minimum of
	// the energy, or a component mean), as fresh slices of length Dim.
	ModeCenters() [][]float64
	// ModeOf assigns a configuration to a mode, with the same rule that
	// defines ModeFraction (a dividing surface, or the most responsible
	// mixture component). It returns -1 for a slice of the wrong length or
	// with non-finite values.
	ModeOf(x []float64) int
	// ModeFraction is the probability of mode under exp(−U/kT)/Z. It
	// returns an error wrapping ErrNotExact when the model cannot compute
	// it exactly at this kT.
	ModeFraction(mode int, kT float64) (float64, error)
}

// Moments is implemented by models that know the mean and variance of each
// coordinate under exp(−U/kT)/Z.
type Moments interface {
	Mean(coord int, kT float64) (float64, error)
	Variance(coord int, kT float64) (float64, error)
}

// Partition is implemented by models that know their log partition function
// log Z(kT) = log ∫ exp(−U(x)/kT) dx.
type Partition interface {
	LogZ(kT float64) (float64, error)
}

// checkKT validates a temperature.
func checkKT(kT float64) error {
	if !(kT > 0) || math.IsInf(kT, 0) {
		return fmt.Errorf("kT = %v: want a finite positive temperature", kT)
	}
	return nil
}

func checkMode(mode, n int) error {
	if mode < 0 || mode >= n {
		return fmt.Errorf("mode %d: the model has %d mode(s), numbered from 0", mode, n)
	}
	return nil
}

func checkCoord(coord, dim int) error {
	if coord < 0 || coord >= dim {
		return fmt.Errorf("coordinate %d: the model has %d coordinates, numbered from 0", coord, dim)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func allFinite(x []float64) bool {
	for _, v := range x {
		if !finite(v) {
			return false
		}
	}
	return true
}

// bisect returns the root of f in [lo, hi], where f(lo) and f(hi) have
// opposite signs (or one is zero), to the resolution of float64.
func bisect(f func(float64) float64, lo, hi float64) float64 {
	flo := f(lo)
	if flo == 0 {
		return lo
	}
	if f(hi) == 0 {
		return hi
	}
	for range 2200 {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		fm := f(mid)
		if fm == 0 {
			return mid
		}
		if (fm < 0) == (flo < 0) {
			lo, flo = mid, fm
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2
}

// bracketOut steps away from x in direction dir (±1), doubling the step,
// until f changes sign relative to f(x), and returns that point. ok is false
// if no sign change was found before the step overflowed.
func bracketOut(f func(float64) float64, x, dir, step float64) (float64, bool) {
	fx := f(x)
	for range 2200 {
		y := x + dir*step
		if math.IsInf(y, 0) {
			return 0, false
		}
		if fy := f(y); fy == 0 || (fy < 0) != (fx < 0) {
			return y, true
		}
		step *= 2
	}
	return 0, false
}

// Quadrature settings for the one-dimensional Boltzmann integrals. The
// interval is cut at the breakpoints (minima, barrier top, requested limits)
// into segments of quadPanels panels each; then the panel with the largest
// error estimate (the difference between its quadNodes-point Gauss–Legendre
// value and the sum over its two halves) is halved, globally, until the total
// error estimate is below quadAbs·width (the integrands are bounded by about
// one) or quadRel of the integral, or until quadMaxPanels panels: a noisy
// integrand (kT so small that roundoff in u shows) costs a bounded amount of
// work instead of an endless refinement.
const (
	quadNodes     = 20
	quadPanels    = 4
	quadAbs       = 1e-14
	quadRel       = 1e-13
	quadMaxPanels = 4000
	// quadCut: the window extends until the energy is this many kT above
	// the global minimum, where exp(−80) ≈ 2e-35 is negligible.
	quadCut = 80
)

// glNodes and glWeights are the Gauss–Legendre rule on [−1, 1], from gonum.
var glNodes, glWeights = func() ([]float64, []float64) {
	x, w := make([]float64, quadNodes), make([]float64, quadNodes)
	quad.Legendre{}.FixedLocations(x, w, -1, 1)
	return x, w
}()

// gaussLegendre integrates f over [a, b] with the fixed Gauss–Legendre rule.
func gaussLegendre(f func(float64) float64, a, b float64) float64 {
	if !(b > a) {
		return 0
	}
	half, mid := (b-a)/2, a+(b-a)/2
	s := 0.0
	for i, x := range glNodes {
		s += glWeights[i] * f(mid+half*x)
	}
	return half * s
}

// panel is one piece of the adaptive quadrature: whole is the rule on
// [a, b], left and right the rule on its halves.
type panel struct {
	a, b, whole, left, right float64
}

func (p *panel) value() float64 { return p.left + p.right }
func (p *panel) err() float64   { return math.Abs(p.left + p.right - p.whole) }

func newPanel(f func(float64) float64, a, b, whole float64) panel {
	m := a + (b-a)/2
	return panel{a: a, b: b, whole: whole, left: gaussLegendre(f, a, m), right: gaussLegendre(f, m, b)}
}

// panelHeap is a max-heap of panels by error estimate.
type panelHeap []panel

func (h panelHeap) Len() int           { return len(h) }
func (h panelHeap) Less(i, j int) bool { return h[i].err() > h[j].err() }
func (h panelHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *panelHeap) Push(x any)        { *h = append(*h, x.(panel)) }
func (h *panelHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}

// integratePieces integrates f over [lo, hi], splitting first at the
// breakpoints that fall inside, then adaptively.
func integratePieces(f func(float64) float64, lo, hi float64, breaks []float64) float64 {
	if !(hi > lo) {
		return 0
	}
	pts := []float64{lo, hi}
	for _, p := range breaks {
		if p > lo && p < hi {
			pts = append(pts, p)
		}
	}
	slices.Sort(pts)
	pts = slices.Compact(pts)
	h := make(panelHeap, 0, quadMaxPanels+2)
	for i := 0; i+1 < len(pts); i++ {
		w := (pts[i+1] - pts[i]) / quadPanels
		for k := range quadPanels {
			a, b := pts[i]+float64(k)*w, pts[i]+float64(k+1)*w
			if k == quadPanels-1 {
				b = pts[i+1]
			}
			if b > a {
				h = append(h, newPanel(f, a, b, gaussLegendre(f, a, b)))
			}
		}
	}
	heap.Init(&h)
	sum := func() (v, e float64) {
		for i := range h {
			v += h[i].value()
			e += h[i].err()
		}
		return v, e
	}
	for len(h) < quadMaxPanels {
		v, e := sum()
		if e <= math.Max(quadAbs*(hi-lo), quadRel*math.Abs(v)) {
			break
		}
		p := heap.Pop(&h).(panel)
		m := p.a + (p.b-p.a)/2
		if !(m > p.a && m < p.b) {
			// Cannot be halved in float64: keep it as it is.
			p.whole = p.value()
			heap.Push(&h, p)
			continue
		}
		heap.Push(&h, newPanel(f, p.a, m, p.left))
		heap.Push(&h, newPanel(f, m, p.b, p.right))
	}
	v, _ := sum()
	return v
}

// SolveTilt returns the tilt c > 0 for which the quartic
// u(x) = a x⁴ + b x² + c x (a > 0, b < 0) puts probability fraction in its
// minor mode (x above the barrier top) under exp(−u/kT). fraction must lie
// in (0, ½); the tilt is found by bisection on c ∈ (0, c_crit), where
// c_crit = (4|b|/3)·sqrt(|b|/(6a)) is the tilt at which the minor well
// disappears, with the fraction computed by quadrature at each step. It is
// how DoubleWellC was obtained: SolveTilt(1, −4, 0.22, 1).
func SolveTilt(a, b, fraction, kT float64) (float64, error) {
	if !(a > 0) || !finite(a) || !(b < 0) || !finite(b) {
		return 0, fmt.Errorf("SolveTilt: need a > 0 and b < 0 (finite) for two wells, got a = %v, b = %v", a, b)
	}
	if !(fraction > 0 && fraction < 0.5) {
		return 0, fmt.Errorf("SolveTilt: fraction %v: want 0 < fraction < 0.5", fraction)
	}
	if err := checkKT(kT); err != nil {
		return 0, fmt.Errorf("SolveTilt: %w", err)
	}
	ccrit := 4 * -b / 3 * math.Sqrt(-b/(6*a))
	minor := func(c float64) (float64, error) {
		q, err := NewQuarticDoubleWell(a, b, c)
		if err != nil {
			return 0, err
		}
		if q.NumModes() != 2 {
			return 0, fmt.Errorf("SolveTilt: tilt %v leaves a single well", c)
		}
		return q.ModeFraction(1, kT)
	}
	lo, hi := 0.0, ccrit*(1-1e-9)
	fhi, err := minor(hi)
	if err != nil {
		return 0, err
	}
	if fhi > fraction {
		return 0, fmt.Errorf("SolveTilt: even the largest tilt keeps %.6g of the mass in the minor well at kT = %v, above the requested %v", fhi, kT, fraction)
	}
	for range 200 {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		f, err := minor(mid)
		if err != nil {
			return 0, err
		}
		if f > fraction {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2, nil
}
