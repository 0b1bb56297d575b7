package training

import (
	"context"
	"fmt"
	"math"

	"github.com/flowmd/flowmd/losses"
)

// DefaultScoreStep is the step, in the units of the coordinates, of the
// directional differences that give a score-matching loss its gradient
// (Trainer.ScoreStep): small enough for the O(h^2) truncation to be
// 1e-6 relative, large enough for float32 flows' rounding to stay below
// the signal.
const DefaultScoreStep = 1e-3

// scoreStep evaluates a loss of the flow's score s(x) = grad_x log p_G(x)
// on data (force matching) and accumulates its gradient.
//
// The score is the input gradient of one inverse pass's log-density. The
// loss's gradient with respect to the parameters, sum_i v_i . ds_i/dtheta
// with v_i the loss's gradient of s_i, is a second derivative of the flow.
// Because v_i . s_i(x) is the derivative of log p_G along v_i, it equals
// |v_i| times the central difference of grad_theta log p_G at x_i +- h u_i
// (u_i = v_i / |v_i|) up to O(h^2): two more inverse passes with
// per-sample weights +-|v_i| / 2h, first-order machinery only. The score's
// own pass adds grad_theta log p_G(x) to the gradient; one more pass at x
// with weight -1 takes it out again.
func (t *Trainer) scoreStep(ctx context.Context, loss losses.Loss, info losses.Info, n int) (losses.Result, error) {
	if t.Flow.LatentDim() != t.Flow.Dim() {
		return losses.Result{}, fmt.Errorf("training: the loss %s matches the score on every coordinate, and this flow places %d of its %d coordinates deterministically", info.Name, t.Flow.Dim()-t.Flow.LatentDim(), t.Flow.Dim())
	}
	x, err := t.dataBatch(n)
	if err != nil {
		return losses.Result{}, err
	}
	betaU, betaF, err := t.energies(ctx, x, n, true)
	if err != nil {
		return losses.Result{}, err
	}
	ones := constant(n, 1)
	logp, score, err := t.weightedLogDensity(ctx, x, ones)
	if err != nil {
		return losses.Result{}, err
	}
	in := losses.Inputs{losses.LogPG: logp, losses.Score: score, losses.BetaForce: betaF}
	if needs(info, losses.BetaU) {
		in[losses.BetaU] = betaU
	}
	if needs(info, losses.Coords) {
		in[losses.Coords] = x
	}
	res, err := loss.Evaluate(in)
	if err != nil {
		return res, err
	}
	v := res.Grad[losses.Score]
	if len(v) != len(x) {
		return res, fmt.Errorf("training: the loss %s gave %d gradients of the score for %d coordinates", info.Name, len(v), len(x))
	}
	// Undo the score pass's parameter gradient.
	minus := constant(n, -1)
	if _, _, err := t.weightedLogDensity(ctx, x, minus); err != nil {
		return res, err
	}
	h := t.ScoreStep
	if h == 0 {
		h = DefaultScoreStep
	}
	dim := t.Flow.Dim()
	xp, xm := make([]float64, len(x)), make([]float64, len(x))
	wp, wm := make([]float64, n), make([]float64, n)
	for r := 0; r < n; r++ {
		vr := v[r*dim : (r+1)*dim]
		var norm float64
		for _, c := range vr {
			norm += c * c
		}
		norm = math.Sqrt(norm)
		for k := 0; k < dim; k++ {
			u := 0.0
			if norm > 0 {
				u = vr[k] / norm
			}
			xp[r*dim+k] = x[r*dim+k] + h*u
			xm[r*dim+k] = x[r*dim+k] - h*u
		}
		wp[r], wm[r] = norm/(2*h), -norm/(2*h)
	}
	if _, _, err := t.weightedLogDensity(ctx, xp, wp); err != nil {
		return res, err
	}
	if _, _, err := t.weightedLogDensity(ctx, xm, wm); err != nil {
		return res, err
	}
	// The log-density's gradient is not the loss's.
	if g := res.Grad[losses.LogPG]; g != nil {
		for _, c := range g {
			if c != 0 {
				return res, fmt.Errorf("training: the loss %s differentiates log p_G beside the score; use a sum of losses", info.Name)
			}
		}
	}
	return res, nil
}

// weightedLogDensity runs the inverse pass on x and backpropagates
// sum_r w_r log p_G(x_r): it adds that sum's parameter gradient to the
// flow's and returns log p_G and the input gradient, w_r grad_x log p_G.
func (t *Trainer) weightedLogDensity(ctx context.Context, x, w []float64) (logp, dx []float64, err error) {
	z, logp, err := t.logDensity(ctx, x, true)
	if err != nil {
		return nil, nil, err
	}
	dx, err = t.backLogDensity(ctx, z, w)
	return logp, dx, err
}

// logDensity scores configurations by the inverse pass, log p_G(x) =
// log q(F(x)) + log |det dF/dx|, and returns z = F(x) with it; keep keeps
// the pass for backLogDensity.
func (t *Trainer) logDensity(ctx context.Context, x []float64, keep bool) (z, logp []float64, err error) {
	z, ld, err := t.Flow.Inverse(ctx, x, keep)
	if err != nil {
		return nil, nil, err
	}
	d, s := t.Flow.LatentDim(), t.Flow.BaseSigma()
	logp = make([]float64, len(ld))
	for r := range logp {
		logp[r] = logBase(z[r*d:(r+1)*d], s) + ld[r]
	}
	return z, logp, nil
}

// backLogDensity backpropagates sum_r g_r log p_G(x_r) through the kept
// inverse pass that gave z: dz = g (-z / sigma^2), dld = g. It returns the
// input gradient.
func (t *Trainer) backLogDensity(ctx context.Context, z, g []float64) ([]float64, error) {
	d, s := t.Flow.LatentDim(), t.Flow.BaseSigma()
	dz := make([]float64, len(z))
	for r := range g {
		for k := 0; k < d; k++ {
			dz[r*d+k] = -g[r] * z[r*d+k] / (s * s)
		}
	}
	return t.Flow.VJP(ctx, dz, g)
}
