package flows

import (
	"fmt"
	"math/rand/v2"

	"github.com/flowmd/flowmd/internal/parallel"
	"github.com/flowmd/flowmd/nn"
)

// Generator is the thesis' two-stage generator (section 3.3): a flow G^C
// on the coordinates of some atoms (the heavy atoms) and a deterministic
// placer G^H of the others (the hydrogens), G = G^H o G^C. Its inverse F^H
// drops the placed atoms, so log p_G is that of the flow on the generated
// atoms, and G(F(x)) differs from x only in where the hydrogens are.
//
// With no placed atoms it is the flow itself on all coordinates (the double
// wells). Configurations are rows of 3 * Atoms numbers (atoms in the
// topology's order) or of Dim numbers for a flow without atoms.
//
// A stochastic placer (GeneratorSpec.Stochastic) draws the placed atoms'
// spherical coordinates in their frames (bond length, angle, dihedral)
// from a Gaussian around the network's values, correlated among the atoms
// of one parent (see scale.go): the conditional density for the hydrogens
// that the thesis proposes (section 9.2) in a simple form. z then has a part per placed atom after the flow's, the
// generator has a density over every coordinate, and G(F(x)) = x.
type Generator struct {
	Flow *Flow
	// Spec is what the generator was built from.
	Spec GeneratorSpec

	placer  *Placer
	caches  []*placerCache // one per chunk of a kept pass
	keptN   int
	keptDir Direction
	placeN  int // rows of the last kept Place

	heavy   []float64 // the flow's side of the last kept pass, n x 3 Ng
	scratch []float64
	// zh holds the placed atoms' latent rows of the last kept pass of a
	// stochastic generator, n x 3 Np.
	zh []float64
}

// GeneratorSpec describes a generator.
type GeneratorSpec struct {
	Flow Spec
	// Atoms is the number of atoms of a configuration, 0 when the flow
	// works on plain coordinates (Flow.Dim of them).
	Atoms int
	// Generated lists the atoms the flow generates, in increasing order;
	// empty means all of them.
	Generated []int
	// Placed lists the other atoms and Parents the generated atom each is
	// bonded to; Offsets are their positions relative to it in a reference
	// structure (3 per placed atom), where the placer starts.
	Placed, Parents []int
	Offsets         []float64
	// Frames, when given, are two generated atoms per placed atom (A, B)
	// that with its parent P make a local frame: e1 along P->A, e2 in the
	// plane of P, A, B, e3 = e1 x e2. The placer then predicts the offset
	// in that frame, so a hydrogen turns with its heavy atoms and the
	// network learns only how it deviates (the placer of the thesis works
	// in the global frame). -1, -1 keeps an atom's offset global, and so do
	// specs without Frames (flows saved before them).
	Frames []int `json:",omitempty"`
	// Interchangeable lists groups of placed atoms (their places in
	// Placed) that the force field cannot tell apart: the hydrogens of a
	// methyl or methylene group (one parent, one type, one charge). Every
	// order of a group's atoms has the same energy and data hold them all
	// (methyls turn), so a stochastic placer's inverse gives each group
	// the order its Gaussians make most likely: the flow models one order,
	// the others are its copies (thesis section 9.5.1).
	Interchangeable [][]int `json:",omitempty"`
	// Stochastic makes the placer draw the placed atoms from a Gaussian
	// around their positions (see Generator).
	Stochastic bool `json:",omitempty"`
	// PlacerHidden and PlacerLayers shape the placer: PlacerLayers hidden
	// layers of PlacerHidden units (the thesis: three dense layers of width
	// 512, i.e. 2 hidden layers). Defaults 512 and 2.
	PlacerHidden, PlacerLayers int
}

