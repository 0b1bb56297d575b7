package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/flowmd/flowmd/engine"
)

// addAnalyticFlags adds the flags selecting an analytic model.
func addAnalyticFlags(cmd *cobra.Command) {
	cmd.Flags().String("analytic", "", "an analytic benchmark energy instead of a PSF (double_well_medium, dw4, lj13, gmm4, ...)")
	cmd.Flags().StringSlice("analytic-param", nil, "parameter of the analytic model NAME=VALUE, e.g. dim=12; repeat")
}

// systemConfig reads the system flags into a run's system config.
func systemConfig(v *viper.Viper) (engine.SystemConfig, error) {
	sc := engine.SystemConfig{PSF: v.GetString("psf"), Params: v.GetStringSlice("params"), Analytic: v.GetString("analytic")}
	if v.IsSet("coords") {
		sc.Coords = v.GetString("coords")
	}
	for _, p := range v.GetStringSlice("analytic-param") {
		name, val, ok := strings.Cut(p, "=")
		f, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil {
			return sc, usageError{fmt.Errorf("--analytic-param %q: expected NAME=NUMBER", p)}
		}
		if sc.AnalyticParams == nil {
			sc.AnalyticParams = map[string]float64{}
		}
		sc.AnalyticParams[name] = f
	}
	if sc.PSF != "" && sc.Coords == "" {
		return sc, usageError{fmt.Errorf("--psf needs --coords with a starting structure")}
	}
	return sc, nil
}

// forceFieldConfig reads the force-field flags into a run's config.
func forceFieldConfig(v *viper.Viper) (engine.ForceFieldConfig, error) {
	f := engine.ForceFieldConfig{
		Kernel: v.GetString("kernel"), Cutoff: v.GetFloat64("cutoff"), Switch: v.GetFloat64("switch"),
		Dielectric: v.GetFloat64("dielectric"), CoulombConstant: v.GetFloat64("coulomb-constant"),
		Align: engine.AlignConfig{Reference: v.GetString("align"), Lambda: v.GetFloat64("align-lambda"), MaxAngleDeg: v.GetFloat64("align-max-angle"), Atoms: v.GetString("align-atoms")},
	}
	if specs := v.GetStringSlice("clip"); len(specs) > 0 {
		c, err := parseClip(specs)
		if err != nil {
			return f, err
		}
		f.Clip = map[string]float64{"bond": c.Bond, "angle": c.Angle, "urey_bradley": c.UreyBradley, "improper": c.Improper, "lennard_jones": c.LennardJones, "coulomb": c.Coulomb}
		for k, g := range f.Clip {
			if g == 0 {
				delete(f.Clip, k)
			}
		}
	}
	return f, nil
}

