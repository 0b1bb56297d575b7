package charmm

import "math"

// The CPU kernel: the same energy as the reference kernel, written for speed.
// It does not allocate, works on scalars rather than small arrays (which the
// Go compiler keeps in registers), computes each dihedral angle once for all
// of its Fourier terms and evaluates cos(n phi - delta) by the multiple-angle
// recurrence instead of trigonometric calls.

// scratch is the per-goroutine working memory of the kernels.
type scratch struct {
	terms []float64 // per-term energies when the caller does not want them
	f     []float64 // forces when the caller does not want them
	parts []partBuffer
}

// partBuffer holds one part's forces and energies (see Plan.parts).
type partBuffer struct {
	f     []float64
	t     [numBaseTerms]energy
	cells cellList
	pairs []int32 // gathered pairs, i and j interleaved
}

func newScratch(p *Plan) *scratch {
	s := &scratch{terms: make([]float64, len(p.Terms())), f: make([]float64, 3*p.NumAtoms)}
	s.parts = make([]partBuffer, p.parts)
	for k := range s.parts {
		if p.parts > 1 {
			s.parts[k].f = make([]float64, 3*p.NumAtoms)
		}
	}
	return s
}

// cpuOne is the CPU kernel for one configuration; see kernelFunc. A large
// system's terms are split into Plan.parts parts summed separately and
// combined in a fixed order, so that the result does not depend on whether
// the parts ran one after the other (here) or concurrently (cpuParallel).
func (p *Plan) cpuOne(x, f, terms []float64, s *scratch) float64 {
	if f == nil {
		f = s.f
		clear(f)
	}
	if p.parts == 1 {
		b := &s.parts[0]
		b.t = [numBaseTerms]energy{}
		p.cpuPart(x, f, b, 0)
		return p.finish(x, f, terms, &b.t)
	}
	for k := range s.parts {
		p.runPart(x, s, k)
	}
	return p.reduceParts(x, f, terms, s)
}

// runPart evaluates part k into its own buffer.
func (p *Plan) runPart(x []float64, s *scratch, k int) {
	b := &s.parts[k]
	clear(b.f)
	b.t = [numBaseTerms]energy{}
	p.cpuPart(x, b.f, b, k)
}

// reduceParts adds the parts' forces and energies in order and finishes.
func (p *Plan) reduceParts(x, f, terms []float64, s *scratch) float64 {
	var t [numBaseTerms]energy
	for k := range s.parts {
		b := &s.parts[k]
		for i, v := range b.f {
			f[i] += v
		}
		for i := range t {
			t[i].raw += b.t[i].raw
			t[i].clipped += b.t[i].clipped
		}
	}
	return p.finish(x, f, terms, &t)
}

// span returns the range of part k of n items split into parts.
func span(n, k, parts int) (lo, hi int) {
	return k * n / parts, (k + 1) * n / parts
}

// cpuPart evaluates part k of every term list of the plan.
func (p *Plan) cpuPart(x, f []float64, b *partBuffer, k int) {
	t := &b.t
	parts := p.parts
	var cl ClipOptions
	if p.clip != nil {
		cl = p.clip.ClipOptions
	}
	lo, hi := span(len(p.Bonds.I), k, parts)
	stretchCPU(p.Bonds.slice(lo, hi), x, f, cl.Bond, &t[iBond])
	lo, hi = span(len(p.UB.I), k, parts)
	stretchCPU(p.UB.slice(lo, hi), x, f, cl.UreyBradley, &t[iUB])
	lo, hi = span(len(p.Angles.I), k, parts)
	anglesCPU(p.Angles.slice(lo, hi), x, f, cl.Angle, &t[iAngle])
	lo, hi = span(len(p.Dihedrals.I), k, parts)
	t[iDihedral].add(dihedralsCPU(p.Dihedrals.slice(lo, hi), x, f))
	lo, hi = span(len(p.Impropers.I), k, parts)
	impropersCPU(p.Impropers.slice(lo, hi), x, f, cl.Improper, &t[iImproper])
	lo, hi = span(len(p.CMaps.Grid), k, parts)
	t[iCMap].add(cmapCPU(p.CMaps.slice(lo, hi), x, f))
	switch {
	case p.Pairs != nil:
		lo, hi = span(len(p.Pairs.I), k, parts)
		pairs := p.Pairs.slice(lo, hi)
		if p.clip == nil {
			elj, ecoul := pairListCPU(pairs, x, f)
			t[iLJ].add(elj)
			t[iCoulomb].add(ecoul)
		} else {
			p.pairListClipped(pairs, x, f, &t[iLJ], &t[iCoulomb])
		}
	default:
		p.nonbondedTable(x, f, b, k, &t[iLJ], &t[iCoulomb])
		lo, hi = span(len(p.Pairs14.I), k, parts)
		p.pairListClipped(p.Pairs14.slice(lo, hi), x, f, &t[iLJ], &t[iCoulomb])
	}
}

