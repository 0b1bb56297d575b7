// Package training runs the training loop of a flow: a step draws samples
// where its loss wants them (the data, the model with reparameterized
// gradients, or the model's detached samples scored by the inverse pass),
// evaluates the energy, hands the per-sample numbers to the loss, turns the
// loss's gradients into cotangents of the flow's pass and takes an
// optimizer step. The flow, the loss and the energy are interfaces: built
// in, or plugins reached through the protocol. The trainer plugin and
// mdrun train are built on it.
package training

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/losses"
)

// Flow is what a trainer trains: a flow plugin (plugins.RemoteFlow) or a
// generator in process (Local).
type Flow interface {
	LatentDim() int
	Dim() int
	BaseSigma() float64
	Forward(ctx context.Context, z []float64, keep bool) (x, ld []float64, err error)
	Inverse(ctx context.Context, x []float64, keep bool) (z, ld []float64, err error)
	// Complete re-places the atoms the flow does not generate; a VJP after
	// a kept Complete reaches the placer, not the flow.
	Complete(ctx context.Context, x []float64, keep bool) ([]float64, error)
	VJP(ctx context.Context, dout, dld []float64) ([]float64, error)
	Step(ctx context.Context, lr, clip float64) (float64, error)
	Save(ctx context.Context, path string) error
}

// Trainer holds what every step uses.
type Trainer struct {
	Flow   Flow
	Energy forcefields.Model // on configurations of Flow.Dim()
	Beta   float64           // 1/kT in the energy's units
	// Data are Frames configurations (rows of Flow.Dim()): the dataset of
	// pre-training, of data losses and of evaluation.
	Data   []float64
	Frames int
	// Validation are ValidationFrames held-out configurations that no
	// training draw sees: the evaluation compares the flow's likelihood of
	// them with that of the training frames, which shows a flow that
	// learnt the frames rather than the distribution (per mode, a rare
	// mode's few frames first).
	Validation       []float64
	ValidationFrames int
	// ScoreStep is the step of the directional differences of
	// score-matching losses (default DefaultScoreStep).
	ScoreStep float64

	// index, when Oversample set it, lists each frame as many times as
	// it appears in a pass over the data.
	index []int

	rng  *rand.Rand
	pcg  *rand.PCG
	perm []int
	pos  int
	// epoch is the random state the current permutation was drawn from,
	// so that a checkpoint need not store the permutation.
	epoch []byte
	// cache holds the configurations a caching loss carries into the next
	// batch.
	cache []float64
}

// SetValidation holds out frames configurations x from training: the
// evaluation reports the flow's likelihood of them beside that of the
// training frames.
func (t *Trainer) SetValidation(x []float64, frames int) error {
	if len(x) != frames*t.Flow.Dim() {
		return fmt.Errorf("training: %d numbers are not %d validation configurations of %d", len(x), frames, t.Flow.Dim())
	}
	t.Validation, t.ValidationFrames = x, frames
	return nil
}

// New returns a trainer whose random draws (latent samples, minibatches)
// follow seed.
func New(f Flow, energy forcefields.Model, beta float64, data []float64, frames int, seed uint64) (*Trainer, error) {
	if energy != nil && energy.Dim() != f.Dim() {
		return nil, fmt.Errorf("training: the energy works on %d coordinates, the flow on %d", energy.Dim(), f.Dim())
	}
	if data != nil && len(data) != frames*f.Dim() {
		return nil, fmt.Errorf("training: %d numbers are not %d configurations of %d", len(data), frames, f.Dim())
	}
	pcg := rand.NewPCG(seed, 0x747261696e)
	return &Trainer{Flow: f, Energy: energy, Beta: beta, Data: data, Frames: frames, pcg: pcg, rng: rand.New(pcg)}, nil
}

// State is what a checkpoint keeps of a trainer to resume exactly: its
// random stream and where it is in the current pass over the data.
type State struct {
	Random []byte    `json:"random"`
	Epoch  []byte    `json:"epoch,omitempty"`
	Pos    int       `json:"pos"`
	Cache  []float64 `json:"cache,omitempty"`
}

// State returns the trainer's state.
func (t *Trainer) State() (State, error) {
	r, err := t.pcg.MarshalBinary()
	return State{Random: r, Epoch: t.epoch, Pos: t.pos, Cache: t.cache}, err
}

