package forcefields

import (
	"context"
	"fmt"
)

// Model is a batched energy model.
type Model interface {
	// Dim is the number of coordinates of one configuration: 3N for a
	// molecule of N atoms.
	Dim() int
	// Terms names the per-term energies, in the order Evaluate writes them.
	// Their sum is the total energy.
	Terms() []string
	// Evaluate computes the batch's energies and, when the slices are not
	// nil, its forces and per-term energies. It returns an error, and no
	// partial result should be used, if the batch is malformed or the
	// model cannot evaluate it (a plugin that died, a cancelled context).
	Evaluate(ctx context.Context, b *Batch) error
}

// Batch is one request to a Model. Coords and Energy are required; Forces and
// Terms are filled only when not nil.
type Batch struct {
	Coords []float64 // B*Dim coordinates, angstrom
	Energy []float64 // B energies, kcal/mol (written)
	Forces []float64 // nil, or B*Dim forces, kcal/mol/A (written)
	Terms  []float64 // nil, or B*len(Terms()) per-term energies (written)
}

// Size returns the number of configurations in the batch.
func (b *Batch) Size() int { return len(b.Energy) }

// NewBatch allocates a batch of n configurations for m, with forces and
// per-term energies when asked for.
func NewBatch(m Model, n int, forces, terms bool) *Batch {
	b := &Batch{Coords: make([]float64, n*m.Dim()), Energy: make([]float64, n)}
	if forces {
		b.Forces = make([]float64, n*m.Dim())
	}
	if terms {
		b.Terms = make([]float64, n*len(m.Terms()))
	}
	return b
}

// Check validates the shape of a batch for a model of dimension dim with
// nterms per-term energies, and that every coordinate is finite: a NaN or an
// infinity in the input is an error naming the configuration and the atom,
// never a silent NaN energy.
func (b *Batch) Check(dim, nterms int) error {
	n := len(b.Energy)
	if dim <= 0 {
		return fmt.Errorf("model has dimension %d", dim)
	}
	if len(b.Coords) != n*dim {
		if len(b.Coords)%dim != 0 {
			return fmt.Errorf("coordinates: %d values is not a whole number of configurations of %d coordinates (%d atoms)", len(b.Coords), dim, dim/3)
		}
		return fmt.Errorf("coordinates hold %d configurations but the energy slice has room for %d", len(b.Coords)/dim, n)
	}
	if b.Forces != nil && len(b.Forces) != n*dim {
		return fmt.Errorf("forces: length %d, want %d", len(b.Forces), n*dim)
	}
	if b.Terms != nil && len(b.Terms) != n*nterms {
		return fmt.Errorf("per-term energies: length %d, want %d", len(b.Terms), n*nterms)
	}
	for i, x := range b.Coords {
		// x-x is 0 for every finite x and NaN for NaN and both
		// infinities: one subtraction, where IsNaN and IsInf cost two
		// tests on a scan that plugins pay on both sides of a call.
		if x-x != 0 {
			return &NonFiniteError{Config: i / dim, Coord: i % dim, Value: x}
		}
	}
	return nil
}

// NonFiniteError reports a NaN or infinite input coordinate.
type NonFiniteError struct {
	Config int // 0-based configuration in the batch
	Coord  int // 0-based coordinate within the configuration
	Value  float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("configuration %d, atom %d, %c coordinate is %v: coordinates must be finite",
		e.Config, e.Coord/3+1, "xyz"[e.Coord%3], e.Value)
}

// TermIndex returns the index of the named term in m.Terms(), or -1.
func TermIndex(m Model, name string) int {
	for i, t := range m.Terms() {
		if t == name {
			return i
		}
	}
	return -1
}
