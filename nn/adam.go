package nn

import "math"

// Adam is the optimizer of Kingma and Ba with PyTorch's defaults (beta1
// 0.9, beta2 0.999, eps 1e-8) and bias correction, over a flat parameter
// vector. Its moments and step count are exported so that a checkpoint can
// save and restore them exactly.
type Adam struct {
	Beta1, Beta2, Eps float64
	M, V              []float64
	T                 int64
}

// NewAdam returns an optimizer for n parameters.
func NewAdam(n int) *Adam {
	return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, M: make([]float64, n), V: make([]float64, n)}
}

// Step moves values against grad with learning rate lr.
func (a *Adam) Step(values, grad []float64, lr float64) {
	a.T++
	c1 := 1 - math.Pow(a.Beta1, float64(a.T))
	c2 := 1 - math.Pow(a.Beta2, float64(a.T))
	step := lr / c1
	for i, g := range grad {
		m := a.Beta1*a.M[i] + (1-a.Beta1)*g
		v := a.Beta2*a.V[i] + (1-a.Beta2)*g*g
		a.M[i], a.V[i] = m, v
		values[i] -= step * m / (math.Sqrt(v/c2) + a.Eps)
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
