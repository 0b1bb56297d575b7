package analytic

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/flowmd/flowmd/forcefields"
)

// Coefficients of the thesis' double wells, u(x0) = a x0⁴ + b x0² + c x0
// (Noé et al. 2019 write it a x⁴ − b' x² + c x with b' = −b = 4).
//
// a = 1 and b = −4 give minima near ±√2 and a symmetric barrier of
// b²/(4a) = 4 kT; the tilt c is solved by SolveTilt so that the minor mode
// (x0 above the barrier top) holds exactly DoubleWellMinorFraction = 0.22 of
// the mass at kT = 1, the thesis' number. At kT = 2 the minor fraction is
// then 0.3533; the thesis reports ≈ 0.37, which no tilted quartic reaches
// (the maximum over barrier heights is 0.354, near b = −4.5), so b = −4 is
// within 0.001 of the best the functional form allows while keeping the
// barrier low enough (4.7 kT from the major well) for local samplers.
const (
	DoubleWellA = 1.0
	DoubleWellB = -4.0
	DoubleWellC = 0.47861512648761884
	// DoubleWellMinorFraction is the minor-mode fraction at kT = 1.
	DoubleWellMinorFraction = 0.22
)

// Standard deviations of the Gaussian coordinates x1..x_{D−1} of the
// double-well presets.
const (
	SigmaMedium = 1.0
	SigmaWide   = 10.0
	SigmaNarrow = 0.1
)

// Term names of DoubleWell.
const (
	TermDoubleWell = "double_well" // u(x0)
	TermGaussian   = "gaussian"    // Σ_{i≥1} x_i²/(2σ²)
)

// DoubleWell is the thesis' benchmark: coordinate x0 in a tilted quartic
// double well, coordinates x1..x_{D−1} independent centred Gaussians of
// standard deviation σ at kT = 1:
//
//	U(x) = a x0⁴ + b x0² + c x0 + Σ_{i≥1} x_i²/(2σ²)
//
// Modes are those of x0: mode 0 is x0 < x*, mode 1 is x0 > x*, x* the barrier
// top.
type DoubleWell struct {
	dim   int
	x0    *QuarticDoubleWell
	sigma float64
	inv2  float64 // 1/σ²
}

// NewDoubleWell returns the double well of dimension dim ≥ 1 with
// u(x0) = a x0⁴ + b x0² + c x0, which must have two wells (a > 0, b < 0, tilt
// below the critical one), and Gaussian coordinates of standard deviation
// sigma > 0.
func NewDoubleWell(dim int, a, b, c, sigma float64) (*DoubleWell, error) {
	if dim < 1 {
		return nil, fmt.Errorf("double well: dimension %d, want ≥ 1", dim)
	}
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return nil, fmt.Errorf("double well: sigma = %v, want finite and positive", sigma)
	}
	q, err := NewQuarticDoubleWell(a, b, c)
	if err != nil {
		return nil, fmt.Errorf("double well: %w", err)
	}
	if q.NumModes() != 2 {
		return nil, fmt.Errorf("double well: %s has a single well (need b < 0 and |c| < (4|b|/3)·sqrt(|b|/(6a)))", q)
	}
	return &DoubleWell{dim: dim, x0: q, sigma: sigma, inv2: 1 / (sigma * sigma)}, nil
}

// DoubleWellPreset returns the thesis' double well "medium" (σ = 1), "wide"
// (σ = 10) or "narrow" (σ = 0.1) in dimension dim (12 in the thesis, 2 for
// its visualisations), with the coefficients DoubleWellA, B, C.
func DoubleWellPreset(name string, dim int) (*DoubleWell, error) {
	var sigma float64
	switch strings.ToLower(name) {
	case "medium":
		sigma = SigmaMedium
	case "wide":
		sigma = SigmaWide
	case "narrow":
		sigma = SigmaNarrow
	default:
		return nil, fmt.Errorf("double well preset %q: want medium, wide or narrow", name)
	}
	return NewDoubleWell(dim, DoubleWellA, DoubleWellB, DoubleWellC, sigma)
}

// Sigma returns the standard deviation of the Gaussian coordinates at kT = 1.
func (d *DoubleWell) Sigma() float64 { return d.sigma }

