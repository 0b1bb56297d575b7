package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flowmd/flowmd/engine"
)

func newEnergyCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "energy",
		Short: "Compute CHARMM energies and forces of configurations",
		Long: `energy computes the CHARMM energy of every configuration in a coordinate
file, term by term: a PDB (one or several models), a CHARMM CRD, or a NumPy
.npy array of shape [B, N, 3] in angstrom. Energies are in kcal/mol, forces
in kcal/mol/A. Without --psf and --coords it evaluates the embedded
dialanine's minimized structure.`,
		Example: `  mdrun energy
  mdrun energy --psf ala2.psf --params par_all36m_prot.prm --coords frames.npy --json --forces
  mdrun energy --coords clash.pdb --clip all=100`,
		Args: noArgs,
	}
	addSystemFlags(cmd)
	cmd.Flags().String("coords", "", "coordinates: PDB, CRD or .npy [B, N, 3] in A (default: the embedded dialanine structure)")
	cmd.Flags().Bool("json", false, "print JSON: one object per configuration")
	cmd.Flags().Bool("forces", false, "also print the forces")
	addForceFieldFlags(cmd)
	v := bindViper(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		sf, opts, err := systemAndOptions(v)
		if err != nil {
			return err
		}
		job := &engine.EnergyJob{System: sf, Coords: v.GetString("coords"), Options: opts, Kernel: v.GetString("kernel"), Forces: v.GetBool("forces")}
		res, err := job.Run(cmd.Context())
		if err != nil {
			return err
		}
		confs := res.Configurations()
		if v.GetBool("json") {
			return printJSON(out, confs)
		}
		return printEnergies(out, res, confs)
	}
	return cmd
}

func printEnergies(out io.Writer, res *engine.EnergyResult, confs []engine.ConfigEnergy) error {
	if res.Renamed > 0 {
		fmt.Fprintf(out, "note: %d atom names in %s differ from the PSF's (same elements, PDB naming); matched by order\n", res.Renamed, res.Source)
	}
	terms := res.Model.Terms()
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "config\t")
	for _, t := range terms {
		fmt.Fprintf(w, "%s\t", t)
	}
	fmt.Fprintf(w, "total\t\n")
	for _, c := range confs {
		fmt.Fprintf(w, "%d\t", c.Configuration)
		for _, t := range terms {
			fmt.Fprintf(w, "%.6f\t", c.EnergyTerms[t])
		}
		fmt.Fprintf(w, "%.6f\t\n", c.TotalEnergy)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "energies in kcal/mol, %d configurations from %s\n", len(confs), res.Source)
	for _, c := range confs {
		if c.Forces == nil {
			break
		}
		fmt.Fprintf(out, "\nforces of configuration %d (kcal/mol/A):\n", c.Configuration)
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(w, "atom\tname\tfx\tfy\tfz\t\n")
		atoms := res.Model.Plan().NumAtoms
		for i := 0; i < atoms; i++ {
			f := c.Forces[i]
			fmt.Fprintf(w, "%d\t%s\t%.6f\t%.6f\t%.6f\t\n", i+1, res.AtomNames[i], f[0], f[1], f[2])
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}
