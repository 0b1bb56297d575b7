package training

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/losses"
)

// smallTrainer is a 2D coupling flow with moved parameters on the thesis'
// medium double well at kT = 1, with 64 configurations of data.
func smallTrainer(t *testing.T) (*Trainer, *flows.Generator) {
	t.Helper()
	g, err := flows.NewGenerator(flows.GeneratorSpec{Flow: flows.Spec{Dim: 2, Blocks: 1, Hidden: 8, Scale: true, Sigma: 1.3, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range g.Flow.Params.Values {
		g.Flow.Params.Values[i] += 0.3 * rng.NormFloat64()
	}
	dw, err := analytic.New("double_well_medium", map[string]float64{"dim": 2})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]float64, 128)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	tr, err := New(Local(g), dw, 1, data, 64, 3)
	if err != nil {
		t.Fatal(err)
	}
	return tr, g
}

// TestGradientsAreFiniteDifferences checks the trainer's chain rule from
// the loss's per-sample gradients to the flow's parameters, for the
// inverse pass on data (maximum likelihood) and the forward pass with
// forces (reverse KL, Renyi) and with coordinates (Sinkhorn): the
// accumulated gradient equals finite differences of the loss's value,
// drawn with the same random state.
func TestGradientsAreFiniteDifferences(t *testing.T) {
	ctx := context.Background()
	for _, l := range []losses.Loss{losses.MaximumLikelihood{}, losses.ReverseKL{}, losses.Renyi{},
		losses.Sinkhorn{Epsilon: 1, Iterations: 3000}, losses.ForceMatching{}} {
		t.Run(l.Info().Name, func(t *testing.T) {
			tr, g := smallTrainer(t)
			// Force matching's parameter gradient is a directional
			// difference, exact to O(h^2): with h = 1e-5, to 1e-10.
			tr.ScoreStep = 1e-5
			state, err := tr.State()
			if err != nil {
				t.Fatal(err)
			}
			value := func() float64 {
				if err := tr.SetState(state); err != nil {
					t.Fatal(err)
				}
				res, err := tr.Accumulate(ctx, l, 6)
				if err != nil {
					t.Fatal(err)
				}
				return res.Value
			}
			value()
			grad := append([]float64(nil), g.Flow.Grad...)
			p := g.Flow.Params.Values
			const h = 1e-6
			bad := 0
			for i := range p {
				old := p[i]
				p[i] = old + h
				vp := value()
				p[i] = old - h
				vm := value()
				p[i] = old
				fd := (vp - vm) / (2 * h)
				if math.Abs(fd-grad[i]) > 2e-6*(1+math.Abs(fd)) && bad < 5 {
					bad++
					t.Errorf("parameter %d: trainer %.10g, finite difference %.10g", i, grad[i], fd)
				}
			}
		})
	}
}

// TestMaximumLikelihoodLearns: steps of ML lower the negative
// log-likelihood of the data.
func TestMaximumLikelihoodLearns(t *testing.T) {
	tr, _ := smallTrainer(t)
	ctx := context.Background()
	var first, last float64
	for k := 0; k < 300; k++ {
		res, err := tr.Step(ctx, losses.MaximumLikelihood{}, 64, 1e-2, 0)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			first = res.Loss
		}
		last = res.Loss
	}
	if !(last < first-0.3) {
		t.Errorf("NLL %g -> %g", first, last)
	}
}

