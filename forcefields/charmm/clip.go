package charmm

import "math"

// clipParams holds the thresholds of per-term clipping and the clipping radii
// of the pair terms, computed once per plan.
type clipParams struct {
	ClipOptions
	// ljRth is the Lennard-Jones clipping radius by type pair, for the loops
	// that do not store pairs (0 where unclipped).
	ljRth []float64
}

func newClipParams(p *Plan, o *ClipOptions) *clipParams {
	c := &clipParams{ClipOptions: *o}
	nb := p.nb()
	setRadii := func(t *pairTerms) {
		t.LJRth = make([]float64, len(t.I))
		t.CoulRth = make([]float64, len(t.I))
		for k := range t.I {
			t.LJRth[k] = ljClipRadius(nb, t.A[k], t.B[k], o.LennardJones)
			t.CoulRth[k] = coulombClipRadius(nb, t.QQ[k], o.Coulomb)
		}
	}
	if p.Pairs != nil {
		setRadii(p.Pairs)
	}
	setRadii(&p.Pairs14)
	t := &p.Nonbonded
	c.ljRth = make([]float64, len(t.A))
	for k := range t.A {
		c.ljRth[k] = ljClipRadius(nb, t.A[k], t.B[k], o.LennardJones)
	}
	return c
}

// harmonic returns the energy K d^2 and its derivative, replaced by the
// tangent where the derivative's magnitude exceeds g (g == 0: never), and the
// unclipped energy.
func harmonic(k, d, g float64) (e, dEdd, raw float64) {
	raw = k * d * d
	if g > 0 && k > 0 {
		if dth := g / (2 * k); math.Abs(d) > dth {
			return k*dth*dth + g*(math.Abs(d)-dth), math.Copysign(g, d), raw
		}
	}
	return raw, 2 * k * d, raw
}

// ljClipRadius returns the distance below which the Lennard-Jones term
// A/r^12 - B/r^6 is replaced by its tangent: where its repulsive slope
// reaches g. It is found by bisection on (0, rmin), where the slope's
// magnitude falls monotonically from infinity to zero. 0 means unclipped.
func ljClipRadius(nb *nbForm, a, b, g float64) float64 {
	if g <= 0 || a <= 0 {
		return 0
	}
	hi := math.Pow(a/b, 1.0/6) // rmin, where the slope is zero
	if b <= 0 {
		hi = math.Pow(12*a/g, 1.0/13) // pure repulsion: |slope| <= 12A/r^13
	}
	lo := 0.0
	for it := 0; it < 200 && hi-lo > 1e-13*hi; it++ {
		mid := (lo + hi) / 2
		if _, d := nb.lj(a, b, mid); -d > g {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// coulombClipRadius returns the distance below which QQ/r is replaced by its
// tangent: where |QQ|/r^2 = g. 0 means unclipped.
func coulombClipRadius(nb *nbForm, qq, g float64) float64 {
	if g <= 0 || qq == 0 {
		return 0
	}
	r := math.Sqrt(math.Abs(qq) / g)
	if nb.cutoff > 0 {
		// With force shifting the slope is |QQ| (1/r^2 - 1/roff^2).
		r = math.Sqrt(math.Abs(qq) / (g + math.Abs(qq)/(nb.cutoff*nb.cutoff)))
	}
	return r
}

// clipped returns the energy and derivative of a pair term at r, replaced by
// the tangent at rth when r < rth, and the unclipped energy.
func clipped(f func(r float64) (float64, float64), r, rth float64) (e, dEdr, raw float64) {
	raw, dEdr = f(r)
	if r < rth {
		eth, dth := f(rth)
		return eth + dth*(r-rth), dth, raw
	}
	return raw, dEdr, raw
}

// energy accumulates one term: its unclipped value, reported as the term,
// and its clipped value, which enters the total. The total is summed from
// the clipped values directly rather than as the unclipped sum plus a
// correction, which would lose every digit in a clash where both are huge.
type energy struct{ raw, clipped float64 }

// add accumulates a term that is never clipped.
func (e *energy) add(v float64) {
	e.raw += v
	e.clipped += v
}

// finish writes the per-term energies, adds the alignment penalty and
// returns the total: the clipped terms plus the penalty. The clipping term
// is the clipped minus the unclipped energy, term by term.
func (p *Plan) finish(x, f, terms []float64, t *[numBaseTerms]energy) float64 {
	total, clip := 0.0, 0.0
	for k, e := range t {
		terms[k] = e.raw
		total += e.clipped
		clip += e.clipped - e.raw
	}
	k := numBaseTerms
	if p.clip != nil {
		terms[k] = clip
		k++
	}
	if p.align != nil {
		e := p.align.energy(x, f)
		terms[k] = e
		total += e
	}
	return total
}
