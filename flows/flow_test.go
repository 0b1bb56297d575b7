package flows

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/flowmd/flowmd/nn"
)

// smallFlow is every layer kind on few coordinates, with parameters moved
// away from their identity start so that every term of every backward pass
// matters.
func smallFlow(t *testing.T, dim int, sp Spec) *Flow {
	t.Helper()
	sp.Dim = dim
	f, err := Build(sp)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, uint64(dim)))
	for _, p := range f.Params.Params() {
		if p.Frozen {
			continue
		}
		for i := range p.Of(f.Params.Values) {
			p.Of(f.Params.Values)[i] += 0.4 * rng.NormFloat64()
		}
	}
	return f
}

func affineSpec() Spec {
	return Spec{Blocks: 2, Hidden: 8, Layers: 2, Householder: 1, Scale: true, Sigma: 0.7,
		Mean: []float64{1, -2, 3, 0.5, 0, 2}, Std: []float64{0.5, 2, 1, 1.5, 0.3, 1}, Seed: 3}
}

func randRows(rng *rand.Rand, n, dim int, scale float64) []float64 {
	x := make([]float64, n*dim)
	for i := range x {
		x[i] = scale * rng.NormFloat64()
	}
	return x
}

func TestInverseOfForward(t *testing.T) {
	for _, dim := range []int{2, 5, 6} {
		sp := affineSpec()
		sp.Mean, sp.Std = sp.Mean[:dim], sp.Std[:dim]
		f := smallFlow(t, dim, sp)
		rng := rand.New(rand.NewPCG(1, 2))
		n := 300 // several workers and chunks
		z := randRows(rng, n, dim, 1.5)
		x, zz := make([]float64, n*dim), make([]float64, n*dim)
		ldG, ldF := make([]float64, n), make([]float64, n)
		f.Forward(n, z, x, ldG, false)
		f.Inverse(n, x, zz, ldF, false)
		for i := range z {
			if math.Abs(zz[i]-z[i]) > 1e-10 {
				t.Fatalf("dim %d: F(G(z)) differs from z at %d: %.15g vs %.15g", dim, i, zz[i], z[i])
			}
		}
		for r := range ldG {
			if math.Abs(ldG[r]+ldF[r]) > 1e-10 {
				t.Fatalf("dim %d row %d: log-det of G %.12g, of F %.12g: not opposite", dim, r, ldG[r], ldF[r])
			}
		}
	}
}

// jacobianLogDet is log |det dG/dz| at one row by central differences
// with step h.
func jacobianLogDet(f *Flow, dir Direction, in []float64, h float64) float64 {
	dim := len(in)
	J := mat.NewDense(dim, dim, nil)
	out, ld := make([]float64, dim), make([]float64, 1)
	p := append([]float64(nil), in...)
	for j := 0; j < dim; j++ {
		p[j] = in[j] + h
		f.pass(dir, 1, p, out, ld, false)
		plus := append([]float64(nil), out...)
		p[j] = in[j] - h
		f.pass(dir, 1, p, out, ld, false)
		p[j] = in[j]
		for i := 0; i < dim; i++ {
			J.Set(i, j, (plus[i]-out[i])/(2*h))
		}
	}
	logdet, _ := mat.LogDet(J)
	return logdet
}

func TestLogDetIsJacobian(t *testing.T) {
	f := smallFlow(t, 6, affineSpec())
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dir := range []Direction{Generate, Invert} {
		for k := 0; k < 5; k++ {
			in := randRows(rng, 1, 6, 1)
			out, ld := make([]float64, 6), make([]float64, 1)
			f.pass(dir, 1, in, out, ld, false)
			want := jacobianLogDet(f, dir, in, 1e-6)
			if math.Abs(ld[0]-want) > 1e-6 {
				t.Errorf("%v: log-det %.10g, brute-force Jacobian %.10g", dir, ld[0], want)
			}
		}
	}
}

// TestVJPIsFiniteDifference checks the vector-Jacobian product of both
// passes against central differences of L = sum(w * out) + sum(v * ld),
// for every parameter and every input.
func TestVJPIsFiniteDifference(t *testing.T) {
	f := smallFlow(t, 6, affineSpec())
	checkVJP(t, f)
}

func checkVJP(t *testing.T, f *Flow) {
	t.Helper()
	dim := f.Dim()
	rng := rand.New(rand.NewPCG(7, 8))
	n := 40
	for _, dir := range []Direction{Generate, Invert} {
		in := randRows(rng, n, dim, 1)
		if dir == Invert {
			// Inputs in the range of G, where F is well conditioned.
			f.pass(Generate, n, randRows(rng, n, dim, 1), in, make([]float64, n), false)
		}
		w, v := randRows(rng, n, dim, 1), randRows(rng, 1, n, 1)
		loss := func() float64 {
			out, ld := make([]float64, n*dim), make([]float64, n)
			f.pass(dir, n, in, out, ld, false)
			var l float64
			for i := range out {
				l += w[i] * out[i]
			}
			for r := range ld {
				l += v[r] * ld[r]
			}
			return l
		}
		f.ZeroGrad()
		out, ld, din := make([]float64, n*dim), make([]float64, n), make([]float64, n*dim)
		f.pass(dir, n, in, out, ld, true)
		if err := f.VJP(w, v, din); err != nil {
			t.Fatal(err)
		}
		const h = 1e-6
		fd := func(x []float64, i int) float64 {
			old := x[i]
			x[i] = old + h
			lp := loss()
			x[i] = old - h
			lm := loss()
			x[i] = old
			return (lp - lm) / (2 * h)
		}
		bad := 0
		frozen := make([]bool, f.Params.Len())
		for _, p := range f.Params.Params() {
			for i := p.Offset; i < p.Offset+p.Size; i++ {
				frozen[i] = p.Frozen
			}
		}
		for i := range f.Params.Values {
			if frozen[i] {
				if f.Grad[i] != 0 {
					t.Errorf("frozen parameter %d got a gradient", i)
				}
				continue
			}
			if d := fd(f.Params.Values, i); math.Abs(d-f.Grad[i]) > 1e-6*(1+math.Abs(d)) && bad < 5 {
				bad++
				t.Errorf("%v: parameter %d: VJP %.10g, finite difference %.10g", dir, i, f.Grad[i], d)
			}
		}
		for i := range in {
			if d := fd(in, i); math.Abs(d-din[i]) > 1e-6*(1+math.Abs(d)) && bad < 10 {
				bad++
				t.Errorf("%v: input %d: VJP %.10g, finite difference %.10g", dir, i, din[i], d)
			}
		}
	}
}

