// Package losses holds the training losses of the thesis and the losses
// paper as functions of per-sample numbers: a batch of reduced energies
// beta U_B, log-densities log p_G of the flow, base log-densities log q_N
// and, for some, coordinates. Each returns its value, its gradient with
// respect to every input it reads and metrics; the trainer turns those
// gradients into the flow's through the vector-Jacobian products of its
// passes. A loss declares where its samples come from and whether it
// differentiates the energy, so that the trainer knows which passes to
// keep and whether to ask for forces.
//
// Notation (thesis chapter 5-8): U_G(x) = -log p_G(x) up to a constant,
// r(x) = log(p~_B(x) / p_G(x)) = -beta U_B(x) + U_G(x) = -beta U_B(x) -
// log p_G(x). Batch weights are normalized to mean 1 and detached.
package losses

import (
	"fmt"
	"math"
	"sort"
)

// Names of the per-sample inputs.
const (
	BetaU    = "beta_u"    // beta U_B(x_i), reduced energies
	LogPG    = "log_p_g"   // log p_G(x_i)
	LogQN    = "log_q_n"   // log q_N(z_i), for samples of the model
	FromData = "from_data" // 1 for samples of the data, 0 for the model's
	Coords   = "coords"    // rows of coordinates, n x dim
)

// Where samples come from.
const (
	// ModelReparameterized: x = G(z) with gradients through the forward
	// pass (and through the energy when the loss differentiates it).
	ModelReparameterized = "model_reparameterized"
	// ModelDetached: x drawn from the model without gradient, scored by
	// the inverse pass (log p_G differentiated through F at fixed x).
	ModelDetached = "model_detached"
	// Data: x from a dataset, scored by the inverse pass.
	Data = "data"
)

// Info says what a loss needs.
type Info struct {
	Name    string
	Inputs  []string
	Samples []string
	// NeedsForces: the loss differentiates beta U_B, so the trainer needs
	// the forces at the samples.
	NeedsForces bool
	// NeedsCoordinates: the loss reads (and differentiates) coordinates.
	NeedsCoordinates bool
	// Stateful: the loss keeps state between calls (adaptive weights).
	Stateful bool
	// Cache: the trainer carries the most under-sampled half of each
	// batch into the next one (thesis section 6.4.4).
	Cache bool
}

// Inputs are one batch's per-sample arrays, by name.
type Inputs map[string][]float64

// Result is a loss's value with its gradient with respect to each input it
// reads (same shapes) and metrics for the log. Gradients are the partial
// derivatives of the value with the loss's detached parts (batch weights,
// K) held fixed; the trainer uses those of the inputs that depend on the
// flow's parameters for the samples' origin (log p_G always; beta U and
// coordinates only for reparameterized samples).
type Result struct {
	Value   float64
	Grad    map[string][]float64
	Metrics map[string]float64
}

// Loss is a training loss.
type Loss interface {
	Info() Info
	Evaluate(in Inputs) (Result, error)
}

// StateSaver is a stateful loss (Info.Stateful) whose state a training
// checkpoint keeps, so that a resumed training continues exactly.
type StateSaver interface {
	SaveState() ([]byte, error)
	LoadState([]byte) error
}

// batch checks that every named input is present and returns the batch
// size; coordinates may be any multiple of it.
func batch(in Inputs, names ...string) (int, error) {
	n := -1
	for _, name := range names {
		v, ok := in[name]
		if !ok {
			return 0, fmt.Errorf("losses: input %q missing", name)
		}
		if name == Coords {
			continue
		}
		if n >= 0 && len(v) != n {
			return 0, fmt.Errorf("losses: input %q has %d values, %q %d", name, len(v), names[0], n)
		}
		n = len(v)
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return 0, fmt.Errorf("losses: input %q is %g at sample %d", name, x, i)
			}
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("losses: an empty batch")
	}
	if c, ok := in[Coords]; ok && n > 0 && len(c)%n != 0 {
		return 0, fmt.Errorf("losses: %d coordinates are not %d rows", len(c), n)
	}
	return n, nil
}

// logRatio returns r_i = -beta U_B - log p_G, the log of the unnormalized
// importance weight p~_B / p_G of each sample.
func logRatio(betaU, logPG []float64) []float64 {
	r := make([]float64, len(betaU))
	for i := range r {
		r[i] = -betaU[i] - logPG[i]
	}
	return r
}

// softmax returns exp(v_i) / sum_j exp(v_j), computed with the largest
// value subtracted.
func softmax(v []float64) []float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	out := make([]float64, len(v))
	var s float64
	for i, x := range v {
		out[i] = math.Exp(x - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// logSumExp returns log sum_i exp(v_i).
func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// normalize scales weights to mean 1.
func normalize(w []float64) []float64 {
	var s float64
	for _, x := range w {
		s += x
	}
	out := make([]float64, len(w))
	for i, x := range w {
		out[i] = x * float64(len(w)) / s
	}
	return out
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// essFraction is Kish's effective sample size of weights, over n.
func essFraction(w []float64) float64 {
	var s, s2 float64
	for _, x := range w {
		s += x
		s2 += x * x
	}
	return s * s / s2 / float64(len(w))
}

// ratioMetrics are the estimates every importance-weighted batch gives:
// mean(r) = log Z_B - KL(p_G || p_B) (a lower bound of log Z_B), the
// log-mean-exp of r (a consistent estimate of log Z_B), and the reverse
// ESS fraction of the normalized weights.
func ratioMetrics(r []float64, m map[string]float64) {
	m["mean_log_ratio"] = mean(r)
	m["log_z_estimate"] = logSumExp(r) - math.Log(float64(len(r)))
	m["ess_fraction"] = essFraction(softmax(r))
}

// names lists a map's keys in order, for messages.
func names(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Scaled is a loss times a weight: its value, gradients and the loss's
// metrics (under the same names). A weighted sum of losses is a step that
// accumulates the gradients of several Scaled losses, each on the samples
// it wants, before one optimizer step (the thesis' "KLz^df + 0.02 KLx").
type Scaled struct {
	Weight float64
	Loss   Loss
}

func (s Scaled) Info() Info { return s.Loss.Info() }

func (s Scaled) Evaluate(in Inputs) (Result, error) {
	res, err := s.Loss.Evaluate(in)
	if err != nil {
		return res, err
	}
	res.Value *= s.Weight
	for _, g := range res.Grad {
		for i := range g {
			g[i] *= s.Weight
		}
	}
	return res, nil
}
