package analytic

import (
	"context"
	"fmt"
	"math"

	"github.com/flowmd/flowmd/forcefields"
)

// TermHarmonic is the single term of Harmonic.
const TermHarmonic = "harmonic"

// Harmonic is U(x) = ½ Σ_i k_i (x_i − c_i)², a product of independent
// Gaussians: under exp(−U/kT), x_i has mean c_i and variance kT/k_i.
type Harmonic struct {
	k, c []float64
}

// NewHarmonic returns the harmonic model with force constants k (positive)
// and centre c (finite), of equal lengths ≥ 1. The slices are copied.
func NewHarmonic(k, c []float64) (*Harmonic, error) {
	if len(k) == 0 || len(k) != len(c) {
		return nil, fmt.Errorf("harmonic: %d force constants and %d centre coordinates, want equal non-zero lengths", len(k), len(c))
	}
	for i := range k {
		if !(k[i] > 0) || math.IsInf(k[i], 0) {
			return nil, fmt.Errorf("harmonic: force constant %d is %v, want finite and positive", i, k[i])
		}
		if !finite(c[i]) {
			return nil, fmt.Errorf("harmonic: centre coordinate %d is %v, want finite", i, c[i])
		}
	}
	return &Harmonic{k: append([]float64(nil), k...), c: append([]float64(nil), c...)}, nil
}

// NewIsotropicHarmonic returns ½ k Σ_i (x_i − c)² in dimension dim.
func NewIsotropicHarmonic(dim int, k, c float64) (*Harmonic, error) {
	if dim < 1 {
		return nil, fmt.Errorf("harmonic: dimension %d, want ≥ 1", dim)
	}
	ks, cs := make([]float64, dim), make([]float64, dim)
	for i := range ks {
		ks[i], cs[i] = k, c
	}
	return NewHarmonic(ks, cs)
}

// Dim implements forcefields.Model.
func (h *Harmonic) Dim() int { return len(h.k) }

// Terms implements forcefields.Model: "harmonic".
func (h *Harmonic) Terms() []string { return []string{TermHarmonic} }

// Evaluate implements forcefields.Model.
func (h *Harmonic) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	dim := len(h.k)
	if err := check(ctx, b, dim, 1); err != nil {
		return err
	}
	for n := range b.Size() {
		if err := cancelled(ctx, n); err != nil {
			return err
		}
		x := b.Coords[n*dim : (n+1)*dim]
		e := 0.0
		for i, v := range x {
			d := v - h.c[i]
			e += h.k[i] * d * d
		}
		e *= 0.5
		b.Energy[n] = e
		if b.Forces != nil {
			f := b.Forces[n*dim : (n+1)*dim]
			for i, v := range x {
				f[i] = -h.k[i] * (v - h.c[i])
			}
		}
		if b.Terms != nil {
			b.Terms[n] = e
		}
	}
	return nil
}

// NumModes implements Modal: 1.
func (h *Harmonic) NumModes() int { return 1 }

// ModeCenters implements Modal: the centre.
func (h *Harmonic) ModeCenters() [][]float64 { return [][]float64{append([]float64(nil), h.c...)} }

// ModeOf implements Modal: 0.
func (h *Harmonic) ModeOf(x []float64) int {
	if len(x) != len(h.k) || !allFinite(x) {
		return -1
	}
	return 0
}

// ModeFraction implements Modal: 1.
func (h *Harmonic) ModeFraction(mode int, kT float64) (float64, error) {
	if err := checkMode(mode, 1); err != nil {
		return 0, err
	}
	if err := checkKT(kT); err != nil {
		return 0, err
	}
	return 1, nil
}

// Mean implements Moments: c_i.
func (h *Harmonic) Mean(coord int, kT float64) (float64, error) {
	if err := checkCoord(coord, len(h.k)); err != nil {
		return 0, err
	}
	if err := checkKT(kT); err != nil {
		return 0, err
	}
	return h.c[coord], nil
}

// Variance implements Moments: kT/k_i.
func (h *Harmonic) Variance(coord int, kT float64) (float64, error) {
	if err := checkCoord(coord, len(h.k)); err != nil {
		return 0, err
	}
	if err := checkKT(kT); err != nil {
		return 0, err
	}
	return kT / h.k[coord], nil
}

// LogZ implements Partition: Σ_i ½ log(2π kT/k_i).
func (h *Harmonic) LogZ(kT float64) (float64, error) {
	if err := checkKT(kT); err != nil {
		return 0, err
	}
	s := 0.0
	for _, k := range h.k {
		s += 0.5 * math.Log(2*math.Pi*kT/k)
	}
	return s, nil
}
