package nn

import (
	"fmt"
	"math"
	"slices"
)

// Adam is the optimizer of Kingma and Ba with PyTorch's defaults (beta1
// 0.9, beta2 0.999, eps 1e-8) and bias correction, over a flat parameter
// vector split into groups. A group whose gradient is all zero in a step
// is left as it is, moments and step count included: it took no part in
// the loss, as a PyTorch parameter without a gradient. Without that, the
// momentum of one objective (say the hydrogen placer's) would keep moving
// its parameters while another objective (the flow's likelihood) trains.
// The moments and step counts are exported so that a checkpoint can save
// and restore them exactly.
type Adam struct {
	Beta1, Beta2, Eps float64
	M, V              []float64
	// Bounds are the groups' limits: group i is [Bounds[i], Bounds[i+1]).
	Bounds []int
	// T counts the steps each group has taken.
	T []int64
}

// NewAdam returns an optimizer for n parameters, in groups split at the
// given interior boundaries (none: one group).
func NewAdam(n int, splits ...int) *Adam {
	bounds := append(append([]int{0}, splits...), n)
	if !slices.IsSorted(bounds) {
		panic(fmt.Sprintf("nn: Adam group boundaries %v out of order", bounds))
	}
	return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, M: make([]float64, n), V: make([]float64, n),
		Bounds: bounds, T: make([]int64, len(bounds)-1)}
}

// Step moves values against grad with learning rate lr.
func (a *Adam) Step(values, grad []float64, lr float64) {
	for gi := range a.T {
		lo, hi := a.Bounds[gi], a.Bounds[gi+1]
		if !slices.ContainsFunc(grad[lo:hi], func(g float64) bool { return g != 0 }) {
			continue
		}
		a.T[gi]++
		c1 := 1 - math.Pow(a.Beta1, float64(a.T[gi]))
		c2 := 1 - math.Pow(a.Beta2, float64(a.T[gi]))
		step := lr / c1
		for i := lo; i < hi; i++ {
			g := grad[i]
			m := a.Beta1*a.M[i] + (1-a.Beta1)*g
			v := a.Beta2*a.V[i] + (1-a.Beta2)*g*g
			a.M[i], a.V[i] = m, v
			values[i] -= step * m / (math.Sqrt(v/c2) + a.Eps)
		}
	}
}

// ClipNorm scales grad so that its norm is at most maxNorm (when positive)
// and returns the norm before clipping.
func ClipNorm(grad []float64, maxNorm float64) float64 {
	norm := Norm(grad)
	if maxNorm > 0 && norm > maxNorm {
		s := maxNorm / norm
		for i := range grad {
			grad[i] *= s
		}
	}
	return norm
}
