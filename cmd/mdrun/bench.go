package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowmd/flowmd/engine"
	"github.com/flowmd/flowmd/flows"
)

func newBenchCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the speed of the engine's parts",
	}
	cmd.AddCommand(newBenchEnergyCmd(out), newBenchMDCmd(out), newBenchFlowCmd(out))
	return cmd
}

func newBenchMDCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "md",
		Short: "Measure Langevin dynamics steps per second",
		Long: `bench md runs Langevin dynamics (BAOAB, 300 K, friction 1/ps) with
--walkers walkers advancing together, one batched energy call per step, and
reports steps per second, walker-steps per second and ns/day per walker.`,
		Example: `  mdrun bench md --walkers 1 --steps 20000
  mdrun bench md --walkers 64 --steps 2000 --json`,
		Args: noArgs,
	}
	addSystemFlags(cmd)
	cmd.Flags().String("coords", "", "starting coordinates: PDB, CRD or .npy (default: the embedded dialanine structure)")
	cmd.Flags().Int("walkers", 1, "walkers advancing together")
	cmd.Flags().Int("steps", 10000, "timed steps (after a warm-up of a tenth as many, at least 1000)")
	cmd.Flags().Float64("timestep", 1, "time step in fs")
	cmd.Flags().Float64("friction", 1, "Langevin friction in 1/ps")
	cmd.Flags().Float64("temperature", 300, "temperature in K")
	cmd.Flags().Bool("json", false, "print JSON")
	addForceFieldFlags(cmd)
	v := bindViper(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		sf, opts, err := systemAndOptions(v)
		if err != nil {
			return err
		}
		job := &engine.MDBenchJob{System: sf, Coords: v.GetString("coords"), Options: opts,
			Walkers: v.GetInt("walkers"), Steps: v.GetInt("steps"), TimestepFS: v.GetFloat64("timestep"),
			Friction: v.GetFloat64("friction"), Temperature: v.GetFloat64("temperature")}
		res, err := job.Run(cmd.Context())
		if err != nil {
			return err
		}
		if v.GetBool("json") {
			return printJSON(out, res)
		}
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "system\t%s (%d atoms), %d walkers, %g fs\n", res.System, res.Atoms, res.Walkers, res.TimestepFS)
		fmt.Fprintf(w, "machine\t%s, %d threads, %s\n", res.CPU, res.Threads, res.GoVersion)
		fmt.Fprintf(w, "steps\t%d in %.2f s: %.0f steps/s, %.0f walker-steps/s\n", res.Steps, res.Seconds, res.StepsPerSecond, res.WalkerStepsPerSec)
		fmt.Fprintf(w, "simulated\t%.1f ns/day per walker\n", res.NsPerDayPerWalker)
		fmt.Fprintf(w, "kinetic temperature\t%.1f K (mean over the run)\n", res.MeanTemperatureK)
		return w.Flush()
	}
	return cmd
}

func newBenchEnergyCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "energy",
		Short: "Measure energy and force evaluations per second",
		Long: `bench energy measures the CHARMM kernel: configurations per second for
energies and forces in batches of --batch, and the latency of a single
configuration (the median of repeated timed calls). The batch holds the
given configurations with 0.02 A of noise.`,
		Example: `  mdrun bench energy --batch 1024
  mdrun bench energy --psf peptide.psf --params par_all36m_prot.prm --coords peptide.pdb --batch 64 --json`,
		Args: noArgs,
	}
	addSystemFlags(cmd)
	cmd.Flags().String("coords", "", "coordinates: PDB, CRD or .npy (default: the embedded dialanine structure)")
	cmd.Flags().Int("batch", 1024, "configurations per call")
	cmd.Flags().Duration("duration", 0, "time spent on each measurement (default 2s)")
	cmd.Flags().Bool("json", false, "print JSON")
	addForceFieldFlags(cmd)
	v := bindViper(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		sf, opts, err := systemAndOptions(v)
		if err != nil {
			return err
		}
		job := &engine.EnergyBenchJob{System: sf, Coords: v.GetString("coords"), Options: opts, Kernel: v.GetString("kernel"),
			Batch: v.GetInt("batch"), Duration: v.GetDuration("duration")}
		res, err := job.Run(cmd.Context())
		if err != nil {
			return err
		}
		if v.GetBool("json") {
			return printJSON(out, res)
		}
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "system\t%s (%d atoms, %d non-bonded pairs", res.System, res.Atoms, res.NonbondedPairs)
		if res.Cutoff > 0 {
			fmt.Fprintf(w, " before the %g A cut-off", res.Cutoff)
		}
		fmt.Fprintf(w, ")\n")
		c := res.Counts
		fmt.Fprintf(w, "terms\t%d bonds, %d angles, %d Urey-Bradley, %d dihedral terms, %d impropers, %d CMAP\n",
			c.Bonds, c.Angles, c.UreyBradleys, c.DihedralTerm, c.Impropers, c.CMaps)
		fmt.Fprintf(w, "kernel\t%s, %d workers, %s, %s\n", res.Kernel, res.Workers, res.CPU, res.GoVersion)
		fmt.Fprintf(w, "batch of %d\t%.0f configurations/s (energies and forces)\n", res.Batch, res.ConfigsPerSecond)
		fmt.Fprintf(w, "one configuration\t%.2f us (%.0f configurations/s)\n", res.SingleMicros, res.SinglePerSecond)
		return w.Flush()
	}
	return cmd
}

func newBenchFlowCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flow",
		Short: "Measure a flow's training steps, samples and densities per second",
		Long: `bench flow builds a coupling flow (by default the thesis' molecular flow:
24x4 coupling blocks of width 256 on dialanine's 30 heavy-atom coordinates,
float32 networks) and measures training steps per second (sample, forward
pass with log-determinant, backward pass, Adam; the energy is not part of
it), then samples and log-densities per second. It reports the BLAS
library the products ran on and the OpenBLAS settings of the environment.`,
		Example: `  mdrun bench flow
  mdrun bench flow --precision float64 --json
  mdrun bench flow --dim 2 --blocks 8 --hidden 64 --batch 1024`,
		Args: noArgs,
	}
	cmd.Flags().Int("dim", 30, "coordinates of the flow")
	cmd.Flags().Int("blocks", 24, "groups of four coupling blocks")
	cmd.Flags().Int("hidden", 256, "width of the coupling networks")
	cmd.Flags().String("transform", "affine", "affine or spline couplings")
	cmd.Flags().String("precision", "float32", "float32 or float64 networks")
	cmd.Flags().Int("batch", 256, "training batch")
	cmd.Flags().Int("sample-batch", 4096, "batch of the sampling and density measurements")
	cmd.Flags().Duration("duration", 3*time.Second, "time of each measurement")
	cmd.Flags().Bool("json", false, "print JSON")
	v := bindViper(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		job := &engine.FlowBenchJob{
			Spec: flows.Spec{Dim: v.GetInt("dim"), Blocks: v.GetInt("blocks"), Hidden: v.GetInt("hidden"),
				Transform: v.GetString("transform"), Precision: v.GetString("precision"), Seed: 1},
			Batch: v.GetInt("batch"), Sample: v.GetInt("sample-batch"), Duration: v.GetDuration("duration"),
		}
		res, err := job.Run(cmd.Context())
		if err != nil {
			return usageError{err}
		}
		if v.GetBool("json") {
			return printJSON(out, res)
		}
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "flow\t%dx4 %s coupling blocks of width %d on %d coordinates, %s networks, %d parameters\n", res.Blocks, res.Transform, res.Hidden, res.Dim, res.Precision, res.Parameters)
		fmt.Fprintf(w, "machine\t%s, %d threads, %s\n", res.CPU, res.Threads, res.GoVersion)
		blas := res.BLAS
		if res.BLASNote != "" {
			blas += " (" + res.BLASNote + ")"
		}
		if res.BLAS == "openblas" && (res.OpenBLASCoretype != "" || res.OpenBLASL2Size != "") {
			blas += fmt.Sprintf(" with OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s", res.OpenBLASCoretype, res.OpenBLASL2Size)
		}
		fmt.Fprintf(w, "BLAS\t%s\n", blas)
		fmt.Fprintf(w, "training\t%.1f steps/s (batch %d, %d steps)\n", res.TrainingStepsPerS, res.Batch, res.TrainingSteps)
		fmt.Fprintf(w, "sampling\t%.0f samples/s (batch %d)\n", res.SamplesPerSecond, res.SampleBatch)
		fmt.Fprintf(w, "density\t%.0f log-densities/s (batch %d)\n", res.DensitiesPerSecond, res.SampleBatch)
		return w.Flush()
	}
	return cmd
}
