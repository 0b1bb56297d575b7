package nn

import "math"

// Activation is an elementwise function whose derivative is a function of
// its output, so that a backward pass needs only what the forward pass
// kept.
type Activation int

const (
	Identity Activation = iota
	// CELU with alpha = 1: x for x > 0, exp(x) - 1 otherwise (the
	// thesis' choice; smooth, so forces through the flow are continuous).
	CELU
	Tanh
)

func (a Activation) String() string {
	switch a {
	case Identity:
		return "identity"
	case CELU:
		return "celu"
	case Tanh:
		return "tanh"
	}
	return "unknown"
}

// Apply replaces every x by f(x).
func (a Activation) Apply(x []float64) {
	switch a {
	case CELU:
		for i, v := range x {
			if v <= 0 {
				x[i] = math.Expm1(v)
			}
		}
	case Tanh:
		for i, v := range x {
			x[i] = math.Tanh(v)
		}
	}
}

// Backprop multiplies the cotangents dy by f'(x), given the outputs y =
// f(x).
func (a Activation) Backprop(y, dy []float64) {
	switch a {
	case CELU:
		// f'(x) = exp(x) = y + 1 for x <= 0.
		for i, v := range y {
			if v <= 0 {
				dy[i] *= v + 1
			}
		}
	case Tanh:
		for i, v := range y {
			dy[i] *= 1 - v*v
		}
	}
}
