package flows

import (
	"fmt"
	"math/rand/v2"

	"github.com/flowmd/flowmd/nn"
)

// Spec describes a flow to build: the thesis' architecture and its
// variants. Zero values take the defaults noted.
type Spec struct {
	Dim int
	// Blocks is the number of groups of four coupling blocks [multiplicative
	// on half A, additive on half A, multiplicative on half B, additive on
	// half B] (the thesis: 8 for the double wells, 24 for molecules).
	Blocks int
	// Hidden is the width of the coupling networks, two dense layers with
	// CELU (thesis: 64 and 256). Default 64.
	Hidden int
	// Layers is the number of hidden layers of each coupling network.
	// Default 1 (the thesis' two-layer MLP: in -> hidden -> out).
	Layers int
	// Transform is "affine" (the thesis' couplings, default) or "spline"
	// (rational-quadratic spline couplings, Durkan et al.).
	Transform string
	// Bins and Bound shape the splines: Bins bins on [-Bound, Bound] in
	// latent units, identity outside. Defaults 8 and 5.
	Bins  int
	Bound float64
	// Periodic lists coordinates that are angles on [-pi, pi): circular
	// splines transform them (spline flows only).
	Periodic []int
	// Householder is the number of reflections after each group.
	Householder int
	// Scale adds a trainable diagonal scaling and a bias after the last
	// group.
	Scale bool
	// Sigma is the standard deviation of the Gaussian base. Default 1.
	Sigma float64
	// Mean and Std, when given, end the flow with the fixed map
	// x = Mean + Std * y (data in Angstrom, a flow that starts near N(Mean,
	// (Sigma Std)^2)).
	Mean, Std []float64
	// Precision of the affine coupling networks and the hydrogen placer:
	// "float64" (default) or "float32" (about twice as fast; the flow stays
	// invertible to float64 precision, gradients carry float32 rounding).
	// Spline couplings compute in float64 either way.
	Precision string
	// Seed of the initial parameters.
	Seed uint64
}

// Build makes the flow a Spec describes.
func Build(sp Spec) (*Flow, error) {
	s := nn.NewSet()
	sp, layers, err := buildLayers(s, sp)
	if err != nil {
		return nil, err
	}
	return newFlow(s, layers, sp)
}

// withDefaults fills the zero values of a Spec.
func (sp Spec) withDefaults() Spec {
	if sp.Hidden == 0 {
		sp.Hidden = 64
	}
	if sp.Layers == 0 {
		sp.Layers = 1
	}
	if sp.Sigma == 0 {
		sp.Sigma = 1
	}
	if sp.Transform == "" {
		sp.Transform = "affine"
	}
	if sp.Precision == "" {
		sp.Precision = "float64"
	}
	if sp.Transform == "spline" {
		if sp.Bins == 0 {
			sp.Bins = 8
		}
		if sp.Bound == 0 {
			sp.Bound = 5
		}
	}
	return sp
}

// buildLayers registers the layers of sp in s.
func buildLayers(s *nn.Set, sp Spec) (Spec, []Layer, error) {
	sp = sp.withDefaults()
	if sp.Dim < 2 {
		return sp, nil, fmt.Errorf("flows: a coupling flow needs at least 2 coordinates, not %d", sp.Dim)
	}
	if sp.Blocks < 1 {
		return sp, nil, fmt.Errorf("flows: blocks must be at least 1, not %d", sp.Blocks)
	}
	if sp.Precision != "float64" && sp.Precision != "float32" {
		return sp, nil, fmt.Errorf("flows: unknown precision %q, expected float64 or float32", sp.Precision)
	}
	if sp.Transform != "affine" && sp.Transform != "spline" {
		return sp, nil, fmt.Errorf("flows: unknown transform %q, expected affine or spline", sp.Transform)
	}
	if len(sp.Periodic) > 0 && sp.Transform != "spline" {
		return sp, nil, fmt.Errorf("flows: periodic coordinates need the spline transform")
	}
	if len(sp.Periodic) > 0 && (sp.Householder > 0 || sp.Scale || sp.Mean != nil || sp.Std != nil) {
		// Reflections, scalings and shifts would carry angles off the circle.
		return sp, nil, fmt.Errorf("flows: periodic coordinates rule out householder, scale, mean and std")
	}
	for _, v := range [][]float64{sp.Mean, sp.Std} {
		if v != nil && len(v) != sp.Dim {
			return sp, nil, fmt.Errorf("flows: mean and std need %d numbers, not %d", sp.Dim, len(v))
		}
	}
	rng := rand.New(rand.NewPCG(sp.Seed, 0x666c6f77))
	hidden := make([]int, sp.Layers)
	for i := range hidden {
		hidden[i] = sp.Hidden
	}
	// Half A takes the even coordinates, half B the odd ones, so that
	// each atom's x, y, z are split 2+1 or 1+2 between them.
	var a, b []int
	for i := 0; i < sp.Dim; i++ {
		if i%2 == 0 {
			a = append(a, i)
		} else {
			b = append(b, i)
		}
	}
	var layers []Layer
	for g := 0; g < sp.Blocks; g++ {
		name := func(k int) string { return fmt.Sprintf("block%d.%d", g, k) }
		switch sp.Transform {
		case "affine":
			layers = append(layers,
				NewCoupling(s, name(0), sp.Dim, a, b, Multiplicative, hidden, rng),
				NewCoupling(s, name(1), sp.Dim, a, b, Additive, hidden, rng),
				NewCoupling(s, name(2), sp.Dim, b, a, Multiplicative, hidden, rng),
				NewCoupling(s, name(3), sp.Dim, b, a, Additive, hidden, rng))
		case "spline":
			o := SplineOptions{Bins: sp.Bins, Bound: sp.Bound, Periodic: sp.Periodic}
			layers = append(layers,
				NewSplineCoupling(s, name(0), sp.Dim, a, b, hidden, o, rng),
				NewSplineCoupling(s, name(1), sp.Dim, b, a, hidden, o, rng))
		}
		for h := 0; h < sp.Householder; h++ {
			layers = append(layers, NewHouseholder(s, fmt.Sprintf("block%d.householder%d", g, h), sp.Dim, rng))
		}
	}
	if sp.Scale {
		layers = append(layers, NewDiagScale(s, "scale", sp.Dim), NewBias(s, "shift", sp.Dim))
	}
	if sp.Mean != nil || sp.Std != nil {
		layers = append(layers, NewStandardize(s, "standardize", sp.Mean, sp.Std, sp.Dim))
	}
	return sp, layers, nil
}

// newFlow makes the flow of layers built from sp, with float32 networks
// when sp asks.
func newFlow(s *nn.Set, layers []Layer, sp Spec) (*Flow, error) {
	f, err := New(s, layers, sp.Sigma)
	if err != nil {
		return nil, err
	}
	f.Spec = sp
	if sp.Precision == "float32" {
		f.p32 = new([]float32)
		for _, l := range layers {
			if c, ok := l.(interface{ useFloat32(*[]float32) }); ok {
				c.useFloat32(f.p32)
			}
		}
	}
	return f, nil
}
