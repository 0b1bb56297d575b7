package charmm

import (
	"context"
	"fmt"
	"testing"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/topology"
)

// benchmarkEnergy measures energies and forces of batch configurations of a
// reference system, reporting configurations per second.
func benchmarkEnergy(b *testing.B, system, kernel string, batch int) {
	benchmarkEnergyWith(b, system, kernel, batch, false)
}

// benchmarkEnergyWith is benchmarkEnergy, with the heavy-atom alignment
// penalty that the flows' training uses when align is set.
func benchmarkEnergyWith(b *testing.B, system, kernel string, batch int, align bool) {
	sys, ref := loadReference(b, system)
	var opts Options
	if align {
		var heavy []int
		for i, a := range sys.PSF.Atoms {
			if a.Mass > 2 {
				heavy = append(heavy, i)
			}
		}
		opts.Align = &AlignOptions{Reference: flatten(ref.Configurations[0].Positions), Atoms: heavy}
	}
	m, err := New(sys, opts, kernel)
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

// BenchmarkDialanineAlignedBatch1024 is the training's energy: the heavy
// atoms aligned to the reference (thesis section 2.4).
func BenchmarkDialanineAlignedBatch1024(b *testing.B) {
	benchmarkEnergyWith(b, "dialanine", KernelCPU, 1024, true)
}

// benchmarkPeptide measures the 403-atom, 25-residue peptide built by
// topology/build, without and with a 12 A cut-off.
func benchmarkPeptide(b *testing.B, batch int, cutoff float64) {
	psf, err := topology.ReadPSFFile("../../topology/build/testdata/peptide20.psf")
	if err != nil {
		b.Fatal(err)
	}
	params, err := topology.ReadParameterFiles(dataDir + "/toppar/par_all36m_prot.prm")
	if err != nil {
		b.Fatal(err)
	}
	sys, err := topology.Assign(psf, params)
	if err != nil {
		b.Fatal(err)
	}
	s, err := topology.ReadCoordinates("../../topology/build/testdata/peptide20.pdb")
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(sys, Options{Cutoff: cutoff}, "")
	if err != nil {
		b.Fatal(err)
	}
	bt := forcefields.NewBatch(m, batch, true, false)
	copy(bt.Coords, perturbed(b, s.Models[0], batch, 0.02, 1))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := m.Evaluate(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "configs/s")
}

func BenchmarkPeptideSingle(b *testing.B)         { benchmarkPeptide(b, 1, 0) }
func BenchmarkPeptideBatch64(b *testing.B)        { benchmarkPeptide(b, 64, 0) }
func BenchmarkPeptideCutoff12Single(b *testing.B) { benchmarkPeptide(b, 1, 12) }
func BenchmarkPeptideCutoff12Batch64(b *testing.B) {
	benchmarkPeptide(b, 64, 12)
}

// BenchmarkCutoffScaling measures one configuration of N dialanine
// molecules on a grid (9 A apart) with a 10 A cut-off: the time per atom
// stays flat as N grows, where the all-pairs cost would grow with N.
func BenchmarkCutoffScaling(b *testing.B) {
	for _, copies := range []int{27, 125, 512} {
		sys, x := replicated(b, "dialanine", copies, 9)
		for _, cutoff := range []float64{0, 10} {
			b.Run(fmt.Sprintf("atoms=%d/cutoff=%g", len(sys.Atoms), cutoff), func(b *testing.B) {
				m, err := New(sys, Options{Cutoff: cutoff}, "")
				if err != nil {
					b.Fatal(err)
				}
				bt := forcefields.NewBatch(m, 1, true, false)
				copy(bt.Coords, x)
				ctx := context.Background()
				b.ResetTimer()
				for b.Loop() {
					if err := m.Evaluate(ctx, bt); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(sys.Atoms)), "ns/atom")
			})
		}
	}
}
