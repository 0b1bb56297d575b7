package charmm

import (
	"math"
	"sync"

	"github.com/flowmd/flowmd/internal/superpose"
)

// alignment is the penalty of thesis section 2.4,
//
//	U(x) = lambda sum_i |x_i - (R (x_i - c) + c_ref)|^2,
//
// where c is the centroid of x, c_ref that of the reference and R the
// Kabsch rotation taking x - c onto the centred reference, its angle capped
// at maxAngle (keeping the axis). It pins the molecule's position and
// orientation near the reference's so that a flow need not learn the six
// rigid-body degrees of freedom. The thesis centres both at the origin;
// here the aligned copy sits on the reference's centroid, so that a run
// started from the reference structure (wherever its file puts it) starts
// without penalty instead of being pulled to the origin by a force of
// 2 lambda |c_ref| per coordinate.
//
// Its force is the exact negative gradient, including the dependence of R on
// x, so that molecular dynamics conserves energy and finite differences
// agree. The derivative of the optimal rotation comes from implicit
// differentiation of the Kabsch optimality condition sum_i (R xc_i) x y_i = 0;
// with a capped angle, the chain rule runs through the SO(3) Jacobians of the
// rotation-vector parametrisation.
//
// With a subset of atoms (AlignOptions.Atoms) the same holds for the
// subset alone: the other atoms neither define the alignment nor feel it.
type alignment struct {
	y        []float64 // centred reference (of the subset)
	cref     vec3      // the reference's centroid
	lambda   float64
	maxAngle float64
	atoms    []int // the subset, nil for every atom
	// scratch holds *alignScratch: energy runs once per configuration,
	// from as many goroutines as the batch is split over.
	scratch sync.Pool
}

// alignScratch is the working memory of one energy evaluation.
type alignScratch struct {
	xs, fs, xc []float64 // the subset's coordinates, forces, centred coordinates
	e          []vec3    // the residuals x_i - (R xc_i + c_ref)
}

func newAlignment(o *AlignOptions) *alignment {
	y := append([]float64(nil), o.Reference...)
	if o.Atoms != nil {
		y = gatherAtoms(o.Reference, o.Atoms, nil)
	}
	n := len(y) / 3
	var c vec3
	for i := 0; i < n; i++ {
		c = c.add(pos(y, int32(i)))
	}
	c = c.scale(1 / float64(n))
	for i := 0; i < n; i++ {
		for k := 0; k < 3; k++ {
			y[3*i+k] -= c[k]
		}
	}
	return &alignment{y: y, cref: c, lambda: o.Lambda, maxAngle: o.MaxAngle, atoms: o.Atoms}
}

// gatherAtoms returns the coordinates of atoms, in their order, appended
// to dst.
func gatherAtoms(x []float64, atoms []int, dst []float64) []float64 {
	for _, a := range atoms {
		dst = append(dst, x[3*a], x[3*a+1], x[3*a+2])
	}
	return dst
}

type mat3 [3][3]float64

func (m mat3) mulVec(v vec3) vec3 {
	return vec3{m[0][0]*v[0] + m[0][1]*v[1] + m[0][2]*v[2],
		m[1][0]*v[0] + m[1][1]*v[1] + m[1][2]*v[2],
		m[2][0]*v[0] + m[2][1]*v[1] + m[2][2]*v[2]}
}

func (m mat3) transpose() mat3 {
	var t mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			t[i][j] = m[j][i]
		}
	}
	return t
}

func (m mat3) mul(b mat3) mat3 {
	var c mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				c[i][j] += m[i][k] * b[k][j]
			}
		}
	}
	return c
}

func (m mat3) det() float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// inverse returns the inverse and false if m is (nearly) singular.
func (m mat3) inverse() (mat3, bool) {
	d := m.det()
	scale := 0.0
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			scale = math.Max(scale, math.Abs(m[i][j]))
		}
	}
	if scale == 0 || math.Abs(d) < 1e-12*scale*scale*scale {
		return mat3{}, false
	}
	var inv mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			// Cofactor of (j, i).
			a, b := (j+1)%3, (j+2)%3
			c, e := (i+1)%3, (i+2)%3
			inv[i][j] = (m[a][c]*m[b][e] - m[a][e]*m[b][c]) / d
		}
	}
	return inv, true
}

func identity3() mat3 { return mat3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}} }

// skew returns [v]x, the matrix with [v]x w = v x w.
func skew(v vec3) mat3 {
	return mat3{{0, -v[2], v[1]}, {v[2], 0, -v[0]}, {-v[1], v[0], 0}}
}

func (m mat3) addScaled(b mat3, s float64) mat3 {
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			m[i][j] += s * b[i][j]
		}
	}
	return m
}

// leftJacobian returns J_l of SO(3) at the rotation vector theta*n.
func leftJacobian(n vec3, theta float64) mat3 {
	k := skew(n)
	if theta < 1e-8 {
		return identity3().addScaled(k, theta/2)
	}
	return identity3().addScaled(k, (1-math.Cos(theta))/theta).addScaled(k.mul(k), (theta-math.Sin(theta))/theta)
}

