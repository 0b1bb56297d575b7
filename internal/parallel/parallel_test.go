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