// Bimodal returns the one-dimensional model of x0, u(x0), whose exact
// statistics are those of x0 here.
func (d *DoubleWell) Bimodal() *QuarticDoubleWell { return d.x0 }

// Barrier returns the barrier top x*, the boundary between the modes.
func (d *DoubleWell) Barrier() float64 { return d.x0.barrier }

// MinorMode returns the mode with the higher minimum (1 for the presets).
func (d *DoubleWell) MinorMode() int { return d.x0.MinorMode() }

// MinorModeFraction returns the probability of the minor mode at kT, by
// quadrature (0.22 at kT = 1 for the presets), or NaN for an invalid kT.
func (d *DoubleWell) MinorModeFraction(kT float64) float64 { return d.x0.MinorModeFraction(kT) }

// Dim implements forcefields.Model.
func (d *DoubleWell) Dim() int { return d.dim }

// Terms implements forcefields.Model: "double_well", "gaussian".
func (d *DoubleWell) Terms() []string { return []string{TermDoubleWell, TermGaussian} }

// Evaluate implements forcefields.Model.
func (d *DoubleWell) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	dim := d.dim
	if err := check(ctx, b, dim, 2); err != nil {
		return err
	}
	for k := range b.Size() {
		if err := cancelled(ctx, k); err != nil {
			return err
		}
		x := b.Coords[k*dim : (k+1)*dim]
		dw := d.x0.Energy(x[0])
		g := 0.0
		for _, v := range x[1:] {
			g += v * v
		}
		g *= 0.5 * d.inv2
		b.Energy[k] = dw + g
		if b.Forces != nil {
			f := b.Forces[k*dim : (k+1)*dim]
			f[0] = -d.x0.Derivative(x[0])
			for i := 1; i < dim; i++ {
				f[i] = -x[i] * d.inv2
			}
		}
		if b.Terms != nil {
			b.Terms[2*k] = dw
			b.Terms[2*k+1] = g
		}
	}
	return nil
}

// NumModes implements Modal: 2.
func (d *DoubleWell) NumModes() int { return 2 }

// ModeCenters implements Modal: (x_min, 0, …, 0) for each well.
func (d *DoubleWell) ModeCenters() [][]float64 {
	out := make([][]float64, 2)
	for i, m := range d.x0.minima {
		out[i] = make([]float64, d.dim)
		out[i][0] = m
	}
	return out
}

// ModeOf implements Modal: 0 for x0 < x*, 1 for x0 > x*.
func (d *DoubleWell) ModeOf(x []float64) int {
	if len(x) != d.dim || !allFinite(x) {
		return -1
	}
	return d.x0.ModeOf(x[:1])
}

// ModeFraction implements Modal, by quadrature over x0.
func (d *DoubleWell) ModeFraction(mode int, kT float64) (float64, error) {
	return d.x0.ModeFraction(mode, kT)
}

// Mean implements Moments: by quadrature for x0, 0 for the Gaussians.
func (d *DoubleWell) Mean(coord int, kT float64) (float64, error) {
	if err := checkCoord(coord, d.dim); err != nil {
		return 0, err
	}
	if coord == 0 {
		return d.x0.Mean(0, kT)
	}
	if err := checkKT(kT); err != nil {
		return 0, err
	}
	return 0, nil
}

// Variance implements Moments: by quadrature for x0, σ²·kT for the
// Gaussians.
func (d *DoubleWell) Variance(coord int, kT float64) (float64, error) {
	if err := checkCoord(coord, d.dim); err != nil {
		return 0, err
	}
	if coord == 0 {
		return d.x0.Variance(0, kT)
	}
	if err := checkKT(kT); err != nil {
		return 0, err
	}
	return d.sigma * d.sigma * kT, nil
}

// LogZ implements Partition: log Z of x0 by quadrature plus
// (D−1)·½·log(2π σ² kT).
func (d *DoubleWell) LogZ(kT float64) (float64, error) {
	z0, err := d.x0.LogZ(kT)
	if err != nil {
		return 0, err
	}
	return z0 + float64(d.dim-1)*0.5*math.Log(2*math.Pi*d.sigma*d.sigma*kT), nil
}
