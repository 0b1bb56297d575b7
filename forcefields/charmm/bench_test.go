package charmm

import (
	"context"
	"testing"

	"github.com/flowmd/flowmd/forcefields"
)

// benchmarkEnergy measures energies and forces of batch configurations of a
// reference system, reporting configurations per second.
func benchmarkEnergy(b *testing.B, system, kernel string, batch int) {
	sys, ref := loadReference(b, system)
	m, err := New(sys, Options{}, kernel)
	if err != nil {
		b.Fatal(err)
	}
	bt := forcefields.NewBatch(m, batch, true, false)
	copy(bt.Coords, perturbed(b, flatten(ref.Configurations[0].Positions), batch, 0.05, 1))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := m.Evaluate(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "configs/s")
}

func BenchmarkDialanineBatch1024(b *testing.B) { benchmarkEnergy(b, "dialanine", KernelCPU, 1024) }
func BenchmarkDialanineSingle(b *testing.B)    { benchmarkEnergy(b, "dialanine", KernelCPU, 1) }
func BenchmarkDialanineReferenceSingle(b *testing.B) {
	benchmarkEnergy(b, "dialanine", KernelReference, 1)
}
func BenchmarkButaneBatch1024(b *testing.B) { benchmarkEnergy(b, "butane", KernelCPU, 1024) }

func BenchmarkDialanineBatch64(b *testing.B) { benchmarkEnergy(b, "dialanine", KernelCPU, 64) }