// NewGenerator builds the generator a spec describes.
func NewGenerator(gs GeneratorSpec) (*Generator, error) {
	if gs.Atoms > 0 && len(gs.Generated) == 0 {
		for i := 0; i < gs.Atoms; i++ {
			gs.Generated = append(gs.Generated, i)
		}
	}
	if gs.Atoms > 0 {
		gs.Flow.Dim = 3 * len(gs.Generated)
		if err := checkAtoms(gs); err != nil {
			return nil, err
		}
	}
	if gs.PlacerHidden == 0 {
		gs.PlacerHidden = 512
	}
	if gs.PlacerLayers == 0 {
		gs.PlacerLayers = 2
	}
	s := nn.NewSet()
	sp, layers, err := buildLayers(s, gs.Flow)
	if err != nil {
		return nil, err
	}
	gs.Flow = sp
	g := &Generator{Spec: gs}
	if len(gs.Placed) > 0 {
		rng := rand.New(rand.NewPCG(sp.Seed, 0x706c6163))
		g.placer = newPlacer(s, gs, rng)
	}
	if g.Flow, err = newFlow(s, layers, sp); err != nil {
		return nil, err
	}
	if g.placer != nil {
		// The placer is trained on its own objective: its own Adam group.
		g.Flow.groups = []int{g.placer.lo}
		if g.Flow.p32 != nil {
			g.placer.useFloat32(g.Flow.p32)
		}
	}
	return g, nil
}

func checkAtoms(gs GeneratorSpec) error {
	seen := make([]bool, gs.Atoms)
	for _, list := range [][]int{gs.Generated, gs.Placed} {
		for _, a := range list {
			if a < 0 || a >= gs.Atoms || seen[a] {
				return fmt.Errorf("flows: atom %d out of range or listed twice", a)
			}
			seen[a] = true
		}
	}
	for a, ok := range seen {
		if !ok {
			return fmt.Errorf("flows: atom %d is neither generated nor placed", a)
		}
	}
	if len(gs.Parents) != len(gs.Placed) || len(gs.Offsets) != 3*len(gs.Placed) {
		return fmt.Errorf("flows: %d placed atoms need as many parents and 3 offsets each", len(gs.Placed))
	}
	gen := map[int]bool{}
	for _, a := range gs.Generated {
		gen[a] = true
	}
	for i, p := range gs.Parents {
		if !gen[p] {
			return fmt.Errorf("flows: the parent %d of placed atom %d is not generated", p, gs.Placed[i])
		}
	}
	inGroup := make([]bool, len(gs.Placed))
	for _, grp := range gs.Interchangeable {
		if len(grp) < 2 || len(grp) > 4 {
			return fmt.Errorf("flows: a group of %d interchangeable atoms (2 to 4)", len(grp))
		}
		for _, j := range grp {
			if j < 0 || j >= len(gs.Placed) || inGroup[j] {
				return fmt.Errorf("flows: interchangeable atom %d is not a placed atom or is in two groups", j)
			}
			inGroup[j] = true
			if gs.Parents[j] != gs.Parents[grp[0]] {
				return fmt.Errorf("flows: the interchangeable atoms %d and %d have different parents", gs.Placed[grp[0]], gs.Placed[j])
			}
		}
	}
	if gs.Stochastic && len(gs.Placed) == 0 {
		return fmt.Errorf("flows: a stochastic placer needs placed atoms")
	}
	if len(gs.Frames) > 0 {
		if len(gs.Frames) != 2*len(gs.Placed) {
			return fmt.Errorf("flows: %d frame atoms for %d placed atoms (2 each)", len(gs.Frames), len(gs.Placed))
		}
		for i := range gs.Placed {
			a, b := gs.Frames[2*i], gs.Frames[2*i+1]
			if a == -1 && b == -1 {
				continue
			}
			if !gen[a] || !gen[b] || a == b || a == gs.Parents[i] || b == gs.Parents[i] {
				return fmt.Errorf("flows: the frame atoms %d, %d of placed atom %d must be two generated atoms other than its parent", a, b, gs.Placed[i])
			}
		}
	}
	return nil
}

// LatentDim is the dimension of z; Dim that of a configuration x.
func (g *Generator) LatentDim() int { return g.Flow.Dim() + g.placedLatent() }

