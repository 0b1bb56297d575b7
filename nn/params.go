package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Param names a block of a Set's flat vector: one weight matrix or bias.
type Param struct {
	Name   string
	Shape  []int
	Offset int
	Size   int
	// Frozen parameters are saved with the model but never trained
	// (a flow's fixed standardization).
	Frozen bool
}

// Of returns the parameter's part of a flat vector laid out by its Set:
// the values, a gradient, or an optimizer moment.
func (p Param) Of(flat []float64) []float64 {
	return flat[p.Offset : p.Offset+p.Size : p.Offset+p.Size]
}

// View returns the parameter's part of a flat vector of any element type
// laid out by its Set, such as a float32 copy of the values.
func View[T Float](p Param, flat []T) []T {
	return flat[p.Offset : p.Offset+p.Size : p.Offset+p.Size]
}

// Set is the registry of a model's parameters. Layers register their
// blocks when they are built; Values is the one flat vector that holds
// them all.
type Set struct {
	params []Param
	byName map[string]int
	Values []float64
}

// NewSet returns an empty parameter set.
func NewSet() *Set { return &Set{byName: map[string]int{}} }

// Add registers a block of the given shape, zero-initialized. Names must be
// unique: they are the array names of a saved model.
func (s *Set) Add(name string, shape ...int) Param {
	if _, dup := s.byName[name]; dup {
		panic(fmt.Sprintf("nn: parameter %q registered twice", name))
	}
	size := 1
	for _, d := range shape {
		size *= d
	}
	p := Param{Name: name, Shape: append([]int(nil), shape...), Offset: len(s.Values), Size: size}
	s.Values = append(s.Values, make([]float64, size)...)
	s.byName[name] = len(s.params)
	s.params = append(s.params, p)
	return p
}

// AddFrozen registers a block that is saved with the model but not
// trained: Step leaves it as it is.
func (s *Set) AddFrozen(name string, shape ...int) Param {
	p := s.Add(name, shape...)
	p.Frozen = true
	s.params[len(s.params)-1] = p
	return p
}

// Trainable is the number of numbers the optimizer changes.
func (s *Set) Trainable() int {
	n := 0
	for _, p := range s.params {
		if !p.Frozen {
			n += p.Size
		}
	}
	return n
}

// Params lists the blocks in the order they were added.
func (s *Set) Params() []Param { return s.params }

// Lookup returns the block with the given name.
func (s *Set) Lookup(name string) (Param, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Param{}, false
	}
	return s.params[i], true
}

// Values32 copies the values into a float32 vector (allocated when dst is
// too short), for networks that run in float32.
func (s *Set) Values32(dst []float32) []float32 {
	if cap(dst) < len(s.Values) {
		dst = make([]float32, len(s.Values))
	}
	dst = dst[:len(s.Values)]
	for i, v := range s.Values {
		dst[i] = float32(v)
	}
	return dst
}

// Len is the number of trainable numbers.
func (s *Set) Len() int { return len(s.Values) }

// Uniform fills p with draws from U(-bound, bound).
func (s *Set) Uniform(p Param, bound float64, rng *rand.Rand) {
	vals := p.Of(s.Values)
	for i := range vals {
		vals[i] = bound * (2*rng.Float64() - 1)
	}
}

// Fill sets every value of p to v.
func (s *Set) Fill(p Param, v float64) {
	vals := p.Of(s.Values)
	for i := range vals {
		vals[i] = v
	}
}

// Norm is the Euclidean norm of a flat vector, such as a gradient.
func Norm(g []float64) float64 {
	var s float64
	for _, v := range g {
		s += v * v
	}
	return math.Sqrt(s)
}
