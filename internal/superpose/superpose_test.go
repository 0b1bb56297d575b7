package superpose

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// residual is sum_i |R x_i - y_i|^2.
func residual(r [3][3]float64, x, y []float64) float64 {
	var s float64
	for i := 0; i+2 < len(x); i += 3 {
		for a := 0; a < 3; a++ {
			d := r[a][0]*x[i] + r[a][1]*x[i+1] + r[a][2]*x[i+2] - y[i+a]
			s += d * d
		}
	}
	return s
}

func randomPoints(rng *rand.Rand, n int) []float64 {
	x := make([]float64, 3*n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func apply(r [3][3]float64, x []float64) []float64 {
	y := make([]float64, len(x))
	for i := 0; i+2 < len(x); i += 3 {
		for a := 0; a < 3; a++ {
			y[i+a] = r[a][0]*x[i] + r[a][1]*x[i+1] + r[a][2]*x[i+2]
		}
	}
	return y
}

func randomAxis(rng *rand.Rand) [3]float64 {
	v := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	return [3]float64{v[0] / n, v[1] / n, v[2] / n}
}

// svdRotation is the textbook Kabsch solution, an independent check: the
// SVD of H = sum x_i y_i^T, R = V diag(1, 1, det(V U^T)) U^T.
func svdRotation(x, y []float64) [3][3]float64 {
	h := mat.NewDense(3, 3, nil)
	for i := 0; i+2 < len(x); i += 3 {
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				h.Set(a, b, h.At(a, b)+x[i+a]*y[i+b])
			}
		}
	}
	var svd mat.SVD
	if !svd.Factorize(h, mat.SVDFull) {
		panic("svd failed")
	}
	var u, v, r mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	r.Mul(&v, u.T())
	if mat.Det(&r) < 0 {
		for i := 0; i < 3; i++ {
			v.Set(i, 2, -v.At(i, 2))
		}
		r.Mul(&v, u.T())
	}
	var out [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			out[i][j] = r.At(i, j)
		}
	}
	return out
}

func maxDiff(a, b [3][3]float64) float64 {
	var m float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			m = math.Max(m, math.Abs(a[i][j]-b[i][j]))
		}
	}
	return m
}

// An exact rotation of the points is recovered, angles up to pi included.
func TestRotationRecoversExactRotation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, angle := range []float64{0, 1e-6, 0.3, 1, 2.5, math.Pi - 1e-4, math.Pi} {
		for trial := 0; trial < 5; trial++ {
			axis := randomAxis(rng)
			want := Matrix(axis, angle)
			x := randomPoints(rng, 2+trial)
			gotAxis, gotAngle := Rotation(x, apply(want, x))
			if d := maxDiff(Matrix(gotAxis, gotAngle), want); d > 1e-9 {
				t.Errorf("angle %g, %d points: rotation off by %g", angle, 2+trial, d)
			}
			if gotAngle < 0 || gotAngle > math.Pi+1e-12 {
				t.Errorf("angle %g: got angle %g outside [0, pi]", angle, gotAngle)
			}
			if angle > 1e-3 && angle < math.Pi-1e-3 && math.Abs(gotAngle-angle) > 1e-9 {
				t.Errorf("angle %g: got %g", angle, gotAngle)
			}
		}
	}
}

// With noise, and with mirrored points where the best orthogonal map is a
// reflection, the result is the best proper rotation, as the SVD method
// with its determinant correction finds it.
func TestRotationMatchesSVD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 50; trial++ {
		n := 2 + trial%6
		x := randomPoints(rng, n)
		y := apply(Matrix(randomAxis(rng), math.Pi*rng.Float64()), x)
		for i := range y {
			y[i] += 0.3 * rng.NormFloat64()
		}
		if trial%3 == 0 {
			for i := 0; i < len(y); i += 3 {
				y[i] = -y[i] // a mirror image
			}
		}
		axis, angle := Rotation(x, y)
		got, want := Matrix(axis, angle), svdRotation(x, y)
		rg, rw := residual(got, x, y), residual(want, x, y)
		if rg > rw*(1+1e-9)+1e-12 {
			t.Errorf("trial %d: residual %g, SVD's %g", trial, rg, rw)
		}
		if n > 2 && trial%3 != 0 && maxDiff(got, want) > 1e-7 {
			t.Errorf("trial %d: rotation differs from SVD's by %g", trial, maxDiff(got, want))
		}
	}
}

func TestRotationDegenerate(t *testing.T) {
	axis, angle := Rotation(make([]float64, 9), make([]float64, 9))
	if angle != 0 || math.IsNaN(axis[0]+axis[1]+axis[2]) {
		t.Errorf("zero points: got axis %v angle %g, want angle 0", axis, angle)
	}
}

// Matrix is orthogonal with determinant 1, fixes its axis and turns the
// plane normal to it by the angle.
func TestMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 20; trial++ {
		axis, angle := randomAxis(rng), 2*math.Pi*rng.Float64()-math.Pi
		r := Matrix(axis, angle)
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				var dot float64
				for k := 0; k < 3; k++ {
					dot += r[k][i] * r[k][j]
				}
				if want := map[bool]float64{true: 1, false: 0}[i == j]; math.Abs(dot-want) > 1e-12 {
					t.Fatalf("R^T R [%d][%d] = %g", i, j, dot)
				}
			}
		}
		det := r[0][0]*(r[1][1]*r[2][2]-r[1][2]*r[2][1]) - r[0][1]*(r[1][0]*r[2][2]-r[1][2]*r[2][0]) + r[0][2]*(r[1][0]*r[2][1]-r[1][1]*r[2][0])
		if math.Abs(det-1) > 1e-12 {
			t.Fatalf("det %g", det)
		}
		fixed := apply(r, axis[:])
		for k := 0; k < 3; k++ {
			if math.Abs(fixed[k]-axis[k]) > 1e-12 {
				t.Fatalf("axis moved: %v -> %v", axis, fixed)
			}
		}
		if tr := r[0][0] + r[1][1] + r[2][2]; math.Abs(tr-(1+2*math.Cos(angle))) > 1e-12 {
			t.Fatalf("trace %g, want 1 + 2 cos(%g)", tr, angle)
		}
	}
}