// placedLatent is the size of the placed atoms' part of z: 3 per placed
// atom for a stochastic placer, none for a deterministic one.
func (g *Generator) placedLatent() int {
	if g.Spec.Stochastic {
		return 3 * len(g.Spec.Placed)
	}
	return 0
}
func (g *Generator) Dim() int {
	if g.Spec.Atoms > 0 {
		return 3 * g.Spec.Atoms
	}
	return g.Flow.Dim()
}

// Forward maps n latent rows z to configurations x = G(z) and writes log
// |det dG^C/dz| to ld. With keep, it keeps what VJP needs.
func (g *Generator) Forward(n int, z, x, ld []float64, keep bool) {
	if g.Spec.Atoms == 0 {
		g.Flow.Forward(n, z, x, ld, keep)
		g.keptN, g.keptDir = g.Flow.keptN, Generate
		return
	}
	heavy := g.heavyBuffer(n, keep)
	if !g.Spec.Stochastic {
		g.Flow.Forward(n, z, heavy, ld, keep)
		g.scatter(n, heavy, x)
		if g.placer != nil {
			g.place(n, heavy, x, nil, nil)
		}
	} else {
		zc, zh := g.splitLatent(n, z, keep)
		g.Flow.Forward(n, zc, heavy, ld, keep)
		g.scatter(n, heavy, x)
		g.place(n, heavy, x, zh, ld)
		s := g.placer.scale.logDet(g.Flow.Params.Values)
		for r := range ld[:n] {
			ld[r] += s
		}
	}
	g.keptN, g.keptDir, g.placeN = 0, Generate, 0
	if keep {
		g.keptN = n
	}
}

// Inverse maps n configurations x to z = F(x) (dropping the placed atoms)
// and writes log |det dF^C/dx^C| to ld.
func (g *Generator) Inverse(n int, x, z, ld []float64, keep bool) {
	if g.Spec.Atoms == 0 {
		g.Flow.Inverse(n, x, z, ld, keep)
		g.keptN, g.keptDir = g.Flow.keptN, Invert
		return
	}
	if !g.Spec.Stochastic {
		heavy := g.heavyBuffer(n, false)
		g.gather(n, x, heavy)
		g.Flow.Inverse(n, heavy, z, ld, keep)
	} else {
		g.invertStochastic(n, x, z, ld, keep)
	}
	g.keptN, g.keptDir, g.placeN = 0, Invert, 0
	if keep {
		g.keptN = n
	}
}

// VJP backpropagates through the last pass kept for it, as Flow.VJP does,
// through the placer too after a forward pass. The cotangent of a placed
// atom's coordinates after an inverse pass is 0: F drops them.
func (g *Generator) VJP(dout, dld, din []float64) error {
	if g.placeN > 0 {
		// After Place: the placer's parameters, and the inputs' cotangents
		// of x -> Place(x), whose generated atoms pass through and whose
		// placed atoms depend on the generated ones only (their own input
		// coordinates are overwritten, so theirs is 0).
		return g.placeVJP(dout, din, true)
	}
	if g.Spec.Atoms == 0 {
		return g.Flow.VJP(dout, dld, din)
	}
	n := g.keptN
	if n == 0 {
		return fmt.Errorf("flows: no pass was kept for a vector-Jacobian product")
	}
	ng := 3 * len(g.Spec.Generated)
	if g.Spec.Stochastic {
		return g.stochasticVJP(n, dout, dld, din)
	}
	if g.keptDir == Invert {
		if len(din) < n*g.Dim() {
			return fmt.Errorf("flows: %d input cotangents for %d rows of %d", len(din), n, g.Dim())
		}
		g.scratch = grow(g.scratch, n*ng)
		if err := g.Flow.VJP(dout, dld, g.scratch); err != nil {
			return err
		}
		clear(din[:n*g.Dim()])
		g.scatter(n, g.scratch, din)
		return nil
	}
	if len(dout) < n*g.Dim() {
		return fmt.Errorf("flows: %d output cotangents for %d rows of %d", len(dout), n, g.Dim())
	}
	g.scratch = grow(g.scratch, n*ng)
	g.gather(n, dout, g.scratch)
	if g.placer != nil {
		g.placeBackward(n, dout, g.scratch, nil, nil, nil, true)
	}
	return g.Flow.VJP(g.scratch, dld, din)
}

