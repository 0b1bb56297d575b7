package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flowmd/flowmd/engine"
)

func newReweightCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reweight",
		Short: "Importance sampling with a trained flow: ESS, log Z, reweighted modes and energies",
		Long: `reweight draws independent samples from a flow trained by mdrun train and
weights them by exp(-beta U) / p_G toward the Boltzmann distribution of the
training config's system, force field and temperature. It reports the
weights' effective sample size (reverse ESS), the forward ESS on the config's
reference dataset, a log Z estimate, and the mode fractions and mean energy
before and after reweighting, with standard errors. When the config clips
the energy, the samples are also reweighted to the unclipped energy. With
--clip-weights the largest weights are truncated, which lowers the variance
at the price of a bias, and is reported as biased.

For a molecular flow that places its hydrogens, the target is the heavy
atoms' distribution with the flow's hydrogens (the thesis' U_B o G^H).`,
		Example: `  mdrun reweight -c examples/double-well-train.yaml --samples 100000
  mdrun reweight -c examples/dialanine-train.yaml --clip-weights 0.001 --out out/dialanine-is.npz`,
		Args: noArgs,
	}
	f := cmd.Flags()
	f.StringP("config", "c", "", "the flow's training config (required)")
	f.String("flow", "", "the trained flow (default: the config's PREFIX.flow.npz)")
	f.Int("samples", 100000, "samples to draw from the flow")
	f.Int("batch", 4096, "samples per call to the flow")
	f.Float64("clip-weights", 0, "fraction of the largest weights to truncate (biased; 0: none)")
	f.String("modes", "auto", "modes to report: auto, dialanine, dialanine-phi, butane, dihedral:A-B-C-D, none")
	f.String("out", "", "write the samples, energies and log weights to this .npz")
	f.Uint64("seed", 1, "seed of the flow's draws")
	f.Bool("json", false, "print the report as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path, _ := f.GetString("config")
		if path == "" {
			return usageError{fmt.Errorf("mdrun reweight: give the training config with -c")}
		}
		cfg, err := engine.LoadTrainConfig(path)
		if err != nil {
			return err
		}
		job := &engine.ReweightJob{Config: cfg}
		job.Flow, _ = f.GetString("flow")
		job.Samples, _ = f.GetInt("samples")
		job.Batch, _ = f.GetInt("batch")
		job.ClipWeights, _ = f.GetFloat64("clip-weights")
		job.Modes, _ = f.GetString("modes")
		job.Out, _ = f.GetString("out")
		job.Seed, _ = f.GetUint64("seed")
		rep, err := job.Run(cmd.Context())
		if err != nil {
			return err
		}
		if asJSON, _ := f.GetBool("json"); asJSON {
			return printJSON(out, rep)
		}
		return printReweight(out, rep)
	}
	return cmd
}

func printReweight(out io.Writer, rep *engine.ReweightReport) error {
	fmt.Fprintf(out, "%s: %d samples in %.1f s\n", rep.Flow, rep.Samples, rep.Seconds)
	for _, t := range rep.Targets {
		fmt.Fprintf(out, "\n%s:\n", t.Name)
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "  reverse ESS\t%.4f (%.0f samples)\n", t.ESSFraction, t.ESS)
		if t.ForwardESS != nil {
			fmt.Fprintf(w, "  forward ESS\t%.4g (on the reference dataset)\n", *t.ForwardESS)
		}
		fmt.Fprintf(w, "  log Z\t%.4f\n", t.LogZ)
		fmt.Fprintf(w, "  mean energy\t%.4f +- %.4f (reweighted)\n", t.MeanEnergy, t.MeanEnergyErr)
		if t.NonFinite > 0 {
			fmt.Fprintf(w, "  non-finite energies\t%d (weight 0)\n", t.NonFinite)
		}
		if len(t.Modes) > 0 {
			fmt.Fprintf(w, "  mode\tflow\treweighted\tESS\treference\tmedian beta U: flow\treference\treference, placed H\n")
			for _, m := range t.Modes {
				fmt.Fprintf(w, "  %s\t%.4f\t%.4f +- %.4f\t%.0f\t%s\t%s\t%s\t%s\n", m.Mode, m.Raw, m.Fraction, m.StdErr, m.ESS,
					orDash(m.Reference, "%.4f"), orDash(m.MedianBetaU, "%.2f"), orDash(m.ReferenceMedianBetaU, "%.2f"),
					orDash(m.ReferencePlacedMedianBetaU, "%.2f"))
			}
		}
		if c := t.Clipped; c != nil {
			fmt.Fprintf(w, "  clipped weights (BIASED)\t%.4g of the weights at log w <= %.4g: ESS %.4f, mean energy %.4f\n", c.Fraction, c.Threshold, c.ESSFraction, c.MeanEnergy)
			for _, m := range c.Modes {
				fmt.Fprintf(w, "    %s\t%.4f +- %.4f\n", m.Mode, m.Fraction, m.StdErr)
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// orDash formats *v, or "-" when v is nil.
func orDash(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}
