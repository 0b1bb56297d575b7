package engine

import (
	"context"
	"fmt"
	"math"

	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/integrators"
	"github.com/flowmd/flowmd/internal/superpose"
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
// move proposes the heavy atoms from the flow and carries each hydrogen
// over in its heavy atom's frame (see carry). That map preserves volume
// and undoes itself along the reverse move, so the acceptance ratio stays
// p_G(x)/p_G(x') of the heavy atoms.
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

// placer puts the placed atoms of configurations (rows of the system's
// dimension) where a flow's placer would, from their other atoms.
type placer func(ctx context.Context, x []float64) ([]float64, error)

// carry returns the map that gives each proposal in prop the placed atoms
// of the walker's current configuration in cur. The hydrogens of one heavy
// atom move together: expressed in the heavy atom's local frame, they are
// turned by the rotation that best takes the placer's hydrogens on cur's
// heavy atoms onto the placer's hydrogens on the proposal's (Kabsch; for a
// lone hydrogen the smallest rotation between the two directions), and
// put back in the proposal's frame. Their thermal displacement from the
// placer's choice travels, while the placer turns the group to suit the
// new heavy atoms; on dialanine this doubles the acceptance of a rigid
// carry. With place nil, or where the rotation is ill-defined, the
// rotation is the identity (a rigid carry). For fixed heavy atoms the map
// rotates each group, so it preserves volume, and the reverse move, whose
// rotations are the inverses, carries the hydrogens back exactly.
func carry(frames []hydrogenFrame, dim int, place placer) func(ctx context.Context, cur, prop []float64) error {
	var groups [][]hydrogenFrame // by heavy atom, in the frames' order
	at := map[int]int{}
	for _, f := range frames {
		k, ok := at[f.p]
		if !ok {
			k = len(groups)
			at[f.p] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], f)
	}
	return func(ctx context.Context, cur, prop []float64) error {
		var pc, pp []float64
		if place != nil {
			var err error
			if pc, err = place(ctx, cur); err != nil {
				return err
			}
			// The proposals came from the flow with placed hydrogens, but
			// they are placed again here, in a batch shaped like cur's, so
			// that the reverse move would compute the very same numbers
			// (a float32 placer's rounding may depend on the batch).
			if pp, err = place(ctx, prop); err != nil {
				return err
			}
			if len(pc) != len(cur) || len(pp) != len(prop) {
				return fmt.Errorf("the placer returned %d and %d numbers for %d and %d", len(pc), len(pp), len(cur), len(prop))
			}
		}
		a, b := make([][3]float64, 0, 4), make([][3]float64, 0, 4)
		for w := 0; w < len(cur)/dim; w++ {
			c, p := cur[w*dim:(w+1)*dim], prop[w*dim:(w+1)*dim]
			for _, g := range groups {
				// The hydrogens of a heavy atom share its frame.
				f0 := g[0]
				ec, ep := flows.LocalFrame(c, f0.p, f0.a, f0.b), flows.LocalFrame(p, f0.p, f0.a, f0.b)
				r := identity3()
				if place != nil {
					a, b = a[:0], b[:0]
					for _, f := range g {
						a = append(a, toFrame(ec, pc[w*dim:(w+1)*dim], f.h, f.p))
						b = append(b, toFrame(ep, pp[w*dim:(w+1)*dim], f.h, f.p))
					}
					r = bestRotation(a, b)
				}
				for _, f := range g {
					l := toFrame(ec, c, f.h, f.p)
					for k := 0; k < 3; k++ {
						var v float64
						for i := 0; i < 3; i++ {
							// the proposal's frame, turned by r
							v += (r[i][0]*l[0] + r[i][1]*l[1] + r[i][2]*l[2]) * ep[i][k]
						}
						p[3*f.h+k] = p[3*f.p+k] + v
					}
				}
			}
		}
		return nil
	}
}

// toFrame returns atom h's position relative to atom p in the frame e.
func toFrame(e [3][3]float64, x []float64, h, p int) [3]float64 {
	var v [3]float64
	for i := 0; i < 3; i++ {
		for k := 0; k < 3; k++ {
			v[i] += e[i][k] * (x[3*h+k] - x[3*p+k])
		}
	}
	return v
}

func identity3() [3][3]float64 { return [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}} }

