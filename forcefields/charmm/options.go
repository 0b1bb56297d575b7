package charmm

import (
	"fmt"
	"math"
)

// Coulomb constants in kcal A/(mol e^2).
const (
	// CoulombOpenMM is the value OpenMM and NAMD use, 138.935456 kJ nm/(mol e^2).
	CoulombOpenMM = 332.0637
	// CoulombCHARMM is the legacy value of CHARMM.
	CoulombCHARMM = 332.0716
)

// Options configure the energy. The zero value means: OpenMM's Coulomb
// constant, the dielectric constant of the parameter file, no cut-off, no
// clipping, no alignment penalty, and as many workers as GOMAXPROCS.
type Options struct {
	// CoulombConstant in kcal A/(mol e^2); 0 means CoulombOpenMM.
	CoulombConstant float64
	// Dielectric is the relative dielectric constant; 0 means the EPS of
	// the parameter file's NONBONDED header (1 for CHARMM36).
	Dielectric float64

	// Cutoff in A enables a cut-off for non-bonded pairs with a cell list,
	// force switching of Lennard-Jones between SwitchDistance and Cutoff
	// (CHARMM vfswitch) and force shifting of the electrostatics (CHARMM
	// fshift). 0 means no cut-off: every pair interacts.
	Cutoff float64
	// SwitchDistance in A where the Lennard-Jones force switch starts; 0
	// means Cutoff - 2 A (CHARMM36's ctonnb 10, ctofnb 12).
	SwitchDistance float64

	// Clip configures per-term clipping; nil means none.
	Clip *ClipOptions
	// Align configures the alignment penalty; nil means none.
	Align *AlignOptions

	// Workers bounds the goroutines a batch uses; 0 means GOMAXPROCS.
	Workers int
}

// ClipOptions are the gradient thresholds of per-term clipping (thesis
// section 2.3), in kcal/mol/A for the distance terms (bond, Urey-Bradley,
// Lennard-Jones, Coulomb) and kcal/mol/rad for the angle terms (angle,
// improper). Beyond the point where a term's gradient reaches its threshold,
// the term is replaced by its tangent there: energy and force stay
// continuous and the gradient is bounded by the threshold. 0 leaves a term
// unclipped. Dihedrals and CMAP have bounded gradients and are never clipped.
type ClipOptions struct {
	Bond, Angle, UreyBradley, Improper float64
	LennardJones, Coulomb              float64
}

// AlignOptions configure the alignment penalty of thesis section 2.4,
// U = Lambda |x - x_aligned|^2, where x_aligned is x centred and rotated by
// the Kabsch rotation towards the reference, the rotation angle capped at
// MaxAngle.
type AlignOptions struct {
	// Reference configuration, 3N coordinates in A.
	Reference []float64
	// Lambda in kcal/mol/A^2; 0 means 10, the thesis' value.
	Lambda float64
	// MaxAngle in radians; 0 means pi/3, the thesis' value.
	MaxAngle float64
	// Atoms (0-based) whose centroid and Kabsch rotation define the
	// alignment and which alone feel the penalty; nil means every atom,
	// the thesis' choice. The heavy atoms are the choice for a flow that
	// generates them and places its hydrogens: the hydrogens then move
	// without shifting the alignment, so a flow move that carries them
	// over from the walker does not pay for it in penalty.
	Atoms []int
}

func (o *Options) withDefaults(fileDielectric float64) (Options, error) {
	out := *o
	if out.CoulombConstant == 0 {
		out.CoulombConstant = CoulombOpenMM
	}
	if out.Dielectric == 0 {
		out.Dielectric = fileDielectric
		if out.Dielectric == 0 {
			out.Dielectric = 1
		}
	}
	if out.Cutoff != 0 && out.SwitchDistance == 0 {
		out.SwitchDistance = math.Max(0, out.Cutoff-2)
	}
	switch {
	case out.CoulombConstant < 0 || math.IsNaN(out.CoulombConstant):
		return out, fmt.Errorf("coulomb constant %v must be positive", out.CoulombConstant)
	case !(out.Dielectric > 0):
		return out, fmt.Errorf("dielectric constant %v must be positive", out.Dielectric)
	case out.Cutoff < 0 || math.IsNaN(out.Cutoff):
		return out, fmt.Errorf("cut-off %v A must be positive, or 0 for none", out.Cutoff)
	case out.Cutoff > 0 && !(out.SwitchDistance >= 0 && out.SwitchDistance < out.Cutoff):
		return out, fmt.Errorf("switch distance %v A must lie in [0, cut-off %v A)", out.SwitchDistance, out.Cutoff)
	case out.Workers < 0:
		return out, fmt.Errorf("workers %d must be positive, or 0 for GOMAXPROCS", out.Workers)
	}
	if c := out.Clip; c != nil {
		for name, v := range map[string]float64{"bond": c.Bond, "angle": c.Angle, "urey_bradley": c.UreyBradley,
			"improper": c.Improper, "lennard_jones": c.LennardJones, "coulomb": c.Coulomb} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return out, fmt.Errorf("clip threshold for %s is %v: it must be positive, or 0 for no clipping", name, v)
			}
		}
	}
	if a := out.Align; a != nil {
		al := *a
		if al.Lambda == 0 {
			al.Lambda = 10
		}
		if al.MaxAngle == 0 {
			al.MaxAngle = math.Pi / 3
		}
		if al.Lambda < 0 || !(al.MaxAngle > 0 && al.MaxAngle <= math.Pi) {
			return out, fmt.Errorf("alignment penalty: lambda %v must be positive and the maximum angle %v in (0, pi]", al.Lambda, al.MaxAngle)
		}
		for _, x := range al.Reference {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return out, fmt.Errorf("alignment penalty: the reference configuration has a non-finite coordinate")
			}
		}
		out.Align = &al
	}
	return out, nil
}
