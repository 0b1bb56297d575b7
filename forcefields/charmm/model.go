package charmm

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/internal/parallel"
	"github.com/flowmd/flowmd/topology"
)

// Kernel names.
const (
	KernelCPU       = "cpu"
	KernelReference = "reference"
)

// kernelFunc evaluates configuration x of a plan: per-term energies into
// terms, forces added to f when f is not nil (f is zeroed by the caller), and
// the total energy returned. s is per-goroutine scratch space.
type kernelFunc func(p *Plan, x, f, terms []float64, s *scratch) float64

var kernels = map[string]kernelFunc{
	KernelReference: func(p *Plan, x, f, terms []float64, _ *scratch) float64 { return p.referenceOne(x, f, terms) },
	KernelCPU:       (*Plan).cpuOne,
}

// Kernels lists the available kernels.
func Kernels() []string {
	names := make([]string, 0, len(kernels))
	for k := range kernels {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Model is the CHARMM energy as a forcefields.Model.
type Model struct {
	plan    *Plan
	kernel  kernelFunc
	name    string
	terms   []string
	workers int
	pool    sync.Pool // *scratch
}

var _ forcefields.Model = (*Model)(nil)

// New compiles sys with opts and returns a model running the named kernel
// ("" means the CPU kernel).
func New(sys *topology.System, opts Options, kernel string) (*Model, error) {
	p, err := Compile(sys, opts)
	if err != nil {
		return nil, err
	}
	return NewFromPlan(p, kernel)
}

// NewFromPlan returns a model running the named kernel over a compiled plan.
func NewFromPlan(p *Plan, kernel string) (*Model, error) {
	if kernel == "" {
		kernel = KernelCPU
	}
	k, ok := kernels[kernel]
	if !ok {
		return nil, fmt.Errorf("unknown kernel %q, expected one of %v", kernel, Kernels())
	}
	w := p.Options.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	m := &Model{plan: p, kernel: k, name: kernel, terms: p.Terms(), workers: w}
	m.pool.New = func() any { return newScratch(p) }
	return m, nil
}

// Plan returns the compiled plan.
func (m *Model) Plan() *Plan { return m.plan }

// Kernel returns the kernel's name.
func (m *Model) Kernel() string { return m.name }

// Dim implements forcefields.Model.
func (m *Model) Dim() int { return 3 * m.plan.NumAtoms }

// Terms implements forcefields.Model.
func (m *Model) Terms() []string { return m.terms }

// Evaluate implements forcefields.Model. The batch is split between the
// workers; each configuration is evaluated by one goroutine, so results do
// not depend on the number of workers.
func (m *Model) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	dim, nt := m.Dim(), len(m.terms)
	if err := b.Check(dim, nt); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n := b.Size()
	if m.plan.parts > 1 && n < m.workers {
		return m.evaluateByParts(b)
	}
	run := func(lo, hi int) {
		s := m.pool.Get().(*scratch)
		defer m.pool.Put(s)
		for c := lo; c < hi; c++ {
			x := b.Coords[c*dim : (c+1)*dim]
			var f []float64
			if b.Forces != nil {
				f = b.Forces[c*dim : (c+1)*dim]
				clear(f)
			}
			terms := s.terms
			if b.Terms != nil {
				terms = b.Terms[c*nt : (c+1)*nt]
			}
			b.Energy[c] = m.kernel(m.plan, x, f, terms, s)
		}
	}
	// About sixteen ranges per worker balance the load without much
	// bookkeeping, and leave a short tail when a helper starts late.
	parallel.For(n, m.workers, max(1, n/(16*m.workers)), run)
	return nil
}

// Workers returns the number of goroutines a batch may use.
func (m *Model) Workers() int { return m.workers }

// evaluateByParts evaluates a small batch of a large system with the parts
// of each configuration running concurrently; the parts are reduced in order,
// so the result is the one cpuOne computes alone.
func (m *Model) evaluateByParts(b *forcefields.Batch) error {
	dim, nt := m.Dim(), len(m.terms)
	s := m.pool.Get().(*scratch)
	defer m.pool.Put(s)
	p := m.plan
	for c := 0; c < b.Size(); c++ {
		x := b.Coords[c*dim : (c+1)*dim]
		f := s.f
		if b.Forces != nil {
			f = b.Forces[c*dim : (c+1)*dim]
		}
		clear(f)
		terms := s.terms
		if b.Terms != nil {
			terms = b.Terms[c*nt : (c+1)*nt]
		}
		if m.name != KernelCPU {
			b.Energy[c] = m.kernel(p, x, f, terms, s)
			continue
		}
		var wg sync.WaitGroup
		w := min(m.workers, p.parts)
		for g := 0; g < w; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := g; k < p.parts; k += w {
					p.runPart(x, s, k)
				}
			}()
		}
		wg.Wait()
		b.Energy[c] = p.reduceParts(x, f, terms, s)
	}
	return nil
}