func TestFreshFlowIsItsBase(t *testing.T) {
	f, err := Build(Spec{Dim: 4, Blocks: 3, Hidden: 16, Sigma: 2})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	z, x, logp := f.Sample(10, rng, false)
	for i := range z {
		if z[i] != x[i] {
			t.Fatalf("a fresh flow moved %g to %g", z[i], x[i])
		}
	}
	for r := range logp {
		// N(0, 4 I) in 4 dimensions.
		var ss float64
		for _, v := range z[r*4 : (r+1)*4] {
			ss += v * v
		}
		want := -ss/8 - 2*math.Log(2*math.Pi*4)
		if math.Abs(logp[r]-want) > 1e-12 {
			t.Errorf("log p %g, want %g", logp[r], want)
		}
	}
	lp := f.LogProb(10, x)
	for r := range lp {
		if math.Abs(lp[r]-logp[r]) > 1e-12 {
			t.Errorf("LogProb %g, Sample said %g", lp[r], logp[r])
		}
	}
}

func TestBuildRejects(t *testing.T) {
	for _, sp := range []Spec{{Dim: 1, Blocks: 1}, {Dim: 4}, {Dim: 4, Blocks: 1, Transform: "glow"}, {Dim: 4, Blocks: 1, Mean: []float64{1}},
		{Dim: 4, Blocks: 1, Periodic: []int{0}}} {
		if _, err := Build(sp); err == nil {
			t.Errorf("%+v was accepted", sp)
		}
	}
}

// TestVJPWithoutKeptPass: a VJP needs a kept pass.
func TestVJPWithoutKeptPass(t *testing.T) {
	f := smallFlow(t, 4, Spec{Blocks: 1})
	x := make([]float64, 8)
	f.Forward(2, x, make([]float64, 8), make([]float64, 2), false)
	if err := f.VJP(x, make([]float64, 2), make([]float64, 8)); err == nil {
		t.Error("a VJP after an unkept pass succeeded")
	}
}

// TestFloat32Flow: with float32 networks the flow is still invertible to
// float64 precision and its log-determinant is still exact (the networks
// only compute the coefficients), and its VJP matches the float64 flow's
// to float32 precision.
func TestFloat32Flow(t *testing.T) {
	sp := affineSpec()
	f64 := smallFlow(t, 6, sp)
	sp.Precision = "float32"
	f32 := smallFlow(t, 6, sp)
	rng := rand.New(rand.NewPCG(3, 3))
	n := 50
	z := randRows(rng, n, 6, 1)
	x, zz, ld, ldF := make([]float64, n*6), make([]float64, n*6), make([]float64, n), make([]float64, n)
	f32.Forward(n, z, x, ld, true)
	f32.Inverse(n, x, zz, ldF, false)
	for i := range z {
		if math.Abs(zz[i]-z[i]) > 1e-10 {
			t.Fatalf("float32 networks: F(G(z)) differs from z at %d: %.15g vs %.15g", i, zz[i], z[i])
		}
	}
	// Finite differences cannot resolve a float32 network's Jacobian; the
	// float64 flow's log-det (checked against it above) can stand in.
	x64, ld64 := make([]float64, n*6), make([]float64, n)
	f64.Forward(n, z, x64, ld64, false)
	for r := range ld {
		if math.Abs(ld[r]-ld64[r]) > 1e-4 {
			t.Errorf("row %d: log-det %.10g with float32 networks, %.10g with float64", r, ld[r], ld64[r])
		}
	}
	w, v := randRows(rng, n, 6, 1), randRows(rng, 1, n, 1)
	dz32, dz64 := make([]float64, n*6), make([]float64, n*6)
	f32.Forward(n, z, x, ld, true)
	if err := f32.VJP(w, v, dz32); err != nil {
		t.Fatal(err)
	}
	f64.Forward(n, z, x, ld, true)
	if err := f64.VJP(w, v, dz64); err != nil {
		t.Fatal(err)
	}
	gscale := nn.Norm(f64.Grad) / math.Sqrt(float64(len(f64.Grad)))
	for i := range f64.Grad {
		if math.Abs(f64.Grad[i]-f32.Grad[i]) > 1e-4*(gscale+math.Abs(f64.Grad[i])) {
			t.Fatalf("parameter %d: float64 gradient %g, float32 %g", i, f64.Grad[i], f32.Grad[i])
		}
	}
	for i := range dz64 {
		if math.Abs(dz64[i]-dz32[i]) > 1e-4*(1+math.Abs(dz64[i])) {
			t.Fatalf("input %d: float64 cotangent %g, float32 %g", i, dz64[i], dz32[i])
		}
	}
}
