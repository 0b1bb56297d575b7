package flows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/flowmd/flowmd/internal/parallel"
	"github.com/flowmd/flowmd/nn"
)

// Flow is a normalizing flow: a Gaussian base N(0, Sigma^2 I) on Dim
// numbers pushed through Layers (layer 0 first in the generator
// direction). Batches are rows of Dim numbers, split over workers that
// each run the whole stack on their rows; their parameter gradients are
// added up in a fixed order, so results do not depend on scheduling.
//
// A Flow is not safe for concurrent use: a pass kept for a VJP is state.
type Flow struct {
	Params *nn.Set
	Layers []Layer
	Sigma  float64
	// Spec is what Build made the flow from (zero for a flow from New).
	Spec Spec
	// Grad is the gradient accumulated by VJP since the last Step or
	// ZeroGrad, laid out like Params.Values.
	Grad []float64
	opt  *nn.Adam
	// groups are the interior boundaries of the optimizer's parameter
	// groups (objectives trained apart, such as the hydrogen placer).
	groups []int
	// p32 is the float32 copy of the parameters that float32 layers read,
	// refreshed before every pass; nil when no layer needs it.
	p32 *[]float32

	workers int
	kept    []*workspace // the workspaces of the last pass kept for a VJP
	keptN   int
	keptDir Direction
	pool    sync.Pool // workspaces for passes that are not kept
}

// workspace is one worker's buffers: the rows between layers and the
// layers' caches. Kept passes store every layer's input; others reuse two
// buffers.
type workspace struct {
	acts   [][]float64
	caches []any
	ld     []float64
	dact   [2][]float64
	grad   []float64
	lo, hi int
}

// New makes a flow from layers whose parameters are registered in params.
func New(params *nn.Set, layers []Layer, sigma float64) (*Flow, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("flows: a flow needs at least one layer")
	}
	dim := layers[0].Dim()
	for i, l := range layers {
		if l.Dim() != dim {
			return nil, fmt.Errorf("flows: layer %d works on %d numbers, layer 0 on %d", i, l.Dim(), dim)
		}
	}
	if !(sigma > 0) {
		return nil, fmt.Errorf("flows: the base standard deviation must be positive, not %g", sigma)
	}
	f := &Flow{Params: params, Layers: layers, Sigma: sigma, Grad: make([]float64, params.Len()),
		workers: runtime.GOMAXPROCS(0)}
	f.pool.New = func() any { return f.newWorkspace() }
	return f, nil
}

// Dim is the number of coordinates of z and x.
func (f *Flow) Dim() int { return f.Layers[0].Dim() }

// SetWorkers sets how many goroutines a pass uses (default GOMAXPROCS).
func (f *Flow) SetWorkers(n int) { f.workers = max(1, n) }

func (f *Flow) newWorkspace() *workspace {
	w := &workspace{caches: make([]any, len(f.Layers)), acts: make([][]float64, len(f.Layers)+1)}
	for i, l := range f.Layers {
		w.caches[i] = l.NewCache()
	}
	return w
}

// passRows is the most rows a worker handles at once in a pass that is not
// kept: it bounds the memory of sampling large batches.
const passRows = 256

// Forward maps n latent rows z to x = G(z) and writes log |det dG/dz| of
// each row to ld. With keep, it keeps what VJP needs.
func (f *Flow) Forward(n int, z, x, ld []float64, keep bool) {
	f.pass(Generate, n, z, x, ld, keep)
}

// Inverse maps n rows x to z = F(x) and writes log |det dF/dx| to ld.
func (f *Flow) Inverse(n int, x, z, ld []float64, keep bool) {
	f.pass(Invert, n, x, z, ld, keep)
}

func (f *Flow) pass(dir Direction, n int, in, out, ld []float64, keep bool) {
	dim := f.Dim()
	if len(in) < n*dim || len(out) < n*dim || len(ld) < n {
		panic(fmt.Sprintf("flows: a pass over %d rows of %d got %d inputs, %d outputs, %d log-dets", n, dim, len(in), len(out), len(ld)))
	}
	f.keptN = 0
	f.sync32()
	if !keep {
		parallel.For(n, f.workers, passRows, func(lo, hi int) {
			w := f.pool.Get().(*workspace)
			f.run(w, dir, hi-lo, in[lo*dim:hi*dim], out[lo*dim:hi*dim], ld[lo:hi], false)
			f.pool.Put(w)
		})
		return
	}
	chunks := min(f.workers, max(1, n/16))
	for len(f.kept) < chunks {
		f.kept = append(f.kept, f.newWorkspace())
	}
	f.keptN, f.keptDir = n, dir
	parallel.For(chunks, chunks, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			w := f.kept[c]
			w.lo, w.hi = c*n/chunks, (c+1)*n/chunks
			f.run(w, dir, w.hi-w.lo, in[w.lo*dim:w.hi*dim], out[w.lo*dim:w.hi*dim], ld[w.lo:w.hi], true)
		}
	})
	f.kept = f.kept[:chunks]
}

// sync32 refreshes the float32 copy of the parameters, if layers use it.
func (f *Flow) sync32() {
	if f.p32 != nil {
		*f.p32 = f.Params.Values32(*f.p32)
	}
}

