package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/flowmd/flowmd/engine"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/topology"
)

// addSystemFlags adds the flags naming a molecular system.
func addSystemFlags(cmd *cobra.Command) {
	cmd.Flags().String("psf", "", "CHARMM PSF topology (default: the embedded dialanine)")
	cmd.Flags().StringSlice("params", nil, "CHARMM parameter file (PRM, RTF or STR); repeat or separate by commas, read in order")
}

func systemFiles(v *viper.Viper) engine.SystemFiles {
	return engine.SystemFiles{PSF: v.GetString("psf"), Params: v.GetStringSlice("params")}
}

// addForceFieldFlags adds the flags of the CHARMM energy's options.
func addForceFieldFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("kernel", charmm.KernelCPU, "energy kernel: "+strings.Join(charmm.Kernels(), ", "))
	f.Float64("cutoff", 0, "non-bonded cut-off in A, with CHARMM force switching and shifting (0: none, every pair interacts)")
	f.Float64("switch", 0, "distance in A where the Lennard-Jones force switch starts (default: cut-off - 2)")
	f.Float64("coulomb-constant", charmm.CoulombOpenMM, fmt.Sprintf("Coulomb constant in kcal A/(mol e^2); CHARMM's legacy value is %g", charmm.CoulombCHARMM))
	f.Float64("dielectric", 0, "relative dielectric constant (default: the parameter file's EPS, 1 for CHARMM36)")
	f.StringSlice("clip", nil, "per-term clipping threshold TERM=GRADIENT (kcal/mol/A, or kcal/mol/rad for angle and improper), TERM one of bond, angle, urey_bradley, improper, lennard_jones, coulomb, or all")
	f.String("align", "", "PDB or CRD reference structure for the alignment penalty (thesis section 2.4); off when empty")
	f.Float64("align-lambda", 10, "alignment penalty strength lambda in kcal/mol/A^2")
	f.Float64("align-max-angle", 60, "largest rotation the alignment penalty undoes, in degrees")
	f.String("align-atoms", "all", "atoms that define and feel the alignment penalty: all or heavy")
	f.Int("workers", 0, "goroutines per batch (0: GOMAXPROCS)")
}

// systemAndOptions reads the system flags and the force-field flags; the
// alignment reference is read against the system's PSF.
func systemAndOptions(v *viper.Viper) (engine.SystemFiles, charmm.Options, error) {
	sf := systemFiles(v)
	psf, _, err := engine.LoadTopology(sf)
	if err != nil {
		return sf, charmm.Options{}, err
	}
	opts, err := forceFieldOptions(v, psf)
	return sf, opts, err
}

// forceFieldOptions reads the force-field flags. The alignment reference
// is read against psf.
func forceFieldOptions(v *viper.Viper, psf *topology.PSF) (charmm.Options, error) {
	o := charmm.Options{
		CoulombConstant: v.GetFloat64("coulomb-constant"),
		Dielectric:      v.GetFloat64("dielectric"),
		Cutoff:          v.GetFloat64("cutoff"),
		SwitchDistance:  v.GetFloat64("switch"),
		Workers:         v.GetInt("workers"),
	}
	if specs := v.GetStringSlice("clip"); len(specs) > 0 {
		c, err := parseClip(specs)
		if err != nil {
			return o, err
		}
		o.Clip = c
	}
	if ref := v.GetString("align"); ref != "" {
		confs, err := engine.LoadConfigurations(ref, psf)
		if err != nil {
			return o, fmt.Errorf("alignment reference: %w", err)
		}
		atoms, err := engine.AlignAtoms(v.GetString("align-atoms"), psf)
		if err != nil {
			return o, fmt.Errorf("--align-atoms: %w", err)
		}
		o.Align = &charmm.AlignOptions{
			Atoms:     atoms,
			Reference: confs.X[:3*len(psf.Atoms)],
			Lambda:    v.GetFloat64("align-lambda"),
			MaxAngle:  v.GetFloat64("align-max-angle") * math.Pi / 180,
		}
	}
	return o, nil
}

// parseClip reads TERM=VALUE clipping thresholds.
func parseClip(specs []string) (*charmm.ClipOptions, error) {
	c := &charmm.ClipOptions{}
	fields := map[string]*float64{
		charmm.TermBond: &c.Bond, charmm.TermAngle: &c.Angle, charmm.TermUreyBradley: &c.UreyBradley,
		charmm.TermImproper: &c.Improper, charmm.TermLennardJones: &c.LennardJones, charmm.TermCoulomb: &c.Coulomb,
	}
	for _, s := range specs {
		name, val, ok := strings.Cut(s, "=")
		g, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil || !(g > 0) || math.IsInf(g, 0) {
			return nil, usageError{fmt.Errorf("--clip %q: expected TERM=GRADIENT with a positive number, such as lennard_jones=100", s)}
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "all" {
			for _, p := range fields {
				*p = g
			}
			continue
		}
		p, known := fields[name]
		if !known {
			return nil, usageError{fmt.Errorf("--clip %q: unknown term %q, expected one of bond, angle, urey_bradley, improper, lennard_jones, coulomb, all", s, name)}
		}
		*p = g
	}
	return c, nil
}
