package charmm

import "math"

// vec3 is a 3-vector of a configuration.
type vec3 [3]float64

// pos returns the position of atom i of configuration x.
func pos(x []float64, i int32) vec3 {
	k := 3 * int(i)
	return vec3{x[k], x[k+1], x[k+2]}
}

func (a vec3) sub(b vec3) vec3      { return vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec3) add(b vec3) vec3      { return vec3{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func (a vec3) scale(s float64) vec3 { return vec3{s * a[0], s * a[1], s * a[2]} }
func (a vec3) dot(b vec3) float64   { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec3) norm() float64        { return math.Sqrt(a.dot(a)) }
func (a vec3) cross(b vec3) vec3 {
	return vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// addForce adds v to the force on atom i.
func addForce(f []float64, i int32, v vec3) {
	k := 3 * int(i)
	f[k] += v[0]
	f[k+1] += v[1]
	f[k+2] += v[2]
}

// torsion is the geometry of the dihedral angle i-j-k-l with what its forces
// need, in the notation of Bekker's derivation (as GROMACS uses it):
// rij = xi - xj, rkj = xk - xj, rkl = xk - xl, m = rij x rkj, n = rkj x rkl.
// The angle follows the IUPAC convention: 0 for cis, pi for trans, positive
// for a clockwise rotation of the far bond seen along j->k.
type torsion struct {
	m, n       vec3
	m2, n2     float64 // |m|^2, |n|^2
	rkjNorm    float64
	p, q       float64 // rij.rkj / |rkj|^2, rkl.rkj / |rkj|^2
	cos, sin   float64
	degenerate bool // three atoms in a line: the angle is undefined
}

func newTorsion(x []float64, i, j, k, l int32) torsion {
	xi, xj, xk, xl := pos(x, i), pos(x, j), pos(x, k), pos(x, l)
	rij, rkj, rkl := xi.sub(xj), xk.sub(xj), xk.sub(xl)
	var t torsion
	t.m, t.n = rij.cross(rkj), rkj.cross(rkl)
	t.m2, t.n2 = t.m.dot(t.m), t.n.dot(t.n)
	rkj2 := rkj.dot(rkj)
	t.rkjNorm = math.Sqrt(rkj2)
	if t.m2*t.n2 < 1e-24*rkj2*rkj2*rkj2*rkj2 || rkj2 == 0 {
		// Collinear atoms: report phi = 0 with no force rather than NaN.
		t.degenerate = true
		t.cos = 1
		return t
	}
	inv := 1 / math.Sqrt(t.m2*t.n2)
	t.cos = t.m.dot(t.n) * inv
	t.sin = t.rkjNorm * rij.dot(t.n) * inv
	t.p = rij.dot(rkj) / rkj2
	t.q = rkl.dot(rkj) / rkj2
	return t
}

// angle returns the dihedral angle in (-pi, pi].
func (t *torsion) angle() float64 { return math.Atan2(t.sin, t.cos) }

// applyForces adds the forces of an energy whose derivative with respect to
// the dihedral angle is dEdPhi.
func (t *torsion) applyForces(f []float64, i, j, k, l int32, dEdPhi float64) {
	if t.degenerate {
		return
	}
	fi := t.m.scale(-dEdPhi * t.rkjNorm / t.m2)
	fl := t.n.scale(dEdPhi * t.rkjNorm / t.n2)
	s := fi.scale(t.p).sub(fl.scale(t.q))
	fj := fi.sub(s)
	fk := fl.add(s)
	addForce(f, i, fi)
	addForce(f, j, fj.scale(-1))
	addForce(f, k, fk.scale(-1))
	addForce(f, l, fl)
}

// bendForces adds the forces of an energy with derivative dEdTheta with
// respect to the angle between u = xi - xj and v = xk - xj, where c = u x v.
func bendForces(f []float64, i, j, k int32, u, v, c vec3, dEdTheta float64) {
	cn := c.norm()
	if cn < 1e-12*math.Sqrt(u.dot(u)*v.dot(v)) {
		return // straight angle: the direction of the force is undefined
	}
	fi := u.cross(c).scale(-dEdTheta / (u.dot(u) * cn))
	fk := v.cross(c).scale(dEdTheta / (v.dot(v) * cn))
	addForce(f, i, fi)
	addForce(f, k, fk)
	addForce(f, j, fi.add(fk).scale(-1))
}

// wrapAngle maps an angle difference to [-pi, pi).
func wrapAngle(d float64) float64 {
	return d - 2*math.Pi*math.Floor(d/(2*math.Pi)+0.5)
}
