package charmm

// nbForm is the functional form of the non-bonded pair terms: plain
// Lennard-Jones and Coulomb without cut-off, or CHARMM's force-switched
// Lennard-Jones (vfswitch, Steinbach and Brooks 1994) and force-shifted
// Coulomb (fshift) with one.
type nbForm struct {
	cutoff, cutoff2 float64
	ron             float64
	// vfswitch constants.
	k12, k6             float64 // roff^6/(roff^6-ron^6), roff^3/(roff^3-ron^3)
	shift12, shift6     float64 // (ron roff)^-6, (ron roff)^-3
	invRoff6, invRoff3  float64
	invRoff, invRoff2x2 float64 // 1/roff, 1/roff^2
}

func newNBForm(o Options) nbForm {
	f := nbForm{cutoff: o.Cutoff}
	if o.Cutoff == 0 {
		return f
	}
	roff, ron := o.Cutoff, o.SwitchDistance
	f.cutoff2 = roff * roff
	f.ron = ron
	roff3, ron3 := roff*roff*roff, ron*ron*ron
	f.k12 = roff3 * roff3 / (roff3*roff3 - ron3*ron3)
	f.k6 = roff3 / (roff3 - ron3)
	if ron > 0 {
		f.shift12 = 1 / (ron3 * ron3 * roff3 * roff3)
		f.shift6 = 1 / (ron3 * roff3)
	}
	f.invRoff3 = 1 / roff3
	f.invRoff6 = f.invRoff3 * f.invRoff3
	f.invRoff = 1 / roff
	f.invRoff2x2 = 1 / (roff * roff)
	return f
}

// nb returns the plan's non-bonded form.
func (p *Plan) nb() *nbForm { return &p.form }

// lj returns the Lennard-Jones energy A/r^12 - B/r^6 (force-switched with a
// cut-off) and its derivative with respect to r.
func (f *nbForm) lj(a, b, r float64) (e, dEdr float64) {
	inv := 1 / r
	inv3 := inv * inv * inv
	inv6 := inv3 * inv3
	switch {
	case f.cutoff == 0:
		return a*inv6*inv6 - b*inv6, (-12*a*inv6*inv6 + 6*b*inv6) * inv
	case r > f.cutoff:
		return 0, 0
	case r <= f.ron:
		return a*(inv6*inv6-f.shift12) - b*(inv6-f.shift6), (-12*a*inv6*inv6 + 6*b*inv6) * inv
	}
	d6 := inv6 - f.invRoff6
	d3 := inv3 - f.invRoff3
	e = a*f.k12*d6*d6 - b*f.k6*d3*d3
	dEdr = a*f.k12*2*d6*(-6*inv6*inv) - b*f.k6*2*d3*(-3*inv3*inv)
	return e, dEdr
}

// coulomb returns the Coulomb energy QQ/r (force-shifted with a cut-off,
// QQ (1/r - 2/roff + r/roff^2)) and its derivative with respect to r.
func (f *nbForm) coulomb(qq, r float64) (e, dEdr float64) {
	inv := 1 / r
	switch {
	case f.cutoff == 0:
		return qq * inv, -qq * inv * inv
	case r > f.cutoff:
		return 0, 0
	}
	return qq * (inv - 2*f.invRoff + r*f.invRoff2x2), qq * (f.invRoff2x2 - inv*inv)
}

// ljClip and coulombClip evaluate a pair term with clipping below rth.
func (f *nbForm) ljClip(a, b, r, rth float64) (e, dEdr, raw float64) {
	if r >= rth {
		e, dEdr = f.lj(a, b, r)
		return e, dEdr, e
	}
	return clipped(func(s float64) (float64, float64) { return f.lj(a, b, s) }, r, rth)
}

func (f *nbForm) coulombClip(qq, r, rth float64) (e, dEdr, raw float64) {
	if r >= rth {
		e, dEdr = f.coulomb(qq, r)
		return e, dEdr, e
	}
	return clipped(func(s float64) (float64, float64) { return f.coulomb(qq, s) }, r, rth)
}