// Sample draws n configurations: z from the base, x = G(z), and log p_G(x)
// = log q(z) - log |det dG^C/dz|.
func (g *Generator) Sample(n int, rng *rand.Rand, keep bool) (z, x, logp []float64) {
	d := g.LatentDim()
	z, x, logp = make([]float64, n*d), make([]float64, n*g.Dim()), make([]float64, n)
	for i := range z {
		z[i] = g.Flow.Sigma * rng.NormFloat64()
	}
	g.Forward(n, z, x, logp, keep)
	for r := 0; r < n; r++ {
		logp[r] = g.Flow.LogBase(z[r*d:(r+1)*d]) - logp[r]
	}
	return z, x, logp
}

// LogProb returns log p_G of n configurations (of their generated atoms,
// or of every atom for a stochastic placer).
func (g *Generator) LogProb(n int, x []float64) []float64 {
	if g.Spec.Atoms == 0 {
		return g.Flow.LogProb(n, x)
	}
	if g.Spec.Stochastic {
		d := g.LatentDim()
		z, logp := make([]float64, n*d), make([]float64, n)
		g.invertStochastic(n, x, z, logp, false)
		for r := range logp {
			logp[r] += g.Flow.LogBase(z[r*d : (r+1)*d])
		}
		return logp
	}
	heavy := make([]float64, n*3*len(g.Spec.Generated))
	g.gather(n, x, heavy)
	return g.Flow.LogProb(n, heavy)
}

// heavyBuffer returns room for the flow's side of n rows: kept for VJP when
// the pass is.
func (g *Generator) heavyBuffer(n int, keep bool) []float64 {
	size := n * 3 * len(g.Spec.Generated)
	if keep {
		g.heavy = grow(g.heavy, size)
		return g.heavy
	}
	return make([]float64, size)
}

// gather copies the generated atoms' coordinates of n configurations.
func (g *Generator) gather(n int, x, heavy []float64) {
	N, ng := 3*g.Spec.Atoms, 3*len(g.Spec.Generated)
	for r := 0; r < n; r++ {
		for j, a := range g.Spec.Generated {
			copy(heavy[r*ng+3*j:r*ng+3*j+3], x[r*N+3*a:r*N+3*a+3])
		}
	}
}

// scatter writes the generated atoms' coordinates into n configurations.
func (g *Generator) scatter(n int, heavy, x []float64) {
	N, ng := 3*g.Spec.Atoms, 3*len(g.Spec.Generated)
	for r := 0; r < n; r++ {
		for j, a := range g.Spec.Generated {
			copy(x[r*N+3*a:r*N+3*a+3], heavy[r*ng+3*j:r*ng+3*j+3])
		}
	}
}

// placerChunks is the number of chunks of rows the placer's passes over n
// rows run in, one cache each: a backward pass runs in the same chunks as
// the pass it follows, since each chunk's cache holds that pass.
func (g *Generator) placerChunks(n int) int {
	chunks := min(g.Flow.workers, max(1, n/16))
	for len(g.caches) < chunks {
		g.caches = append(g.caches, &placerCache{})
	}
	return chunks
}

// place runs the placer on chunks of rows in parallel; zh are the placed
// atoms' latent rows of a stochastic placement, nil for the placer's (or
// the Gaussians') positions, and ld gets a stochastic placement's
// log-determinants beyond log |det L|.
func (g *Generator) place(n int, heavy, x, zh, ld []float64) {
	chunks := g.placerChunks(n)
	ng, N, np := 3*len(g.Spec.Generated), g.Dim(), 3*len(g.Spec.Placed)
	p := g.Flow.Params.Values
	parallel.For(chunks, chunks, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			a, b := c*n/chunks, (c+1)*n/chunks
			var zc, ldc []float64
			if zh != nil {
				zc, ldc = zh[a*np:b*np], ld[a:b]
			}
			// The caches always hold the last pass.
			g.placer.place(p, b-a, heavy[a*ng:b*ng], x[a*N:b*N], zc, ldc, g.caches[c])
		}
	})
}

