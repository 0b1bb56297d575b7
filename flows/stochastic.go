package flows

import (
	"fmt"

	"github.com/flowmd/flowmd/internal/parallel"
)

// The passes of a generator with a stochastic placer. z's rows are the
// flow's latent numbers followed by 3 per placed atom; the placed atoms'
// part is an affine map at fixed generated atoms, so log |det dG/dz| is
// the flow's plus log |det L| and the spherical coordinates' log(r^2 sin
// theta) (see scale.go), and the inverse recovers it exactly.

// splitLatent copies the flow's and the placed atoms' parts of n latent
// rows z apart; the placed part is kept for a VJP with keep.
func (g *Generator) splitLatent(n int, z []float64, keep bool) (zc, zh []float64) {
	dc, np := g.Flow.Dim(), 3*len(g.Spec.Placed)
	d := dc + np
	zc, zh = make([]float64, n*dc), g.zhBuffer(n, keep)
	for r := 0; r < n; r++ {
		copy(zc[r*dc:(r+1)*dc], z[r*d:r*d+dc])
		copy(zh[r*np:(r+1)*np], z[r*d+dc:(r+1)*d])
	}
	return zc, zh
}

// zhBuffer returns room for the placed atoms' latent part of n rows: kept
// for a VJP when the pass is (as heavyBuffer).
func (g *Generator) zhBuffer(n int, keep bool) []float64 {
	size := n * 3 * len(g.Spec.Placed)
	if keep {
		g.zh = grow(g.zh, size)
		return g.zh
	}
	return make([]float64, size)
}

// joinLatent writes the two parts of n latent rows into z.
func (g *Generator) joinLatent(n int, zc, zh, z []float64) {
	dc, np := g.Flow.Dim(), 3*len(g.Spec.Placed)
	d := dc + np
	for r := 0; r < n; r++ {
		copy(z[r*d:r*d+dc], zc[r*dc:(r+1)*dc])
		copy(z[r*d+dc:(r+1)*d], zh[r*np:(r+1)*np])
	}
}

// invertStochastic maps n configurations to their latent rows z and writes
// log |det dF/dx| to ld.
func (g *Generator) invertStochastic(n int, x, z, ld []float64, keep bool) {
	dc, np, ng, N := g.Flow.Dim(), 3*len(g.Spec.Placed), 3*len(g.Spec.Generated), g.Dim()
	heavy := g.heavyBuffer(n, keep)
	g.gather(n, x, heavy)
	zc := make([]float64, n*dc)
	g.Flow.Inverse(n, heavy, zc, ld, keep)
	zh := g.zhBuffer(n, keep)
	chunks := g.placerChunks(n)
	p := g.Flow.Params.Values
	parallel.For(chunks, chunks, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			a, b := c*n/chunks, (c+1)*n/chunks
			g.placer.invert(p, b-a, heavy[a*ng:b*ng], x[a*N:b*N], zh[a*np:b*np], ld[a:b], g.caches[c])
		}
	})
	s := g.placer.scale.logDet(p)
	for r := range ld[:n] {
		ld[r] -= s
	}
	g.joinLatent(n, zc, zh, z)
}

// stochasticVJP is VJP for a generator with a stochastic placer.
func (g *Generator) stochasticVJP(n int, dout, dld, din []float64) error {
	dc, np, ng, N := g.Flow.Dim(), 3*len(g.Spec.Placed), 3*len(g.Spec.Generated), g.Dim()
	d := dc + np
	chunks := g.placerChunks(n)
	p := g.Flow.Params.Values
	grads := make([][]float64, chunks)
	g.scratch = grow(g.scratch, n*ng)
	dheavy := g.scratch
	if g.keptDir == Invert {
		if len(dout) < n*d || len(din) < n*N || len(dld) < n {
			return fmt.Errorf("flows: the kept inverse pass has %d rows: got %d latent, %d log-det and %d input cotangents", n, len(dout), len(dld), len(din))
		}
		dzc, dzh := make([]float64, n*dc), make([]float64, n*np)
		for r := 0; r < n; r++ {
			copy(dzc[r*dc:(r+1)*dc], dout[r*d:r*d+dc])
			copy(dzh[r*np:(r+1)*np], dout[r*d+dc:(r+1)*d])
		}
		if err := g.Flow.VJP(dzc, dld, dheavy); err != nil {
			return err
		}
		dplaced := make([]float64, n*np)
		parallel.For(chunks, chunks, 1, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				a, b := c*n/chunks, (c+1)*n/chunks
				grads[c] = g.placer.invertBackward(p, b-a, g.heavy[a*ng:b*ng], g.zh[a*np:b*np], dzh[a*np:b*np], dld[a:b], dheavy[a*ng:b*ng], dplaced[a*np:b*np], g.caches[c])
			}
		})
		g.addPlacerGrads(grads, chunks, true)
		clear(din[:n*N])
		g.scatter(n, dheavy, din)
		for r := 0; r < n; r++ {
			for j, a := range g.Spec.Placed {
				copy(din[r*N+3*a:r*N+3*a+3], dplaced[r*np+3*j:r*np+3*j+3])
			}
		}
		return nil
	}
	if len(dout) < n*N || len(din) < n*d || len(dld) < n {
		return fmt.Errorf("flows: the kept pass has %d rows: got %d output, %d log-det and %d latent cotangents", n, len(dout), len(dld), len(din))
	}
	g.gather(n, dout, dheavy)
	dzh := make([]float64, n*np)
	g.placeBackward(n, dout, dheavy, g.zh, dzh, dld, true)
	dzc := make([]float64, n*dc)
	if err := g.Flow.VJP(dheavy, dld, dzc); err != nil {
		return err
	}
	g.joinLatent(n, dzc, dzh, din)
	return nil
}