// SetState restores a state from State.
func (t *Trainer) SetState(s State) error {
	t.perm, t.pos, t.epoch, t.cache = nil, 0, nil, append([]float64(nil), s.Cache...)
	if s.Epoch != nil {
		// Redraw the permutation of the data the state was in.
		if err := t.pcg.UnmarshalBinary(s.Epoch); err != nil {
			return err
		}
		t.perm, t.pos, t.epoch = t.rng.Perm(t.passLength()), s.Pos, s.Epoch
	}
	return t.pcg.UnmarshalBinary(s.Random)
}

// StepResult is what one step reports.
type StepResult struct {
	Loss     float64
	GradNorm float64
	Metrics  map[string]float64
}

// Step takes one optimizer step of the flow on loss over a batch of n
// samples, with learning rate lr and gradient-norm clip (when positive).
func (t *Trainer) Step(ctx context.Context, loss losses.Loss, n int, lr, clip float64) (StepResult, error) {
	res, err := t.Accumulate(ctx, loss, n)
	if err != nil {
		return StepResult{}, err
	}
	norm, err := t.Flow.Step(ctx, lr, clip)
	if err != nil {
		return StepResult{}, err
	}
	return StepResult{Loss: res.Value, GradNorm: norm, Metrics: res.Metrics}, nil
}

// StepSum takes one optimizer step on a weighted sum of losses, each
// evaluated on its own batch of n samples drawn where it wants them. The
// result's loss is the sum; with several terms, each term's value and
// metrics are reported under its name ("klx.loss", "klx.mean_beta_u").
func (t *Trainer) StepSum(ctx context.Context, terms []losses.Scaled, n int, lr, clip float64) (StepResult, error) {
	out := StepResult{Metrics: map[string]float64{}}
	for _, term := range terms {
		res, err := t.Accumulate(ctx, term, n)
		if err != nil {
			return StepResult{}, err
		}
		out.Loss += res.Value
		if len(terms) == 1 {
			out.Metrics = res.Metrics
			continue
		}
		name := term.Info().Name
		out.Metrics[name+".loss"] = res.Value
		for k, v := range res.Metrics {
			out.Metrics[name+"."+k] = v
		}
	}
	norm, err := t.Flow.Step(ctx, lr, clip)
	if err != nil {
		return StepResult{}, err
	}
	out.GradNorm = norm
	return out, nil
}

// Accumulate evaluates loss on a batch of n samples and adds its gradient
// to the flow's, without a step: Step is Accumulate and the optimizer.
func (t *Trainer) Accumulate(ctx context.Context, loss losses.Loss, n int) (losses.Result, error) {
	if n < 1 {
		return losses.Result{}, fmt.Errorf("training: batch %d", n)
	}
	info := loss.Info()
	if len(info.Samples) == 0 {
		return losses.Result{}, fmt.Errorf("training: the loss %s does not say where its samples come from", info.Name)
	}
	var res losses.Result
	var err error
	switch info.Samples[0] {
	case losses.Data:
		if needs(info, losses.Score) {
			res, err = t.scoreStep(ctx, loss, info, n)
			break
		}
		res, err = t.inverseStep(ctx, loss, info, n, true)
	case losses.ModelDetached:
		res, err = t.inverseStep(ctx, loss, info, n, false)
	case losses.ModelReparameterized:
		res, err = t.forwardStep(ctx, loss, info, n)
	default:
		return losses.Result{}, fmt.Errorf("training: the loss %s draws samples from %q, expected %s, %s or %s", info.Name, info.Samples[0], losses.Data, losses.ModelDetached, losses.ModelReparameterized)
	}
	if err != nil {
		return res, err
	}
	if math.IsNaN(res.Value) || math.IsInf(res.Value, 0) {
		return res, fmt.Errorf("training: the loss %s is %g", info.Name, res.Value)
	}
	return res, nil
}

// dataBatch draws n configurations of the data without replacement within
// an epoch.
func (t *Trainer) dataBatch(n int) ([]float64, error) {
	if t.Frames == 0 {
		return nil, fmt.Errorf("training: the loss needs data and the trainer has none")
	}
	dim := t.Flow.Dim()
	x := make([]float64, 0, n*dim)
	for r := 0; r < n; r++ {
		if t.pos == len(t.perm) {
			t.epoch, _ = t.pcg.MarshalBinary()
			t.perm, t.pos = t.rng.Perm(t.passLength()), 0
		}
		i := t.perm[t.pos]
		if t.index != nil {
			i = t.index[i]
		}
		t.pos++
		x = append(x, t.Data[i*dim:(i+1)*dim]...)
	}
	return x, nil
}

// passLength is the number of draws in one pass over the data.
func (t *Trainer) passLength() int {
	if t.index != nil {
		return len(t.index)
	}
	return t.Frames
}

