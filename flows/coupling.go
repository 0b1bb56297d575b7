package flows

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/flowmd/flowmd/nn"
)

// CouplingKind is how a coupling block changes its transformed half.
type CouplingKind int

const (
	// Multiplicative: x_A = z_A * M(z_B) with M = exp(tanh(net(z_B))), the
	// thesis' bounded scale (|log M| <= 1 per block).
	Multiplicative CouplingKind = iota
	// Additive: x_A = z_A + net(z_B), volume-preserving.
	Additive
)

func (k CouplingKind) String() string {
	if k == Additive {
		return "additive"
	}
	return "multiplicative"
}

// Coupling is a RealNVP coupling block: the coordinates A are transformed
// by a function of the coordinates B, which pass through unchanged.
type Coupling struct {
	dim  int
	A, B []int
	Kind CouplingKind
	Net  *nn.MLP[float64]

	// With p32 set, the network runs in float32 on a float32 copy of the
	// parameters that the flow refreshes before each pass: twice the GEMM
	// speed and half the memory traffic. The coupling arithmetic itself
	// stays in float64, and the network's output depends only on the
	// untouched half, so F(G(z)) = z holds as exactly as in float64.
	p32    *[]float32
	net32  *nn.MLP[float32]
	lo, hi int // the network's parameters in the flat vector
}

// NewCoupling registers a coupling block on dim coordinates whose network
// is an MLP |B| -> hidden... -> |A| with CELU. The last layer starts at
// zero, so the block starts as the identity.
func NewCoupling(s *nn.Set, name string, dim int, a, b []int, kind CouplingKind, hidden []int, rng *rand.Rand) *Coupling {
	if err := checkPartition(dim, a, b); err != nil {
		panic("flows: " + name + ": " + err.Error())
	}
	sizes := append(append([]int{len(b)}, hidden...), len(a))
	l := &Coupling{dim: dim, A: a, B: b, Kind: kind, Net: nn.NewMLP[float64](s, name, sizes, nn.CELU, true, rng)}
	l.lo, l.hi = l.Net.Span()
	return l
}

// useFloat32 makes the network compute in float32 from *p32, a float32
// copy of the flow's parameters.
func (l *Coupling) useFloat32(p32 *[]float32) {
	l.p32 = p32
	l.net32 = nn.Retype[float32](l.Net, l.lo)
}

func checkPartition(dim int, a, b []int) error {
	seen := make([]bool, dim)
	for _, i := range append(append([]int(nil), a...), b...) {
		if i < 0 || i >= dim || seen[i] {
			return fmt.Errorf("index %d out of range or repeated", i)
		}
		seen[i] = true
	}
	if len(a) == 0 || len(b) == 0 {
		return fmt.Errorf("both halves must be non-empty")
	}
	return nil
}

func (l *Coupling) Dim() int { return l.dim }

type couplingCache struct {
	dir   Direction
	mlp   nn.MLPCache[float64]
	cond  []float64 // n x |B|, the network's input
	s     []float64 // n x |A|, net output (tanh of it when multiplicative)
	dcond []float64
	ds    []float64

	// float32 networks
	mlp32                   nn.MLPCache[float32]
	cond32, s32, ds32, dc32 []float32
	grad32                  []float32 // this network's gradient only
}

func (l *Coupling) NewCache() any { return &couplingCache{} }

func (l *Coupling) Pass(dir Direction, p []float64, n int, in, out, ld []float64, cache any) {
	c := cache.(*couplingCache)
	c.dir = dir
	na, nb := len(l.A), len(l.B)
	c.cond = grow(c.cond, n*nb)
	c.s = grow(c.s, n*na)
	for r := 0; r < n; r++ {
		row := in[r*l.dim : (r+1)*l.dim]
		for j, i := range l.B {
			c.cond[r*nb+j] = row[i]
		}
	}
	if l.net32 != nil {
		c.cond32 = grow32(c.cond32, n*nb)
		c.s32 = grow32(c.s32, n*na)
		convert(c.cond32, c.cond)
		l.net32.Forward((*l.p32)[l.lo:l.hi], n, c.cond32, c.s32, &c.mlp32)
		convert(c.s, c.s32)
	} else {
		l.Net.Forward(p, n, c.cond, c.s, &c.mlp)
	}
	copy(out[:n*l.dim], in[:n*l.dim])
	sign := 1.0
	if dir == Invert {
		sign = -1
	}
	for r := 0; r < n; r++ {
		s := c.s[r*na : (r+1)*na]
		x, y := in[r*l.dim:(r+1)*l.dim], out[r*l.dim:(r+1)*l.dim]
		if l.Kind == Additive {
			for j, i := range l.A {
				y[i] = x[i] + sign*s[j]
			}
			continue
		}
		var sum float64
		for j, i := range l.A {
			t := math.Tanh(s[j])
			s[j] = t
			sum += t
			y[i] = x[i] * math.Exp(sign*t)
		}
		ld[r] += sign * sum
	}
}

func (l *Coupling) Backward(p, grad []float64, n int, in, out, dout, dld, din []float64, cache any) {
	c := cache.(*couplingCache)
	na, nb := len(l.A), len(l.B)
	c.ds = grow(c.ds, n*na)
	c.dcond = grow(c.dcond, n*nb)
	copy(din[:n*l.dim], dout[:n*l.dim])
	sign := 1.0
	if c.dir == Invert {
		sign = -1
	}
	for r := 0; r < n; r++ {
		dy, dx := dout[r*l.dim:(r+1)*l.dim], din[r*l.dim:(r+1)*l.dim]
		ds := c.ds[r*na : (r+1)*na]
		if l.Kind == Additive {
			for j, i := range l.A {
				ds[j] = sign * dy[i]
			}
			continue
		}
		// y_A = x_A exp(sign t), t = tanh(net); log-det sign * sum t.
		s, y := c.s[r*na:(r+1)*na], out[r*l.dim:(r+1)*l.dim]
		for j, i := range l.A {
			t := s[j]
			dx[i] = dy[i] * math.Exp(sign*t)
			dt := sign * (dy[i]*y[i] + dld[r])
			ds[j] = dt * (1 - t*t)
		}
	}
	if l.net32 != nil {
		c.ds32 = grow32(c.ds32, n*na)
		c.dc32 = grow32(c.dc32, n*nb)
		c.grad32 = grow32(c.grad32, l.hi-l.lo)
		clear(c.grad32)
		convert(c.ds32, c.ds)
		l.net32.Backward((*l.p32)[l.lo:l.hi], c.grad32, n, c.cond32, c.ds32, c.dc32, &c.mlp32)
		convert(c.dcond, c.dc32)
		g := grad[l.lo:l.hi]
		for i, v := range c.grad32 {
			g[i] += float64(v)
		}
	} else {
		l.Net.Backward(p, grad, n, c.cond, c.ds, c.dcond, &c.mlp)
	}
	for r := 0; r < n; r++ {
		dx := din[r*l.dim : (r+1)*l.dim]
		for j, i := range l.B {
			dx[i] += c.dcond[r*nb+j]
		}
	}
}

func grow32(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// convert copies src into dst, changing the element type.
func convert[D, S float32 | float64](dst []D, src []S) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = D(v)
	}
}
