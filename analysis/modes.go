package analysis

import (
	"fmt"
	"math"
	"sort"
)

// Mode is a named region of collective-variable space.
type Mode struct {
	Name string
	// Contains reports whether a frame whose CV values (in the order of
	// the ModeSet's CVs) are cvs lies in the mode.
	Contains func(cvs []float64) bool
}

// ModeSet is a set of modes defined on the same collective variables.
// The presets partition CV space (every point lies in exactly one mode),
// so their fractions sum to 1; a user-defined set need not, and each mode
// is then counted on its own.
type ModeSet struct {
	Name  string
	CVs   []CV
	Modes []Mode
}

// Classify returns the index of the first mode containing the CV values
// cvs, or −1 if none does.
func (s ModeSet) Classify(cvs []float64) int {
	for i, m := range s.Modes {
		if m.Contains(cvs) {
			return i
		}
	}
	return -1
}

// ClassifyFrame evaluates the set's CVs on one frame x into cvs (a buffer
// of len(s.CVs), reused between calls) and returns the frame's mode, or −1.
func (s ModeSet) ClassifyFrame(x, cvs []float64) int {
	for k, cv := range s.CVs {
		cvs[k] = cv.Eval(x)
	}
	return s.Classify(cvs)
}

// ClassifyFrames returns the mode of each frame (rows of dim numbers) of
// x, or −1 for a frame in none.
func (s ModeSet) ClassifyFrames(x []float64, dim int) []int {
	labels := make([]int, len(x)/dim)
	cvs := make([]float64, len(s.CVs))
	for i := range labels {
		labels[i] = s.ClassifyFrame(x[i*dim:(i+1)*dim], cvs)
	}
	return labels
}

// LabelFractions returns the fraction of labels (as ClassifyFrames gives
// them) in each of k modes; a frame in none counts in the total only.
func LabelFractions(labels []int, k int) []float64 {
	out := make([]float64, k)
	for _, m := range labels {
		if m >= 0 && m < k {
			out[m] += 1 / float64(len(labels))
		}
	}
	return out
}

