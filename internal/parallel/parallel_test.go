package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCoversEveryItemOnce(t *testing.T) {
	for _, c := range []struct{ n, workers, grain int }{{0, 4, 1}, {1, 4, 1}, {10, 1, 3}, {10, 3, 3}, {1000, 8, 7}, {5, 16, 1}} {
		counts := make([]atomic.Int32, c.n)
		For(c.n, c.workers, c.grain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				counts[i].Add(1)
			}
		})
		for i := range counts {
			if got := counts[i].Load(); got != 1 {
				t.Fatalf("%+v: item %d visited %d times", c, i, got)
			}
		}
	}
}

// TestForConcurrentAndNested runs loops from several goroutines at once and
// loops inside loops: the pool serves one of them and the others start
// their own helpers, and every item is still visited once.
func TestForConcurrentAndNested(t *testing.T) {
	const n = 2000
	var counts [8][n]atomic.Int32
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			For(n, 4, 7, func(lo, hi int) {
				For(hi-lo, 2, 1, func(a, b int) {
					for i := lo + a; i < lo+b; i++ {
						counts[g][i].Add(1)
					}
				})
			})
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
	for g := range counts {
		for i := range counts[g] {
			if c := counts[g][i].Load(); c != 1 {
				t.Fatalf("loop %d item %d visited %d times", g, i, c)
			}
		}
	}
}
