package flows

import (
	"fmt"
	"math"

	"github.com/flowmd/flowmd/topology"
)

// MoleculeSpec returns the spec of the thesis' two-stage generator for a
// molecule: with placeHydrogens, the flow generates the heavy atoms and
// the placer puts each hydrogen relative to the heavy atom it is bonded
// to, starting from where the reference structure ref (3 numbers per
// atom) has it; otherwise the flow generates every atom. The flow ends at
// the reference's coordinates (Spec.Mean) unless flow says otherwise.
func MoleculeSpec(psf *topology.PSF, ref []float64, placeHydrogens bool, flow Spec) (GeneratorSpec, error) {
	n := len(psf.Atoms)
	if len(ref) != 3*n {
		return GeneratorSpec{}, fmt.Errorf("flows: the reference has %d coordinates, the molecule %d atoms", len(ref), n)
	}
	gs := GeneratorSpec{Flow: flow, Atoms: n}
	g := topology.NewGraph(psf)
	if !placeHydrogens {
		for i := 0; i < n; i++ {
			gs.Generated = append(gs.Generated, i)
		}
	} else {
		gs.Generated = append(gs.Generated, g.Heavy...)
		isGen := make([]bool, n)
		for _, a := range g.Heavy {
			isGen[a] = true
		}
		for _, heavy := range g.Heavy {
			for _, h := range g.Hydrogens[heavy] {
				gs.Placed = append(gs.Placed, h)
				gs.Parents = append(gs.Parents, heavy)
				off := vec3{ref[3*h] - ref[3*heavy], ref[3*h+1] - ref[3*heavy+1], ref[3*h+2] - ref[3*heavy+2]}
				a, b, ok := FrameAtoms(g, isGen, heavy)
				if !ok {
					// No heavy neighbours to make a frame (methane,
					// water): a global offset.
					gs.Frames = append(gs.Frames, -1, -1)
					gs.Offsets = append(gs.Offsets, off[:]...)
					continue
				}
				gs.Frames = append(gs.Frames, a, b)
				e, _ := localFrame(ref, heavy, a, b)
				gs.Offsets = append(gs.Offsets, dot3(off, e[0]), dot3(off, e[1]), dot3(off, e[2]))
			}
		}
		gs.Interchangeable = interchangeable(psf, gs.Placed, gs.Parents)
		if len(gs.Generated)+len(gs.Placed) != n {
			return GeneratorSpec{}, fmt.Errorf("flows: %d atoms are neither heavy nor hydrogens bonded to a heavy atom (H2, or a hydrogen without bonds?)", n-len(gs.Generated)-len(gs.Placed))
		}
	}
	if gs.Flow.Mean == nil {
		for _, a := range gs.Generated {
			gs.Flow.Mean = append(gs.Flow.Mean, ref[3*a:3*a+3]...)
		}
	}
	return gs, nil
}

// interchangeable groups the placed atoms (by their places in placed)
// that share a parent, a type and a charge: the force field cannot tell
// them apart (a methyl's or a methylene's hydrogens).
func interchangeable(psf *topology.PSF, placed, parents []int) [][]int {
	type key struct {
		parent int
		typ    string
		charge float64
	}
	groups := map[key][]int{}
	var order []key
	for j, a := range placed {
		k := key{parents[j], psf.Atoms[a].Type, psf.Atoms[a].Charge}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], j)
	}
	var out [][]int
	for _, k := range order {
		if g := groups[k]; len(g) >= 2 && len(g) <= 4 {
			out = append(out, g)
		}
	}
	return out
}

// FrameAtoms chooses the two atoms A and B that with parent P make the
// local frame of P's hydrogens (see GeneratorSpec.Frames): a generated
// neighbour of P, then another generated neighbour of P or else a
// generated neighbour of A other than P. ok is false when P has no
// generated neighbour or the chain ends at A.
func FrameAtoms(g *topology.Graph, generated []bool, p int) (a, b int, ok bool) {
	neighbours := func(i int, not ...int) []int {
		var out []int
	next:
		for _, j := range g.Neighbors[i] {
			if !generated[j] {
				continue
			}
			for _, x := range not {
				if j == x {
					continue next
				}
			}
			out = append(out, j)
		}
		return out
	}
	as := neighbours(p)
	if len(as) == 0 {
		return -1, -1, false
	}
	a = as[0]
	bs := append(neighbours(p, a), neighbours(a, p)...)
	if len(bs) == 0 {
		return -1, -1, false
	}
	return a, bs[0], true
}

// FitStandardization sets the flow's final fixed map to the mean and the
// standard deviation of each generated coordinate over frames
// configurations (rows of 3 * Atoms numbers, or of Flow.Dim for plain
// coordinates), so that a fresh flow already has the data's place and
// scale. Standard deviations are floored at minStd.
func (gs *GeneratorSpec) FitStandardization(data []float64, frames int, minStd float64) error {
	var cols []int
	width := gs.Flow.Dim
	if gs.Atoms > 0 {
		width = 3 * gs.Atoms
		for _, a := range gs.Generated {
			cols = append(cols, 3*a, 3*a+1, 3*a+2)
		}
	} else {
		for i := 0; i < width; i++ {
			cols = append(cols, i)
		}
	}
	if frames < 2 || len(data) != frames*width {
		return fmt.Errorf("flows: %d numbers are not %d (>= 2) configurations of %d", len(data), frames, width)
	}
	mean, std := make([]float64, len(cols)), make([]float64, len(cols))
	for j, c := range cols {
		var s, ss float64
		for r := 0; r < frames; r++ {
			v := data[r*width+c]
			s += v
			ss += v * v
		}
		m := s / float64(frames)
		mean[j] = m
		std[j] = math.Max(math.Sqrt(math.Max(ss/float64(frames)-m*m, 0)), minStd)
	}
	gs.Flow.Mean, gs.Flow.Std = mean, std
	return nil
}
