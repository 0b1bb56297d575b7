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
// Helpers come from a pool of goroutines that keep polling for work for a
// short while after finishing (spinWindow) before they sleep. Waking a
// sleeping thread costs 0.1 to 1 ms on the virtual machines flowmd is
// measured on, as long as a whole molecular dynamics step of 64 walkers, so
// back-to-back loops (one per step) would otherwise run on one core. When
// the pool is busy (a loop inside a loop, or loops from several goroutines
// at once) helpers are started as plain goroutines instead.
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
	next             atomic.Int64
}

func (t *task) work() {
	for {
		c := int(t.next.Add(1)) - 1
		if c >= t.chunks {
			return
		}
		lo := c * t.grain
		t.fn(lo, min(lo+t.grain, t.n))
	}
}

// spinWindow is how long an idle helper keeps polling for the next loop.
const spinWindow = 500 * time.Microsecond

// pool holds helper goroutines, started on first use, one fewer than
// GOMAXPROCS at that time.
type pool struct {
	busy    atomic.Bool
	start   sync.Once
	helpers []*helper
}

type helper struct {
	task  atomic.Pointer[task]
	done  sync.WaitGroup
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
	defer p.busy.Store(false)
	p.start.Do(func() {
		for k := 1; k < runtime.GOMAXPROCS(0); k++ {
			h := &helper{wake: make(chan struct{}, 1)}
			p.helpers = append(p.helpers, h)
			go h.loop()
		}
	})
	used := p.helpers[:min(want, len(p.helpers))]
	for _, h := range used {
		h.done.Add(1)
		h.task.Store(t)
		if !h.awake.Load() {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	}
	t.work()
	for _, h := range used {
		h.done.Wait()
	}
	return true
}

func (h *helper) loop() {
	for {
		h.awake.Store(true)
		idle := time.Now()
		for {
			if t := h.task.Swap(nil); t != nil {
				t.work()
				h.done.Done()
				idle = time.Now()
				continue
			}
			if time.Since(idle) > spinWindow {
				break
			}
			runtime.Gosched()
		}
		h.awake.Store(false)
		// A task stored between the last check and awake going false
		// would be missed: check once more before sleeping.
		if t := h.task.Swap(nil); t != nil {
			t.work()
			h.done.Done()
			continue
		}
		<-h.wake
	}
}
