// Package parallel runs loops over independent items on several goroutines.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// For calls fn on consecutive ranges [lo, hi) covering 0..n-1, using up to
// workers goroutines including the caller's. Ranges hold about grain items
// and are handed out one at a time, so a goroutine that starts late simply
// takes fewer of them, while the caller starts at once. Which goroutine
// handles an item is not fixed, so fn must give each item the same result
// whoever computes it.
//
// Helpers come from a pool of goroutines that keep polling for work after
// finishing before they sleep, when loops have been coming close together
// (see spinFor). Waking a sleeping thread costs 0.1 to 3 ms on the virtual
// machines flowmd is measured on, as long as a whole molecular dynamics
// step of 64 walkers or a batch of 1,024 dialanine energies, so
// back-to-back loops (one per step, or one per call of a plugin's host)
// would otherwise run on one core. When the pool is busy (a loop inside a
// loop, or loops from several goroutines at once) helpers are started as
// plain goroutines instead.
func For(n, workers, grain int, fn func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	if workers <= 1 || n <= grain {
		fn(0, n)
		return
	}
	chunks := (n + grain - 1) / grain
	workers = min(workers, chunks)
	t := &task{n: n, grain: grain, chunks: chunks, fn: fn}
	if defaultPool.run(t, workers-1) {
		return
	}
	var wg sync.WaitGroup
	for k := 1; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.work()
		}()
	}
	t.work()
	wg.Wait()
}

// task is one loop, shared by the goroutines working on it.
type task struct {
	n, grain, chunks int
	fn               func(lo, hi int)
	next             atomic.Int64 // the next chunk to hand out
	finished         atomic.Int64 // chunks done
}

func (t *task) work() {
	for {
		c := int(t.next.Add(1)) - 1
		if c >= t.chunks {
			return
		}
		lo := c * t.grain
		t.fn(lo, min(lo+t.grain, t.n))
		t.finished.Add(1)
	}
}

// wait returns when every chunk is done. The caller polls, yielding its
// thread to other goroutines, rather than sleeping: a sleeping caller
// would be woken onto the helper's thread, which keeps polling for the
// next loop and would not let it run. It waits for chunks, not helpers, so
// a helper that wakes late, after the caller took its share, is not waited
// for.
func (t *task) wait() {
	for t.finished.Load() < int64(t.chunks) {
		runtime.Gosched()
	}
}

// maxSpin is the longest an idle helper polls for the next loop.
const maxSpin = 2 * time.Millisecond

// spinFor is how long idle helpers poll for the next loop, given the time
// between the end of the previous loop and the start of this one. A helper
// polls with its core to itself (runtime.Gosched would let the scheduler
// move it and the caller onto one thread), so polling is worth its core
// only while the next loop is near: loops that came close together (one
// per integration step, or one per energy call of a plugin's host, gaps of
// 0.1 to 1 ms) keep their helpers awake; after a long gap (a plugin
// process waiting on a host that works for itself, a host waiting on a
// flow plugin) helpers sleep at once and leave the core to the process
// doing the work.
func spinFor(gap time.Duration) time.Duration {
	if gap < 0 || gap > maxSpin {
		return 0
	}
	return maxSpin
}

// pool holds helper goroutines, started on first use, one fewer than
// GOMAXPROCS at that time.
type pool struct {
	busy    atomic.Bool
	start   sync.Once
	helpers []*helper
	// lastEnd is when the previous loop ended (read and written only
	// while busy is held); spin is the helpers' current polling time.
	lastEnd time.Time
	spin    atomic.Int64
}

type helper struct {
	task  atomic.Pointer[task]
	awake atomic.Bool
	wake  chan struct{}
}

var defaultPool pool

// run runs t on the caller and up to want helpers; false if the pool is in
// use by another loop.
func (p *pool) run(t *task, want int) bool {
	if !p.busy.CompareAndSwap(false, true) {
		return false
	}
	start := time.Now()
	if !p.lastEnd.IsZero() {
		p.spin.Store(int64(spinFor(start.Sub(p.lastEnd))))
	}
	defer func() {
		p.lastEnd = time.Now()
		p.busy.Store(false)
	}()
	p.start.Do(func() {
		for k := 1; k < runtime.GOMAXPROCS(0); k++ {
			h := &helper{wake: make(chan struct{}, 1)}
			p.helpers = append(p.helpers, h)
			go h.loop(&p.spin)
		}
	})
	used := p.helpers[:min(want, len(p.helpers))]
	for _, h := range used {
		h.task.Store(t)
		if !h.awake.Load() {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	}
	t.work()
	t.wait()
	return true
}

func (h *helper) loop(spin *atomic.Int64) {
	for {
		h.awake.Store(true)
		idle := time.Now()
		for {
			if t := h.task.Swap(nil); t != nil {
				t.work()
				idle = time.Now()
				continue
			}
			if time.Since(idle) >= time.Duration(spin.Load()) {
				break
			}
		}
		h.awake.Store(false)
		// A task stored between the last check and awake going false
		// would be missed: check once more before sleeping.
		if t := h.task.Swap(nil); t != nil {
			t.work()
			continue
		}
		<-h.wake
	}
}
