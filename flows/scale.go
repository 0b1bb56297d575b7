package flows

import (
	"math"

	"github.com/flowmd/flowmd/nn"
)

// groupScale is a stochastic placer's linear map from its latent numbers
// to the placed atoms' offsets (in their frames): per group of placed
// atoms with one parent, which share a frame, a lower triangular matrix L
// over the group's 3k offsets, so that offsets = mean + L z and log |det|
// is the sum of the logs of L's diagonal (stored as logs, so it stays
// positive). Within a group the hydrogens' displacements are correlated:
// a methyl turns as one, which independent Gaussians per hydrogen cannot
// say without bending its angles.
type groupScale struct {
	groups [][]int // places in Placed, per parent, atoms in Placed's order
	start  []int   // where each group's triangle starts in the parameter
	param  nn.Param
}

// initialSigma is where the diagonal of a stochastic placer's L starts for
// r (Angstrom), theta and phi (radians): about a C-H or N-H bond's thermal
// spread at room temperature (kT = 2 k_b sigma^2 with k_b near 300
// kcal/mol/A^2 gives 0.03 A), an angle's (0.1 rad), and a methyl's
// libration (0.3 rad). Maximum likelihood moves each log by at most about
// the learning rate per step, so a start far off costs thousands of steps.
var initialSigma = [3]float64{0.03, 0.1, 0.3}

// tri is the place of L[a][b], b <= a, in a row-major lower triangle.
func tri(a, b int) int { return a*(a+1)/2 + b }

func newGroupScale(s *nn.Set, parents []int) *groupScale {
	gs := &groupScale{}
	at := map[int]int{}
	for j, par := range parents {
		g, ok := at[par]
		if !ok {
			g = len(gs.groups)
			at[par] = g
			gs.groups = append(gs.groups, nil)
		}
		gs.groups[g] = append(gs.groups[g], j)
	}
	size := 0
	for _, g := range gs.groups {
		m := 3 * len(g)
		gs.start = append(gs.start, size)
		size += m * (m + 1) / 2
	}
	gs.param = s.Add("placer.scale", size)
	v := gs.param.Of(s.Values)
	for g, grp := range gs.groups {
		for a := 0; a < 3*len(grp); a++ {
			v[gs.start[g]+tri(a, a)] = math.Log(initialSigma[a%3])
		}
	}
	return gs
}

// matrices writes the groups' triangles with their diagonals exponentiated.
func (gs *groupScale) matrices(params, dst []float64) []float64 {
	raw := gs.param.Of(params)
	dst = grow(dst, len(raw))
	copy(dst, raw)
	for g, grp := range gs.groups {
		for a := 0; a < 3*len(grp); a++ {
			dst[gs.start[g]+tri(a, a)] = math.Exp(raw[gs.start[g]+tri(a, a)])
		}
	}
	return dst
}

// logDet is log |det L|, the same for every configuration.
func (gs *groupScale) logDet(params []float64) float64 {
	raw := gs.param.Of(params)
	var s float64
	for g, grp := range gs.groups {
		for a := 0; a < 3*len(grp); a++ {
			s += raw[gs.start[g]+tri(a, a)]
		}
	}
	return s
}

// apply adds L z to a row of offsets for every group; z is a row of
// latent numbers (3 per placed atom).
func (gs *groupScale) apply(L, z, off []float64) {
	for g, grp := range gs.groups {
		t := L[gs.start[g]:]
		m := 3 * len(grp)
		for a := 0; a < m; a++ {
			var y float64
			for b := 0; b <= a; b++ {
				y += t[tri(a, b)] * z[3*grp[b/3]+b%3]
			}
			off[3*grp[a/3]+a%3] += y
		}
	}
}

// solveGroup solves L_g z = y for group g by forward substitution (y and
// z hold the group's 3k numbers).
func (gs *groupScale) solveGroup(g int, L, y, z []float64) {
	t := L[gs.start[g]:]
	for a := range y {
		s := y[a]
		for b := 0; b < a; b++ {
			s -= t[tri(a, b)] * z[b]
		}
		z[a] = s / t[tri(a, a)]
	}
}

