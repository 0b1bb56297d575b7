package flows

import (
	"math"
	"math/rand/v2"

	"github.com/flowmd/flowmd/nn"
)

// Bias adds a trainable vector: x = z + b (log-det 0).
type Bias struct {
	dim int
	B   nn.Param
}

// NewBias registers a bias of dim numbers, starting at zero.
func NewBias(s *nn.Set, name string, dim int) *Bias {
	return &Bias{dim: dim, B: s.Add(name+".bias", dim)}
}

func (l *Bias) Dim() int      { return l.dim }
func (l *Bias) NewCache() any { return new(Direction) }
func (l *Bias) sign(c any) float64 {
	if *c.(*Direction) == Invert {
		return -1
	}
	return 1
}

func (l *Bias) Pass(dir Direction, p []float64, n int, in, out, ld []float64, c any) {
	*c.(*Direction) = dir
	b, sign := l.B.Of(p), l.sign(c)
	for r := 0; r < n; r++ {
		for i := range l.dim {
			out[r*l.dim+i] = in[r*l.dim+i] + sign*b[i]
		}
	}
}

func (l *Bias) Backward(p, grad []float64, n int, in, out, dout, dld, din []float64, c any) {
	g, sign := l.B.Of(grad), l.sign(c)
	copy(din[:n*l.dim], dout[:n*l.dim])
	for r := 0; r < n; r++ {
		for i := range l.dim {
			g[i] += sign * dout[r*l.dim+i]
		}
	}
}

// DiagScale multiplies each coordinate by d_i = exp(tanh(w_i)), the
// thesis' bounded diagonal scaling (log-det sum of tanh(w_i)).
type DiagScale struct {
	dim int
	W   nn.Param
}

// NewDiagScale registers a diagonal scaling of dim numbers, starting at 1.
func NewDiagScale(s *nn.Set, name string, dim int) *DiagScale {
	return &DiagScale{dim: dim, W: s.Add(name+".log_scale", dim)}
}

func (l *DiagScale) Dim() int      { return l.dim }
func (l *DiagScale) NewCache() any { return new(Direction) }

func (l *DiagScale) Pass(dir Direction, p []float64, n int, in, out, ld []float64, c any) {
	*c.(*Direction) = dir
	sign := 1.0
	if dir == Invert {
		sign = -1
	}
	w := l.W.Of(p)
	var sum float64
	for i := range l.dim {
		sum += math.Tanh(w[i])
	}
	for r := 0; r < n; r++ {
		for i := range l.dim {
			out[r*l.dim+i] = in[r*l.dim+i] * math.Exp(sign*math.Tanh(w[i]))
		}
		ld[r] += sign * sum
	}
}

func (l *DiagScale) Backward(p, grad []float64, n int, in, out, dout, dld, din []float64, c any) {
	sign := 1.0
	if *c.(*Direction) == Invert {
		sign = -1
	}
	w, g := l.W.Of(p), l.W.Of(grad)
	var sumDld float64
	for r := 0; r < n; r++ {
		sumDld += dld[r]
	}
	for i := range l.dim {
		t := math.Tanh(w[i])
		e := math.Exp(sign * t)
		dt := sign * sumDld
		for r := 0; r < n; r++ {
			k := r*l.dim + i
			din[k] = dout[k] * e
			dt += sign * dout[k] * out[k]
		}
		g[i] += dt * (1 - t*t)
	}
}

// Householder is the reflection x = z - 2 v (v.z) / (v.v): orthogonal,
// its own inverse, log-det 0. It mixes the coordinates that coupling
// blocks keep apart.
type Householder struct {
	dim int
	V   nn.Param
}

// NewHouseholder registers a reflection with a random unit normal.
func NewHouseholder(s *nn.Set, name string, dim int, rng *rand.Rand) *Householder {
	l := &Householder{dim: dim, V: s.Add(name+".normal", dim)}
	v := l.V.Of(s.Values)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return l
}

func (l *Householder) Dim() int      { return l.dim }
func (l *Householder) NewCache() any { return nil }

func (l *Householder) Pass(dir Direction, p []float64, n int, in, out, ld []float64, c any) {
	v := l.V.Of(p)
	q := dot(v, v)
	for r := 0; r < n; r++ {
		z, x := in[r*l.dim:(r+1)*l.dim], out[r*l.dim:(r+1)*l.dim]
		a := 2 * dot(v, z) / q
		for i := range x {
			x[i] = z[i] - a*v[i]
		}
	}
}

func (l *Householder) Backward(p, grad []float64, n int, in, out, dout, dld, din []float64, c any) {
	v, g := l.V.Of(p), l.V.Of(grad)
	q := dot(v, v)
	for r := 0; r < n; r++ {
		z, dx, dz := in[r*l.dim:(r+1)*l.dim], dout[r*l.dim:(r+1)*l.dim], din[r*l.dim:(r+1)*l.dim]
		a, d := dot(v, z), dot(v, dx)
		for i := range dz {
			dz[i] = dx[i] - 2*d*v[i]/q
			// d/dv of dx.(z - 2 a v / q) = -2 (d z + a dx) / q + 4 a d v / q^2
			g[i] += -2*(d*z[i]+a*dx[i])/q + 4*a*d*v[i]/(q*q)
		}
	}
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// Standardize is a fixed affine map x = mean + scale * z, set from data or
// a reference structure: it lets a flow whose blocks start as the identity
// begin at the scale and place of the molecule. Its numbers are saved with
// the model but not trained.
type Standardize struct {
	dim         int
	Mean, Scale nn.Param
}

// NewStandardize registers the map with the given mean and scale (a nil
// mean is 0, a nil scale is 1).
func NewStandardize(s *nn.Set, name string, mean, scale []float64, dim int) *Standardize {
	l := &Standardize{dim: dim, Mean: s.AddFrozen(name+".mean", dim), Scale: s.AddFrozen(name+".scale", dim)}
	copy(l.Mean.Of(s.Values), mean)
	sc := l.Scale.Of(s.Values)
	for i := range sc {
		sc[i] = 1
		if scale != nil {
			sc[i] = scale[i]
		}
	}
	return l
}

func (l *Standardize) Dim() int      { return l.dim }
func (l *Standardize) NewCache() any { return new(Direction) }

func (l *Standardize) Pass(dir Direction, p []float64, n int, in, out, ld []float64, c any) {
	*c.(*Direction) = dir
	m, s := l.Mean.Of(p), l.Scale.Of(p)
	var logdet float64
	for _, v := range s {
		logdet += math.Log(v)
	}
	for r := 0; r < n; r++ {
		for i := range l.dim {
			k := r*l.dim + i
			if dir == Invert {
				out[k] = (in[k] - m[i]) / s[i]
			} else {
				out[k] = m[i] + s[i]*in[k]
			}
		}
		if dir == Invert {
			ld[r] -= logdet
		} else {
			ld[r] += logdet
		}
	}
}

func (l *Standardize) Backward(p, grad []float64, n int, in, out, dout, dld, din []float64, c any) {
	s := l.Scale.Of(p)
	inv := *c.(*Direction) == Invert
	for r := 0; r < n; r++ {
		for i := range l.dim {
			k := r*l.dim + i
			if inv {
				din[k] = dout[k] / s[i]
			} else {
				din[k] = dout[k] * s[i]
			}
		}
	}
}
