package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpm1Neg(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	check := func(x float64) {
		got, want := expm1Neg(x), math.Expm1(x)
		if err := math.Abs(got-want) / math.Max(math.Abs(want), 1e-300); err > worst {
			worst = err
		}
	}
	for i := 0; i < 200000; i++ {
		check(-40 * rng.Float64())
		check(-1e-3 * rng.Float64())
		check(-math.Exp(-40 * rng.Float64()))
	}
	for _, x := range []float64{0, -0.5 * math.Ln2, -math.Ln2, -1, -49.9, -50, -700, -1e300, math.Inf(-1)} {
		check(x)
	}
	if worst > 4e-16 {
		t.Errorf("largest relative error %g", worst)
	}
	t.Logf("largest relative error %g", worst)
}

func TestExpm1Neg32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	worst := 0.0
	for i := 0; i < 200000; i++ {
		x := float32(-25 * rng.Float64())
		if i%2 == 0 {
			x = float32(-math.Exp(-20 * rng.Float64()))
		}
		got, want := float64(expm1Neg32(x)), math.Expm1(float64(x))
		if err := math.Abs(got-want) / math.Abs(want); err > worst {
			worst = err
		}
	}
	if worst > 3e-7 {
		t.Errorf("largest relative error %g", worst)
	}
	t.Logf("largest relative error %g", worst)
}

func BenchmarkExpm1(b *testing.B) {
	x := make([]float64, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = -3 * rng.Float64()
	}
	var s float64
	b.Run("math", func(b *testing.B) {
		for b.Loop() {
			for _, v := range x {
				s += math.Expm1(v)
			}
		}
	})
	b.Run("expm1Neg", func(b *testing.B) {
		for b.Loop() {
			for _, v := range x {
				s += expm1Neg(v)
			}
		}
	})
	_ = s
}
