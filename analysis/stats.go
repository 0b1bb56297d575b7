package analysis

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
)

// Errors reported for bad input. They are wrapped with context; test for
// them with errors.Is.
var (
	// ErrEmpty is returned for an empty series or trajectory.
	ErrEmpty = errors.New("empty input")
	// ErrNotFinite is returned when a value or weight is NaN or ±Inf.
	ErrNotFinite = errors.New("NaN or infinite value")
	// ErrLength is returned when paired slices differ in length.
	ErrLength = errors.New("length mismatch")
	// ErrTooShort is returned when a series is too short for the
	// requested estimate. IntegratedAutocorrelationTime also returns it,
	// together with its best estimate, when the series is shorter than
	// MinSamplesPerTau autocorrelation times.
	ErrTooShort = errors.New("series too short")
	// ErrWeights is returned for negative weights or weights summing to 0.
	ErrWeights = errors.New("invalid weights")
)

// MinBlocks is the fewest blocks a blocking level may have to take part in
// BlockingAnalysis. With b blocks the standard error itself is uncertain by
// a factor 1/√(2(b−1)), 18% at b = 16; fewer blocks make the plateau
// search chase noise.
const MinBlocks = 16

// SokalWindowC is the constant c of Sokal's automatic window, M ≥ c·τ(M).
const SokalWindowC = 5.0

// MinSamplesPerTau is the shortest series, in autocorrelation times, for
// which IntegratedAutocorrelationTime reports no ErrTooShort. Below it the
// estimate is biased low (the same threshold as emcee's).
const MinSamplesPerTau = 50.0

func checkFinite(what string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("analysis: %s[%d] = %v: %w", what, i, v, ErrNotFinite)
		}
	}
	return nil
}

// checkWeights validates linear weights for values of length n: nil is
// allowed (all ones); otherwise they must be finite, non-negative and not
// all zero.
func checkWeights(w []float64, n int) error {
	if w == nil {
		return nil
	}
	if len(w) != n {
		return fmt.Errorf("analysis: %d weights for %d values: %w", len(w), n, ErrLength)
	}
	if err := checkFinite("weights", w); err != nil {
		return err
	}
	sum := 0.0
	for i, v := range w {
		if v < 0 {
			return fmt.Errorf("analysis: weights[%d] = %v is negative: %w", i, v, ErrWeights)
		}
		sum += v
	}
	if sum == 0 {
		return fmt.Errorf("analysis: weights sum to zero: %w", ErrWeights)
	}
	return nil
}

// BlockAverage splits the time series x into blocks contiguous blocks of
// equal length L = ⌊len(x)/blocks⌋ and returns the mean of the block means
// and its standard error, the sample standard deviation of the block means
// (n−1 denominator) divided by √blocks.
//
// When len(x) is not a multiple of blocks the remainder is dropped from the
// start of the series: the earliest frames are the ones most likely to
// carry memory of the initial state. The returned mean is therefore the
// mean of x[len(x)−blocks·L:].
//
// The error estimate is only honest when L is much longer than the
// integrated autocorrelation time; BlockAverageAuto chooses the block
// length from the data.
func BlockAverage(x []float64, blocks int) (mean, stderr float64, err error) {
	if blocks < 2 {
		return 0, 0, fmt.Errorf("analysis: BlockAverage needs at least 2 blocks, got %d", blocks)
	}
	if len(x) == 0 {
		return 0, 0, fmt.Errorf("analysis: BlockAverage: %w", ErrEmpty)
	}
	if len(x) < blocks {
		return 0, 0, fmt.Errorf("analysis: BlockAverage: %d samples for %d blocks: %w", len(x), blocks, ErrTooShort)
	}
	if err := checkFinite("x", x); err != nil {
		return 0, 0, err
	}
	l := len(x) / blocks
	start := len(x) - blocks*l
	means := make([]float64, blocks)
	for b := range means {
		means[b] = stat.Mean(x[start+b*l:start+(b+1)*l], nil)
	}
	mean = stat.Mean(means, nil)
	return mean, stat.StdDev(means, nil) / math.Sqrt(float64(blocks)), nil
}

// BlockingLevel is one level of the Flyvbjerg–Petersen blocking transform.
type BlockingLevel struct {
	BlockSize int     // samples per block, 2^level
	Blocks    int     // number of blocks at this level
	StdErr    float64 // standard error of the mean estimated at this level
	// StdErrErr is the uncertainty of StdErr, StdErr/√(2(Blocks−1)).
	StdErrErr float64
}