// stretchCPU evaluates harmonic distance terms (bonds, Urey-Bradley).
func stretchCPU(b bondTerms, x, f []float64, g float64, e *energy) {
	I, J, K, R0 := b.I, b.J, b.K, b.R0
	J, K, R0 = J[:len(I)], K[:len(I)], R0[:len(I)]
	var sum, clipped float64
	for k := range I {
		i3, j3 := 3*int(I[k]), 3*int(J[k])
		dx, dy, dz := x[i3]-x[j3], x[i3+1]-x[j3+1], x[i3+2]-x[j3+2]
		r := math.Sqrt(dx*dx + dy*dy + dz*dz)
		d := r - R0[k]
		var dEdr float64
		if g > 0 {
			ec, de, raw := harmonic(K[k], d, g)
			sum += raw
			clipped += ec
			dEdr = de
		} else {
			ek := K[k] * d * d
			sum += ek
			clipped += ek
			dEdr = 2 * K[k] * d
		}
		if r == 0 {
			continue
		}
		c := -dEdr / r
		f[i3] += c * dx
		f[i3+1] += c * dy
		f[i3+2] += c * dz
		f[j3] -= c * dx
		f[j3+1] -= c * dy
		f[j3+2] -= c * dz
	}
	e.raw += sum
	e.clipped += clipped
}

func anglesCPU(a angleTerms, x, f []float64, g float64, e *energy) {
	I, J, L, Kt, Th := a.I, a.J[:len(a.I)], a.K[:len(a.I)], a.Kt[:len(a.I)], a.Theta[:len(a.I)]
	var sum, clipped float64
	for k := range I {
		i3, j3, l3 := 3*int(I[k]), 3*int(J[k]), 3*int(L[k])
		ux, uy, uz := x[i3]-x[j3], x[i3+1]-x[j3+1], x[i3+2]-x[j3+2]
		vx, vy, vz := x[l3]-x[j3], x[l3+1]-x[j3+1], x[l3+2]-x[j3+2]
		cx, cy, cz := uy*vz-uz*vy, uz*vx-ux*vz, ux*vy-uy*vx
		cn := math.Sqrt(cx*cx + cy*cy + cz*cz)
		uu, vv := ux*ux+uy*uy+uz*uz, vx*vx+vy*vy+vz*vz
		theta := math.Atan2(cn, ux*vx+uy*vy+uz*vz)
		d := theta - Th[k]
		var dE float64
		if g > 0 {
			ec, de, raw := harmonic(Kt[k], d, g)
			sum += raw
			clipped += ec
			dE = de
		} else {
			ek := Kt[k] * d * d
			sum += ek
			clipped += ek
			dE = 2 * Kt[k] * d
		}
		if cn < 1e-12*math.Sqrt(uu*vv) {
			continue // straight angle: the direction of the force is undefined
		}
		// F_i = -dE (u x c)/(|u|^2 |c|), F_k = dE (v x c)/(|v|^2 |c|).
		a := -dE / (uu * cn)
		b := dE / (vv * cn)
		fix, fiy, fiz := a*(uy*cz-uz*cy), a*(uz*cx-ux*cz), a*(ux*cy-uy*cx)
		fkx, fky, fkz := b*(vy*cz-vz*cy), b*(vz*cx-vx*cz), b*(vx*cy-vy*cx)
		f[i3] += fix
		f[i3+1] += fiy
		f[i3+2] += fiz
		f[l3] += fkx
		f[l3+1] += fky
		f[l3+2] += fkz
		f[j3] -= fix + fkx
		f[j3+1] -= fiy + fky
		f[j3+2] -= fiz + fkz
	}
	e.raw += sum
	e.clipped += clipped
}