// placeBackward backpropagates through the last place, kept in the
// caches; zh, dzh and dld are nil after a deterministic one. Without
// withParams the placer's network gradient is neither computed nor added.
func (g *Generator) placeBackward(n int, dout, dheavy, zh, dzh, dld []float64, withParams bool) {
	chunks := g.placerChunks(n)
	ng, N, np := 3*len(g.Spec.Generated), g.Dim(), 3*len(g.Spec.Placed)
	p := g.Flow.Params.Values
	grads := make([][]float64, chunks)
	parallel.For(chunks, chunks, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			a, b := c*n/chunks, (c+1)*n/chunks
			var zc, dzc, dldc []float64
			if zh != nil {
				zc, dzc, dldc = zh[a*np:b*np], dzh[a*np:b*np], dld[a:b]
			}
			grads[c] = g.placer.backward(p, b-a, g.heavy[a*ng:b*ng], dout[a*N:b*N], dheavy[a*ng:b*ng], zc, dzc, dldc, g.caches[c], withParams)
		}
	})
	if withParams {
		g.addPlacerGrads(grads, chunks, zh != nil)
	}
}

// addPlacerGrads adds the chunks' gradients of the placer's network, and
// of its scale when they were computed, into Flow.Grad.
func (g *Generator) addPlacerGrads(grads [][]float64, chunks int, scale bool) {
	dst := g.Flow.Grad[g.placer.lo:g.placer.hi]
	for _, gr := range grads {
		for i, v := range gr {
			dst[i] += v
		}
	}
	if !scale {
		return
	}
	ls := g.placer.scale.param.Of(g.Flow.Grad)
	for c := 0; c < chunks; c++ {
		for i, v := range g.caches[c].gscale {
			ls[i] += v
		}
	}
}

// GeneratedAtoms lists the atoms the generator's density covers, nil for a
// flow on plain coordinates: the flow's, and with a stochastic placer the
// placed atoms too.
func (g *Generator) GeneratedAtoms() []int {
	if g.Spec.Atoms == 0 {
		return nil
	}
	if g.Spec.Stochastic {
		all := make([]int, g.Spec.Atoms)
		for i := range all {
			all[i] = i
		}
		return all
	}
	return g.Spec.Generated
}

// BaseSigma is the standard deviation of the Gaussian base of z.
func (g *Generator) BaseSigma() float64 { return g.Flow.Sigma }

// Parameters is the number of trainable parameters.
func (g *Generator) Parameters() int { return g.Flow.Params.Trainable() }

// Step applies Adam to the gradient accumulated by VJP; see Flow.Step.
func (g *Generator) Step(lr, clip float64) float64 { return g.Flow.Step(lr, clip) }

// SaveFile saves the parameters and the optimizer state (see Save).
func (g *Generator) SaveFile(path string) error { return g.Save(path, true) }

// LoadFile replaces the parameters (and the optimizer state, when saved)
// by those of a file saved from a generator of the same architecture.
func (g *Generator) LoadFile(path string) error {
	h, err := Load(path)
	if err != nil {
		return err
	}
	a, b := g.Flow.Params.Params(), h.Flow.Params.Params()
	if len(a) != len(b) {
		return fmt.Errorf("%s: a flow of %d parameter arrays, this one has %d", path, len(b), len(a))
	}
	for i := range a {
		if a[i].Name != b[i].Name || fmt.Sprint(a[i].Shape) != fmt.Sprint(b[i].Shape) {
			return fmt.Errorf("%s: parameter %s %v where this flow has %s %v", path, b[i].Name, b[i].Shape, a[i].Name, a[i].Shape)
		}
	}
	copy(g.Flow.Params.Values, h.Flow.Params.Values)
	g.Flow.ZeroGrad()
	return g.Flow.SetOptimizer(h.Flow.Optimizer())
}