// bestRotation returns the rotation r minimising sum |r a_i - b_i|^2: for
// one point the smallest rotation between the two directions (Rodrigues),
// for more the Kabsch rotation (superpose.Rotation). Swapping a and b gives
// the transpose. The identity where it is ill-defined (one point turned by
// nearly pi, or a zero vector).
func bestRotation(a, b [][3]float64) [3][3]float64 {
	if len(a) == 1 {
		u, v := a[0], b[0]
		nu, nv := math.Sqrt(u[0]*u[0]+u[1]*u[1]+u[2]*u[2]), math.Sqrt(v[0]*v[0]+v[1]*v[1]+v[2]*v[2])
		if nu == 0 || nv == 0 {
			return identity3()
		}
		for k := range u {
			u[k] /= nu
			v[k] /= nv
		}
		c := u[0]*v[0] + u[1]*v[1] + u[2]*v[2]
		if c < -0.999 {
			return identity3()
		}
		// r = I + [s]x + [s]x^2 / (1 + c) with s = u x v.
		s := [3]float64{u[1]*v[2] - u[2]*v[1], u[2]*v[0] - u[0]*v[2], u[0]*v[1] - u[1]*v[0]}
		k := [3][3]float64{{0, -s[2], s[1]}, {s[2], 0, -s[0]}, {-s[1], s[0], 0}}
		r := identity3()
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				var k2 float64
				for m := 0; m < 3; m++ {
					k2 += k[i][m] * k[m][j]
				}
				r[i][j] += k[i][j] + k2/(1+c)
			}
		}
		return r
	}
	flat := func(p [][3]float64) []float64 {
		out := make([]float64, 0, 3*len(p))
		for _, v := range p {
			out = append(out, v[0], v[1], v[2])
		}
		return out
	}
	return superpose.Matrix(superpose.Rotation(flat(a), flat(b)))
}

// startFlow starts the flow plugin pc names, on the run's plugin host,
// and checks that it makes configurations of the run's system.
func (r *Run) startFlow(ctx context.Context, pc PluginConfig) (*plugins.RemoteFlow, plugins.Spec, error) {
	if r.host == nil {
		r.host = &plugins.Host{Log: PluginLog, Timeout: r.Config.Plugins.Timeout}
	}
	spec := ResolvePlugin(pc.Name, pc.Path, pc.Args, pc.SHA256, r.Config.Plugins.Dir)
	flow, err := r.host.Flow(ctx, spec, pc.Options)
	if err != nil {
		return nil, spec, err
	}
	if flow.Dim() != r.Model.Dim() {
		return nil, spec, fmt.Errorf("the flow %s generates %d coordinates, the system has %d", spec.Name, flow.Dim(), r.Model.Dim())
	}
	return flow, spec, nil
}

// generatedAtoms lists the atoms a flow generates (0-based).
func generatedAtoms(flow *plugins.RemoteFlow) []int {
	gen := flow.Info().GetGeneratedAtoms()
	atoms := make([]int, len(gen))
	for k, a := range gen {
		atoms[k] = int(a)
	}
	return atoms
}

// flowMove starts the flow plugin of a flow move and returns the move.
func (r *Run) flowMove(ctx context.Context, i int, mc MoveConfig) (integrators.Move, error) {
	flow, spec, err := r.startFlow(ctx, mc.Flow)
	if err != nil {
		return nil, err
	}
	p, err := integrators.NewIndependence(&flowDensity{flow: flow, sigma: flow.BaseSigma()}, mc.Batch, r.Config.Seed+uint64(i)*7919)
	if err != nil {
		return nil, err
	}
	if atoms := generatedAtoms(flow); len(atoms) > 0 && 3*len(atoms) < flow.Dim() {
		if r.System == nil {
			return nil, fmt.Errorf("the flow %s places atoms it does not generate, which needs a molecule's bonds", spec.Name)
		}
		frames, err := carryFrames(r.System.PSF, atoms)
		if err != nil {
			return nil, fmt.Errorf("the flow %s: %w", spec.Name, err)
		}
		place := func(ctx context.Context, x []float64) ([]float64, error) { return flow.Complete(ctx, x, false) }
		p.Carry = carry(frames, flow.Dim(), place)
	}
	m := integrators.NewMetropolis(p)
	// Statistics per mode of the proposals, when the system has modes:
	// which modes the flow reaches and what rejects it there.
	if set, err := ModeSetFor("auto", r.System, r.Model); err == nil && set != nil {
		for _, mode := range set.Modes {
			m.Classes = append(m.Classes, mode.Name)
		}
		cvs := make([]float64, len(set.CVs)) // Metropolis classifies one walker at a time
		m.Classify = func(x []float64) int { return set.ClassifyFrame(x, cvs) }
	}
	return m, nil
}
