package engine

import (
	"context"
	"fmt"
	"math"

	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/integrators"
	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/topology"
)

// flowDensity is a flow plugin as the proposal density of a flow move:
// log q = log p_G of the configuration's generated coordinates.
type flowDensity struct {
	flow  *plugins.RemoteFlow
	sigma float64
	// checked says whether the first batch compared the sampling pass's
	// log p_G with the inverse pass's; forward says they agreed to 1e-9,
	// so that samples keep the sampling pass's value (one pass instead of
	// two, for float64 flows).
	checked, forward bool
}

// ForwardAgreement is how closely the sampling pass's log p_G must match
// the inverse pass's for the flow move to trust it: the acceptance ratio
// then errs by at most twice that.
const ForwardAgreement = 1e-9

// Sample draws n configurations. Every configuration's log q must come
// from one function: the inverse pass evaluates the current
// configurations, so the proposals' log q comes from it too, unless the
// first batch showed that the sampling pass agrees with it (float64
// flows; a float32 flow's passes agree only to rounding).
func (d *flowDensity) Sample(ctx context.Context, n int, seed uint64) ([]float64, []float64, error) {
	_, x, logp, err := d.flow.Sample(ctx, n, seed)
	if err != nil {
		return nil, nil, err
	}
	if d.forward {
		return x, logp, nil
	}
	logq, err := d.LogDensity(ctx, x)
	if err != nil {
		return nil, nil, err
	}
	if !d.checked {
		d.checked, d.forward = true, true
		for i, v := range logq {
			if math.Abs(v-logp[i]) > ForwardAgreement*(1+math.Abs(v)) {
				d.forward = false
				break
			}
		}
	}
	return x, logq, nil
}

// LogDensity is log p_G(x) = log N(F(x); 0, sigma^2) + log |det dF/dx|.
func (d *flowDensity) LogDensity(ctx context.Context, x []float64) ([]float64, error) {
	z, ld, err := d.flow.Inverse(ctx, x, false)
	if err != nil {
		return nil, err
	}
	k := d.flow.LatentDim()
	norm := -0.5 * float64(k) * math.Log(2*math.Pi*d.sigma*d.sigma)
	logq := make([]float64, len(ld))
	for r := range logq {
		var ss float64
		for _, v := range z[r*k : (r+1)*k] {
			ss += v * v
		}
		logq[r] = norm - 0.5*ss/(d.sigma*d.sigma) + ld[r]
		if math.IsNaN(logq[r]) {
			return nil, fmt.Errorf("flow %s: log p_G of configuration %d is NaN", d.flow.Spec.Name, r)
		}
	}
	return logq, nil
}

// hydrogenFrame carries a placed atom H (a hydrogen) rigidly with the
// local frame of its heavy atom P, built from P, a heavy neighbour A and a
// third heavy atom B.
type hydrogenFrame struct{ h, p, a, b int }

// carryFrames returns the frames that carry each atom the flow does not
// generate along with the generated ones. A molecular flow places its
// hydrogens deterministically, so p_G has no density for them: a flow
// move proposes the heavy atoms from the flow and keeps each hydrogen
// where it was relative to its heavy atom's frame. That map is rigid per
// hydrogen (volume-preserving) and undoes itself along the reverse move,
// so the acceptance ratio stays p_G(x)/p_G(x') of the heavy atoms.
func carryFrames(psf *topology.PSF, generated []int) ([]hydrogenFrame, error) {
	g := topology.NewGraph(psf)
	isGen := make([]bool, len(psf.Atoms))
	for _, a := range generated {
		isGen[a] = true
	}
	var frames []hydrogenFrame
	for h := range psf.Atoms {
		if isGen[h] {
			continue
		}
		name := func() string {
			a := psf.Atoms[h]
			return fmt.Sprintf("atom %d (%s %s %s)", h+1, a.Name, a.ResName, a.ResID)
		}
		var ps []int
		for _, j := range g.Neighbors[h] {
			if isGen[j] {
				ps = append(ps, j)
			}
		}
		if len(ps) != 1 {
			return nil, fmt.Errorf("%s is placed by the flow but bonded to %d generated atoms: a flow move needs exactly one", name(), len(ps))
		}
		a, b, ok := flows.FrameAtoms(g, isGen, ps[0])
		if !ok {
			return nil, fmt.Errorf("%s: its heavy atom %s has too few heavy neighbours to carry it with", name(), psf.Atoms[ps[0]].Name)
		}
		frames = append(frames, hydrogenFrame{h: h, p: ps[0], a: a, b: b})
	}
	return frames, nil
}

// carry sets prop's placed atoms to cur's, expressed in cur's frames and
// put back in prop's.
func carry(frames []hydrogenFrame) func(cur, prop []float64) {
	return func(cur, prop []float64) {
		for _, f := range frames {
			ec, ep := flows.LocalFrame(cur, f.p, f.a, f.b), flows.LocalFrame(prop, f.p, f.a, f.b)
			var local [3]float64
			for i := 0; i < 3; i++ {
				for k := 0; k < 3; k++ {
					local[i] += ec[i][k] * (cur[3*f.h+k] - cur[3*f.p+k])
				}
			}
			for k := 0; k < 3; k++ {
				prop[3*f.h+k] = prop[3*f.p+k] + local[0]*ep[0][k] + local[1]*ep[1][k] + local[2]*ep[2][k]
			}
		}
	}
}

// flowMove starts the flow plugin of a flow move and returns the move.
func (r *Run) flowMove(ctx context.Context, i int, mc MoveConfig) (integrators.Move, error) {
	if r.host == nil {
		r.host = &plugins.Host{Log: PluginLog, Timeout: r.Config.Plugins.Timeout}
	}
	spec := ResolvePlugin(mc.Flow.Name, mc.Flow.Path, mc.Flow.Args, mc.Flow.SHA256, r.Config.Plugins.Dir)
	flow, err := r.host.Flow(ctx, spec, mc.Flow.Options)
	if err != nil {
		return nil, err
	}
	if flow.Dim() != r.Model.Dim() {
		return nil, fmt.Errorf("the flow %s generates %d coordinates, the system has %d", spec.Name, flow.Dim(), r.Model.Dim())
	}
	p, err := integrators.NewIndependence(&flowDensity{flow: flow, sigma: flow.BaseSigma()}, mc.Batch, r.Config.Seed+uint64(i)*7919)
	if err != nil {
		return nil, err
	}
	if gen := flow.Info().GetGeneratedAtoms(); len(gen) > 0 && 3*len(gen) < flow.Dim() {
		if r.System == nil {
			return nil, fmt.Errorf("the flow %s places atoms it does not generate, which needs a molecule's bonds", spec.Name)
		}
		atoms := make([]int, len(gen))
		for k, a := range gen {
			atoms[k] = int(a)
		}
		frames, err := carryFrames(r.System.PSF, atoms)
		if err != nil {
			return nil, fmt.Errorf("the flow %s: %w", spec.Name, err)
		}
		p.Carry = carry(frames)
	}
	m := integrators.NewMetropolis(p)
	// Statistics per mode of the proposals, when the system has modes:
	// which modes the flow reaches and what rejects it there.
	if set, err := ModeSetFor("auto", r.System, r.Model); err == nil && set != nil {
		for _, mode := range set.Modes {
			m.Classes = append(m.Classes, mode.Name)
		}
		v := make([]float64, len(set.CVs)) // Metropolis classifies one walker at a time
		m.Classify = func(x []float64) int {
			for k, cv := range set.CVs {
				v[k] = cv.Eval(x)
			}
			return set.Classify(v)
		}
	}
	return m, nil
}