// torsionCPU is the scalar form of torsion (see geometry.go).
type torsionCPU struct {
	mx, my, mz, nx, ny, nz float64
	m2, n2, rkj, p, q      float64
	cos, sin               float64
	i3, j3, k3, l3         int
	ok                     bool
}

func newTorsionCPU(x []float64, i, j, k, l int32) (t torsionCPU) {
	t.i3, t.j3, t.k3, t.l3 = 3*int(i), 3*int(j), 3*int(k), 3*int(l)
	xi, xj, xk, xl := x[t.i3:t.i3+3], x[t.j3:t.j3+3], x[t.k3:t.k3+3], x[t.l3:t.l3+3]
	ax, ay, az := xi[0]-xj[0], xi[1]-xj[1], xi[2]-xj[2] // rij
	bx, by, bz := xk[0]-xj[0], xk[1]-xj[1], xk[2]-xj[2] // rkj
	cx, cy, cz := xk[0]-xl[0], xk[1]-xl[1], xk[2]-xl[2] // rkl
	t.mx, t.my, t.mz = ay*bz-az*by, az*bx-ax*bz, ax*by-ay*bx
	t.nx, t.ny, t.nz = by*cz-bz*cy, bz*cx-bx*cz, bx*cy-by*cx
	t.m2 = t.mx*t.mx + t.my*t.my + t.mz*t.mz
	t.n2 = t.nx*t.nx + t.ny*t.ny + t.nz*t.nz
	rkj2 := bx*bx + by*by + bz*bz
	if rkj2 == 0 || t.m2*t.n2 < 1e-24*rkj2*rkj2*rkj2*rkj2 {
		t.cos = 1
		return t
	}
	t.ok = true
	t.rkj = math.Sqrt(rkj2)
	inv := 1 / math.Sqrt(t.m2*t.n2)
	t.cos = (t.mx*t.nx + t.my*t.ny + t.mz*t.nz) * inv
	t.sin = t.rkj * (ax*t.nx + ay*t.ny + az*t.nz) * inv
	t.p = (ax*bx + ay*by + az*bz) / rkj2
	t.q = (cx*bx + cy*by + cz*bz) / rkj2
	return t
}

func (t *torsionCPU) apply(f []float64, dEdPhi float64) {
	if !t.ok {
		return
	}
	a := -dEdPhi * t.rkj / t.m2
	b := dEdPhi * t.rkj / t.n2
	fix, fiy, fiz := a*t.mx, a*t.my, a*t.mz
	flx, fly, flz := b*t.nx, b*t.ny, b*t.nz
	sx, sy, sz := t.p*fix-t.q*flx, t.p*fiy-t.q*fly, t.p*fiz-t.q*flz
	f[t.i3] += fix
	f[t.i3+1] += fiy
	f[t.i3+2] += fiz
	f[t.j3] -= fix - sx
	f[t.j3+1] -= fiy - sy
	f[t.j3+2] -= fiz - sz
	f[t.k3] -= flx + sx
	f[t.k3+1] -= fly + sy
	f[t.k3+2] -= flz + sz
	f[t.l3] += flx
	f[t.l3+1] += fly
	f[t.l3+2] += flz
}

// maxRecurrence bounds the multiplicities evaluated by recurrence; CHARMM
// allows up to 6.
const maxRecurrence = 8

func dihedralsCPU(d dihedralTerms, x, f []float64) float64 {
	var sum float64
	for q := range d.I {
		t := newTorsionCPU(x, d.I[q], d.J[q], d.K[q], d.L[q])
		var dEdPhi float64
		for k := d.Start[q]; k < d.Start[q+1]; k++ {
			n := int(d.N[k])
			var cn, sn float64
			if n <= maxRecurrence {
				// cos(n phi), sin(n phi) by the angle-addition recurrence.
				cn, sn = t.cos, t.sin
				for m := 1; m < n; m++ {
					cn, sn = cn*t.cos-sn*t.sin, sn*t.cos+cn*t.sin
				}
			} else {
				phi := math.Atan2(t.sin, t.cos)
				sn, cn = math.Sincos(float64(n) * phi)
			}
			// cos(n phi - delta) and its derivative.
			cd, sd := d.CosDelta[k], d.SinDelta[k]
			sum += d.Kd[k] * (1 + cn*cd + sn*sd)
			dEdPhi -= d.Kd[k] * float64(n) * (sn*cd - cn*sd)
		}
		t.apply(f, dEdPhi)
	}
	return sum
}