// ModeMedians returns, for each of k modes, the median of values over the
// frames labelled with it (labels as ClassifyFrames gives them), skipping
// non-finite values; NaN for a mode without a finite value. A flow's mode
// whose samples' median energy lies kT above the data's in the same mode
// is one the flow covers where the mode has little mass.
func ModeMedians(values []float64, labels []int, k int) []float64 {
	byMode := make([][]float64, k)
	for i, l := range labels {
		if l >= 0 && l < k && !math.IsNaN(values[i]) && !math.IsInf(values[i], 0) {
			byMode[l] = append(byMode[l], values[i])
		}
	}
	out := make([]float64, k)
	for m, v := range byMode {
		if len(v) == 0 {
			out[m] = math.NaN()
			continue
		}
		sort.Float64s(v)
		out[m] = v[len(v)/2]
		if len(v)%2 == 0 {
			out[m] = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
	}
	return out
}

func (s ModeSet) check() error {
	if len(s.Modes) == 0 {
		return fmt.Errorf("analysis: mode set %q has no modes", s.Name)
	}
	for _, m := range s.Modes {
		if m.Contains == nil {
			return fmt.Errorf("analysis: mode %q of set %q has no Contains function", m.Name, s.Name)
		}
	}
	return nil
}

const deg = math.Pi / 180

// Butane dihedral boundary, in degrees: |φ| > 120° is trans.
const butaneTransDeg = 120

// ButaneModes returns the three rotamers of the central C1–C2–C3–C4
// dihedral φ of butane (atoms c1..c4 are 0-based atom indices):
//
//	trans    |φ| > 120°
//	gauche+  0° < φ ≤ 120°
//	gauche−  −120° ≤ φ ≤ 0°
//
// The boundaries at ±120° are the eclipsed maxima of the torsion profile
// (and φ = 0 is the cis maximum), so each rotamer is the whole basin
// around its minimum at 180°, +60° or −60°. The angle is wrapped into
// (−π, π] first, so every angle lies in exactly one mode.
func ButaneModes(c1, c2, c3, c4 int) ModeSet {
	cut := butaneTransDeg * deg
	return ModeSet{
		Name: "butane C-C-C-C dihedral",
		CVs:  []CV{DihedralCV("phi", [4]int{c1, c2, c3, c4})},
		Modes: []Mode{
			{Name: "trans", Contains: func(v []float64) bool { return math.Abs(WrapAngle(v[0])) > cut }},
			{Name: "gauche+", Contains: func(v []float64) bool { p := WrapAngle(v[0]); return p > 0 && p <= cut }},
			{Name: "gauche-", Contains: func(v []float64) bool { p := WrapAngle(v[0]); return p >= -cut && p <= 0 }},
		},
	}
}

// Alanine dipeptide region boundaries, in degrees (see DialanineModes).
const (
	// dialaninePhiRight is the upper φ edge of the φ > 0 basins (C7ax,
	// αL); beyond it the β/C5 basin wraps around φ = ±180°.
	dialaninePhiRight = 120
	// dialaninePsiAlpha separates αR (below) from C7eq (above) for φ < 0,
	// and C7ax (below) from αL (above) for 0 < φ ≤ 120°.
	dialaninePsiAlpha = 0
	// dialaninePsiBeta separates C7eq (below) from C5 (above) for φ < 0.
	dialaninePsiBeta = 120
	// dialaninePsiLow separates C5 (below, the wrap of ψ ≈ 180°) from αR.
	dialaninePsiLow = -120
)

// Basin centres (φ, ψ) in degrees, used to label Ramachandran plots; from
// vacuum CHARMM minimisations (Tobias & Brooks, J. Phys. Chem. 96, 3864
// (1992)) and the alanine dipeptide literature.
var dialanineCentres = []struct {
	name     string
	phi, psi float64
}{
	{"C7eq", -83, 73},
	{"C5", -155, 165},
	{"αR", -70, -40},
	{"C7ax", 72, -58},
	{"αL", 60, 40},
}

// dialanineLeft reports whether φ (degrees, in (−180, 180]) lies on the
// "φ < 0" side of the partition, which includes the wrap of the β basin
// past φ = 180°.
func dialanineLeft(phiDeg float64) bool { return phiDeg <= 0 || phiDeg > dialaninePhiRight }

// DialanineModes returns a partition of the (φ, ψ) plane of the alanine
// dipeptide (Ace-Ala-Nme) in vacuum into its five classical basins. phi
// and psi are the 0-based atom indices of φ = C(Ace)–N–Cα–C and ψ =
// N–Cα–C–N(Nme). In degrees, with both angles wrapped into (−180, 180]:
//
//	φ ≤ 0 or φ > 120 (the φ<0 side and the wrap of the β basin past ±180°):
//	  C5     ψ > 120 or ψ ≤ −120   (β / extended; minimum near (−155, 165))
//	  C7eq   0 < ψ ≤ 120           (minimum near (−83, 73))
//	  αR     −120 < ψ ≤ 0          (minimum near (−70, −40))
//	0 < φ ≤ 120:
//	  C7ax   ψ ≤ 0                 (minimum near (72, −58))
//	  αL     ψ > 0                 (minimum near (60, 40))
//
// The φ = 0 line is the high eclipsed barrier between the two sides; the
// second φ cut at 120° is where the density between C7ax/αL (φ ≈ 60–75°)
// and the C5 basin spilling over φ = −180° ≡ 180° is lowest, so C5 frames
// with φ ≈ 170° are not miscounted as C7ax. The ψ cuts at 0° and ±120°
// lie between the basin minima: 0° between C7eq (ψ ≈ 73°) and αR
// (ψ ≈ −40°), and between αL (ψ ≈ 40°) and C7ax (ψ ≈ −58°); 120° between
// C7eq and C5 (ψ ≈ 165°); −120° closes C5 across ψ = ±180°. They are
// round-number cuts through low-density regions, not the exact saddles of
// any one force field, so fractions near a boundary are convention
// dependent; the C7ax + αL total (the φ > 0 basins) is robust.
//
// The mode names are ASCII, in this order: C7eq, C5, alphaR, C7ax, alphaL.
func DialanineModes(phi, psi [4]int) ModeSet {
	left := func(v []float64) (bool, float64) {
		return dialanineLeft(WrapAngle(v[0]) / deg), WrapAngle(v[1]) / deg
	}
	return ModeSet{
		Name: "alanine dipeptide (phi, psi) basins",
		CVs:  []CV{DihedralCV("phi", phi), DihedralCV("psi", psi)},
		Modes: []Mode{
			{Name: "C7eq", Contains: func(v []float64) bool {
				l, s := left(v)
				return l && s > dialaninePsiAlpha && s <= dialaninePsiBeta
			}},
			{Name: "C5", Contains: func(v []float64) bool {
				l, s := left(v)
				return l && (s > dialaninePsiBeta || s <= dialaninePsiLow)
			}},
			{Name: "alphaR", Contains: func(v []float64) bool {
				l, s := left(v)
				return l && s > dialaninePsiLow && s <= dialaninePsiAlpha
			}},
			{Name: "C7ax", Contains: func(v []float64) bool {
				l, s := left(v)
				return !l && s <= dialaninePsiAlpha
			}},
			{Name: "alphaL", Contains: func(v []float64) bool {
				l, s := left(v)
				return !l && s > dialaninePsiAlpha
			}},
		},
	}
}

// DialaninePhiModes returns the coarse two-mode split of the alanine
// dipeptide by the sign of φ alone: "phi<0" (−180° < φ ≤ 0°) and "phi>0"
// (0° < φ ≤ 180°). "phi>0" is the minor mode containing C7ax and αL.
//
// Caution: the C5 basin near φ ≈ −155° spills across φ = ±180°, and those
// frames (φ ≈ 160–180°) count as "phi>0" here. When the minor mode is
// rare that spill-over can be comparable to the C7ax population; the
// C7ax + αL fractions of DialanineModes, which cut at φ = 120°, avoid it.
func DialaninePhiModes(phi [4]int) ModeSet {
	return ModeSet{
		Name: "alanine dipeptide sign of phi",
		CVs:  []CV{DihedralCV("phi", phi)},
		Modes: []Mode{
			{Name: "phi<0", Contains: func(v []float64) bool { return WrapAngle(v[0]) <= 0 }},
			{Name: "phi>0", Contains: func(v []float64) bool { return WrapAngle(v[0]) > 0 }},
		},
	}
}

// DoubleWellModes splits an analytic model along coordinate index at
// boundary: mode "x<i><b" holds frames with x[index] < boundary and mode
// "x<i>>=<b" those with x[index] ≥ boundary (for example "x0<0" and
// "x0>=0"; the names show the boundary to three digits).
func DoubleWellModes(index int, boundary float64) ModeSet {
	name := fmt.Sprintf("x%d", index)
	return ModeSet{
		Name: "double well along " + name,
		CVs:  []CV{CoordinateCV(name, index)},
		Modes: []Mode{
			{Name: fmt.Sprintf("%s<%.3g", name, boundary), Contains: func(v []float64) bool { return v[0] < boundary }},
			{Name: fmt.Sprintf("%s>=%.3g", name, boundary), Contains: func(v []float64) bool { return v[0] >= boundary }},
		},
	}
}

// ModeFraction is the population of one mode with its standard error.
type ModeFraction struct {
	Name string
	// Fraction is the (weighted) fraction of frames in the mode.
	Fraction float64
	// StdErr is the standard error of Fraction from blocking the
	// indicator series (see BlockingAnalysis). It is 0 for a mode that
	// was never (or always) visited, which says nothing about how rare
	// the mode really is: with n_eff effective samples a mode never seen
	// has a population below about 3/n_eff at 95% confidence.
	StdErr float64
	// Blocks is the number of blocks behind StdErr.
	Blocks int
	// Plateau is false when the blocking found no plateau: the trajectory
	// is too short compared with the time between mode switches and
	// StdErr is only a lower bound.
	Plateau bool
}

// ModeFractions returns the fraction of frames in each mode of set, with
// standard errors, for a flat trajectory: frames holds the frames one
// after another in time order, frameSize values each (N*3 coordinates for
// a molecule, D for an analytic model).
//
// For each mode the indicator series I_t (1 if frame t is in the mode)
// goes through BlockingAnalysis: its mean is the fraction and its blocked
// standard error accounts for the correlation between successive frames.
// Each mode chooses its own block count. If weights is not nil, frame t
// has linear weight weights[t] (for example from NormalizedWeights) and
// the fraction is the ratio estimator Σ w_t I_t / Σ w_t with the
// delta-method block error. At least MinBlocks frames are needed.
func ModeFractions(frames []float64, frameSize int, set ModeSet, weights []float64) ([]ModeFraction, error) {
	if err := set.check(); err != nil {
		return nil, err
	}
	if len(set.CVs) == 0 {
		return nil, fmt.Errorf("analysis: mode set %q has no CVs", set.Name)
	}
	series := make([][]float64, len(set.CVs))
	for k, cv := range set.CVs {
		s, err := EvalCV(frames, frameSize, cv)
		if err != nil {
			return nil, err
		}
		series[k] = s
	}
	return ModeFractionsOfSeries(series, set.Modes, weights)
}

// ModeFractionsOfSeries is ModeFractions for CV values already computed:
// series[k][t] is the value of the k-th CV (in the order the modes expect)
// at frame t, for example [][]float64{phi, psi} for DialanineModes(...).Modes.
// A mode that reads more CVs than series holds is reported as an error.
func ModeFractionsOfSeries(series [][]float64, modes []Mode, weights []float64) ([]ModeFraction, error) {
	if err := (ModeSet{Modes: modes}).check(); err != nil {
		return nil, err
	}
	if len(series) == 0 || len(series[0]) == 0 {
		return nil, fmt.Errorf("analysis: ModeFractionsOfSeries: %w", ErrEmpty)
	}
	n := len(series[0])
	for k, s := range series {
		if len(s) != n {
			return nil, fmt.Errorf("analysis: CV series %d has %d frames, series 0 has %d: %w", k, len(s), n, ErrLength)
		}
		if err := checkFinite(fmt.Sprintf("series[%d]", k), s); err != nil {
			return nil, err
		}
	}
	if err := checkWeights(weights, n); err != nil {
		return nil, err
	}
	if n < MinBlocks {
		return nil, fmt.Errorf("analysis: %d frames, need at least %d for error bars: %w", n, MinBlocks, ErrTooShort)
	}
	ind, err := indicators(series, modes)
	if err != nil {
		return nil, err
	}
	out := make([]ModeFraction, len(modes))
	for i, m := range modes {
		b, err := BlockingAnalysis(ind[i], weights)
		if err != nil {
			return nil, fmt.Errorf("analysis: mode %q: %w", m.Name, err)
		}
		out[i] = ModeFraction{Name: m.Name, Fraction: b.Mean, StdErr: b.StdErr, Blocks: b.Blocks, Plateau: b.Plateau}
	}
	return out, nil
}

// indicators returns ind[i][t] = 1 if frame t (CV values series[k][t]) lies
// in modes[i], else 0.
func indicators(series [][]float64, modes []Mode) (ind [][]float64, err error) {
	n := len(series[0])
	ind = make([][]float64, len(modes))
	for i := range ind {
		ind[i] = make([]float64, n)
	}
	cvs := make([]float64, len(series))
	defer func() {
		// A Contains function indexing past len(cvs) is a mismatch between
		// the modes and the series given, i.e. bad input: report it.
		if r := recover(); r != nil {
			ind, err = nil, fmt.Errorf("analysis: evaluating modes on %d CV series: %v", len(series), r)
		}
	}()
	for t := range n {
		for k := range series {
			cvs[k] = series[k][t]
		}
		for i, m := range modes {
			if m.Contains(cvs) {
				ind[i][t] = 1
			}
		}
	}
	return ind, nil
}
