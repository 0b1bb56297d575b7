package nn

import (
	"math"
	"math/rand/v2"
)

// Dense is the affine layer y = x W + b on a batch of rows, in element
// type T. W is stored in x out, row-major, so that the whole batch is one
// matrix product. The layer holds only the places of its parameters: the
// numbers are passed in, from a Set's Values or a float32 copy of them.
type Dense[T Float] struct {
	In, Out int
	W, B    Param
}

// NewDense registers the layer's weights in s, initialized as PyTorch's
// nn.Linear does (uniform within 1/sqrt(in)), so that flows trained here
// and in PyTorch start from the same distribution of networks.
func NewDense[T Float](s *Set, name string, in, out int, rng *rand.Rand) *Dense[T] {
	d := &Dense[T]{In: in, Out: out, W: s.Add(name+".weight", in, out), B: s.Add(name+".bias", out)}
	bound := 1 / math.Sqrt(float64(in))
	s.Uniform(d.W, bound, rng)
	s.Uniform(d.B, bound, rng)
	return d
}

// Forward computes y = x W + b for n rows. x is n x In, y is n x Out.
func (d *Dense[T]) Forward(params []T, n int, x, y []T) {
	b := View(d.B, params)
	for r := 0; r < n; r++ {
		copy(y[r*d.Out:(r+1)*d.Out], b)
	}
	gemm(false, false, n, d.Out, d.In, 1, x, d.In, View(d.W, params), d.Out, 1, y, d.Out)
}

// Backward takes the cotangent dy of the outputs for the inputs x of the
// forward pass, adds the parameters' gradients into grad (laid out like
// params) unless grad is nil and, when dx is not nil, writes the inputs'
// cotangent into it. A nil grad saves the weights' product, a third of
// the layer's work, for callers that need forces only.
func (d *Dense[T]) Backward(params, grad []T, n int, x, dy, dx []T) {
	if grad != nil {
		// dW += x^T dy; db += sum over rows of dy.
		gemm(true, false, d.In, d.Out, n, 1, x, d.In, dy, d.Out, 1, View(d.W, grad), d.Out)
		db := View(d.B, grad)
		for r := 0; r < n; r++ {
			row := dy[r*d.Out : (r+1)*d.Out]
			for j, v := range row {
				db[j] += v
			}
		}
	}
	if dx != nil {
		gemm(false, true, n, d.In, d.Out, 1, dy, d.Out, View(d.W, params), d.Out, 0, dx, d.In)
	}
}
