// Package superpose finds the rotation that best superposes one set of
// points on another, the problem of Kabsch (1976), by the quaternion method
// of Horn (1987): the rotation is the eigenvector of the largest eigenvalue
// of a symmetric 4x4 matrix built from the points' correlations. Unlike
// Kabsch's SVD it needs no reflection correction, since every unit
// quaternion is a proper rotation, and it gives the rotation as an axis and
// an angle, which is what a caller capping or differentiating the angle
// needs.
//
// The CHARMM force field's alignment penalty and the flow proposal's
// placement of hydrogens both use it.
package superpose

import "math"

// Rotation returns the proper rotation R minimising sum_i |R x_i - y_i|^2,
// as a unit axis and an angle in [0, pi]. x and y hold the points' flat
// coordinates (x0 y0 z0 x1 ...), in the same order; the caller centres
// them if translation is to be removed. When the rotation is undefined (a
// zero correlation, as for zero vectors) it returns the angle 0 about the
// x axis. For a single pair of points many rotations are optimal and
// Rotation returns one of them.
func Rotation(x, y []float64) (axis [3]float64, angle float64) {
	var s [3][3]float64 // s[a][b] = sum x_a y_b
	for i := 0; i+2 < len(x) && i+2 < len(y); i += 3 {
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				s[a][b] += x[i+a] * y[i+b]
			}
		}
	}
	n := [4][4]float64{
		{s[0][0] + s[1][1] + s[2][2], s[1][2] - s[2][1], s[2][0] - s[0][2], s[0][1] - s[1][0]},
		{s[1][2] - s[2][1], s[0][0] - s[1][1] - s[2][2], s[0][1] + s[1][0], s[2][0] + s[0][2]},
		{s[2][0] - s[0][2], s[0][1] + s[1][0], -s[0][0] + s[1][1] - s[2][2], s[1][2] + s[2][1]},
		{s[0][1] - s[1][0], s[2][0] + s[0][2], s[1][2] + s[2][1], -s[0][0] - s[1][1] + s[2][2]},
	}
	q := topEigenvector4(n)
	if q[0] < 0 { // q and -q are the same rotation; take the angle <= pi
		for i := range q {
			q[i] = -q[i]
		}
	}
	vn := math.Sqrt(q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	if vn < 1e-300 {
		return [3]float64{1, 0, 0}, 0
	}
	return [3]float64{q[1] / vn, q[2] / vn, q[3] / vn}, 2 * math.Atan2(vn, q[0])
}

// Matrix returns the rotation by angle about the unit axis, by Rodrigues'
// formula R = I + sin(angle) K + (1 - cos(angle)) K^2 with K = [axis]x.
func Matrix(axis [3]float64, angle float64) [3][3]float64 {
	k := [3][3]float64{{0, -axis[2], axis[1]}, {axis[2], 0, -axis[0]}, {-axis[1], axis[0], 0}}
	s, c := math.Sin(angle), 1-math.Cos(angle)
	var r [3][3]float64
	for i := 0; i < 3; i++ {
		r[i][i] = 1
		for j := 0; j < 3; j++ {
			var k2 float64
			for m := 0; m < 3; m++ {
				k2 += k[i][m] * k[m][j]
			}
			r[i][j] += s*k[i][j] + c*k2
		}
	}
	return r
}

// topEigenvector4 returns the unit eigenvector of the largest eigenvalue of
// a symmetric 4x4 matrix, by cyclic Jacobi rotations. Jacobi is exact to
// rounding for a matrix this small and, unlike a general eigensolver, does
// not allocate: the alignment penalty calls it once per configuration.
func topEigenvector4(a [4][4]float64) [4]float64 {
	v := [4][4]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
	for sweep := 0; sweep < 50; sweep++ {
		off := 0.0
		for p := 0; p < 4; p++ {
			for q := p + 1; q < 4; q++ {
				off += a[p][q] * a[p][q]
			}
		}
		if off < 1e-30 {
			break
		}
		for p := 0; p < 4; p++ {
			for q := p + 1; q < 4; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < 4; k++ { // A <- A J
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := 0; k < 4; k++ { // A <- J^T A
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-s*aqk, s*apk+c*aqk
				}
				for k := 0; k < 4; k++ {
					vkp, vkq := v[k][p], v[k][q]
					v[k][p], v[k][q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	best := 0
	for k := 1; k < 4; k++ {
		if a[k][k] > a[best][best] {
			best = k
		}
	}
	return [4]float64{v[0][best], v[1][best], v[2][best], v[3][best]}
}
