package engine

import (
	"math"
	"testing"

	"github.com/flowmd/flowmd/analysis"
)

// modeEstimates' fractions, standard errors and within-mode ESS against
// their formulas on weights small enough to work out by hand.
func TestModeEstimates(t *testing.T) {
	set := &analysis.ModeSet{Modes: []analysis.Mode{{Name: "a"}, {Name: "b"}, {Name: "empty"}}}
	labels := []int{0, 0, 1, 1, 1, -1}
	w := []float64{0.1, 0.3, 0.2, 0.2, 0.2, 0} // normalized; the last sample is in no mode
	raw := analysis.LabelFractions(labels, 3)
	got := modeEstimates(set, labels, w, raw, nil)
	// Mode a: fraction 0.4, se^2 = sum w^2 (1_a - 0.4)^2
	//   = (0.01 + 0.09) 0.36 + 3 (0.04) 0.16 = 0.0552.
	// ESS: (sum_a w)^2 / sum_a w^2 = 0.16 / 0.1 = 1.6; mode b: 0.36 / 0.12 = 3.
	want := []struct{ raw, frac, se, ess float64 }{
		{2.0 / 6, 0.4, math.Sqrt(0.0552), 1.6},
		{3.0 / 6, 0.6, math.Sqrt(0.0552), 3},
		{0, 0, 0, 0},
	}
	for k, m := range got {
		e := want[k]
		if math.Abs(m.Raw-e.raw) > 1e-12 || math.Abs(m.Fraction-e.frac) > 1e-12 || math.Abs(m.StdErr-e.se) > 1e-12 || math.Abs(m.ESS-e.ess) > 1e-12 {
			t.Errorf("mode %s: raw %g fraction %g se %g ESS %g, want %+v", m.Mode, m.Raw, m.Fraction, m.StdErr, m.ESS, e)
		}
	}
}
