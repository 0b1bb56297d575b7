package engine

import (
	"fmt"
	"math"
	"strings"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/topology"
)

// ModeSetFor chooses the collective variables and modes that describe a
// system's slow motion, from a specification:
//
//	auto            dialanine's (phi, psi) basins when the molecule has one
//	                backbone phi and psi; butane's rotamers when its heavy
//	                atoms are a chain of four carbons; the modes an analytic
//	                model knows (the double wells' barrier); else none
//	dialanine       the (phi, psi) basins C5, C7eq, alphaR, C7ax, alphaL
//	dialanine-phi   phi < 0 and phi > 0 (the thesis' minor mode)
//	butane          trans, gauche+, gauche- of the heavy-atom chain's dihedral
//	dihedral:SPEC   trans/gauche modes of the dihedral SPEC (e.g. C1-C2-C3-C4)
//	none            no modes
//
// sys is nil for analytic models.
func ModeSetFor(spec string, sys *topology.System, m forcefields.Model) (*analysis.ModeSet, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "none" {
		return nil, nil
	}
	if sys == nil {
		if spec != "auto" && spec != "modes" {
			return nil, fmt.Errorf("modes %q: analytic models use auto", spec)
		}
		return analyticModes(m), nil
	}
	phi, psi, err := onePhiPsi(sys)
	switch {
	case spec == "auto" && err == nil:
		set := analysis.DialanineModes(phi, psi)
		return &set, nil
	case spec == "auto":
		if chain, ok := carbonChain(sys); ok {
			set := analysis.ButaneModes(chain[0], chain[1], chain[2], chain[3])
			return &set, nil
		}
		return nil, nil
	case spec == "dialanine" || spec == "dialanine-phi":
		if err != nil {
			return nil, fmt.Errorf("modes %s: %w", spec, err)
		}
		set := analysis.DialanineModes(phi, psi)
		if spec == "dialanine-phi" {
			set = analysis.DialaninePhiModes(phi)
		}
		return &set, nil
	case spec == "butane":
		chain, ok := carbonChain(sys)
		if !ok {
			return nil, fmt.Errorf("modes butane: the heavy atoms are not a chain of four carbons; give dihedral:A-B-C-D")
		}
		set := analysis.ButaneModes(chain[0], chain[1], chain[2], chain[3])
		return &set, nil
	case strings.HasPrefix(spec, "dihedral:"):
		d, err := sys.PSF.SelectDihedral(sys.Graph, strings.TrimPrefix(spec, "dihedral:"))
		if err != nil {
			return nil, err
		}
		set := analysis.ButaneModes(d.Atoms[0], d.Atoms[1], d.Atoms[2], d.Atoms[3])
		set.Name = d.Name
		return &set, nil
	}
	return nil, fmt.Errorf("modes %q: expected auto, dialanine, dialanine-phi, butane, dihedral:A-B-C-D or none", spec)
}

// onePhiPsi returns the backbone phi and psi of a molecule that has exactly
// one of each.
func onePhiPsi(sys *topology.System) (phi, psi [4]int, err error) {
	var phis, psis [][4]int
	for _, d := range sys.Graph.BackboneDihedrals(sys.PSF) {
		switch strings.Fields(d.Name)[0] {
		case "phi":
			phis = append(phis, d.Atoms)
		case "psi":
			psis = append(psis, d.Atoms)
		}
	}
	if len(phis) != 1 || len(psis) != 1 {
		return phi, psi, fmt.Errorf("the molecule has %d backbone phi and %d psi dihedrals, not one of each", len(phis), len(psis))
	}
	return phis[0], psis[0], nil
}