// Blocking is the result of BlockingAnalysis.
type Blocking struct {
	// Mean is the mean of the whole series (weighted if weights were
	// given), not of the blocked series, so no sample is lost from it.
	Mean float64
	// StdErr is the reported, conservative standard error of Mean.
	StdErr float64
	// Blocks is the number of blocks of the level whose estimate is StdErr.
	Blocks int
	// Levels holds every blocking level with at least MinBlocks blocks,
	// for plotting the blocking curve.
	Levels []BlockingLevel
	// Chosen is the index in Levels of the plateau level.
	Chosen int
	// Plateau is false when no plateau was found: the series is too short
	// compared with its correlation time, and StdErr (the largest estimate
	// of any level) is then only a lower bound on the true error.
	Plateau bool
}

// BlockingAnalysis estimates the mean of a time-ordered series and its
// standard error with the blocking method of Flyvbjerg and Petersen
// (J. Chem. Phys. 91, 461 (1989)).
//
// Level 0 is the series itself; level k+1 replaces each pair of
// neighbouring samples of level k by their average (dropping the first,
// oldest sample when the count is odd). At each level with n_k ≥ MinBlocks
// blocks the standard error of the mean is estimated as if the blocks were
// independent,
//
//	σ_k = √( Σ(m_i − m̄)² / (n_k (n_k − 1)) ),   δ_k = σ_k / √(2(n_k − 1)),
//
// where δ_k is the uncertainty of σ_k. For correlated data σ_k grows with
// k until the blocks are longer than the correlation time, then stays flat
// within noise. The plateau is the first level k such that each of the
// next two levels j (or the one that exists) satisfies σ_j ≤ σ_k + δ_j,
// i.e. the estimate stops increasing within the uncertainty of the later
// level; requiring two confirming levels stops a single noisy dip from
// ending the search early. The reported error is the larger of σ_k and
// σ_{k+1}, which on AR(1) test series removes the residual downward bias
// of the first plateau level (σ_k still misses a part of the correlation
// of order τ/blockSize). If no level qualifies, Plateau is false and the
// largest σ_k is reported.
//
// If w is not nil the frames carry non-negative weights (for example
// importance weights of a reweighted trajectory). The mean is then the
// ratio estimator f = Σ w_t x_t / Σ w_t and its error is found by blocking
// the linearised series z_t = w_t (x_t − f) / w̄ (the delta method), whose
// mean is the first-order error of f; block means of z are exactly the
// per-block ratio residuals (Σ_b w x − f Σ_b w)/(L w̄).
//
// The series needs at least MinBlocks samples.
func BlockingAnalysis(x, w []float64) (Blocking, error) {
	if len(x) == 0 {
		return Blocking{}, fmt.Errorf("analysis: BlockingAnalysis: %w", ErrEmpty)
	}
	if err := checkFinite("x", x); err != nil {
		return Blocking{}, err
	}
	if err := checkWeights(w, len(x)); err != nil {
		return Blocking{}, err
	}
	if len(x) < MinBlocks {
		return Blocking{}, fmt.Errorf("analysis: BlockingAnalysis: %d samples, need at least %d: %w", len(x), MinBlocks, ErrTooShort)
	}
	var res Blocking
	y := make([]float64, len(x))
	if w == nil {
		res.Mean = stat.Mean(x, nil)
		copy(y, x)
	} else {
		res.Mean = stat.Mean(x, w)
		wbar := floats.Sum(w) / float64(len(w))
		for t := range x {
			y[t] = w[t] * (x[t] - res.Mean) / wbar
		}
	}
	for size := 1; len(y) >= MinBlocks; size *= 2 {
		n := len(y)
		m := stat.Mean(y, nil)
		ss := 0.0
		for _, v := range y {
			ss += (v - m) * (v - m)
		}
		se := math.Sqrt(ss / float64(n) / float64(n-1))
		res.Levels = append(res.Levels, BlockingLevel{
			BlockSize: size,
			Blocks:    n,
			StdErr:    se,
			StdErrErr: se / math.Sqrt(2*float64(n-1)),
		})
		if n%2 == 1 {
			y = y[1:]
		}
		for i := range len(y) / 2 {
			y[i] = 0.5 * (y[2*i] + y[2*i+1])
		}
		y = y[:len(y)/2]
	}
	lv := res.Levels
	for k := 0; k+1 < len(lv); k++ {
		ok := true
		for j := k + 1; j <= k+2 && j < len(lv); j++ {
			if lv[j].StdErr-lv[k].StdErr > lv[j].StdErrErr {
				ok = false
				break
			}
		}
		if ok {
			res.Chosen, res.Plateau = k, true
			res.StdErr, res.Blocks = lv[k].StdErr, lv[k].Blocks
			if lv[k+1].StdErr > res.StdErr {
				res.StdErr, res.Blocks = lv[k+1].StdErr, lv[k+1].Blocks
			}
			return res, nil
		}
	}
	for k, l := range lv {
		if k == 0 || l.StdErr > res.StdErr {
			res.Chosen, res.StdErr, res.Blocks = k, l.StdErr, l.Blocks
		}
	}
	return res, nil
}

