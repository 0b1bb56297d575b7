package analytic_test

import (
	"context"
	"fmt"
	"log"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
)

// The thesis' 12-dimensional "medium" double well: energy, forces and the
// exact minor-mode fraction.
func Example_doubleWell() {
	m, err := analytic.DoubleWellPreset("medium", 12)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("dimension %d, terms %v\n", m.Dim(), m.Terms())
	fmt.Printf("u(x0) = %s, barrier top x* = %.4f\n", m.Bimodal(), m.Barrier())
	fmt.Printf("minor-mode fraction: %.6f at kT = 1, %.4f at kT = 2\n", m.MinorModeFraction(1), m.MinorModeFraction(2))

	b := forcefields.NewBatch(m, 1, true, true)
	b.Coords[0], b.Coords[1] = 1, 2 // x0 = 1, x1 = 2, the rest 0
	if err := m.Evaluate(context.Background(), b); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("U = %.4f = %.4f + %.4f, F0 = %.4f, F1 = %.4f\n", b.Energy[0], b.Terms[0], b.Terms[1], b.Forces[0], b.Forces[1])
	// Output:
	// dimension 12, terms [double_well gaussian]
	// u(x0) = 1 x⁴ -4 x² +0.478615 x, barrier top x* = 0.0599
	// minor-mode fraction: 0.220000 at kT = 1, 0.3534 at kT = 2
	// U = -0.5214 = -2.5214 + 2.0000, F0 = 3.5214, F1 = -2.0000
}

// Creating a model by name, and reading what it knows exactly.
func Example_registry() {
	m, err := analytic.New("gmm2", nil)
	if err != nil {
		log.Fatal(err)
	}
	modes := m.(analytic.Modal)
	for k, c := range modes.ModeCenters() {
		f, _ := modes.ModeFraction(k, 1)
		fmt.Printf("mode %d at %v: fraction %.4f\n", k, c, f)
	}
	if _, err := analytic.New("phi4", map[string]float64{"mass": 1}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// mode 0 at [4 4]: fraction 0.3333
	// mode 1 at [-8 -8]: fraction 0.6667
	// analytic model "phi4": unknown parameter "mass"; valid parameters: m, n, lambda, alpha
}
