package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flowmd/flowmd/engine"
)

func newTopologyCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topology",
		Short: "Summarize a CHARMM system: terms, charge, parameters missing",
		Long: `topology reads a PSF and its parameter files, assigns parameters with
CHARMM's matching rules, and prints the number of each kind of term. When
parameters are missing it lists every term that lacks them, with atom
numbers, names and types, and exits with status 1.`,
		Example: `  mdrun topology
  mdrun topology --psf butane.psf --params par_all36_cgenff.prm --params top_all36_cgenff.rtf --json`,
		Args: noArgs,
	}
	addSystemFlags(cmd)
	cmd.Flags().Bool("json", false, "print JSON")
	v := bindViper(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		rep, err := engine.DescribeTopology(systemFiles(v))
		if err != nil {
			return err
		}
		if v.GetBool("json") {
			if err := printJSON(out, rep); err != nil {
				return err
			}
		} else if err := printTopology(out, rep); err != nil {
			return err
		}
		if len(rep.Missing) > 0 {
			return fmt.Errorf("%d terms have no parameters", len(rep.Missing))
		}
		return nil
	}
	return cmd
}

func printTopology(out io.Writer, rep *engine.TopologyReport) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "psf\t%s\n", rep.PSF)
	for _, p := range rep.Params {
		fmt.Fprintf(w, "parameters\t%s\n", p)
	}
	if c := rep.Counts; c != nil {
		fmt.Fprintf(w, "atoms\t%d\t(%d heavy, %d hydrogens)\n", c.Atoms, c.HeavyAtoms, c.Atoms-c.HeavyAtoms)
		fmt.Fprintf(w, "bonds\t%d\n", c.Bonds)
		fmt.Fprintf(w, "angles\t%d\n", c.Angles)
		fmt.Fprintf(w, "urey-bradley\t%d\n", c.UreyBradleys)
		fmt.Fprintf(w, "dihedrals\t%d\t(%d Fourier terms)\n", c.Dihedrals, c.DihedralTerm)
		fmt.Fprintf(w, "impropers\t%d\n", c.Impropers)
		fmt.Fprintf(w, "cmap\t%d\n", c.CMaps)
		fmt.Fprintf(w, "1-4 pairs\t%d\n", c.Pairs14)
		fmt.Fprintf(w, "excluded pairs\t%d\t(1-2 and 1-3)\n", c.Exclusions)
		fmt.Fprintf(w, "total charge\t%.6f\n", c.TotalCharge)
		for _, d := range rep.Backbone {
			fmt.Fprintf(w, "%s\t%s\t(atoms %d-%d-%d-%d)\n", d.Name, strings.Join(d.Names[:], "-"), d.Atoms[0], d.Atoms[1], d.Atoms[2], d.Atoms[3])
		}
	} else {
		t := rep.PSFTerms
		fmt.Fprintf(w, "atoms\t%d\nbonds\t%d\nangles\t%d\ndihedrals\t%d\nimpropers\t%d\ncmap\t%d\n",
			t["atoms"], t["bonds"], t["angles"], t["dihedrals"], t["impropers"], t["cmap"])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(rep.Missing) > 0 {
		fmt.Fprintf(out, "\nmissing parameters (%d terms; atom numbers as in the PSF):\n", len(rep.Missing))
		w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "  kind\tatoms\tnames\ttypes\n")
		for _, m := range rep.Missing {
			atoms := make([]string, len(m.Atoms))
			for i, a := range m.Atoms {
				atoms[i] = fmt.Sprint(a)
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", m.Kind, strings.Join(atoms, "-"), strings.Join(m.Names, "-"), strings.Join(m.Types, "-"))
		}
		return w.Flush()
	}
	return nil
}