// Oversample makes every training draw from the data (the placer,
// pre-training, data losses) see each frame of a rare mode more often:
// modeOf[i] is frame i's mode (negative: none), and a mode holding a
// fraction f < minFraction of the frames is repeated round(minFraction/f)
// times per pass. The evaluation still uses the data as they are.
//
// A flow trained this way is no longer the maximum-likelihood fit of the
// data: it puts about minFraction of its mass in each rare mode. As a
// proposal of Metropolis-Hastings or of importance sampling that is
// harmless (the acceptance and the weights use its own density) and is the
// point: a rare mode the flow proposes more often, and has seen more of, is
// reached more often. It returns the repeat count of each mode.
//
// Call it before the first step, or with the same arguments before
// SetState, since the state's position refers to the repeated pass.
func (t *Trainer) Oversample(modeOf []int, minFraction float64) (map[int]int, error) {
	if len(modeOf) != t.Frames {
		return nil, fmt.Errorf("training: %d mode labels for %d frames", len(modeOf), t.Frames)
	}
	if !(minFraction > 0 && minFraction < 1) {
		return nil, fmt.Errorf("training: oversampling to a fraction of %g, expected one in (0, 1)", minFraction)
	}
	count := map[int]int{}
	for _, m := range modeOf {
		if m >= 0 {
			count[m]++
		}
	}
	factor := map[int]int{}
	for m, c := range count {
		factor[m] = max(1, int(math.Round(minFraction*float64(t.Frames)/float64(c))))
	}
	t.index = t.index[:0]
	for i, m := range modeOf {
		r := 1
		if m >= 0 {
			r = factor[m]
		}
		for range r {
			t.index = append(t.index, i)
		}
	}
	t.perm, t.pos, t.epoch = nil, 0, nil
	return factor, nil
}

// latent draws n rows from the base N(0, sigma^2 I) and returns them with
// their log-densities.
func (t *Trainer) latent(n int) (z, logq []float64) {
	return latentDraw(t.rng, n, t.Flow.LatentDim(), t.Flow.BaseSigma())
}

func latentDraw(rng *rand.Rand, n, d int, s float64) (z, logq []float64) {
	z, logq = make([]float64, n*d), make([]float64, n)
	for i := range z {
		z[i] = s * rng.NormFloat64()
	}
	for r := 0; r < n; r++ {
		logq[r] = logBase(z[r*d:(r+1)*d], s)
	}
	return z, logq
}

func logBase(z []float64, sigma float64) float64 {
	var ss float64
	for _, v := range z {
		ss += v * v
	}
	return -0.5*ss/(sigma*sigma) - 0.5*float64(len(z))*math.Log(2*math.Pi*sigma*sigma)
}

// energies returns beta U of n configurations and, when forces, beta
// times their forces.
func (t *Trainer) energies(ctx context.Context, x []float64, n int, forces bool) (betaU, betaF []float64, err error) {
	if t.Energy == nil {
		return nil, nil, fmt.Errorf("training: the loss needs energies and the trainer has no energy model")
	}
	b := forcefields.NewBatch(t.Energy, n, forces, false)
	copy(b.Coords, x)
	if err := t.Energy.Evaluate(ctx, b); err != nil {
		return nil, nil, err
	}
	for i := range b.Energy {
		b.Energy[i] *= t.Beta
	}
	for i := range b.Forces {
		b.Forces[i] *= t.Beta
	}
	return b.Energy, b.Forces, nil
}

// inverseStep scores configurations by the inverse pass, log p_G(x) =
// log q(F(x)) + log |det dF/dx|, and backpropagates the loss's gradient of
// log p_G through it: dz = g (-z / sigma^2), dld = g. The configurations are
// the data's, or the model's own detached samples.
func (t *Trainer) inverseStep(ctx context.Context, loss losses.Loss, info losses.Info, n int, data bool) (losses.Result, error) {
	var x []float64
	var err error
	dim := t.Flow.Dim()
	switch {
	case data:
		x, err = t.dataBatch(n)
	case info.Cache:
		// The cached, most under-sampled points of the previous batch,
		// then fresh samples.
		fresh := n - len(t.cache)/dim
		z, _ := t.latent(fresh)
		var xf []float64
		xf, _, err = t.Flow.Forward(ctx, z, false)
		x = append(append([]float64(nil), t.cache...), xf...)
	default:
		z, _ := t.latent(n)
		x, _, err = t.Flow.Forward(ctx, z, false)
	}
	if err != nil {
		return losses.Result{}, err
	}
	in := losses.Inputs{}
	if needs(info, losses.RefBetaU) {
		// A separate reference batch; its pass comes before the kept one.
		if err := t.reference(ctx, info, in, n); err != nil {
			return losses.Result{}, err
		}
	}
	if needs(info, losses.BetaU) {
		if in[losses.BetaU], _, err = t.energies(ctx, x, n, false); err != nil {
			return losses.Result{}, err
		}
	}
	zf, logp, err := t.logDensity(ctx, x, true)
	if err != nil {
		return losses.Result{}, err
	}
	in[losses.LogPG] = logp
	if needs(info, losses.Coords) {
		in[losses.Coords] = x
	}
	if needs(info, losses.FromData) {
		in[losses.FromData] = constant(n, boolToFloat(data))
	}
	res, err := loss.Evaluate(in)
	if err != nil {
		return res, err
	}
	if info.Cache {
		t.keepUndersampled(x, in[losses.BetaU], logp, n/2)
	}
	g := res.Grad[losses.LogPG]
	if len(g) != n {
		return res, fmt.Errorf("training: the loss %s gave %d gradients of log p_G for %d samples", info.Name, len(g), n)
	}
	_, err = t.backLogDensity(ctx, zf, g)
	return res, err
}

