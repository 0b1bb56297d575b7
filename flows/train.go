package flows

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/flowmd/flowmd/forcefields"
)

// TrainOptions drive the training loops of this package.
type TrainOptions struct {
	Steps int
	Batch int     // default 256
	LR    float64 // Adam's learning rate; default 1e-3
	Clip  float64 // gradient-norm clip, when positive
	Seed  uint64  // of the minibatch draws
	// Report, when set, is called after every step with its number (from
	// 1) and the batch's loss.
	Report func(step int, loss float64)
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.Batch == 0 {
		o.Batch = 256
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	return o
}

// minibatches draws batches of rows without replacement within an epoch.
type minibatches struct {
	rng    *rand.Rand
	perm   []int
	pos    int
	frames int
}

func (m *minibatches) next(batch int) []int {
	out := make([]int, 0, batch)
	for len(out) < batch {
		if m.pos == len(m.perm) {
			m.perm = m.rng.Perm(m.frames)
			m.pos = 0
		}
		out = append(out, m.perm[m.pos])
		m.pos++
	}
	return out
}

// TrainML trains g by maximum likelihood on frames configurations of data
// (rows of g.Dim()): the thesis' data-dependent KLz^dd, whose loss is the
// mean negative log-likelihood -log p_G(x) = |F(x)|^2 / (2 sigma^2) +
// (d/2) log(2 pi sigma^2) - log |det dF/dx|, backpropagated through the
// inverse pass. It returns the loss of every step.
func TrainML(ctx context.Context, g *Generator, data []float64, frames int, o TrainOptions) ([]float64, error) {
	o = o.withDefaults()
	dim, d := g.Dim(), g.LatentDim()
	if frames < 1 || len(data) != frames*dim {
		return nil, fmt.Errorf("flows: %d numbers are not %d configurations of %d", len(data), frames, dim)
	}
	mb := &minibatches{rng: rand.New(rand.NewPCG(o.Seed, 0x6d6c)), frames: frames}
	n := min(o.Batch, frames)
	x, z, ld := make([]float64, n*dim), make([]float64, n*d), make([]float64, n)
	dz, dld, dx := make([]float64, n*d), make([]float64, n), make([]float64, n*dim)
	s2 := g.Flow.Sigma * g.Flow.Sigma
	norm := 0.5 * float64(d) * math.Log(2*math.Pi*s2)
	var losses []float64
	for step := 1; step <= o.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return losses, err
		}
		for r, i := range mb.next(n) {
			copy(x[r*dim:(r+1)*dim], data[i*dim:(i+1)*dim])
		}
		g.Inverse(n, x, z, ld, true)
		var loss float64
		for r := 0; r < n; r++ {
			zr := z[r*d : (r+1)*d]
			loss += dot(zr, zr)/(2*s2) - ld[r]
			for k, v := range zr {
				dz[r*d+k] = v / (s2 * float64(n))
			}
			dld[r] = -1 / float64(n)
		}
		loss = loss/float64(n) + norm
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return losses, fmt.Errorf("flows: the loss is %g at step %d", loss, step)
		}
		if err := g.VJP(dz, dld, dx); err != nil {
			return losses, err
		}
		g.Step(o.LR, o.Clip)
		losses = append(losses, loss)
		if o.Report != nil {
			o.Report(step, loss)
		}
	}
	return losses, nil
}

// TrainPlacer trains the hydrogen placer (section 3.3): it completes the
// generated atoms of frames configurations of data with the placer and
// minimizes the mean of beta U over them, holding the generated atoms
// fixed. U is energy (on whole configurations). It returns the mean
// energy of every step's batch.
func TrainPlacer(ctx context.Context, g *Generator, energy forcefields.Model, beta float64, data []float64, frames int, o TrainOptions) ([]float64, error) {
	o = o.withDefaults()
	dim := g.Dim()
	if !g.HasPlacer() {
		return nil, fmt.Errorf("flows: the generator places no atoms")
	}
	if energy.Dim() != dim {
		return nil, fmt.Errorf("flows: the energy works on %d coordinates, the generator on %d", energy.Dim(), dim)
	}
	if frames < 1 || len(data) != frames*dim {
		return nil, fmt.Errorf("flows: %d numbers are not %d configurations of %d", len(data), frames, dim)
	}
	mb := &minibatches{rng: rand.New(rand.NewPCG(o.Seed, 0x706c)), frames: frames}
	n := min(o.Batch, frames)
	b := forcefields.NewBatch(energy, n, true, false)
	dx := make([]float64, n*dim)
	var means []float64
	for step := 1; step <= o.Steps; step++ {
		for r, i := range mb.next(n) {
			copy(b.Coords[r*dim:(r+1)*dim], data[i*dim:(i+1)*dim])
		}
		g.Place(n, b.Coords, true)
		if err := energy.Evaluate(ctx, b); err != nil {
			return means, err
		}
		var mean float64
		for r := 0; r < n; r++ {
			mean += b.Energy[r] / float64(n)
		}
		// d(mean beta U)/dx = -beta F / n.
		for i, f := range b.Forces {
			dx[i] = -beta * f / float64(n)
		}
		if math.IsNaN(mean) || math.IsInf(mean, 0) {
			return means, fmt.Errorf("flows: the mean energy is %g at step %d", mean, step)
		}
		if err := g.PlacerVJP(dx); err != nil {
			return means, err
		}
		g.Step(o.LR, o.Clip)
		means = append(means, mean)
		if o.Report != nil {
			o.Report(step, mean)
		}
	}
	return means, nil
}
