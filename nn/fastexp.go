package nn

import "math"

// expm1Neg returns exp(x) - 1 for x <= 0 to within a few units in the
// last place. CELU evaluates it for half of every hidden activation of a
// flow, millions per training step, where math.Expm1's generality (all
// ranges, special values) made it the largest single cost. Here x is
// clamped to [-50, 0] (below that, exp(x) - 1 rounds to -1), reduced as
// x = k ln2 + r with |r| <= ln2/2, and expm1(r) is a polynomial; then
// exp(x) - 1 = 2^k expm1(r) + (2^k - 1), exact for k = 0.
func expm1Neg(x float64) float64 {
	const (
		ln2Hi  = 6.93147180369123816490e-01
		ln2Lo  = 1.90821492927058770002e-10
		log2e  = 1.44269504088896338700e+00
		lowest = -50
	)
	x = max(x, lowest)
	k := float64(int64(x*log2e - 0.5)) // round to nearest for x <= 0
	r := (x - k*ln2Hi) - k*ln2Lo
	// Taylor series of expm1 to r^13: the remainder is below 1e-17 for
	// |r| <= ln2/2.
	// Estrin's scheme: short dependency chains, so that consecutive
	// elements overlap in the pipeline.
	r2 := r * r
	r4 := r2 * r2
	r8 := r4 * r4
	q0 := c1 + r*c2
	q1 := c3 + r*c4
	q2 := c5 + r*c6
	q3 := c7 + r*c8
	q4 := c9 + r*c10
	q5 := c11 + r*c12
	p := r * ((q0 + r2*q1) + r4*(q2+r2*q3) + r8*((q4+r2*q5)+r4*c13))
	scale := math.Float64frombits(uint64(int64(k)+1023) << 52)
	return scale*p + (scale - 1)
}

// 1/k!, the Taylor coefficients of expm1.
const (
	c1  = 1.0
	c2  = 1.0 / 2
	c3  = 1.0 / 6
	c4  = 1.0 / 24
	c5  = 1.0 / 120
	c6  = 1.0 / 720
	c7  = 1.0 / 5040
	c8  = 1.0 / 40320
	c9  = 1.0 / 362880
	c10 = 1.0 / 3628800
	c11 = 1.0 / 39916800
	c12 = 1.0 / 479001600
	c13 = 1.0 / 6227020800
)

// expm1Neg32 is expm1Neg in float32: a polynomial of degree 7 reaches
// float32's precision on |r| <= ln2/2.
func expm1Neg32(x float32) float32 {
	const (
		ln2Hi  = 6.9313812256e-01
		ln2Lo  = 9.0580006145e-06
		log2e  = 1.4426950216e+00
		lowest = -20
	)
	x = max(x, lowest)
	k := float32(int32(x*log2e - 0.5))
	r := (x - k*ln2Hi) - k*ln2Lo
	r2 := r * r
	p := r * ((1 + r*(1.0/2)) + r2*((1.0/6+r*(1.0/24))+r2*((1.0/120+r*(1.0/720))+r2*(1.0/5040))))
	scale := math.Float32frombits(uint32(int32(k)+127) << 23)
	return scale*p + (scale - 1)
}

// celu64 and celu32 apply CELU in place with expm1Neg's arithmetic written
// out in the loop: the call was not inlined, and the loop body is what the
// flows spend most of their non-GEMM time in.
func celu64(x []float64) {
	const (
		ln2Hi  = 6.93147180369123816490e-01
		ln2Lo  = 1.90821492927058770002e-10
		log2e  = 1.44269504088896338700e+00
		lowest = -50
	)
	for i, v := range x {
		u := max(min(v, 0), lowest)
		k := float64(int64(u*log2e - 0.5))
		r := (u - k*ln2Hi) - k*ln2Lo
		r2 := r * r
		r4 := r2 * r2
		r8 := r4 * r4
		p := r * (((c1 + r*c2) + r2*(c3+r*c4)) + r4*((c5+r*c6)+r2*(c7+r*c8)) + r8*(((c9+r*c10)+r2*(c11+r*c12))+r4*c13))
		scale := math.Float64frombits(uint64(int64(k)+1023) << 52)
		x[i] = max(v, scale*p+(scale-1))
	}
}

func celu32(x []float32) {
	const (
		ln2Hi  = 6.9313812256e-01
		ln2Lo  = 9.0580006145e-06
		log2e  = 1.4426950216e+00
		lowest = -20
	)
	for i, v := range x {
		u := max(min(v, 0), lowest)
		k := float32(int32(u*log2e - 0.5))
		r := (u - k*ln2Hi) - k*ln2Lo
		r2 := r * r
		p := r * ((1 + r*(1.0/2)) + r2*((1.0/6+r*(1.0/24))+r2*((1.0/120+r*(1.0/720))+r2*(1.0/5040))))
		scale := math.Float32frombits(uint32(int32(k)+127) << 23)
		x[i] = max(v, scale*p+(scale-1))
	}
}