// Complete re-places the placed atoms of n configurations in place (see
// Place); a VJP after a kept Complete reaches the placer only.
func (g *Generator) Complete(n int, x []float64, keep bool) { g.Place(n, x, keep) }

// HasPlacer reports whether some atoms are placed rather than generated.
func (g *Generator) HasPlacer() bool { return g.placer != nil }

// Place puts the placed atoms of n configurations x (rows of Dim) where the
// placer puts them given their generated atoms, in place. With keep, a
// PlacerVJP can follow: this is how the placer is trained on data, with
// the generated atoms fixed.
func (g *Generator) Place(n int, x []float64, keep bool) {
	if g.placer == nil {
		// Nothing is placed; a VJP after it has nothing to train.
		g.keptN, g.placeN = 0, 0
		if keep {
			g.placeN = n
		}
		return
	}
	heavy := g.heavyBuffer(n, keep)
	g.gather(n, x, heavy)
	g.Flow.sync32()
	g.place(n, heavy, x, nil, nil)
	g.keptN, g.placeN = 0, 0
	if keep {
		g.placeN = n
	}
}

// PlacerVJP backpropagates the cotangents of whole configurations through
// the last kept Place into the placer's parameters (their gradient
// accumulates in Flow.Grad; the generated atoms are held fixed).
func (g *Generator) PlacerVJP(dout []float64) error { return g.placerBackward(dout, false, true) }

// placerBackward is PlacerVJP, leaving in g.scratch the generated atoms'
// cotangents: what the placed atoms' give them through the placer, plus
// with own their own in dout; without withParams it computes only those.
func (g *Generator) placerBackward(dout []float64, own, withParams bool) error {
	n := g.placeN
	if n == 0 {
		return fmt.Errorf("flows: no Place was kept for a placer VJP")
	}
	if g.placer == nil {
		return nil
	}
	if len(dout) < n*g.Dim() {
		return fmt.Errorf("flows: %d cotangents for %d rows of %d", len(dout), n, g.Dim())
	}
	g.scratch = grow(g.scratch, n*3*len(g.Spec.Generated))
	if own {
		g.gather(n, dout, g.scratch)
	} else {
		clear(g.scratch)
	}
	g.placeBackward(n, dout, g.scratch, nil, nil, nil, withParams)
	return nil
}

// InputVJP is VJP for a caller that needs the inputs' cotangents only:
// after a kept Place it skips the placer's parameter gradient, a third of
// the placer's backward work (sampling the energy with placed hydrogens
// needs forces, not training). After any other pass it is VJP, and the
// parameter gradient accumulates as there.
func (g *Generator) InputVJP(dout, dld, din []float64) error {
	if g.placeN > 0 {
		return g.placeVJP(dout, din, false)
	}
	return g.VJP(dout, dld, din)
}

// placeVJP is VJP after a kept Place: with withParams it accumulates the
// placer's parameter gradient, as PlacerVJP does, and it writes into din
// the cotangents of Place's inputs: dout of each generated atom plus what
// the placed atoms' cotangents give it through the placer, 0 for the
// placed atoms. Sampling the energy with placed hydrogens (the target of
// data-free training with a placer) needs these forces on the heavy atoms.
func (g *Generator) placeVJP(dout, din []float64, withParams bool) error {
	n, N := g.placeN, g.Dim()
	if len(din) < n*N || len(dout) < n*N {
		return fmt.Errorf("flows: %d cotangents and %d input cotangents for %d rows of %d", len(dout), len(din), n, N)
	}
	if g.placer == nil {
		copy(din[:n*N], dout[:n*N]) // nothing is placed: Place is the identity
		return nil
	}
	if err := g.placerBackward(dout, true, withParams); err != nil {
		return err
	}
	clear(din[:n*N])
	g.scatter(n, g.scratch, din)
	return nil
}