// BlockAverageAuto returns the mean of the time series x and a
// conservative standard error chosen by Flyvbjerg–Petersen blocking (see
// BlockingAnalysis for the plateau rule), with the number of blocks of the
// level used. It needs at least MinBlocks samples. When no plateau is
// found the error is a lower bound; call BlockingAnalysis to learn that.
func BlockAverageAuto(x []float64) (mean, stderr float64, blocks int, err error) {
	b, err := BlockingAnalysis(x, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	return b.Mean, b.StdErr, b.Blocks, nil
}

// Autocorrelation returns the normalised autocorrelation function ρ(t) of
// x for lags t = 0..maxLag (ρ(0) = 1), using the standard biased estimator
//
//	C(t) = (1/n) Σ_{i<n−t} (x_i − x̄)(x_{i+t} − x̄),   ρ(t) = C(t)/C(0),
//
// computed by FFT in O(n log n). maxLag is clamped to n−1.
func Autocorrelation(x []float64, maxLag int) ([]float64, error) {
	n := len(x)
	if n < 2 {
		return nil, fmt.Errorf("analysis: Autocorrelation: %d samples: %w", n, ErrTooShort)
	}
	if maxLag < 0 {
		return nil, fmt.Errorf("analysis: Autocorrelation: negative maximum lag %d", maxLag)
	}
	if err := checkFinite("x", x); err != nil {
		return nil, err
	}
	maxLag = min(maxLag, n-1)
	// Zero-pad to at least 2n so the circular correlation of the FFT equals
	// the linear one; a power of two keeps the transform fast.
	m := 1
	for m < 2*n {
		m *= 2
	}
	mean := stat.Mean(x, nil)
	seq := make([]float64, m)
	for i, v := range x {
		seq[i] = v - mean
	}
	fft := fourier.NewFFT(m)
	coeff := fft.Coefficients(nil, seq)
	for i, c := range coeff {
		coeff[i] = complex(real(c)*real(c)+imag(c)*imag(c), 0)
	}
	acf := fft.Sequence(nil, coeff)
	if acf[0] <= 0 {
		return nil, fmt.Errorf("analysis: Autocorrelation: series is constant, correlation undefined")
	}
	rho := make([]float64, maxLag+1)
	for t := range rho {
		rho[t] = acf[t] / acf[0]
	}
	return rho, nil
}

// IntegratedAutocorrelationTime returns the integrated autocorrelation
// time of the series x in units of samples, with the convention
//
//	τ = 1 + 2 Σ_{t≥1} ρ(t),
//
// so that independent samples have τ = 1 and the variance of the mean of n
// correlated samples is τσ²/n (n/τ is the effective sample size). This is
// twice Sokal's τ_int = 1/2 + Σρ(t). For an AR(1) process with coefficient
// φ, ρ(t) = φ^t and τ = (1+φ)/(1−φ).
//
// The infinite sum is truncated at Sokal's automatic window: the smallest
// M with M ≥ c·τ(M), c = SokalWindowC = 5, where τ(M) = 1 + 2 Σ_{t=1}^{M} ρ(t).
// This balances the bias of truncation (small for M ≫ τ) against the noise
// of the tail of ρ, whose variance grows like M/n.
//
// If no window is found the series is far too short and an error wrapping
// ErrTooShort is returned with the estimate at the largest lag. If a
// window is found but n < MinSamplesPerTau·τ, the estimate is returned
// together with an error wrapping ErrTooShort: it is usable as a rough
// (low) value but should not be trusted.
func IntegratedAutocorrelationTime(x []float64) (tau float64, err error) {
	if len(x) == 0 {
		return 0, fmt.Errorf("analysis: IntegratedAutocorrelationTime: %w", ErrEmpty)
	}
	rho, err := Autocorrelation(x, len(x)-1)
	if err != nil {
		return 0, err
	}
	tau = 1
	for m := 1; m < len(rho); m++ {
		tau += 2 * rho[m]
		if float64(m) >= SokalWindowC*tau {
			if float64(len(x)) < MinSamplesPerTau*tau {
				return tau, fmt.Errorf("analysis: %d samples is fewer than %g autocorrelation times (τ ≈ %.3g): %w",
					len(x), MinSamplesPerTau, tau, ErrTooShort)
			}
			return tau, nil
		}
	}
	return tau, fmt.Errorf("analysis: no Sokal window found in %d samples: %w", len(x), ErrTooShort)
}

// WeightedMean returns Σ w_i v_i / Σ w_i. Weights must be finite,
// non-negative and not all zero; nil weights give the plain mean.
func WeightedMean(values, weights []float64) (float64, error) {
	if len(values) == 0 {
		return 0, fmt.Errorf("analysis: WeightedMean: %w", ErrEmpty)
	}
	if err := checkFinite("values", values); err != nil {
		return 0, err
	}
	if err := checkWeights(weights, len(values)); err != nil {
		return 0, err
	}
	return stat.Mean(values, weights), nil
}

// NormalizedWeights turns log importance weights log w_i (for example
// −βU(x) − log q(x) for samples from a proposal q) into self-normalised
// weights w_i / Σ w_j that sum to 1. It subtracts the maximum before
// exponentiating, so log weights of any magnitude work without overflow.
// −Inf entries are allowed (weight 0); NaN and +Inf are errors, as is a
// slice whose entries are all −Inf.
func NormalizedWeights(logw []float64) ([]float64, error) {
	if len(logw) == 0 {
		return nil, fmt.Errorf("analysis: NormalizedWeights: %w", ErrEmpty)
	}
	top := math.Inf(-1)
	for i, l := range logw {
		if math.IsNaN(l) || math.IsInf(l, 1) {
			return nil, fmt.Errorf("analysis: logw[%d] = %v: %w", i, l, ErrNotFinite)
		}
		top = math.Max(top, l)
	}
	if math.IsInf(top, -1) {
		return nil, fmt.Errorf("analysis: all log weights are -Inf: %w", ErrWeights)
	}
	w := make([]float64, len(logw))
	for i, l := range logw {
		w[i] = math.Exp(l - top)
	}
	floats.Scale(1/floats.Sum(w), w)
	return w, nil
}

// ESS returns Kish's effective sample size of the importance weights with
// logarithms logw,
//
//	ESS = (Σ w_i)² / Σ w_i²,
//
// which is n for equal weights and 1 when a single weight dominates. It is
// invariant to a common factor of the weights, so unnormalised log weights
// are fine. Input rules are those of NormalizedWeights.
func ESS(logw []float64) (float64, error) {
	w, err := NormalizedWeights(logw)
	if err != nil {
		return 0, err
	}
	return 1 / floats.Dot(w, w), nil // Σw = 1 after normalisation
}

// ESSFraction returns ESS(logw)/len(logw), in (0, 1]: the efficiency of
// the importance sampler.
func ESSFraction(logw []float64) (float64, error) {
	ess, err := ESS(logw)
	if err != nil {
		return 0, err
	}
	return ess / float64(len(logw)), nil
}

// ForwardESSFraction returns the forward effective sample size fraction
// of log importance weights logw evaluated on m samples of the target
// (not of the proposal), n² / (Σ w_i Σ 1/w_i): since E_p[w] E_p[1/w] =
// E_q[w²] for normalised weights, it estimates the same efficiency as
// ESSFraction from the target's side, and it falls toward 0 when the
// proposal misses regions the target visits (a sample of weight 0, log
// weight −Inf, makes it 0).
func ForwardESSFraction(logw []float64) (float64, error) {
	if len(logw) == 0 {
		return 0, fmt.Errorf("analysis: ForwardESSFraction: %w", ErrEmpty)
	}
	neg := make([]float64, len(logw))
	for i, l := range logw {
		neg[i] = -l
	}
	return math.Exp(2*math.Log(float64(len(logw))) - floats.LogSumExp(logw) - floats.LogSumExp(neg)), nil
}

// binIndex returns the bin of v in [lo, hi] split into bins equal bins,
// or −1 if v is outside. Bin i is [lo + i·h, lo + (i+1)·h) with h the bin
// width, except that the last bin also holds hi (as numpy does), so a
// dihedral of exactly π falls in the last bin of [−π, π].
func binIndex(v, lo, hi float64, bins int) int {
	if v < lo || v > hi {
		return -1
	}
	i := int((v - lo) / (hi - lo) * float64(bins))
	return min(i, bins-1)
}

func checkRange(lo, hi float64, bins int) error {
	if bins < 1 {
		return fmt.Errorf("analysis: histogram needs at least one bin, got %d", bins)
	}
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || !(lo < hi) {
		return fmt.Errorf("analysis: histogram range [%v, %v] is not a finite interval with lo < hi", lo, hi)
	}
	return nil
}

// Histogram counts values into bins equal bins over [lo, hi]. Bin i covers
// [lo + i·h, lo + (i+1)·h) with h = (hi−lo)/bins; the last bin is closed
// and also holds hi. Each value counts with its weight (1 if weights is
// nil). Values outside [lo, hi] are dropped and their total weight is
// returned as outside, so callers can tell a clipped histogram from a
// complete one. NaN values are errors. To turn counts into a density,
// divide by (Σcounts + outside)·h, or by Σcounts·h for a density over the
// range.
func Histogram(values, weights []float64, lo, hi float64, bins int) (counts []float64, outside float64, err error) {
	if err := checkRange(lo, hi, bins); err != nil {
		return nil, 0, err
	}
	if err := checkFinite("values", values); err != nil {
		return nil, 0, err
	}
	if err := checkWeights(weights, len(values)); err != nil {
		return nil, 0, err
	}
	counts = make([]float64, bins)
	for i, v := range values {
		wt := 1.0
		if weights != nil {
			wt = weights[i]
		}
		if b := binIndex(v, lo, hi, bins); b >= 0 {
			counts[b] += wt
		} else {
			outside += wt
		}
	}
	return counts, outside, nil
}

// Histogram2D counts the points (x_i, y_i) with weights w_i (1 if w is
// nil) into nx×ny bins over [xlo, xhi]×[ylo, yhi], with the bin rules of
// Histogram on each axis. counts[i][j] is the weight in x bin i and y bin
// j. Points outside the rectangle are dropped and their total weight is
// returned as outside.
func Histogram2D(x, y, w []float64, xlo, xhi, ylo, yhi float64, nx, ny int) (counts [][]float64, outside float64, err error) {
	if err := checkRange(xlo, xhi, nx); err != nil {
		return nil, 0, err
	}
	if err := checkRange(ylo, yhi, ny); err != nil {
		return nil, 0, err
	}
	if len(x) != len(y) {
		return nil, 0, fmt.Errorf("analysis: Histogram2D: %d x values and %d y values: %w", len(x), len(y), ErrLength)
	}
	if err := checkFinite("x", x); err != nil {
		return nil, 0, err
	}
	if err := checkFinite("y", y); err != nil {
		return nil, 0, err
	}
	if err := checkWeights(w, len(x)); err != nil {
		return nil, 0, err
	}
	counts = make([][]float64, nx)
	for i := range counts {
		counts[i] = make([]float64, ny)
	}
	for k := range x {
		wt := 1.0
		if w != nil {
			wt = w[k]
		}
		i, j := binIndex(x[k], xlo, xhi, nx), binIndex(y[k], ylo, yhi, ny)
		if i < 0 || j < 0 {
			outside += wt
			continue
		}
		counts[i][j] += wt
	}
	return counts, outside, nil
}

// BinCenters returns the centres of bins equal bins over [lo, hi].
func BinCenters(lo, hi float64, bins int) []float64 {
	c := make([]float64, max(bins, 0))
	h := (hi - lo) / float64(bins)
	for i := range c {
		c[i] = lo + (float64(i)+0.5)*h
	}
	return c
}
