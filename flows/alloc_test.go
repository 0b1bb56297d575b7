package flows

import (
	"math/rand/v2"
	"testing"
)

// TestNoAllocationsPerSample: after the first batch, passes and VJPs reuse
// their buffers; what a call allocates does not grow with the batch.
func TestNoAllocationsPerSample(t *testing.T) {
	for _, prec := range []string{"float64", "float32"} {
		f, err := Build(Spec{Dim: 12, Blocks: 2, Hidden: 32, Householder: 1, Scale: true, Precision: prec})
		if err != nil {
			t.Fatal(err)
		}
		allocs := func(n int) float64 {
			z := randRows(rand.New(rand.NewPCG(1, 1)), n, 12, 1)
			x, ld, dz := make([]float64, n*12), make([]float64, n), make([]float64, n*12)
			return testing.AllocsPerRun(5, func() {
				f.Forward(n, z, x, ld, true)
				if err := f.VJP(x, ld, dz); err != nil {
					t.Fatal(err)
				}
				f.Inverse(n, x, z, ld, false)
			})
		}
		small, large := allocs(64), allocs(1024)
		t.Logf("%s: %.0f allocations per call at batch 64, %.0f at 1024", prec, small, large)
		if large > small+8 || large > 64 {
			t.Errorf("%s: %.0f allocations at batch 64, %.0f at batch 1024", prec, small, large)
		}
	}
}
