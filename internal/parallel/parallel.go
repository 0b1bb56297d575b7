// Package parallel runs loops over independent items on several goroutines.
package parallel

import (
	"sync"
	"sync/atomic"
)

// For calls fn on consecutive ranges [lo, hi) covering 0..n-1, using up to
// workers goroutines including the caller's. Ranges hold about grain items
// and are handed out one at a time, so a goroutine that starts late (waking
// an idle thread can take tens of microseconds) simply takes fewer of them,
// while the caller starts at once. Which goroutine handles an item is not
// fixed, so fn must give each item the same result whoever computes it.
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
	var next atomic.Int64
	work := func() {
		for {
			c := int(next.Add(1)) - 1
			if c >= chunks {
				return
			}
			lo := c * grain
			fn(lo, min(lo+grain, n))
		}
	}
	var wg sync.WaitGroup
	for k := 1; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}
