package integrators

import (
	"context"
	"math"

	"github.com/flowmd/flowmd/forcefields"
)

// harmonic is U = sum_i k_i x_i^2 / 2: under Boltzmann sampling each x_i
// is Gaussian with variance kT/k_i exactly.
type harmonic struct{ k []float64 }

func (h harmonic) Dim() int        { return len(h.k) }
func (h harmonic) Terms() []string { return []string{"harmonic"} }
func (h harmonic) Evaluate(_ context.Context, b *forcefields.Batch) error {
	if err := b.Check(h.Dim(), 1); err != nil {
		return err
	}
	d := h.Dim()
	for c := range b.Energy {
		x := b.Coords[c*d : (c+1)*d]
		var e float64
		for i, k := range h.k {
			e += 0.5 * k * x[i] * x[i]
			if b.Forces != nil {
				b.Forces[c*d+i] = -k * x[i]
			}
		}
		b.Energy[c] = e
		if b.Terms != nil {
			b.Terms[c] = e
		}
	}
	return nil
}

// quartic is the one-dimensional double well U = a x^4 - b x^2 + c x.
type quartic struct{ a, b, c float64 }

func (q quartic) u(x float64) float64  { return q.a*x*x*x*x - q.b*x*x + q.c*x }
func (q quartic) du(x float64) float64 { return 4*q.a*x*x*x - 2*q.b*x + q.c }
func (q quartic) Dim() int             { return 1 }
func (q quartic) Terms() []string      { return []string{"double_well"} }
func (q quartic) Evaluate(_ context.Context, b *forcefields.Batch) error {
	if err := b.Check(1, 1); err != nil {
		return err
	}
	for c, x := range b.Coords {
		b.Energy[c] = q.u(x)
		if b.Forces != nil {
			b.Forces[c] = -q.du(x)
		}
		if b.Terms != nil {
			b.Terms[c] = b.Energy[c]
		}
	}
	return nil
}

// barrier returns the position of the barrier top between the two wells:
// the local maximum of u, found by bisection on u' near x = 0.
func (q quartic) barrier() float64 {
	lo, hi := -0.5, 0.5 // u' > 0 at lo... for the wells used here
	if q.du(lo) < 0 {
		lo, hi = hi, lo
	}
	for i := 0; i < 200; i++ {
		mid := (lo + hi) / 2
		if q.du(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// leftFraction returns the Boltzmann probability of x < barrier at kT by
// composite Simpson quadrature on [-6, 6].
func (q quartic) leftFraction(kT float64) float64 {
	xb := q.barrier()
	integrate := func(lo, hi float64) float64 {
		const n = 20000
		h := (hi - lo) / n
		s := math.Exp(-q.u(lo)/kT) + math.Exp(-q.u(hi)/kT)
		for i := 1; i < n; i++ {
			w := 2.0
			if i%2 == 1 {
				w = 4
			}
			s += w * math.Exp(-q.u(lo+float64(i)*h)/kT)
		}
		return s * h / 3
	}
	left := integrate(-6, xb)
	return left / (left + integrate(xb, 6))
}

// meanSE returns the mean of independent estimates and its standard error.
func meanSE(x []float64) (mean, se float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)-1) / float64(len(x)))
}