func TestTrainerRejects(t *testing.T) {
	tr, g := smallTrainer(t)
	if _, err := New(Local(g), tr.Energy, 1, make([]float64, 5), 3, 1); err == nil {
		t.Error("5 numbers were taken as 3 configurations of 2")
	}
	empty, err := New(Local(g), tr.Energy, 1, nil, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Step(context.Background(), losses.MaximumLikelihood{}, 4, 1e-3, 0); err == nil {
		t.Error("a data loss ran without data")
	}
}

// TestEvaluateExactFlow: a flow whose density is exactly p_B (a Gaussian
// base of sigma 1 through an identity flow, against the energy |x|^2/2)
// has ESS 1, KL 0 and log Z = log (2 pi)^(d/2) - the normalization.
func TestEvaluateExactFlow(t *testing.T) {
	g, err := flows.NewGenerator(flows.GeneratorSpec{Flow: flows.Spec{Dim: 2, Blocks: 1, Hidden: 4}})
	if err != nil {
		t.Fatal(err)
	}
	osc, err := analytic.New("harmonic", map[string]float64{"dim": 2})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]float64, 200)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	tr, err := New(Local(g), osc, 1, data, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tr.Evaluate(context.Background(), 500, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	logZ := math.Log(2 * math.Pi)
	if math.Abs(ev.ReverseESS-1) > 1e-9 || math.Abs(ev.ForwardESS-1) > 1e-9 || math.Abs(ev.LogZ-logZ) > 1e-9 || math.Abs(ev.ReverseKL) > 1e-9 || math.Abs(ev.ForwardKL) > 1e-9 {
		t.Errorf("%+v, log Z %g", ev, logZ)
	}
	if _, ok := ev.Metrics()["eval_nll_validation"]; ok {
		t.Error("a validation NLL without validation frames")
	}

	// Held-out frames: -log p_G = |x|^2/2 + log 2 pi, over all frames and
	// over each side of x0 = 0, for the training frames and the held-out
	// ones alike.
	val := make([]float64, 60)
	for i := range val {
		val[i] = 1 + rng.NormFloat64() // mostly x0 > 0: the modes' means differ
	}
	if err := tr.SetValidation(val, 30); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetValidation(val[:59], 30); err == nil {
		t.Error("59 numbers taken as 30 frames of 2")
	}
	modes := analysis.DoubleWellModes(0, 0)
	ev, err = tr.Evaluate(context.Background(), 500, &modes, 1)
	if err != nil {
		t.Fatal(err)
	}
	direct := func(x []float64, frames int) (all float64, mode [2]float64) {
		var count [2]float64
		for f := 0; f < frames; f++ {
			nll := (x[2*f]*x[2*f]+x[2*f+1]*x[2*f+1])/2 + math.Log(2*math.Pi)
			all += nll / float64(frames)
			k := 0
			if x[2*f] >= 0 {
				k = 1
			}
			mode[k] += nll
			count[k]++
		}
		return all, [2]float64{mode[0] / count[0], mode[1] / count[1]}
	}
	trainAll, trainMode := direct(data, 100)
	valAll, valMode := direct(val, 30)
	m := ev.Metrics()
	for key, want := range map[string]float64{
		"eval_nll_train": trainAll, "eval_nll_validation": valAll,
		"nll_train.x0<0": trainMode[0], "nll_train.x0>=0": trainMode[1],
		"nll_validation.x0<0": valMode[0], "nll_validation.x0>=0": valMode[1],
	} {
		if got, ok := m[key]; !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %g (reported %v), want %g", key, got, ok, want)
		}
	}

	// Median beta U per mode: of the 100 data frames, exactly; of the 500
	// model samples, |x|^2/2 of a 2-d standard normal is exponential with
	// median log 2 on each side (standard error about 0.06).
	for k, name := range []string{"x0<0", "x0>=0"} {
		var u []float64
		for f := 0; f < 100; f++ {
			if (data[2*f] >= 0) == (k == 1) {
				u = append(u, (data[2*f]*data[2*f]+data[2*f+1]*data[2*f+1])/2)
			}
		}
		slices.Sort(u)
		want := u[len(u)/2]
		if len(u)%2 == 0 {
			want = (u[len(u)/2-1] + u[len(u)/2]) / 2
		}
		if got := m["data_median_beta_u."+name]; math.Abs(got-want) > 1e-9 {
			t.Errorf("data_median_beta_u.%s = %g, want %g", name, got, want)
		}
		if got := m["median_beta_u."+name]; math.Abs(got-math.Ln2) > 0.25 {
			t.Errorf("median_beta_u.%s = %g, want about log 2", name, got)
		}
	}
}

// TestStateResumesExactly: a trainer restored from its state in the middle
// of a pass over the data draws what the original draws next.
func TestStateResumesExactly(t *testing.T) {
	a, _ := smallTrainer(t)
	for k := 0; k < 3; k++ {
		if _, err := a.dataBatch(20); err != nil {
			t.Fatal(err)
		}
	}
	checkResumes(t, a, nil)
}

// checkResumes saves a's state into a fresh small trainer (after setup, if
// given, which must prepare it as a was) and checks that both then draw
// the same data batches and latent rows.
func checkResumes(t *testing.T, a *Trainer, setup func(*Trainer)) {
	t.Helper()
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := smallTrainer(t)
	if setup != nil {
		setup(b)
	}
	if err := b.SetState(st); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 5; k++ {
		xa, _ := a.dataBatch(20)
		xb, _ := b.dataBatch(20)
		za, _ := a.latent(3)
		zb, _ := b.latent(3)
		for i := range xa {
			if xa[i] != xb[i] {
				t.Fatalf("batch %d differs after resuming", k)
			}
		}
		for i := range za {
			if za[i] != zb[i] {
				t.Fatalf("latent draw %d differs after resuming", k)
			}
		}
	}
}