// forwardStep draws reparameterized samples x = G(z) and backpropagates
// through the forward pass: the loss's gradient of beta U times the
// energy's gradient, its gradient of the coordinates, and minus its
// gradient of log p_G = log q(z) - log |det dG/dz| for the log-det.
func (t *Trainer) forwardStep(ctx context.Context, loss losses.Loss, info losses.Info, n int) (losses.Result, error) {
	z, logq := t.latent(n)
	x, ld, err := t.Flow.Forward(ctx, z, true)
	if err != nil {
		return losses.Result{}, err
	}
	dim := t.Flow.Dim()
	in := losses.Inputs{losses.LogQN: logq}
	var betaF []float64
	if needs(info, losses.BetaU) {
		if in[losses.BetaU], betaF, err = t.energies(ctx, x, n, info.NeedsForces); err != nil {
			return losses.Result{}, err
		}
	}
	logp := make([]float64, n)
	for r := range logp {
		logp[r] = logq[r] - ld[r]
	}
	in[losses.LogPG] = logp
	if needs(info, losses.Coords) {
		in[losses.Coords] = x
	}
	if needs(info, losses.RefCoords) {
		if err := t.reference(ctx, info, in, n); err != nil {
			return losses.Result{}, err
		}
		// The reference batch's forward pass dropped the kept one: keep
		// it again.
		if _, _, err := t.Flow.Forward(ctx, z, true); err != nil {
			return losses.Result{}, err
		}
	}
	res, err := loss.Evaluate(in)
	if err != nil {
		return res, err
	}
	dx := make([]float64, n*dim)
	if gu := res.Grad[losses.BetaU]; gu != nil && info.NeedsForces {
		for r := 0; r < n; r++ {
			for k := 0; k < dim; k++ {
				dx[r*dim+k] = -gu[r] * betaF[r*dim+k] // d(beta U)/dx = -beta F
			}
		}
	}
	if gx := res.Grad[losses.Coords]; gx != nil {
		for i, v := range gx {
			dx[i] += v
		}
	}
	dld := make([]float64, n)
	if g := res.Grad[losses.LogPG]; g != nil {
		for r := range dld {
			dld[r] = -g[r]
		}
	}
	_, err = t.Flow.VJP(ctx, dx, dld)
	return res, err
}

// keepUndersampled caches the k configurations of x with the largest log
// ratio r = -beta U - log p_G: where the flow is most below p_B.
func (t *Trainer) keepUndersampled(x, betaU, logp []float64, k int) {
	dim := t.Flow.Dim()
	idx := make([]int, len(betaU))
	for i := range idx {
		idx[i] = i
	}
	r := func(i int) float64 { return -betaU[i] - logp[i] }
	sort.SliceStable(idx, func(a, b int) bool { return r(idx[a]) > r(idx[b]) })
	t.cache = t.cache[:0]
	for _, i := range idx[:k] {
		t.cache = append(t.cache, x[i*dim:(i+1)*dim]...)
	}
}

// reference adds the reference batch of the pair and optimal-transport
// losses: the data's configurations, or the model's detached samples with
// their energies and densities.
func (t *Trainer) reference(ctx context.Context, info losses.Info, in losses.Inputs, n int) error {
	if len(info.Samples) > 1 && info.Samples[1] == losses.Data {
		y, err := t.dataBatch(n)
		in[losses.RefCoords] = y
		return err
	}
	z, logq := t.latent(n)
	y, ld, err := t.Flow.Forward(ctx, z, false)
	if err != nil {
		return err
	}
	for r := range logq {
		logq[r] -= ld[r]
	}
	if needs(info, losses.RefCoords) {
		in[losses.RefCoords] = y
	}
	in[losses.RefLogPG] = logq
	in[losses.RefBetaU], _, err = t.energies(ctx, y, n, false)
	return err
}