func impropersCPU(im improperTerms, x, f []float64, g float64, e *energy) {
	var sum, clipped float64
	for k := range im.I {
		t := newTorsionCPU(x, im.I[k], im.J[k], im.K[k], im.L[k])
		psi := math.Atan2(t.sin, t.cos)
		var dE float64
		if n := float64(im.N[k]); n > 0 {
			ek := im.Kp[k] * (1 + math.Cos(n*psi-im.Psi0[k]))
			sum += ek
			clipped += ek
			dE = -im.Kp[k] * n * math.Sin(n*psi-im.Psi0[k])
		} else {
			ec, de, raw := harmonic(im.Kp[k], wrapAngle(psi-im.Psi0[k]), g)
			sum += raw
			clipped += ec
			dE = de
		}
		t.apply(f, dE)
	}
	e.raw += sum
	e.clipped += clipped
}

func cmapCPU(cm cmapTerms, x, f []float64) float64 {
	var sum float64
	for k := range cm.Grid {
		at := cm.Atoms[8*k : 8*k+8]
		t1 := newTorsionCPU(x, at[0], at[1], at[2], at[3])
		t2 := newTorsionCPU(x, at[4], at[5], at[6], at[7])
		e, d1, d2 := cm.Grids[cm.Grid[k]].eval(math.Atan2(t1.sin, t1.cos), math.Atan2(t2.sin, t2.cos))
		sum += e
		t1.apply(f, d1)
		t2.apply(f, d2)
	}
	return sum
}

// pairListCPU evaluates an explicit pair list without cut-off or clipping:
// the hot loop for small molecules.
func pairListCPU(pt pairTerms, x, f []float64) (elj, ecoul float64) {
	I := pt.I
	J, A, B, QQ := pt.J[:len(I)], pt.A[:len(I)], pt.B[:len(I)], pt.QQ[:len(I)]
	for k := range I {
		i3, j3 := 3*int(I[k]), 3*int(J[k])
		dx, dy, dz := x[i3]-x[j3], x[i3+1]-x[j3+1], x[i3+2]-x[j3+2]
		r2 := dx*dx + dy*dy + dz*dz
		inv2 := 1 / r2
		inv := math.Sqrt(inv2)
		inv6 := inv2 * inv2 * inv2
		a12 := A[k] * inv6 * inv6
		b6 := B[k] * inv6
		ec := QQ[k] * inv
		elj += a12 - b6
		ecoul += ec
		c := (12*a12 - 6*b6 + ec) * inv2 // -dE/dr / r
		f[i3] += c * dx
		f[i3+1] += c * dy
		f[i3+2] += c * dz
		f[j3] -= c * dx
		f[j3+1] -= c * dy
		f[j3+2] -= c * dz
	}
	return elj, ecoul
}

// pairListClipped evaluates an explicit pair list with the general forms
// (cut-off, switching, clipping).
func (p *Plan) pairListClipped(pt pairTerms, x, f []float64, elj, ecoul *energy) {
	nb := p.nb()
	for k := range pt.I {
		var lr, cr float64
		if pt.LJRth != nil {
			lr, cr = pt.LJRth[k], pt.CoulRth[k]
		}
		pairGeneral(nb, x, f, int(pt.I[k]), int(pt.J[k]), pt.A[k], pt.B[k], pt.QQ[k], lr, cr, elj, ecoul)
	}
}

// pairGeneral evaluates one pair with the general forms.
func pairGeneral(nb *nbForm, x, f []float64, i, j int, a, b, qq, ljRth, coulRth float64, elj, ecoul *energy) {
	i3, j3 := 3*i, 3*j
	dx, dy, dz := x[i3]-x[j3], x[i3+1]-x[j3+1], x[i3+2]-x[j3+2]
	r2 := dx*dx + dy*dy + dz*dz
	if nb.cutoff > 0 && r2 > nb.cutoff2 {
		return
	}
	r := math.Sqrt(r2)
	el, dl, rawL := nb.ljClip(a, b, r, ljRth)
	ec, dc, rawC := nb.coulombClip(qq, r, coulRth)
	elj.raw += rawL
	elj.clipped += el
	ecoul.raw += rawC
	ecoul.clipped += ec
	c := -(dl + dc) / r
	f[i3] += c * dx
	f[i3+1] += c * dy
	f[i3+2] += c * dz
	f[j3] -= c * dx
	f[j3+1] -= c * dy
	f[j3+2] -= c * dz
}

