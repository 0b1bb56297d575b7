package nn

import (
	"fmt"
	"math/rand/v2"
)

// MLP is a stack of dense layers with an activation after every layer but
// the last, in element type T.
type MLP[T Float] struct {
	Layers []*Dense[T]
	Act    Activation
}

// NewMLP registers an MLP with the given layer sizes (input first, output
// last) in s. With zeroLast, the last layer starts at zero: a coupling
// block built on it then starts as the identity, and a deep flow starts
// as its base distribution instead of a random composition of maps.
func NewMLP[T Float](s *Set, name string, sizes []int, act Activation, zeroLast bool, rng *rand.Rand) *MLP[T] {
	if len(sizes) < 2 {
		panic("nn: an MLP needs at least an input and an output size")
	}
	m := &MLP[T]{Act: act}
	for i := 0; i+1 < len(sizes); i++ {
		m.Layers = append(m.Layers, NewDense[T](s, fmt.Sprintf("%s.%d", name, i), sizes[i], sizes[i+1], rng))
	}
	if zeroLast {
		last := m.Layers[len(m.Layers)-1]
		s.Fill(last.W, 0)
		s.Fill(last.B, 0)
	}
	return m
}

// Retype returns the same network (the same parameters) computing in
// element type U, with its parameters' offsets moved down by base: it then
// reads and writes vectors that start at the network's first parameter
// (Span), such as a per-worker float32 gradient of just this network.
func Retype[U, T Float](m *MLP[T], base int) *MLP[U] {
	out := &MLP[U]{Act: m.Act}
	for _, l := range m.Layers {
		w, b := l.W, l.B
		w.Offset -= base
		b.Offset -= base
		out.Layers = append(out.Layers, &Dense[U]{In: l.In, Out: l.Out, W: w, B: b})
	}
	return out
}

// Span is the range [lo, hi) of the flat vector that holds the network's
// parameters (registered one after another by NewMLP).
func (m *MLP[T]) Span() (lo, hi int) {
	lo = m.Layers[0].W.Offset
	last := m.Layers[len(m.Layers)-1].B
	return lo, last.Offset + last.Size
}

// In and Out are the input and output widths.
func (m *MLP[T]) In() int  { return m.Layers[0].In }
func (m *MLP[T]) Out() int { return m.Layers[len(m.Layers)-1].Out }

// MLPCache holds one worker's activations of an MLP between a forward and
// a backward pass. Its buffers grow to the largest batch seen and are
// reused: the hot path does not allocate.
type MLPCache[T Float] struct {
	h  [][]T // outputs of the hidden layers, after the activation
	dh [][]T // their cotangents
}

func (c *MLPCache[T]) ensure(m *MLP[T], n int) {
	if len(c.h) != len(m.Layers)-1 {
		c.h = make([][]T, len(m.Layers)-1)
		c.dh = make([][]T, len(m.Layers)-1)
	}
	for i := range c.h {
		size := n * m.Layers[i].Out
		if cap(c.h[i]) < size {
			c.h[i] = make([]T, size)
			c.dh[i] = make([]T, size)
		}
		c.h[i] = c.h[i][:size]
		c.dh[i] = c.dh[i][:size]
	}
}

// Forward computes the outputs (n x Out) of n input rows (n x In),
// keeping in c what Backward needs.
func (m *MLP[T]) Forward(params []T, n int, x, out []T, c *MLPCache[T]) {
	c.ensure(m, n)
	in := x
	for i, l := range m.Layers {
		if i == len(m.Layers)-1 {
			l.Forward(params, n, in, out)
			break
		}
		l.Forward(params, n, in, c.h[i])
		Apply(m.Act, c.h[i])
		in = c.h[i]
	}
}

// Backward takes the cotangent of the outputs of the last Forward on c
// (dout is left unchanged), adds the parameters' gradients into grad
// (unless it is nil) and, when dx is not nil, writes the inputs' cotangent
// into it.
func (m *MLP[T]) Backward(params, grad []T, n int, x, dout, dx []T, c *MLPCache[T]) {
	dy := dout
	for i := len(m.Layers) - 1; i >= 0; i-- {
		in, din := x, dx
		if i > 0 {
			in, din = c.h[i-1], c.dh[i-1]
		}
		m.Layers[i].Backward(params, grad, n, in, dy, din)
		if i > 0 {
			Backprop(m.Act, c.h[i-1], din)
			dy = din
		}
	}
}
