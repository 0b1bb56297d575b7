package charmm

import (
	"fmt"
	"math"

	"github.com/flowmd/flowmd/topology"
)

// cmapGrid is a CMAP correction map ready for bicubic interpolation, as CHARMM
// and OpenMM do it: the derivatives at the grid points come from periodic
// cubic splines through the values (d/dphi along phi, d/dpsi along psi, and
// the cross derivative by splining d/dphi along psi), and each cell holds the
// 16 coefficients of the bicubic patch matching values and derivatives at its
// corners.
type cmapGrid struct {
	size  int
	delta float64   // grid spacing, radians
	coef  []float64 // 16 per cell, cell (i, j) at 16*(i*size+j); a[m*4+n] multiplies t^m u^n
}

func newCMapGrid(g *topology.CMapGrid) (cmapGrid, error) {
	n := g.Size
	if n < 4 || len(g.Values) != n*n {
		return cmapGrid{}, fmt.Errorf("CMAP grid of size %d with %d values: need at least 4x4 and size^2 values", n, len(g.Values))
	}
	h := 2 * math.Pi / float64(n)
	v := g.Values
	dphi := make([]float64, n*n)  // dV/dphi at (i, j)
	dpsi := make([]float64, n*n)  // dV/dpsi
	dboth := make([]float64, n*n) // d2V/dphi dpsi
	line := make([]float64, n)
	deriv := make([]float64, n)
	for j := 0; j < n; j++ { // along phi (index i) at fixed psi
		for i := 0; i < n; i++ {
			line[i] = v[i*n+j]
		}
		periodicSplineSlopes(line, h, deriv)
		for i := 0; i < n; i++ {
			dphi[i*n+j] = deriv[i]
		}
	}
	for i := 0; i < n; i++ { // along psi at fixed phi
		periodicSplineSlopes(v[i*n:(i+1)*n], h, deriv)
		copy(dpsi[i*n:], deriv)
		periodicSplineSlopes(dphi[i*n:(i+1)*n], h, deriv)
		copy(dboth[i*n:], deriv)
	}
	grid := cmapGrid{size: n, delta: h, coef: make([]float64, 16*n*n)}
	for i := 0; i < n; i++ {
		i1 := (i + 1) % n
		for j := 0; j < n; j++ {
			j1 := (j + 1) % n
			c00, c01, c10, c11 := i*n+j, i*n+j1, i1*n+j, i1*n+j1
			// Rows: value at t=0, t=1, d/dt at t=0, t=1; columns the same
			// in u. Derivatives are per cell width.
			f := [4][4]float64{
				{v[c00], v[c01], h * dpsi[c00], h * dpsi[c01]},
				{v[c10], v[c11], h * dpsi[c10], h * dpsi[c11]},
				{h * dphi[c00], h * dphi[c01], h * h * dboth[c00], h * h * dboth[c01]},
				{h * dphi[c10], h * dphi[c11], h * h * dboth[c10], h * h * dboth[c11]},
			}
			a := hermiteMatrix(f)
			copy(grid.coef[16*(i*n+j):], a[:])
		}
	}
	return grid, nil
}

// hermiteMatrix returns L F L^T, the coefficients of the bicubic patch with
// the values and derivatives f, where L maps [p(0), p(1), p'(0), p'(1)] to the
// coefficients of a cubic.
func hermiteMatrix(f [4][4]float64) [16]float64 {
	l := [4][4]float64{{1, 0, 0, 0}, {0, 0, 1, 0}, {-3, 3, -2, -1}, {2, -2, 1, 1}}
	var lf [4][4]float64
	for m := 0; m < 4; m++ {
		for k := 0; k < 4; k++ {
			for q := 0; q < 4; q++ {
				lf[m][k] += l[m][q] * f[q][k]
			}
		}
	}
	var a [16]float64
	for m := 0; m < 4; m++ {
		for n := 0; n < 4; n++ {
			for k := 0; k < 4; k++ {
				a[m*4+n] += lf[m][k] * l[n][k]
			}
		}
	}
	return a
}

// periodicSplineSlopes writes to d the first derivatives at the knots of the
// periodic cubic spline through y with spacing h. The second derivatives M
// solve the cyclic system M[i-1] + 4 M[i] + M[i+1] = 6 (y[i+1] - 2 y[i] +
// y[i-1]) / h^2, solved here by Gaussian elimination on the dense matrix: it
// runs once per grid line when a plan is compiled.
func periodicSplineSlopes(y []float64, h float64, d []float64) {
	n := len(y)
	a := make([]float64, n*(n+1)) // augmented matrix
	for i := 0; i < n; i++ {
		row := a[i*(n+1):]
		row[(i+n-1)%n] += 1
		row[i] += 4
		row[(i+1)%n] += 1
		row[n] = 6 * (y[(i+1)%n] - 2*y[i] + y[(i+n-1)%n]) / (h * h)
	}
	// The matrix is strictly diagonally dominant: no pivoting needed.
	for k := 0; k < n; k++ {
		pk := a[k*(n+1):]
		for i := k + 1; i < n; i++ {
			pi := a[i*(n+1):]
			if pi[k] == 0 {
				continue
			}
			f := pi[k] / pk[k]
			for c := k; c <= n; c++ {
				pi[c] -= f * pk[c]
			}
		}
	}
	m := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		pi := a[i*(n+1):]
		s := pi[n]
		for c := i + 1; c < n; c++ {
			s -= pi[c] * m[c]
		}
		m[i] = s / pi[i]
	}
	for i := 0; i < n; i++ {
		d[i] = (y[(i+1)%n]-y[i])/h - h*(2*m[i]+m[(i+1)%n])/6
	}
}

// eval returns the map's energy and its derivatives with respect to the two
// angles phi and psi (radians, any range).
func (g *cmapGrid) eval(phi, psi float64) (e, dphi, dpsi float64) {
	s := (phi + math.Pi) / g.delta
	r := (psi + math.Pi) / g.delta
	fi, fj := math.Floor(s), math.Floor(r)
	t, u := s-fi, r-fj
	i := int(fi) % g.size
	if i < 0 {
		i += g.size
	}
	j := int(fj) % g.size
	if j < 0 {
		j += g.size
	}
	a := g.coef[16*(i*g.size+j) : 16*(i*g.size+j)+16]
	// E = sum_m t^m P_m(u) with P_m(u) = sum_n a[m][n] u^n, by Horner in t
	// (derivative before value) and in u.
	var dt, du float64
	for m := 3; m >= 0; m-- {
		row := a[4*m : 4*m+4]
		pu := ((row[3]*u+row[2])*u+row[1])*u + row[0]
		dpu := (3*row[3]*u+2*row[2])*u + row[1]
		dt = dt*t + e
		e = e*t + pu
		du = du*t + dpu
	}
	return e, dt / g.delta, du / g.delta
}
