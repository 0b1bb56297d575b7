// Package analysis turns sampled trajectories into the numbers and
// pictures used to judge a sampler: collective variables (dihedrals,
// distances, plain coordinates), means with honest error bars, mode
// (basin) populations, histograms, and PNG plots.
//
// # Trajectories
//
// A frame of a molecule is a []float64 of N*3 Cartesian coordinates in
// angstrom, row-major by atom (x0, y0, z0, x1, ...), the layout used
// throughout flowmd. A frame of an analytic model (a double well, a
// Gaussian mixture) is its D coordinates. A trajectory is a flat slice of
// frames stored one after another in time order together with the frame
// size; functions that estimate error bars rely on that order, because
// successive frames of MD or MCMC are correlated.
//
// Atom indices are 0-based. Angles are in radians everywhere in the API;
// only plot axes and the documented mode boundaries are in degrees.
//
// # Collective variables
//
// Dihedral follows the IUPAC convention: the angle a-b-c-d is in (−π, π],
// 0 for cis, π for trans, positive when the far bond c→d is turned
// clockwise from the near bond b→a as seen looking from b towards c. It is
// computed as
//
//	φ = atan2(|b2| b1·(b2×b3), (b1×b2)·(b2×b3)),  b1 = b−a, b2 = c−b, b3 = d−c,
//
// the convention of CHARMM, OpenMM and the Ramachandran angles φ and ψ.
// A CV bundles a name, a periodicity flag and an evaluation function;
// DihedralCV and CoordinateCV build the common ones and EvalCV turns a
// trajectory into a time series.
//
// # Error bars for correlated series
//
// For n samples with variance σ² and normalised autocorrelation ρ(t), the
// variance of the sample mean is approximately τσ²/n, with the integrated
// autocorrelation time
//
//	τ = 1 + 2 Σ_{t≥1} ρ(t)   (in samples; τ = 1 for independent samples).
//
// IntegratedAutocorrelationTime estimates τ with Sokal's automatic window
// (the smallest M with M ≥ 5 τ(M)); n/τ is the effective number of
// independent samples. For an AR(1) process x_{t+1} = φ x_t + ε_t,
// τ = (1+φ)/(1−φ).
//
// BlockAverage gives the standard error from a fixed number of contiguous
// blocks (remainder dropped at the start of the series); it is correct
// once the blocks are much longer than τ. BlockingAnalysis and
// BlockAverageAuto find that block length themselves by the
// Flyvbjerg–Petersen method: halve the series repeatedly by averaging
// neighbouring pairs and take the level where the error estimate stops
// growing, within its own uncertainty σ/√(2(n_b−1)). When the series is
// too short for any plateau, Blocking.Plateau is false and the error is a
// lower bound: run longer rather than trust it.
//
// # Weights
//
// Reweighted or importance-sampled frames carry weights. NormalizedWeights
// turns log weights into weights summing to 1 without overflow (subtracting
// the maximum first), and ESS gives Kish's effective sample size
// (Σw)²/Σw², between 1 and n. Weighted means are ratio estimators
// Σ w x / Σ w; BlockingAnalysis takes weights and blocks the linearised
// series w_t (x_t − f)/w̄, which is the delta-method error of a ratio.
//
// # Modes
//
// A ModeSet names regions of CV space. ButaneModes (trans, gauche+,
// gauche−), DialanineModes (C7eq, C5, αR, C7ax, αL), DialaninePhiModes (the
// sign of φ) and DoubleWellModes are presets whose modes partition the
// space, with boundaries documented on each. ModeFractions evaluates the
// CVs on every frame and returns each mode's population with a blocked
// standard error of its indicator series.
//
// # Plots
//
// PlotRamachandran (a free-energy heat map F/kT = −ln(p/p_max) over
// [−180°, 180°]² with a colour bar), PlotHistogram (overlaid normalised
// histograms) and PlotLines (training curves and time series) use
// gonum.org/v1/plot and write the format named by the file extension: PNG
// for ".png" (also JPEG, TIFF, SVG, PDF, EPS). They need no display. Size
// and resolution are set with WithSize and WithDPI.
//
// # Bad input
//
// Empty series, NaN or infinite values, mismatched lengths, negative
// weights and series too short for the requested estimate are reported as
// errors wrapping ErrEmpty, ErrNotFinite, ErrLength, ErrWeights or
// ErrTooShort, never as panics. The low-level geometry functions
// (Distance, Angle, Dihedral) index the frame directly and panic on an
// out-of-range atom index, like a slice; the CV constructors record the
// frame length they need so that trajectory functions check it first.
package analysis