// TestCacheCarriesUndersampledPoints: with PL^2_CB, the half of a batch
// with the largest log ratio comes back at the head of the next batch, and
// the cache is part of the trainer's state.
func TestCacheCarriesUndersampledPoints(t *testing.T) {
	tr, _ := smallTrainer(t)
	ctx := context.Background()
	if _, err := tr.Accumulate(ctx, losses.PairCB{}, 8); err != nil {
		t.Fatal(err)
	}
	if len(tr.cache) != 4*2 {
		t.Fatalf("cache of %d numbers after a batch of 8 in 2D", len(tr.cache))
	}
	st, _ := tr.State()
	if len(st.Cache) != 8 {
		t.Errorf("the state lacks the cache")
	}
	cached := append([]float64(nil), tr.cache...)
	// The next batch starts with the cached points: record what the loss
	// sees.
	var seen []float64
	spy := spyLoss{Loss: losses.PairCB{}, coords: &seen}
	if _, err := tr.Accumulate(ctx, spy, 8); err != nil {
		t.Fatal(err)
	}
	for i, v := range cached {
		if seen[i] != v {
			t.Fatalf("the next batch does not start with the cached points")
		}
	}
}

// spyLoss records the coordinates its batch came from.
type spyLoss struct {
	losses.Loss
	coords *[]float64
}

func (s spyLoss) Info() losses.Info {
	i := s.Loss.Info()
	i.Inputs = append(i.Inputs, losses.Coords)
	return i
}

func (s spyLoss) Evaluate(in losses.Inputs) (losses.Result, error) {
	*s.coords = append([]float64(nil), in[losses.Coords]...)
	return s.Loss.Evaluate(in)
}

// TestForceMatchingLearns trains the small flow by force matching alone on
// Gaussian points (force matching needs no samples of the target): the
// residual between the flow's score and the double well's beta F falls.
func TestForceMatchingLearns(t *testing.T) {
	tr, _ := smallTrainer(t)
	ctx := context.Background()
	var first, last float64
	for k := 0; k < 400; k++ {
		res, err := tr.Step(ctx, losses.ForceMatching{}, 64, 1e-2, 0)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			first = res.Metrics["rms_residual"]
		}
		last = res.Metrics["rms_residual"]
	}
	t.Logf("rms residual %.3f -> %.3f", first, last)
	if !(last < first/2) {
		t.Errorf("rms residual %.3f -> %.3f", first, last)
	}
}

// TestOversampleRepeatsRareModes: with frames 0-3 in a mode of 4/64 and
// the rest in another, oversampling to 0.25 repeats the rare frames 4 times
// a pass (round(0.25*64/4)), each pass draws every repeat exactly once, and
// a resumed trainer draws the same batches.
func TestOversampleRepeatsRareModes(t *testing.T) {
	a, _ := smallTrainer(t)
	modeOf := make([]int, 64)
	for i := 4; i < 64; i++ {
		modeOf[i] = 1
	}
	modeOf[63] = -1 // in no mode: drawn once
	factor, err := a.Oversample(modeOf, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if factor[0] != 4 || factor[1] != 1 {
		t.Fatalf("repeat counts %v, want 4 for the rare mode and 1 for the other", factor)
	}
	pass := 4*4 + 60
	x, err := a.dataBatch(pass)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[2]float64]int{}
	for r := 0; r < pass; r++ {
		seen[[2]float64{x[2*r], x[2*r+1]}]++
	}
	for i := 0; i < 64; i++ {
		want := 1
		if i < 4 {
			want = 4
		}
		if got := seen[[2]float64{a.Data[2*i], a.Data[2*i+1]}]; got != want {
			t.Errorf("frame %d drawn %d times in a pass, want %d", i, got, want)
		}
	}
	if _, err := a.dataBatch(7); err != nil {
		t.Fatal(err)
	}
	checkResumes(t, a, func(b *Trainer) {
		if _, err := b.Oversample(modeOf, 0.25); err != nil {
			t.Fatal(err)
		}
	})
	for _, bad := range []float64{0, 1, -0.1, math.NaN()} {
		if _, err := a.Oversample(modeOf, bad); err == nil {
			t.Errorf("oversampling to %g accepted", bad)
		}
	}
	if _, err := a.Oversample(modeOf[:10], 0.1); err == nil {
		t.Error("10 labels for 64 frames accepted")
	}
}