func newGenDataCmd(out, errOut io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gendata",
		Short: "Make a reference dataset by replica exchange and report its mode fractions",
		Long: `gendata samples the Boltzmann distribution by replica exchange (Langevin
dynamics or Monte Carlo on a geometric temperature ladder), records the
lowest-temperature walker of each ladder every --thin moves after
equilibration, and writes the frames to an .npz dataset. It then prints the
fractions of the named modes with error bars from block averaging (each
ladder an independent estimate): butane's trans/gauche rotamers, dialanine's
(phi, psi) basins, the double wells' two sides.

With --placer FLOW (a molecular flow with a hydrogen placer, from mdrun
train) it samples instead the energy with that placer's hydrogens,
U(x^C, G^H(x^C)), the heavy-atom distribution that data-free training of
the flow converges to (thesis App. A.2), its hydrogens tethered to the
placed positions (--placer-tether, kcal/mol/A^2), which leaves the heavy
atoms' distribution as it is. Its mode fractions are what a data-free loss
should reach with that placer.`,
		Example: `  mdrun gendata --psf data/systems/butane/butane.psf --coords data/systems/butane/butane.pdb \
      --params data/toppar/par_all36_cgenff.prm --params data/toppar/top_all36_cgenff.rtf \
      --temperature 300 --max-temperature 600 --rungs 6 --ladders 4 --samples 10000 --out butane.npz
  mdrun gendata --max-temperature 800 --ladders 4 --samples 5000 --thin 200 --align data/systems/dialanine/dialanine.pdb \
      --align-atoms heavy --placer out/dialanine-proposal.flow.npz --out out/dialanine-placer-target.npz
  mdrun gendata --analytic double_well_wide --analytic-param dim=12 --temperature 1 --max-temperature 5 --samples 100000 --out dw.npz`,
		Args: noArgs,
	}
	addSystemFlags(cmd)
	addAnalyticFlags(cmd)
	f := cmd.Flags()
	f.String("coords", "", "starting structure: PDB, CRD or .npy (default: the embedded dialanine)")
	f.String("method", "", "langevin or mc (default: langevin for molecules, mc for analytic models)")
	f.Float64("temperature", 0, "lowest temperature, K (kT for analytic models); default 300 K or 1")
	f.Float64("max-temperature", 0, "highest temperature of the ladder (default twice the lowest)")
	f.Int("rungs", 8, "temperatures in the ladder")
	f.Int("ladders", 1, "independent ladders, run together")
	f.Int("samples", 1000, "frames recorded per ladder")
	f.Int64("thin", 100, "moves between recorded frames")
	f.Int64("equilibration", 0, "moves before recording (default 10 x thin)")
	f.Int("swap-every", 0, "moves between swap attempts (default 100 for langevin, 10 for mc)")
	f.Uint64("seed", 1, "seed of the random streams")
	f.String("out", "dataset.npz", "the .npz dataset to write")
	f.String("modes", "auto", "modes to report: auto, dialanine, dialanine-phi, butane, dihedral:A-B-C-D, none")
	f.Bool("json", false, "print the result as JSON")
	f.Bool("quiet", false, "no progress display")
	f.String("placer", "", "sample the energy with the hydrogens this trained flow (PREFIX.flow.npz) places")
	f.Float64("placer-tether", 50, "stiffness of the hydrogens' tether to the placed positions with --placer, kcal/mol/A^2")
	addForceFieldFlags(cmd)
	v := bindViper(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		sc, err := systemConfig(v)
		if err != nil {
			return err
		}
		fc, err := forceFieldConfig(v)
		if err != nil {
			return err
		}
		if flow := v.GetString("placer"); flow != "" {
			fc.Placer = engine.PlacerConfig{Flow: engine.PluginConfig{Options: map[string]string{"load": flow}}, Tether: v.GetFloat64("placer-tether")}
		}
		job := &engine.GenDataJob{
			System: sc, ForceField: fc, Method: v.GetString("method"),
			Temperature: v.GetFloat64("temperature"), MaxTemperature: v.GetFloat64("max-temperature"),
			Rungs: v.GetInt("rungs"), Ladders: v.GetInt("ladders"), Samples: v.GetInt("samples"),
			Thin: v.GetInt64("thin"), Equilibration: v.GetInt64("equilibration"), SwapEvery: v.GetInt("swap-every"),
			Seed: v.GetUint64("seed"), Out: v.GetString("out"), Modes: v.GetString("modes"),
		}
		cfg, err := job.Config()
		if err != nil {
			return err
		}
		display := newProgressDisplay(errOut, cfg.Steps, 0, v.GetBool("quiet"))
		res, err := job.Run(cmd.Context(), display.update)
		display.close(err == nil)
		if err != nil {
			return err
		}
		if v.GetBool("json") {
			return printJSON(out, res)
		}
		if err := printSummary(out, res.Summary); err != nil {
			return err
		}
		return printModeFractions(out, res.ModeFractions)
	}
	return cmd
}

func printModeFractions(out io.Writer, fr []engine.ModeFractionReport) error {
	if len(fr) == 0 {
		return nil
	}
	fmt.Fprintf(out, "\nmode fractions (%s), standard errors from block averaging:\n", fr[0].Set)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, m := range fr {
		fmt.Fprintf(w, "  %s\t%.4f\t+- %.4f\n", m.Mode, m.Fraction, m.StdErr)
	}
	return w.Flush()
}

