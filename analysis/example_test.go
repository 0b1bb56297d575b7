package analysis_test

import (
	"fmt"
	"log"
	"math"

	"github.com/flowmd/flowmd/analysis"
)

// A one-dimensional double-well trajectory hops between the wells at
// x0 = −1 and x0 = +1. The hop probabilities (1% per step from the left
// well, 2% from the right) give a stationary population of 2/3 on the
// left, and successive frames are strongly correlated (about 100 frames
// between hops), which the blocked error bars take into account: the
// indicator's τ is (1+λ)/(1−λ) ≈ 66 with λ = 1 − 0.01 − 0.02, so the
// expected error is √(π(1−π)τ/n) ≈ 0.0085, six times the naive one.
func ExampleModeFractions() {
	// A small linear congruential generator keeps the example's output
	// independent of the standard library's random streams.
	state := uint64(2024)
	uniform := func() float64 {
		state = state*6364136223846793005 + 1442695040888963407
		return float64(state>>11) / (1 << 53)
	}
	const n = 200000
	frames := make([]float64, n) // frame size 1: the coordinate x0
	well := -1.0
	for t := range frames {
		if well < 0 && uniform() < 0.01 || well > 0 && uniform() < 0.02 {
			well = -well
		}
		frames[t] = well + 0.3*(uniform()-0.5)
	}
	fractions, err := analysis.ModeFractions(frames, 1, analysis.DoubleWellModes(0, 0), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range fractions {
		fmt.Printf("%-6s %.3f ± %.3f (plateau %v)\n", f.Name, f.Fraction, f.StdErr, f.Plateau)
	}
	fmt.Printf("exact  %.3f\n", 2.0/3)
	// Output:
	// x0<0   0.673 ± 0.008 (plateau true)
	// x0>=0  0.327 ± 0.008 (plateau true)
	// exact  0.667
}

// Dihedral follows the IUPAC sign convention: here, looking down the b→c
// bond (the +z axis), the far atom d is turned 60° clockwise from a.
func ExampleDihedral() {
	x := []float64{
		1, 0, -0.5, // a
		0, 0, 0, // b
		0, 0, 1.5, // c
		0.5, math.Sqrt(3) / 2, 2, // d
	}
	fmt.Printf("%.1f°\n", analysis.Dihedral(x, 0, 1, 2, 3)*180/math.Pi)
	// Output: 60.0°
}
