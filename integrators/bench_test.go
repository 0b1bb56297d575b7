package integrators

import (
	"context"
	"testing"

	"github.com/flowmd/flowmd/forcefields/charmm"
)

// benchmarkLangevin measures Langevin steps (1 fs, 300 K) of dialanine for
// a number of walkers, reporting walker-steps per second.
func benchmarkLangevin(b *testing.B, walkers int) {
	ctx := context.Background()
	m, masses, x0 := dialanine(b, charmm.Options{})
	s, err := NewState(ctx, m, repeat(x0, walkers), masses, MDUnits, KT(300), 1)
	if err != nil {
		b.Fatal(err)
	}
	s.InitVelocities()
	l, err := NewLangevin(0.001, 1, false)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := l.Apply(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*walkers)/b.Elapsed().Seconds(), "walker-steps/s")
}

func BenchmarkLangevinDialanine1(b *testing.B)  { benchmarkLangevin(b, 1) }
func BenchmarkLangevinDialanine64(b *testing.B) { benchmarkLangevin(b, 64) }