// nonbondedTable evaluates part k of the ordinary (not excluded, not 1-4)
// pairs of a system without a stored pair list: all pairs without cut-off
// (rows of the pair matrix split so the parts hold equal numbers of pairs),
// or the pairs a cell list finds within the cut-off (home cells split). The
// common cases run in tight loops; clipping takes the general path.
func (p *Plan) nonbondedTable(x, f []float64, b *partBuffer, k int, elj, ecoul *energy) {
	tb := &p.Nonbonded
	nb := p.nb()
	if nb.cutoff == 0 && p.clip == nil {
		le, ce := tableRowsCPU(tb, x, f, p.rowSplit[k], p.rowSplit[k+1])
		elj.add(le)
		ecoul.add(ce)
		return
	}
	pairs := b.pairs[:0]
	if nb.cutoff == 0 {
		for i := p.rowSplit[k]; i < p.rowSplit[k+1]; i++ {
			special := tb.Special[tb.SpecialStart[i]:tb.SpecialStart[i+1]]
			for j := i + 1; j < p.NumAtoms; j++ {
				if len(special) > 0 && special[0] == int32(j) {
					special = special[1:]
					continue
				}
				pairs = append(pairs, int32(i), int32(j))
			}
		}
	} else {
		b.cells.build(x, nb.cutoff)
		lo, hi := span(b.cells.numCells(), k, p.parts)
		pairs = b.cells.appendPairs(x, nb.cutoff2, lo, hi, tb.Special, tb.SpecialStart, pairs)
	}
	b.pairs = pairs
	if p.clip == nil {
		le, ce := switchedPairsCPU(tb, nb, x, f, pairs)
		elj.add(le)
		ecoul.add(ce)
		return
	}
	g := p.clip.Coulomb
	for n := 0; n+1 < len(pairs); n += 2 {
		i, j := int(pairs[n]), int(pairs[n+1])
		ty := int(tb.Type[i])*tb.NumTypes + int(tb.Type[j])
		qq := tb.Q[i] * tb.Q[j]
		pairGeneral(nb, x, f, i, j, tb.A[ty], tb.B[ty], qq, p.clip.ljRth[ty], coulombClipRadius(nb, qq, g), elj, ecoul)
	}
}

// tableRowsCPU evaluates rows lo..hi-1 of the all-pairs loop without cut-off
// or clipping, skipping each atom's special partners.
func tableRowsCPU(tb *nonbondedTable, x, f []float64, lo, hi int) (elj, ecoul float64) {
	n := len(tb.Q)
	nt := tb.NumTypes
	for i := lo; i < hi; i++ {
		special := tb.Special[tb.SpecialStart[i]:tb.SpecialStart[i+1]]
		i3 := 3 * i
		xi, yi, zi := x[i3], x[i3+1], x[i3+2]
		qi, ti := tb.Q[i], int(tb.Type[i])*nt
		var fx, fy, fz float64
		for j := i + 1; j < n; j++ {
			if len(special) > 0 && special[0] == int32(j) {
				special = special[1:]
				continue
			}
			j3 := 3 * j
			dx, dy, dz := xi-x[j3], yi-x[j3+1], zi-x[j3+2]
			inv2 := 1 / (dx*dx + dy*dy + dz*dz)
			inv := math.Sqrt(inv2)
			inv6 := inv2 * inv2 * inv2
			ty := ti + int(tb.Type[j])
			a12 := tb.A[ty] * inv6 * inv6
			b6 := tb.B[ty] * inv6
			ec := qi * tb.Q[j] * inv
			elj += a12 - b6
			ecoul += ec
			c := (12*a12 - 6*b6 + ec) * inv2
			fx += c * dx
			fy += c * dy
			fz += c * dz
			f[j3] -= c * dx
			f[j3+1] -= c * dy
			f[j3+2] -= c * dz
		}
		f[i3] += fx
		f[i3+1] += fy
		f[i3+2] += fz
	}
	return elj, ecoul
}

