package analysis

import (
	"fmt"
	"math"
)

// vec is a small 3-vector used only inside the geometry helpers.
type vec [3]float64

func atom(x []float64, i int) vec { return vec{x[3*i], x[3*i+1], x[3*i+2]} }

func (a vec) sub(b vec) vec { return vec{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec) dot(b vec) float64 {
	return a[0]*b[0] + a[1]*b[1] + a[2]*b[2]
}
func (a vec) cross(b vec) vec {
	return vec{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func (a vec) norm() float64 { return math.Sqrt(a.dot(a)) }

// Distance returns the distance between atoms i and j of the frame x
// (N*3 coordinates, row-major atom then xyz), in the units of x (angstrom
// for molecular frames). It panics if an index is out of range, like a
// slice index; use the CV constructors for checked access.
func Distance(x []float64, i, j int) float64 {
	return atom(x, i).sub(atom(x, j)).norm()
}

// Angle returns the bond angle a-b-c at atom b in radians, in [0, π].
// It is computed as atan2(|u×v|, u·v) rather than acos(u·v/|u||v|)
// because acos loses precision near 0 and π. It returns NaN if a or c
// coincides with b. It panics if an index is out of range.
func Angle(x []float64, a, b, c int) float64 {
	u := atom(x, a).sub(atom(x, b))
	v := atom(x, c).sub(atom(x, b))
	if u.dot(u) == 0 || v.dot(v) == 0 {
		return math.NaN()
	}
	return math.Atan2(u.cross(v).norm(), u.dot(v))
}

// Dihedral returns the dihedral (torsion) angle a-b-c-d of the frame x in
// radians, in (−π, π], following the IUPAC convention: 0 when a and d are
// cis (eclipsed), π when they are trans, and positive when, looking along
// the central bond from b towards c, the far bond c→d is rotated clockwise
// relative to the near bond b→a (the right-hand rule about b→c). This is
// the convention of CHARMM, GROMACS, OpenMM and the Ramachandran φ/ψ.
//
// With b1 = b−a, b2 = c−b, b3 = d−c it evaluates
//
//	φ = atan2(|b2| b1·(b2×b3), (b1×b2)·(b2×b3)),
//
// which keeps full precision at every angle (unlike an acos form). The
// angle is undefined when three consecutive atoms are collinear; then
// Dihedral returns NaN so that the frame is not silently counted as cis.
// It panics if an index is out of range.
func Dihedral(x []float64, a, b, c, d int) float64 {
	b1 := atom(x, b).sub(atom(x, a))
	b2 := atom(x, c).sub(atom(x, b))
	b3 := atom(x, d).sub(atom(x, c))
	n1 := b1.cross(b2)
	n2 := b2.cross(b3)
	y := b2.norm() * b1.dot(n2)
	xx := n1.dot(n2)
	if y == 0 && xx == 0 {
		return math.NaN()
	}
	phi := math.Atan2(y, xx)
	if phi <= -math.Pi {
		// atan2(−0, x<0) is −π; the documented range is (−π, π].
		phi = math.Pi
	}
	return phi
}

// WrapAngle maps an angle in radians to (−π, π]. Mode definitions use it
// so that angles from other sources (for example in [0, 2π)) classify the
// same way as those returned by Dihedral.
func WrapAngle(a float64) float64 {
	w := math.Remainder(a, 2*math.Pi) // in [−π, π]
	if w <= -math.Pi {
		w += 2 * math.Pi
	}
	return w
}

// CV is a named collective variable: a scalar function of one frame.
type CV struct {
	// Name labels the variable in plots and reports, e.g. "phi".
	Name string
	// Periodic reports whether the value is an angle in (−π, π] that
	// wraps around; histograms of periodic CVs should span [−π, π].
	Periodic bool
	// Eval returns the value of the variable for one frame.
	Eval func(frame []float64) float64
	// MinFrameLen is the shortest frame Eval can read without going out
	// of range. The constructors set it so that the trajectory functions
	// can reject a too-short frame with an error instead of a panic; 0
	// means unknown (not checked).
	MinFrameLen int

	// invalid, if set, says why the constructor's arguments cannot work
	// (a negative index); checkCV reports it instead of letting Eval panic.
	invalid string
}

// DihedralCV returns the dihedral angle of four atoms (see Dihedral) as a
// periodic CV in radians.
func DihedralCV(name string, atoms [4]int) CV {
	a, b, c, d := atoms[0], atoms[1], atoms[2], atoms[3]
	cv := CV{
		Name:        name,
		Periodic:    true,
		Eval:        func(f []float64) float64 { return Dihedral(f, a, b, c, d) },
		MinFrameLen: 3 * (max(a, b, c, d) + 1),
	}
	if min(a, b, c, d) < 0 {
		cv.invalid = fmt.Sprintf("negative atom index in %v", atoms)
	}
	return cv
}

// CoordinateCV returns the value of coordinate index of the frame, for
// analytic models whose frames are D plain coordinates (for example x0 of
// a double well). It is not periodic.
func CoordinateCV(name string, index int) CV {
	cv := CV{
		Name:        name,
		Eval:        func(f []float64) float64 { return f[index] },
		MinFrameLen: index + 1,
	}
	if index < 0 {
		cv.invalid = fmt.Sprintf("negative coordinate index %d", index)
	}
	return cv
}

// checkCV reports whether cv can be evaluated on frames of frameSize.
func checkCV(cv CV, frameSize int) error {
	if cv.Eval == nil {
		return fmt.Errorf("analysis: CV %q has no Eval function", cv.Name)
	}
	if cv.invalid != "" {
		return fmt.Errorf("analysis: CV %q: %s", cv.Name, cv.invalid)
	}
	if cv.MinFrameLen > frameSize {
		return fmt.Errorf("analysis: CV %q needs frames of at least %d values, have %d", cv.Name, cv.MinFrameLen, frameSize)
	}
	return nil
}

// checkFrames validates a flat trajectory and returns its number of frames.
func checkFrames(frames []float64, frameSize int) (int, error) {
	if frameSize <= 0 {
		return 0, fmt.Errorf("analysis: frame size %d must be positive", frameSize)
	}
	if len(frames) == 0 {
		return 0, fmt.Errorf("analysis: %w: no frames", ErrEmpty)
	}
	if len(frames)%frameSize != 0 {
		return 0, fmt.Errorf("analysis: trajectory of %d values is not a whole number of frames of %d", len(frames), frameSize)
	}
	return len(frames) / frameSize, nil
}

// EvalCV evaluates cv on every frame of a flat trajectory (frames of
// frameSize values, stored one after another in time order) and returns
// the time series. A NaN value (for example a dihedral of collinear atoms)
// is returned as an error naming the frame, because NaN would otherwise
// poison every statistic computed from the series.
func EvalCV(frames []float64, frameSize int, cv CV) ([]float64, error) {
	n, err := checkFrames(frames, frameSize)
	if err != nil {
		return nil, err
	}
	if err := checkCV(cv, frameSize); err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for t := range n {
		v := cv.Eval(frames[t*frameSize : (t+1)*frameSize])
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("analysis: CV %q is %v at frame %d: %w", cv.Name, v, t, ErrNotFinite)
		}
		out[t] = v
	}
	return out, nil
}
