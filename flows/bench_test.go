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

// BenchmarkPlaceVJP is the placer's share of sampling the energy with
// placed hydrogens (mdrun gendata --placer): place the hydrogens of 32
// walkers of dialanine's size (10 heavy atoms, 12 placed, the thesis'
// placer of two hidden layers of 512) and carry the forces back to the
// heavy atoms; VJP also accumulates the placer's parameter gradient,
// InputVJP does not.
func BenchmarkPlaceVJP(b *testing.B) {
	const heavy, placed, n = 10, 12, 32
	spec := GeneratorSpec{Flow: Spec{Blocks: 1, Hidden: 8, Seed: 1}, Atoms: heavy + placed}
	for i := 0; i < heavy; i++ {
		spec.Generated = append(spec.Generated, i)
	}
	for j := 0; j < placed; j++ {
		spec.Placed = append(spec.Placed, heavy+j)
		spec.Parents = append(spec.Parents, j%heavy)
		spec.Offsets = append(spec.Offsets, 1, 0, 0)
	}
	g, err := NewGenerator(spec)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	dim := g.Dim()
	x, dout, din := make([]float64, n*dim), make([]float64, n*dim), make([]float64, n*dim)
	for i := range x {
		x[i] = rng.NormFloat64()
		dout[i] = rng.NormFloat64()
	}
	for _, c := range []struct {
		name string
		vjp  func(dout, dld, din []float64) error
	}{{"VJP", g.VJP}, {"InputVJP", g.InputVJP}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				g.Place(n, x, true)
				if err := c.vjp(dout, make([]float64, n), din); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