func needs(info losses.Info, name string) bool {
	for _, s := range info.Inputs {
		if s == name {
			return true
		}
	}
	return false
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PlacerStep trains the deterministic placer (thesis section 3.3): the
// data's configurations are completed by the placer, and one optimizer step
// lowers the mean beta U of the result with the generated atoms fixed. It
// returns that mean before the step.
func (t *Trainer) PlacerStep(ctx context.Context, n int, lr, clip float64) (StepResult, error) {
	x, err := t.dataBatch(n)
	if err != nil {
		return StepResult{}, err
	}
	if x, err = t.Flow.Complete(ctx, x, true); err != nil {
		return StepResult{}, err
	}
	bu, bf, err := t.energies(ctx, x, n, true)
	if err != nil {
		return StepResult{}, err
	}
	dx := make([]float64, len(bf))
	for i, f := range bf {
		dx[i] = -f / float64(n)
	}
	m := mean(bu)
	if math.IsNaN(m) || math.IsInf(m, 0) {
		return StepResult{}, fmt.Errorf("training: the placed configurations' mean energy is %g", m)
	}
	ld := make([]float64, n)
	if _, err := t.Flow.VJP(ctx, dx, ld); err != nil {
		return StepResult{}, err
	}
	norm, err := t.Flow.Step(ctx, lr, clip)
	return StepResult{Loss: m, GradNorm: norm, Metrics: map[string]float64{"placer_mean_beta_u": m}}, err
}

// Local adapts a generator in process to the Flow a trainer trains.
func Local(g *flows.Generator) Flow { return &local{g: g} }

// local remembers the input width of the last pass kept for a VJP:
// latent rows after Forward, configurations after Inverse and Complete.
type local struct {
	g      *flows.Generator
	keptIn int
}

func (l *local) LatentDim() int     { return l.g.LatentDim() }
func (l *local) Dim() int           { return l.g.Dim() }
func (l *local) BaseSigma() float64 { return l.g.BaseSigma() }

func (l *local) Forward(_ context.Context, z []float64, keep bool) ([]float64, []float64, error) {
	n := len(z) / l.g.LatentDim()
	x, ld := make([]float64, n*l.g.Dim()), make([]float64, n)
	l.g.Forward(n, z, x, ld, keep)
	l.kept(keep, l.g.LatentDim())
	return x, ld, nil
}

func (l *local) Inverse(_ context.Context, x []float64, keep bool) ([]float64, []float64, error) {
	n := len(x) / l.g.Dim()
	z, ld := make([]float64, n*l.g.LatentDim()), make([]float64, n)
	l.g.Inverse(n, x, z, ld, keep)
	l.kept(keep, l.g.Dim())
	return z, ld, nil
}

func (l *local) Complete(_ context.Context, x []float64, keep bool) ([]float64, error) {
	out := append([]float64(nil), x...)
	l.g.Complete(len(x)/l.g.Dim(), out, keep)
	l.kept(keep, l.g.Dim())
	return out, nil
}

// kept records the input width of a pass; a pass not kept ends the last
// kept one, as it does in the generator.
func (l *local) kept(keep bool, in int) {
	l.keptIn = 0
	if keep {
		l.keptIn = in
	}
}

func (l *local) VJP(_ context.Context, dout, dld []float64) ([]float64, error) {
	return l.vjp(dout, dld, l.g.VJP)
}

// InputVJP is VJP without the placer's parameter gradient after a kept
// Complete (flows.Generator.InputVJP), as a remote flow's is.
func (l *local) InputVJP(_ context.Context, dout, dld []float64) ([]float64, error) {
	return l.vjp(dout, dld, l.g.InputVJP)
}

func (l *local) vjp(dout, dld []float64, vjp func(dout, dld, din []float64) error) ([]float64, error) {
	if l.keptIn == 0 {
		return nil, fmt.Errorf("training: no pass was kept for a VJP")
	}
	din := make([]float64, len(dld)*l.keptIn)
	return din, vjp(dout, dld, din)
}

func (l *local) Step(_ context.Context, lr, clip float64) (float64, error) {
	return l.g.Step(lr, clip), nil
}
func (l *local) Save(_ context.Context, path string) error { return l.g.SaveFile(path) }