// switchedPairsCPU evaluates gathered pairs (i, j interleaved) with the
// cut-off forms of nbForm, written out inline: force-switched Lennard-Jones
// and force-shifted Coulomb. Pairs beyond the cut-off contribute nothing.
func switchedPairsCPU(tb *nonbondedTable, nb *nbForm, x, f []float64, pairs []int32) (elj, ecoul float64) {
	nt := tb.NumTypes
	for n := 0; n+1 < len(pairs); n += 2 {
		i, j := int(pairs[n]), int(pairs[n+1])
		i3, j3 := 3*i, 3*j
		dx, dy, dz := x[i3]-x[j3], x[i3+1]-x[j3+1], x[i3+2]-x[j3+2]
		r2 := dx*dx + dy*dy + dz*dz
		if r2 > nb.cutoff2 {
			continue
		}
		r := math.Sqrt(r2)
		inv := 1 / r
		inv3 := inv * inv * inv
		inv6 := inv3 * inv3
		ty := int(tb.Type[i])*nt + int(tb.Type[j])
		a, b := tb.A[ty], tb.B[ty]
		var e, dEdr float64
		if r <= nb.ron {
			e = a*(inv6*inv6-nb.shift12) - b*(inv6-nb.shift6)
			dEdr = (-12*a*inv6*inv6 + 6*b*inv6) * inv
		} else {
			d6 := inv6 - nb.invRoff6
			d3 := inv3 - nb.invRoff3
			e = a*nb.k12*d6*d6 - b*nb.k6*d3*d3
			dEdr = (-12*a*nb.k12*d6*inv6 + 6*b*nb.k6*d3*inv3) * inv
		}
		qq := tb.Q[i] * tb.Q[j]
		ec := qq * (inv - 2*nb.invRoff + r*nb.invRoff2x2)
		dEdr += qq * (nb.invRoff2x2 - inv*inv)
		elj += e
		ecoul += ec
		c := -dEdr * inv
		f[i3] += c * dx
		f[i3+1] += c * dy
		f[i3+2] += c * dz
		f[j3] -= c * dx
		f[j3+1] -= c * dy
		f[j3+2] -= c * dz
	}
	return elj, ecoul
}

func (b bondTerms) slice(lo, hi int) bondTerms {
	return bondTerms{I: b.I[lo:hi], J: b.J[lo:hi], K: b.K[lo:hi], R0: b.R0[lo:hi]}
}

func (a angleTerms) slice(lo, hi int) angleTerms {
	return angleTerms{I: a.I[lo:hi], J: a.J[lo:hi], K: a.K[lo:hi], Kt: a.Kt[lo:hi], Theta: a.Theta[lo:hi]}
}

// slice keeps the Fourier term arrays whole: Start indexes into them.
func (d dihedralTerms) slice(lo, hi int) dihedralTerms {
	out := d
	out.I, out.J, out.K, out.L = d.I[lo:hi], d.J[lo:hi], d.K[lo:hi], d.L[lo:hi]
	out.Start = d.Start[lo : hi+1]
	return out
}

func (im improperTerms) slice(lo, hi int) improperTerms {
	return improperTerms{I: im.I[lo:hi], J: im.J[lo:hi], K: im.K[lo:hi], L: im.L[lo:hi], Kp: im.Kp[lo:hi], N: im.N[lo:hi], Psi0: im.Psi0[lo:hi]}
}

func (c cmapTerms) slice(lo, hi int) cmapTerms {
	return cmapTerms{Atoms: c.Atoms[8*lo : 8*hi], Grid: c.Grid[lo:hi], Grids: c.Grids}
}

func (pt pairTerms) slice(lo, hi int) pairTerms {
	out := pairTerms{I: pt.I[lo:hi], J: pt.J[lo:hi], A: pt.A[lo:hi], B: pt.B[lo:hi], QQ: pt.QQ[lo:hi]}
	if pt.LJRth != nil {
		out.LJRth, out.CoulRth = pt.LJRth[lo:hi], pt.CoulRth[lo:hi]
	}
	return out
}