func printSampling(out io.Writer, s *engine.SamplingReport) error {
	if s == nil {
		return nil
	}
	fmt.Fprintf(out, "\nsampling (%d chains):\n", s.Chains)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	iact := fmt.Sprintf("%.3g frames", s.IACTFrames)
	if s.IACTSteps > 0 {
		iact += fmt.Sprintf(" = %.4g steps", s.IACTSteps)
	}
	if s.IACTTooShort > 0 {
		iact += fmt.Sprintf(" (%d chains too short: a lower bound)", s.IACTTooShort)
	}
	fmt.Fprintf(w, "  autocorrelation time of %s\t%s\n", s.CV, iact)
	fmt.Fprintf(w, "  mode switches\t%d\n", s.Switches)
	if s.Evaluations > 0 {
		fmt.Fprintf(w, "  energy evaluations\t%d\n", s.Evaluations)
		fmt.Fprintf(w, "  mode switches per million evaluations\t%.4g\n", s.SwitchesPerMillion)
	}
	for _, m := range s.Moves {
		if m.Name == "langevin" || m.Name == "velocity_verlet" {
			continue
		}
		fmt.Fprintf(w, "  acceptance of %s\t%.4f (%d of %d)\n", m.Name, m.Acceptance(), m.Accepted, m.Attempted)
		if imp := m.Importance; imp != nil {
			fmt.Fprintf(w, "  importance sampling with %s's proposals\treverse ESS %.4f, log Z %.4f (%d proposals)\n", m.Name, imp.ESSFraction, imp.LogZ, imp.Samples)
		}
		for _, c := range m.ByClass {
			fmt.Fprintf(w, "  %s\n", classLine(m.Name, c))
		}
	}
	return w.Flush()
}

func newAnalyzeCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analyze FILE",
		Short: "Mode fractions, sampling speed, histograms and plots of a dataset or trajectory",
		Long: `analyze reads frames from an .npz dataset (from mdrun run or gendata) or a
DCD trajectory (with the PSF it belongs to) and reports the fractions of the
named modes with error bars. For a dataset it also reports how fast the run
explored: the integrated autocorrelation time of the slow coordinate (the
first of the modes' collective variables), the mode switches per million
energy evaluations, and the acceptance of each move (from the run's
provenance file). With --plots it writes PNG plots: the
Ramachandran free energy of dialanine-like molecules, the distribution of
each collective variable, and the energy distribution.`,
		Example: `  mdrun analyze butane.npz --psf data/systems/butane/butane.psf --params data/toppar/par_all36_cgenff.prm --plots plots/
  mdrun analyze run.dcd --plots plots/`,
		Args: cobra.ExactArgs(1),
	}
	addSystemFlags(cmd)
	addAnalyticFlags(cmd)
	cmd.Flags().String("modes", "auto", "modes to report: auto, dialanine, dialanine-phi, butane, dihedral:A-B-C-D, none")
	cmd.Flags().String("plots", "", "folder to write PNG plots to")
	cmd.Flags().Bool("json", false, "print JSON")
	v := bindViper(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		sc := engine.SystemConfig{PSF: v.GetString("psf"), Params: v.GetStringSlice("params"), Analytic: v.GetString("analytic")}
		full, err := systemConfig(v)
		if err != nil && sc.Analytic != "" {
			return err
		}
		sc.AnalyticParams = full.AnalyticParams
		res, err := (&engine.AnalyzeJob{Input: args[0], System: sc, Modes: v.GetString("modes"), Plots: v.GetString("plots")}).Run()
		if err != nil {
			return err
		}
		if v.GetBool("json") {
			return printJSON(out, res)
		}
		fmt.Fprintf(out, "%s: %d frames\n", res.Input, res.Frames)
		if res.MeanEnergy != 0 {
			fmt.Fprintf(out, "mean energy %.4f\n", res.MeanEnergy)
		}
		if err := printModeFractions(out, res.ModeFractions); err != nil {
			return err
		}
		if err := printSampling(out, res.Sampling); err != nil {
			return err
		}
		for _, p := range res.Plots {
			fmt.Fprintf(out, "plot %s\n", p)
		}
		return nil
	}
	return cmd
}