// run passes n rows through every layer on one worker.
func (f *Flow) run(w *workspace, dir Direction, n int, in, out, ld []float64, keep bool) {
	dim, L := f.Dim(), len(f.Layers)
	for r := range ld[:n] {
		ld[r] = 0
	}
	p := f.Params.Values
	if keep {
		w.acts[0] = grow(w.acts[0], n*dim)
		copy(w.acts[0], in[:n*dim])
	}
	cur := in
	for k := 0; k < L; k++ {
		i := k
		if dir == Invert {
			i = L - 1 - k
		}
		var next []float64
		switch {
		case k == L-1:
			next = out
		case keep:
			w.acts[k+1] = grow(w.acts[k+1], n*dim)
			next = w.acts[k+1]
		default:
			// Ping-pong between two buffers.
			b := k % 2
			w.dact[b] = grow(w.dact[b], n*dim)
			next = w.dact[b]
		}
		f.Layers[i].Pass(dir, p, n, cur, next, ld, w.caches[i])
		cur = next
	}
	if keep {
		// A copy: the caller may reuse its output before the VJP.
		w.acts[L] = grow(w.acts[L], n*dim)
		copy(w.acts[L], out[:n*dim])
	}
}

// VJP backpropagates through the last pass kept for it: given the
// cotangents dout of its outputs (n x Dim) and dld of its log-determinants,
// it writes the cotangents of its inputs to din and adds the parameters'
// gradients to Grad.
func (f *Flow) VJP(dout, dld, din []float64) error {
	n, dim, L := f.keptN, f.Dim(), len(f.Layers)
	if n == 0 {
		return fmt.Errorf("flows: no pass was kept for a vector-Jacobian product")
	}
	if len(dout) < n*dim || len(dld) < n || len(din) < n*dim {
		return fmt.Errorf("flows: the kept pass has %d rows of %d: got %d output and %d log-det cotangents", n, dim, len(dout), len(dld))
	}
	p := f.Params.Values
	parallel.For(len(f.kept), len(f.kept), 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			w := f.kept[c]
			m := w.hi - w.lo
			w.grad = grow(w.grad, len(p))
			for i := range w.grad {
				w.grad[i] = 0
			}
			g := dout[w.lo*dim : w.hi*dim]
			for k := L - 1; k >= 0; k-- {
				i := k
				if f.keptDir == Invert {
					i = L - 1 - k
				}
				var dst []float64
				if k == 0 {
					dst = din[w.lo*dim : w.hi*dim]
				} else {
					b := k % 2
					w.dact[b] = grow(w.dact[b], m*dim)
					dst = w.dact[b]
				}
				f.Layers[i].Backward(p, w.grad, m, w.acts[k], w.acts[k+1], g, dld[w.lo:w.hi], dst, w.caches[i])
				g = dst
			}
		}
	})
	for _, w := range f.kept {
		for i, v := range w.grad {
			f.Grad[i] += v
		}
	}
	return nil
}

// ZeroGrad clears the accumulated gradient.
func (f *Flow) ZeroGrad() {
	for i := range f.Grad {
		f.Grad[i] = 0
	}
}

// Step applies Adam to the accumulated gradient with learning rate lr,
// after clipping its norm to clip when positive, clears the gradient and
// returns its norm before clipping.
func (f *Flow) Step(lr, clip float64) float64 {
	if f.opt == nil {
		f.opt = nn.NewAdam(f.Params.Len(), f.groups...)
	}
	norm := nn.ClipNorm(f.Grad, clip)
	f.opt.Step(f.Params.Values, f.Grad, lr)
	f.ZeroGrad()
	return norm
}

// Optimizer returns the Adam state (nil before the first Step), for
// checkpoints.
func (f *Flow) Optimizer() *nn.Adam { return f.opt }

// SetOptimizer restores an Adam state saved from this flow.
func (f *Flow) SetOptimizer(a *nn.Adam) error {
	if a != nil && (len(a.M) != f.Params.Len() || len(a.V) != f.Params.Len() || len(a.T) != len(f.groups)+1) {
		return fmt.Errorf("flows: optimizer state for %d parameters in %d groups, the flow has %d in %d", len(a.M), len(a.T), f.Params.Len(), len(f.groups)+1)
	}
	f.opt = a
	return nil
}

// LogBase is log N(z; 0, Sigma^2 I) of one row.
func (f *Flow) LogBase(z []float64) float64 {
	d := float64(len(z))
	return -0.5*dot(z, z)/(f.Sigma*f.Sigma) - 0.5*d*math.Log(2*math.Pi*f.Sigma*f.Sigma)
}

// Sample draws n rows z from the base and returns them with x = G(z) and
// log p_G(x) = log q(z) - log |det dG/dz|. With keep, the pass is kept
// for a VJP (the reparameterized gradient of a data-free loss).
func (f *Flow) Sample(n int, rng *rand.Rand, keep bool) (z, x, logp []float64) {
	dim := f.Dim()
	z, x, logp = make([]float64, n*dim), make([]float64, n*dim), make([]float64, n)
	for i := range z {
		z[i] = f.Sigma * rng.NormFloat64()
	}
	f.Forward(n, z, x, logp, keep)
	for r := 0; r < n; r++ {
		logp[r] = f.LogBase(z[r*dim:(r+1)*dim]) - logp[r]
	}
	return z, x, logp
}

// LogProb returns log p_G of n rows x through the inverse pass: log q(F(x))
// + log |det dF/dx|.
func (f *Flow) LogProb(n int, x []float64) []float64 {
	dim := f.Dim()
	z, logp := make([]float64, n*dim), make([]float64, n)
	f.Inverse(n, x, z, logp, false)
	for r := 0; r < n; r++ {
		logp[r] += f.LogBase(z[r*dim : (r+1)*dim])
	}
	return logp
}
