package analytic

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowmd/flowmd/forcefields"
)

// cancelEvery is how many configurations Evaluate processes between two
// looks at the context.
const cancelEvery = 1024

// check validates a batch for a model of dimension dim with nterms terms, and
// the context, before any work: a nil batch is an error, a nil context means
// no cancellation.
func check(ctx context.Context, b *forcefields.Batch, dim, nterms int) error {
	if b == nil {
		return errors.New("nil batch")
	}
	if err := b.Check(dim, nterms); err != nil {
		return err
	}
	if ctx != nil {
		return ctx.Err()
	}
	return nil
}

// cancelled reports the context's error every cancelEvery configurations.
func cancelled(ctx context.Context, config int) error {
	if ctx == nil || config%cancelEvery != cancelEvery-1 {
		return nil
	}
	return ctx.Err()
}

// overflowError is returned when a finite input gives a NaN energy, which
// only happens when intermediate values overflow float64.
func overflowError(model string, config int) error {
	return fmt.Errorf("%s: configuration %d: the energy is not a number (coordinates too large for float64)", model, config)
}

// What each model implements.
var (
	_ forcefields.Model = (*Harmonic)(nil)
	_ forcefields.Model = (*QuarticDoubleWell)(nil)
	_ forcefields.Model = (*DoubleWell)(nil)
	_ forcefields.Model = (*DW4)(nil)
	_ forcefields.Model = (*LJ13)(nil)
	_ forcefields.Model = (*GaussianMixture)(nil)
	_ forcefields.Model = (*Phi4)(nil)

	_ interface {
		Modal
		Moments
		Partition
	} = (*Harmonic)(nil)
	_ interface {
		Modal
		Moments
		Partition
	} = (*QuarticDoubleWell)(nil)
	_ interface {
		Modal
		Moments
		Partition
	} = (*DoubleWell)(nil)
	_ interface {
		Modal
		Moments
		Partition
	} = (*GaussianMixture)(nil)
	_ Modal = (*Phi4)(nil)
)
