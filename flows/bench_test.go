package flows

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainingStep is the figure: one training step (sample,
// forward with log-determinant, backward, Adam) of the thesis' molecular
// flow, 24x4 coupling blocks of width 256, on dialanine's 30 heavy-atom
// coordinates, batch 256.
func BenchmarkTrainingStep(b *testing.B) {
	for _, prec := range []string{"float64", "float32"} {
		b.Run(prec, func(b *testing.B) { benchTrainingStep(b, prec) })
	}
}

func benchTrainingStep(b *testing.B, precision string) {
	f, err := Build(Spec{Dim: 30, Blocks: 24, Hidden: 256, Seed: 1, Precision: precision})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 256
	dx, dld, dz := make([]float64, n*30), make([]float64, n), make([]float64, n*30)
	for i := range dld {
		dld[i] = -1.0 / float64(n)
	}
	for b.Loop() {
		_, x, _ := f.Sample(n, rng, true)
		for i := range dx {
			dx[i] = 1e-3 * x[i] // a stand-in for the energy's gradient
		}
		if err := f.VJP(dx, dld, dz); err != nil {
			b.Fatal(err)
		}
		f.Step(1e-5, 0)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}
