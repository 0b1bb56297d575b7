package nn

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

func TestBackendMatchesGonum(t *testing.T) {
	name, note := Backend()
	t.Logf("BLAS backend %s %s", name, note)
	if os.Getenv("CI") == "true" && strings.Contains(note, "not loaded") {
		// CI installs OpenBLAS (scripts/test.sh): the fast path must be the
		// one tested there.
		t.Errorf("CI runs on gonum's GEMM: %s", note)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		ta, tb  bool
		m, n, k int
	}{{false, false, 7, 5, 3}, {true, false, 4, 9, 6}, {false, true, 8, 2, 5}, {true, true, 3, 3, 11}, {false, false, 256, 15, 256}} {
		rowsA, colsA := c.m, c.k
		if c.ta {
			rowsA, colsA = c.k, c.m
		}
		rowsB, colsB := c.k, c.n
		if c.tb {
			rowsB, colsB = c.n, c.k
		}
		a, b := randSlice(rng, rowsA*colsA), randSlice(rng, rowsB*colsB)
		got, want := randSlice(rng, c.m*c.n), make([]float64, c.m*c.n)
		copy(want, got)
		gemm(c.ta, c.tb, c.m, c.n, c.k, 0.7, a, colsA, b, colsB, 0.3, got, c.n)
		tA, tB := blas.NoTrans, blas.NoTrans
		if c.ta {
			tA = blas.Trans
		}
		if c.tb {
			tB = blas.Trans
		}
		gonum.Implementation{}.Dgemm(tA, tB, c.m, c.n, c.k, 0.7, a, colsA, b, colsB, 0.3, want, c.n)
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
				t.Fatalf("%+v: element %d is %g, gonum says %g", c, i, got[i], want[i])
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

func TestDenseIsAffine(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := NewSet()
	d := NewDense[float64](s, "l", 3, 2, rng)
	x := []float64{1, 2, 3, -1, 0, 0.5}
	y := make([]float64, 4)
	d.Forward(s.Values, 2, x, y)
	w, b := d.W.Of(s.Values), d.B.Of(s.Values)
	for r := 0; r < 2; r++ {
		for j := 0; j < 2; j++ {
			want := b[j]
			for i := 0; i < 3; i++ {
				want += x[r*3+i] * w[i*2+j]
			}
			if math.Abs(y[r*2+j]-want) > 1e-14 {
				t.Errorf("y[%d,%d] = %g, want %g", r, j, y[r*2+j], want)
			}
		}
	}
	bound := 1 / math.Sqrt(3)
	for _, v := range s.Values {
		if math.Abs(v) > bound || v == 0 {
			t.Errorf("initial value %g outside (-%g, %g) or exactly 0", v, bound, bound)
		}
	}
}

// TestMLPGradients checks the backward pass of a CELU and a tanh MLP
// against central finite differences of a scalar function of the
// outputs, for the parameters and the inputs.
func TestMLPGradients(t *testing.T) {
	for _, act := range []Activation{CELU, Tanh, Identity} {
		t.Run(act.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			s := NewSet()
			m := NewMLP[float64](s, "mlp", []int{4, 16, 8, 3}, act, false, rng)
			n := 5
			x := randSlice(rng, n*4)
			weights := randSlice(rng, n*3) // loss = sum weights * out
			loss := func(params, x []float64) float64 {
				out := make([]float64, n*3)
				m.Forward(params, n, x, out, &MLPCache[float64]{})
				var l float64
				for i, v := range out {
					l += weights[i] * v
				}
				return l
			}
			var c MLPCache[float64]
			out := make([]float64, n*3)
			m.Forward(s.Values, n, x, out, &c)
			grad := make([]float64, s.Len())
			dx := make([]float64, n*4)
			m.Backward(s.Values, grad, n, x, weights, dx, &c)
			const h = 1e-6
			check := func(what string, v []float64, i int, analytic float64, params, xx []float64) {
				old := v[i]
				v[i] = old + h
				lp := loss(params, xx)
				v[i] = old - h
				lm := loss(params, xx)
				v[i] = old
				fd := (lp - lm) / (2 * h)
				if math.Abs(fd-analytic) > 1e-7*(1+math.Abs(fd)) {
					t.Errorf("%s %d: backward %.10g, finite difference %.10g", what, i, analytic, fd)
				}
			}
			for i := range s.Values {
				check("parameter", s.Values, i, grad[i], s.Values, x)
			}
			for i := range x {
				check("input", x, i, dx[i], s.Values, x)
			}
		})
	}
}

func TestZeroLastLayerGivesZeroOutput(t *testing.T) {
	s := NewSet()
	m := NewMLP[float64](s, "mlp", []int{2, 8, 2}, CELU, true, rand.New(rand.NewPCG(1, 1)))
	out := []float64{9, 9, 9, 9}
	m.Forward(s.Values, 2, []float64{1, 2, 3, 4}, out, &MLPCache[float64]{})
	for _, v := range out {
		if v != 0 {
			t.Fatalf("outputs %v", out)
		}
	}
}

// TestAdamFirstSteps: Adam's first step moves every parameter by exactly
// the learning rate against the sign of its gradient (bias correction),
// and on f(x) = (x-3)^2/2 it converges.
func TestAdamFirstSteps(t *testing.T) {
	a := NewAdam(3)
	x := []float64{1, -2, 0.5}
	a.Step(x, []float64{0.3, -7, 1e-3}, 0.1)
	want := []float64{0.9, -1.9, 0.4}
	for i := range x {
		if math.Abs(x[i]-want[i]) > 1e-6 {
			t.Errorf("after one step x[%d] = %.8f, want %.8f", i, x[i], want[i])
		}
	}
	y := []float64{10}
	opt := NewAdam(1)
	for k := 0; k < 3000; k++ {
		opt.Step(y, []float64{y[0] - 3}, 0.05)
	}
	if math.Abs(y[0]-3) > 1e-3 {
		t.Errorf("Adam ended at %g, the minimum is 3", y[0])
	}
}

// TestAdamGroups: a group without gradient keeps its values and state.
func TestAdamGroups(t *testing.T) {
	a := NewAdam(4, 2)
	x := []float64{1, 1, 1, 1}
	a.Step(x, []float64{1, 1, 1, 1}, 0.1)
	a.Step(x, []float64{1, 1, 0, 0}, 0.1)
	if x[2] != x[3] || math.Abs(x[2]-0.9) > 1e-6 || a.T[0] != 2 || a.T[1] != 1 || math.Abs(a.M[2]-0.1) > 1e-15 {
		t.Errorf("values %v, step counts %v", x, a.T)
	}
	if math.Abs(x[0]-0.8) > 1e-6 {
		t.Errorf("the first group ended at %g, want 0.8", x[0])
	}
}

func TestClipNorm(t *testing.T) {
	g := []float64{3, 4}
	if n := ClipNorm(g, 1); n != 5 || math.Abs(Norm(g)-1) > 1e-15 {
		t.Errorf("norm %g, clipped to %v", n, g)
	}
	g = []float64{3, 4}
	ClipNorm(g, 0)
	if g[0] != 3 {
		t.Errorf("clip 0 changed the gradient")
	}
}

func TestSetNames(t *testing.T) {
	s := NewSet()
	a := s.Add("a", 2, 3)
	b := s.Add("b", 4)
	if a.Offset != 0 || a.Size != 6 || b.Offset != 6 || s.Len() != 10 {
		t.Errorf("layout %+v %+v", a, b)
	}
	if p, ok := s.Lookup("b"); !ok || p.Offset != 6 {
		t.Errorf("lookup b: %+v %v", p, ok)
	}
	defer func() {
		if recover() == nil {
			t.Error("a duplicate name was accepted")
		}
	}()
	s.Add("a", 1)
}

// TestFloat32MatchesFloat64: the same network in float32 gives the float64
// outputs and gradients to float32 precision, through Sgemm and the
// float32 CELU.
func TestFloat32MatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	s := NewSet()
	m := NewMLP[float64](s, "mlp", []int{15, 256, 15}, CELU, false, rng)
	m32 := Retype[float32](m, 0)
	n := 64
	x := randSlice(rng, n*15)
	dout := randSlice(rng, n*15)
	out := make([]float64, n*15)
	var c MLPCache[float64]
	m.Forward(s.Values, n, x, out, &c)
	grad, dx := make([]float64, s.Len()), make([]float64, n*15)
	m.Backward(s.Values, grad, n, x, dout, dx, &c)

	p32 := s.Values32(nil)
	x32, dout32 := to32(x), to32(dout)
	out32 := make([]float32, n*15)
	var c32 MLPCache[float32]
	m32.Forward(p32, n, x32, out32, &c32)
	grad32, dx32 := make([]float32, s.Len()), make([]float32, n*15)
	m32.Backward(p32, grad32, n, x32, dout32, dx32, &c32)
	for _, pair := range []struct {
		name string
		a    []float64
		b    []float32
	}{{"outputs", out, out32}, {"gradients", grad, grad32}, {"input cotangents", dx, dx32}} {
		scale := Norm(pair.a) / math.Sqrt(float64(len(pair.a)))
		for i, v := range pair.a {
			if math.Abs(v-float64(pair.b[i])) > 2e-5*(scale+math.Abs(v)) {
				t.Fatalf("%s %d: float64 %g, float32 %g", pair.name, i, v, pair.b[i])
			}
		}
	}
}

func to32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