// carbonChain returns the heavy atoms in chain order when they are four
// carbons bonded in a line (butane).
func carbonChain(sys *topology.System) ([4]int, bool) {
	g := sys.Graph
	var chain [4]int
	if len(g.Heavy) != 4 {
		return chain, false
	}
	heavyNeighbors := func(i int) []int {
		var out []int
		for _, j := range g.Neighbors[i] {
			if !g.IsHydrogen[j] {
				out = append(out, j)
			}
		}
		return out
	}
	end := -1
	for _, i := range g.Heavy {
		if math.Abs(sys.Atoms[i].Mass-12.011) > 0.1 {
			return chain, false
		}
		if len(heavyNeighbors(i)) == 1 && end < 0 {
			end = i
		}
	}
	if end < 0 {
		return chain, false
	}
	prev, cur := -1, end
	for k := 0; k < 4; k++ {
		chain[k] = cur
		next := -1
		for _, j := range heavyNeighbors(cur) {
			if j != prev {
				next = j
			}
		}
		if k < 3 && next < 0 {
			return chain, false
		}
		prev, cur = cur, next
	}
	return chain, true
}

// analyticModes returns the modes of an analytic model: the double wells'
// two sides of the barrier, or the modes a Modal model assigns.
func analyticModes(m forcefields.Model) *analysis.ModeSet {
	if dw, ok := m.(*analytic.DoubleWell); ok {
		set := analysis.DoubleWellModes(0, dw.Barrier())
		return &set
	}
	mm, ok := m.(analytic.Modal)
	if !ok {
		return nil
	}
	set := analysis.ModeSet{Name: "modes"}
	for i := 0; i < m.Dim(); i++ {
		set.CVs = append(set.CVs, analysis.CoordinateCV(fmt.Sprintf("x%d", i), i))
	}
	for k := 0; k < mm.NumModes(); k++ {
		k := k
		set.Modes = append(set.Modes, analysis.Mode{Name: fmt.Sprintf("mode %d", k), Contains: func(x []float64) bool { return mm.ModeOf(x) == k }})
	}
	return &set
}

// chains groups a dataset's n frames by slot: each slot (a walker, or a
// ladder's lowest rung) is one time series. It returns the slots in the
// order they first appear and each one's frame indices; nil slots make one
// chain.
func chains(slots []int64, n int) (order []int64, frames map[int64][]int) {
	frames = map[int64][]int{}
	for f := 0; f < n; f++ {
		var s int64
		if slots != nil {
			s = slots[f]
		}
		if _, seen := frames[s]; !seen {
			order = append(order, s)
		}
		frames[s] = append(frames[s], f)
	}
	return order, frames
}

// DatasetModeFractions computes the mode fractions of a dataset's frames,
// with standard errors. Frames of different slots (independent walkers or
// ladders) are separate time series: each gets its own block-averaged
// estimate, and the fraction is their mean, with the error of a mean of
// independent estimates.
func DatasetModeFractions(path string, set *analysis.ModeSet) ([]ModeFractionReport, int, error) {
	d, err := dataset.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	x, shape, err := d.Float64("coordinates")
	if err != nil {
		return nil, 0, err
	}
	if len(shape) < 2 || shape[0] == 0 {
		return nil, 0, fmt.Errorf("%s: no frames", path)
	}
	frameSize := len(x) / shape[0]
	var slots []int64
	if d.Has("slot") {
		if slots, _, err = d.Int64("slot"); err != nil {
			return nil, 0, err
		}
		if len(slots) != shape[0] {
			return nil, 0, fmt.Errorf("%s: slot has %d entries for %d frames", path, len(slots), shape[0])
		}
	}
	order, bySlot := chains(slots, shape[0])
	sums := make([]float64, len(set.Modes))
	vars := make([]float64, len(set.Modes))
	for _, s := range order {
		frames := make([]float64, 0, len(bySlot[s])*frameSize)
		for _, f := range bySlot[s] {
			frames = append(frames, x[f*frameSize:(f+1)*frameSize]...)
		}
		fr, err := analysis.ModeFractions(frames, frameSize, *set, nil)
		if err != nil {
			return nil, 0, fmt.Errorf("%s, slot %d: %w", path, s, err)
		}
		for k, m := range fr {
			sums[k] += m.Fraction
			vars[k] += m.StdErr * m.StdErr
		}
	}
	n := float64(len(order))
	out := make([]ModeFractionReport, len(set.Modes))
	for k, m := range set.Modes {
		out[k] = ModeFractionReport{Set: set.Name, Mode: m.Name, Fraction: sums[k] / n, StdErr: math.Sqrt(vars[k]) / n}
	}
	return out, shape[0], nil
}