// leftJacobianInv returns J_l^-1 at the rotation vector theta*n, written
// with cot(theta/2) so that it stays finite up to theta = pi.
func leftJacobianInv(n vec3, theta float64) mat3 {
	k := skew(n)
	c := 1.0
	if theta > 1e-8 {
		c = 1 - theta/2/math.Tan(theta/2)
	}
	return identity3().addScaled(k, -theta/2).addScaled(k.mul(k), c)
}

// energy returns the penalty of configuration x and adds its force to f.
func (al *alignment) energy(x, f []float64) float64 {
	sc, _ := al.scratch.Get().(*alignScratch)
	if sc == nil {
		sc = new(alignScratch)
	}
	defer al.scratch.Put(sc)
	if al.atoms == nil {
		return al.subsetEnergy(x, f, sc)
	}
	sc.xs = gatherAtoms(x, al.atoms, sc.xs[:0])
	xs := sc.xs
	if f == nil {
		return al.subsetEnergy(xs, nil, sc)
	}
	sc.fs = grow(sc.fs, len(xs))
	fs := sc.fs
	clear(fs)
	u := al.subsetEnergy(xs, fs, sc)
	for k, a := range al.atoms {
		for d := 0; d < 3; d++ {
			f[3*a+d] += fs[3*k+d]
		}
	}
	return u
}

// subsetEnergy is energy over the atoms the alignment uses, x and f
// holding those atoms only; sc lends it working memory.
func (al *alignment) subsetEnergy(x, f []float64, sc *alignScratch) float64 {
	n := len(x) / 3
	var c vec3
	for i := 0; i < n; i++ {
		c = c.add(pos(x, int32(i)))
	}
	c = c.scale(1 / float64(n))
	sc.xc = grow(sc.xc, len(x))
	xc := sc.xc
	for i := 0; i < n; i++ {
		for k := 0; k < 3; k++ {
			xc[3*i+k] = x[3*i+k] - c[k]
		}
	}
	a, theta := superpose.Rotation(xc, al.y)
	axis := vec3(a)
	rStar := mat3(superpose.Matrix(axis, theta))
	r, b := rStar, identity3()
	if theta > al.maxAngle {
		// Capped: R = Exp(maxAngle n). B maps a left perturbation of R* to
		// the one of R: J_l(omega_c) Df(omega*) J_l^-1(omega*), where
		// Df = (maxAngle/theta) (I - n n^T) keeps only the change of axis.
		r = mat3(superpose.Matrix(axis, al.maxAngle))
		var proj mat3
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				proj[i][j] = -axis[i] * axis[j]
			}
			proj[i][i] += 1
		}
		df := mat3{}.addScaled(proj, al.maxAngle/theta)
		b = leftJacobian(axis, al.maxAngle).mul(df).mul(leftJacobianInv(axis, theta))
	}

	// Energy, the torque-like sum T = sum a_i x x_i with a_i = R xc_i, and
	// the matrix A = sum a*_i y_i^T - (sum a*_i . y_i) I of the implicit
	// differentiation (a*_i = R* xc_i).
	var u float64
	var tsum vec3
	var am mat3
	var tr float64
	if cap(sc.e) < n {
		sc.e = make([]vec3, n)
	}
	e := sc.e[:n]
	for i := 0; i < n; i++ {
		xi := pos(x, int32(i))
		xci := pos(xc, int32(i))
		yi := pos(al.y, int32(i))
		ai := r.mulVec(xci)
		e[i] = xi.sub(ai).sub(al.cref)
		u += e[i].dot(e[i])
		tsum = tsum.add(ai.cross(xi))
		as := rStar.mulVec(xci)
		for p := 0; p < 3; p++ {
			for q := 0; q < 3; q++ {
				am[p][q] += as[p] * yi[q]
			}
		}
		tr += as.dot(yi)
	}
	for p := 0; p < 3; p++ {
		am[p][p] -= tr
	}
	if f == nil {
		return al.lambda * u
	}
	// w = A^-T B^T T; without a well-defined optimal rotation (a linear
	// molecule, or the reference and x nearly anti-aligned) the rotation
	// term of the gradient is dropped.
	var w vec3
	if ainv, ok := am.inverse(); ok {
		w = ainv.transpose().mulVec(b.transpose().mulVec(tsum))
	}
	rt := r.transpose()
	rst := rStar.transpose()
	// The centroid's share: (1/n) sum_j R^T e_j = R^T (c - c_ref).
	rc := rt.mulVec(c.sub(al.cref))
	s := 2 * al.lambda
	for i := 0; i < n; i++ {
		yi := pos(al.y, int32(i))
		g := e[i].sub(rt.mulVec(e[i])).add(rc).add(rst.mulVec(yi.cross(w)))
		addForce(f, int32(i), g.scale(-s))
	}
	return al.lambda * u
}
