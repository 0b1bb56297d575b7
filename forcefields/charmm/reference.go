package charmm

import "math"

// The reference kernel: one configuration, one term at a time, with the
// textbook formulas and trigonometric functions. It is written to be read and
// checked, not to be fast; the CPU kernel must agree with it.

// referenceOne evaluates configuration x (3N coordinates). It writes the
// per-term energies to terms (length len(p.Terms())), adds the forces to f
// when f is not nil, and returns the total energy.
func (p *Plan) referenceOne(x, f, terms []float64) float64 {
	var t [numBaseTerms]energy
	var cl ClipOptions
	if p.clip != nil {
		cl = p.clip.ClipOptions
	}
	if f == nil {
		// Forces are computed anyway and discarded: the reference kernel
		// favours one code path over speed.
		f = make([]float64, 3*p.NumAtoms)
	}

	// Bonds and Urey-Bradley: K (r - r0)^2 on a distance.
	stretch := func(b *bondTerms, g float64, term int) {
		for k := range b.I {
			i, j := b.I[k], b.J[k]
			d := pos(x, i).sub(pos(x, j))
			r := d.norm()
			e, dEdr, raw := harmonic(b.K[k], r-b.R0[k], g)
			t[term].raw += raw
			t[term].clipped += e
			if r > 0 {
				fi := d.scale(-dEdr / r)
				addForce(f, i, fi)
				addForce(f, j, fi.scale(-1))
			}
		}
	}
	stretch(&p.Bonds, cl.Bond, iBond)
	stretch(&p.UB, cl.UreyBradley, iUB)

	// Angles: K (theta - theta0)^2.
	a := &p.Angles
	for k := range a.I {
		i, j, l := a.I[k], a.J[k], a.K[k]
		u := pos(x, i).sub(pos(x, j))
		v := pos(x, l).sub(pos(x, j))
		c := u.cross(v)
		theta := math.Atan2(c.norm(), u.dot(v))
		e, dEdTheta, raw := harmonic(a.Kt[k], theta-a.Theta[k], cl.Angle)
		t[iAngle].raw += raw
		t[iAngle].clipped += e
		bendForces(f, i, j, l, u, v, c, dEdTheta)
	}

	// Dihedrals: sum over Fourier terms of K (1 + cos(n phi - delta)).
	d := &p.Dihedrals
	for q := range d.I {
		tor := newTorsion(x, d.I[q], d.J[q], d.K[q], d.L[q])
		phi := tor.angle()
		var dEdPhi float64
		for k := d.Start[q]; k < d.Start[q+1]; k++ {
			n := float64(d.N[k])
			t[iDihedral].add(d.Kd[k] * (1 + math.Cos(n*phi-d.Delta[k])))
			dEdPhi -= d.Kd[k] * n * math.Sin(n*phi-d.Delta[k])
		}
		tor.applyForces(f, d.I[q], d.J[q], d.K[q], d.L[q], dEdPhi)
	}

	// Impropers: K (psi - psi0)^2 with the difference wrapped to [-pi, pi),
	// or periodic like a dihedral when N > 0.
	im := &p.Impropers
	for k := range im.I {
		tor := newTorsion(x, im.I[k], im.J[k], im.K[k], im.L[k])
		psi := tor.angle()
		var e, dEdPsi float64
		if n := float64(im.N[k]); n > 0 {
			e = im.Kp[k] * (1 + math.Cos(n*psi-im.Psi0[k]))
			dEdPsi = -im.Kp[k] * n * math.Sin(n*psi-im.Psi0[k])
			t[iImproper].add(e)
		} else {
			var raw float64
			e, dEdPsi, raw = harmonic(im.Kp[k], wrapAngle(psi-im.Psi0[k]), cl.Improper)
			t[iImproper].raw += raw
			t[iImproper].clipped += e
		}
		tor.applyForces(f, im.I[k], im.J[k], im.K[k], im.L[k], dEdPsi)
	}

	// CMAP: bicubic interpolation of the map over (phi, psi).
	cm := &p.CMaps
	for k := range cm.Grid {
		at := cm.Atoms[8*k : 8*k+8]
		t1 := newTorsion(x, at[0], at[1], at[2], at[3])
		t2 := newTorsion(x, at[4], at[5], at[6], at[7])
		e, d1, d2 := cm.Grids[cm.Grid[k]].eval(t1.angle(), t2.angle())
		t[iCMap].add(e)
		t1.applyForces(f, at[0], at[1], at[2], at[3], d1)
		t2.applyForces(f, at[4], at[5], at[6], at[7], d2)
	}

	// Non-bonded pairs.
	nb := p.nb()
	pair := func(i, j int32, aij, bij, qq, ljRth, coulRth float64) {
		d := pos(x, i).sub(pos(x, j))
		r := d.norm()
		if nb.cutoff > 0 && r > nb.cutoff {
			return
		}
		elj, dlj, rawLJ := nb.ljClip(aij, bij, r, ljRth)
		ec, dc, rawC := nb.coulombClip(qq, r, coulRth)
		t[iLJ].raw += rawLJ
		t[iLJ].clipped += elj
		t[iCoulomb].raw += rawC
		t[iCoulomb].clipped += ec
		fi := d.scale(-(dlj + dc) / r)
		addForce(f, i, fi)
		addForce(f, j, fi.scale(-1))
	}
	list := func(pt *pairTerms) {
		for k := range pt.I {
			var lr, cr float64
			if pt.LJRth != nil {
				lr, cr = pt.LJRth[k], pt.CoulRth[k]
			}
			pair(pt.I[k], pt.J[k], pt.A[k], pt.B[k], pt.QQ[k], lr, cr)
		}
	}
	if p.Pairs != nil {
		list(p.Pairs)
	} else {
		// Every pair that is not excluded or 1-4, then the 1-4 pairs.
		tb := &p.Nonbonded
		for i := 0; i < p.NumAtoms; i++ {
			special := tb.Special[tb.SpecialStart[i]:tb.SpecialStart[i+1]]
			for j := i + 1; j < p.NumAtoms; j++ {
				if len(special) > 0 && special[0] == int32(j) {
					special = special[1:]
					continue
				}
				ty := int(tb.Type[i])*tb.NumTypes + int(tb.Type[j])
				var lr, cr float64
				if p.clip != nil {
					lr = p.clip.ljRth[ty]
					cr = coulombClipRadius(nb, tb.Q[i]*tb.Q[j], cl.Coulomb)
				}
				pair(int32(i), int32(j), tb.A[ty], tb.B[ty], tb.Q[i]*tb.Q[j], lr, cr)
			}
		}
		list(&p.Pairs14)
	}

	return p.finish(x, f, terms, &t)
}
