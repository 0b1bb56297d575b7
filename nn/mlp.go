package nn

import (
	"fmt"
	"math/rand/v2"
)

// MLP is a stack of dense layers with an activation after every layer but
// the last.
type MLP struct {
	Layers []*Dense
	Act    Activation
}

// NewMLP registers an MLP with the given layer sizes (input first, output
// last) in s. With zeroLast, the last layer starts at zero: a coupling
// block built on it then starts as the identity, and a deep flow starts
// as its base distribution instead of a random composition of maps.
func NewMLP(s *Set, name string, sizes []int, act Activation, zeroLast bool, rng *rand.Rand) *MLP {
	if len(sizes) < 2 {
		panic("nn: an MLP needs at least an input and an output size")
	}
	m := &MLP{Act: act}
	for i := 0; i+1 < len(sizes); i++ {
		m.Layers = append(m.Layers, NewDense(s, fmt.Sprintf("%s.%d", name, i), sizes[i], sizes[i+1], rng))
	}
	if zeroLast {
		last := m.Layers[len(m.Layers)-1]
		s.Fill(last.W, 0)
		s.Fill(last.B, 0)
	}
	return m
}

// In and Out are the input and output widths.
func (m *MLP) In() int  { return m.Layers[0].In }
func (m *MLP) Out() int { return m.Layers[len(m.Layers)-1].Out }

// MLPCache holds one worker's activations of an MLP between a forward and
// a backward pass. Its buffers grow to the largest batch seen and are
// reused: the hot path does not allocate.
type MLPCache struct {
	h  [][]float64 // outputs of the hidden layers, after the activation
	dh [][]float64 // their cotangents
}

func (c *MLPCache) ensure(m *MLP, n int) {
	if len(c.h) != len(m.Layers)-1 {
		c.h = make([][]float64, len(m.Layers)-1)
		c.dh = make([][]float64, len(m.Layers)-1)
	}
	for i := range c.h {
		size := n * m.Layers[i].Out
		if cap(c.h[i]) < size {
			c.h[i] = make([]float64, size)
			c.dh[i] = make([]float64, size)
		}
		c.h[i] = c.h[i][:size]
		c.dh[i] = c.dh[i][:size]
	}
}

// Forward computes the outputs (n x Out) of n input rows (n x In),
// keeping in c what Backward needs.
func (m *MLP) Forward(params []float64, n int, x, out []float64, c *MLPCache) {
	c.ensure(m, n)
	in := x
	for i, l := range m.Layers {
		if i == len(m.Layers)-1 {
			l.Forward(params, n, in, out)
			break
		}
		l.Forward(params, n, in, c.h[i])
		m.Act.Apply(c.h[i])
		in = c.h[i]
	}
}

// Backward takes the cotangent of the outputs of the last Forward on c
// (dout is left unchanged), adds the parameters' gradients into grad and,
// when dx is not nil, writes the inputs' cotangent into it.
func (m *MLP) Backward(params, grad []float64, n int, x, dout, dx []float64, c *MLPCache) {
	dy := dout
	for i := len(m.Layers) - 1; i >= 0; i-- {
		in, din := x, dx
		if i > 0 {
			in, din = c.h[i-1], c.dh[i-1]
		}
		m.Layers[i].Backward(params, grad, n, in, dy, din)
		if i > 0 {
			m.Act.Backprop(c.h[i-1], din)
			dy = din
		}
	}
}