// backward takes dy, the cotangents of the offsets of one row after
// off = mean + L z, and its log-det's dld: it writes z's cotangents L^T dy
// into dz and adds L's gradient (diagonal by its logs) into grad.
func (gs *groupScale) backward(L, z, dy []float64, dld float64, dz, grad []float64) {
	for g, grp := range gs.groups {
		t, gr := L[gs.start[g]:], grad[gs.start[g]:]
		m := 3 * len(grp)
		for b := 0; b < m; b++ {
			var s float64
			for a := b; a < m; a++ {
				s += t[tri(a, b)] * dy[3*grp[a/3]+a%3]
			}
			dz[3*grp[b/3]+b%3] = s
		}
		for a := 0; a < m; a++ {
			da := dy[3*grp[a/3]+a%3]
			for b := 0; b < a; b++ {
				gr[tri(a, b)] += da * z[3*grp[b/3]+b%3]
			}
			gr[tri(a, a)] += da*z[3*grp[a/3]+a%3]*t[tri(a, a)] + dld
		}
	}
}

// inverseBackward takes dz, the cotangents of z = L^-1 y for one row,
// and dld, that of its log-det (-log |det L|): it writes y's cotangents
// L^-T dz into dy and adds L's gradient (diagonal by its logs) into grad.
func (gs *groupScale) inverseBackward(L, z, dz []float64, dld float64, dy, grad []float64) {
	for g, grp := range gs.groups {
		t, gr := L[gs.start[g]:], grad[gs.start[g]:]
		m := 3 * len(grp)
		for a := m - 1; a >= 0; a-- {
			s := dz[3*grp[a/3]+a%3]
			for c := a + 1; c < m; c++ {
				s -= t[tri(c, a)] * dy[3*grp[c/3]+c%3]
			}
			dy[3*grp[a/3]+a%3] = s / t[tri(a, a)]
		}
		for a := 0; a < m; a++ {
			da := dy[3*grp[a/3]+a%3]
			for b := 0; b < a; b++ {
				gr[tri(a, b)] -= da * z[3*grp[b/3]+b%3]
			}
			gr[tri(a, a)] -= da*z[3*grp[a/3]+a%3]*t[tri(a, a)] + dld
		}
	}
}

// A stochastic placer's Gaussian is over each placed atom's spherical
// coordinates q = (r, theta, phi) in its frame: the bond length, the
// angle from e1 (toward the frame's atom A) and the turn about e1 from e2,
// the Z-matrix coordinates of a hydrogen. A methyl's hydrogens then turn
// along a circle, which no Gaussian in Cartesian offsets can do (its mean
// sits inside the arc: the first, Cartesian version's mean hydrogens had
// their bonds 65 kT from the data's on dialanine). The offset is
// v = r (cos theta, sin theta cos phi, sin theta sin phi), and
// log |det dv/dq| = log(r^2 sin theta).

// toSpherical returns q of an offset v.
func toSpherical(v vec3) vec3 {
	r := math.Sqrt(dot3(v, v))
	return vec3{r, math.Acos(math.Max(-1, math.Min(1, v[0]/r))), math.Atan2(v[2], v[1])}
}

// fromSpherical returns the offset of q and the orthonormal directions
// of its r, theta and phi: dv/dq = [rhat | r thetahat | r sin(theta) phihat].
func fromSpherical(q vec3) (v vec3, dirs [3]vec3) {
	st, ct := math.Sincos(q[1])
	sp, cp := math.Sincos(q[2])
	dirs[0] = vec3{ct, st * cp, st * sp}
	dirs[1] = vec3{-st, ct * cp, ct * sp}
	dirs[2] = vec3{0, -sp, cp}
	for k := range v {
		v[k] = q[0] * dirs[0][k]
	}
	return v, dirs
}

// sphericalLogDet is log |det dv/dq| and its derivatives in r and theta.
// The absolute value keeps it finite for a q outside r > 0, 0 < theta <
// pi, where the map is still locally invertible: a network far from its
// data (a flow's stray sample) can put a mean there, and a NaN would end
// the training.
func sphericalLogDet(q vec3) (ld, dr, dtheta float64) {
	st, ct := math.Sincos(q[1])
	return math.Log(q[0] * q[0] * math.Abs(st)), 2 / q[0], ct / st
}

// wrapAngle returns a + 2 pi k nearest to ref.
func wrapAngle(a, ref float64) float64 {
	return ref + math.Remainder(a-ref, 2*math.Pi)
}
