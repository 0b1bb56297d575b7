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
func Apply[T Float](a Activation, x []T) {
	switch a {
	case CELU:
		// Branch-free, as max(x, expm1(min(x, 0))) (expm1(x) >= x): the
		// signs of a hidden layer are a coin toss, and a mispredicted
		// branch costs as much as the exponential. One type switch per
		// slice, not per element.
		switch x := any(x).(type) {
		case []float64:
			celu64(x)
		case []float32:
			celu32(x)
		}
	case Tanh:
		for i, v := range x {
			x[i] = T(math.Tanh(float64(v)))
		}
	}
}

// Backprop multiplies the cotangents dy by f'(x), given the outputs y =
// f(x).
func Backprop[T Float](a Activation, y, dy []T) {
	switch a {
	case CELU:
		// f'(x) = exp(x) = y + 1 for x <= 0, 1 above: min(y + 1, 1),
		// branch-free.
		dy = dy[:len(y)]
		for i, v := range y {
			dy[i] *= min(v+1, 1)
		}
	case Tanh:
		for i, v := range y {
			dy[i] *= 1 - v*v
		}
	}
}
