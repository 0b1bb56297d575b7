package integrators

import (
	"context"
	"math"
	"testing"
)

// Statistical tests compare averages with exact values. The estimates come
// from independent walkers: each walker's time average is one estimate, and
// the spread between walkers gives the standard error, whatever the
// correlation time. A test fails when the difference exceeds 5 standard
// errors (a chance of about 6e-7 for a correct sampler).
const sigmas = 5

func ones(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

// runHarmonic samples a 4-dimensional harmonic oscillator with stiffnesses
// 1, 4, 0.25, 9 at kT = 1.5 with the move, and checks the variance of every
// coordinate, kT/k, and for dynamics the kinetic temperature.
func runHarmonic(t *testing.T, name string, mv Move, masses []float64, steps int) {
	t.Helper()
	ctx := context.Background()
	k := []float64{1, 4, 0.25, 9}
	const walkers, kT = 64, 1.5
	s, err := NewState(ctx, harmonic{k}, make([]float64, walkers*len(k)), masses, ReducedUnits, kT, 42)
	if err != nil {
		t.Fatal(err)
	}
	s.InitVelocities()
	d := &Driver{Schedule: Schedule{{mv, 1}}, Equilibration: int64(steps / 5)}
	if err := d.Run(ctx, s, int64(steps/5)); err != nil {
		t.Fatal(err)
	}
	sums := make([][]float64, len(k))
	for i := range sums {
		sums[i] = make([]float64, walkers)
	}
	temps := make([]float64, walkers)
	d.Observers = []Observer{func(s *State) error {
		for w := 0; w < walkers; w++ {
			for i := range k {
				x := s.X[w*len(k)+i]
				sums[i][w] += x * x
			}
			temps[w] += s.Temperature(w)
		}
		return nil
	}}
	if err := d.Run(ctx, s, int64(steps)); err != nil {
		t.Fatal(err)
	}
	for i := range k {
		for w := range sums[i] {
			sums[i][w] /= float64(steps)
		}
		got, se := meanSE(sums[i])
		want := kT / k[i]
		if math.Abs(got-want) > sigmas*se {
			t.Errorf("%s: <x%d^2> = %.5f +- %.5f, exact kT/k = %.5f", name, i, got, se, want)
		}
		t.Logf("%s: <x%d^2> = %.5f +- %.5f, exact %.5f", name, i, got, se, want)
	}
	if _, dyn := mv.(*Langevin); dyn {
		for w := range temps {
			temps[w] /= float64(steps)
		}
		got, se := meanSE(temps)
		if math.Abs(got-kT) > sigmas*se {
			t.Errorf("%s: kinetic temperature %.5f +- %.5f, want %.5f", name, got, se, kT)
		}
	}
	st := mv.Stats()
	t.Logf("%s: acceptance %.3f over %d attempts", name, st.Acceptance(), st.Attempted)
}

func TestHarmonicLangevin(t *testing.T) {
	mv, err := NewLangevin(0.05, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	runHarmonic(t, "langevin", mv, []float64{1, 2, 1, 0.5}, 20000)
}

func TestHarmonicRandomWalk(t *testing.T) {
	p, err := NewRandomWalk(0.5, 0, 0.4)
	if err != nil {
		t.Fatal(err)
	}
	runHarmonic(t, "random walk", NewMetropolis(p), ones(4), 20000)
}

func TestHarmonicRandomWalkOneCoordinate(t *testing.T) {
	p, err := NewRandomWalk(0.5, 1, 0.4)
	if err != nil {
		t.Fatal(err)
	}
	runHarmonic(t, "random walk, one coordinate", NewMetropolis(p), ones(4), 40000)
}

func TestHarmonicMALA(t *testing.T) {
	p, err := NewMALA(0.05, 0.574)
	if err != nil {
		t.Fatal(err)
	}
	runHarmonic(t, "mala", NewMetropolis(p), []float64{1, 2, 1, 0.5}, 20000)
}

func TestHarmonicHMC(t *testing.T) {
	mv, err := NewHMC(5, 0.1, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	runHarmonic(t, "hmc", mv, []float64{1, 2, 1, 0.5}, 6000)
}

// TestDoubleWellReplicaExchange samples a tilted double well whose barrier
// (about 7 kT at the lowest temperature) random walks alone rarely cross,
// with replica exchange over a ladder up to kT = 4, by Monte Carlo and by
// Langevin dynamics, and compares the left-well fraction at the lowest
// temperature with the quadrature.
func TestDoubleWellReplicaExchange(t *testing.T) {
	q := quartic{a: 1, b: 4, c: 0.6}
	ladder := GeometricLadder(0.6, 4, 6)
	want := q.leftFraction(ladder[0])
	xb := q.barrier()
	const groups = 24
	ctx := context.Background()
	for _, kind := range []string{"monte carlo", "langevin"} {
		var mv Move
		if kind == "monte carlo" {
			p, err := NewRandomWalk(0.3, 0, 0.5)
			if err != nil {
				t.Fatal(err)
			}
			mv = NewMetropolis(p)
		} else {
			l, err := NewLangevin(0.02, 5, false)
			if err != nil {
				t.Fatal(err)
			}
			mv = l
		}
		re, err := NewReplicaExchange(ladder)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, groups*len(ladder))
		for i := range x {
			x[i] = 1.4 // every walker starts in the right well
		}
		s, err := NewState(ctx, q, x, []float64{1}, ReducedUnits, 1, 7)
		if err != nil {
			t.Fatal(err)
		}
		if err := re.Setup(s); err != nil {
			t.Fatal(err)
		}
		s.InitVelocities()
		d := &Driver{Schedule: Schedule{{mv, 10}, {re, 1}}, Equilibration: 2000}
		if err := d.Run(ctx, s, 4000); err != nil {
			t.Fatal(err)
		}
		left := make([]float64, groups)
		counts := make([]float64, groups)
		d.Observers = []Observer{func(s *State) error {
			for w, r := range s.TempIndex {
				if r == 0 {
					g := w / len(ladder)
					counts[g]++
					if s.X[w] < xb {
						left[g]++
					}
				}
			}
			return nil
		}}
		if err := d.Run(ctx, s, 60000); err != nil {
			t.Fatal(err)
		}
		for g := range left {
			left[g] /= counts[g]
		}
		got, se := meanSE(left)
		if math.Abs(got-want) > sigmas*se {
			t.Errorf("%s: left-well fraction %.4f +- %.4f at kT %.2f, quadrature %.4f", kind, got, se, ladder[0], want)
		}
		t.Logf("%s: left-well fraction %.4f +- %.4f, quadrature %.4f; swap acceptance by pair %.2f", kind, got, se, want, re.PairAcceptance())
	}
}

// TestLangevinStiffKineticTemperature integrates a stiff oscillator with
// omega dt = 0.8, where velocities after a closing half kick would run 16%
// cold: the mid-step velocities Langevin keeps have the right temperature,
// and the positions still have the exact variance.
func TestLangevinStiffKineticTemperature(t *testing.T) {
	ctx := context.Background()
	const walkers, kT = 64, 1.0
	s, err := NewState(ctx, harmonic{[]float64{100, 100, 100}}, make([]float64, 3*walkers), ones(3), ReducedUnits, kT, 5)
	if err != nil {
		t.Fatal(err)
	}
	s.InitVelocities()
	l, err := NewLangevin(0.08, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	d := &Driver{Schedule: Schedule{{l, 1}}}
	if err := d.Run(ctx, s, 1000); err != nil {
		t.Fatal(err)
	}
	temps := make([]float64, walkers)
	vars := make([]float64, walkers)
	const steps = 10000
	d.Observers = []Observer{func(s *State) error {
		for w := range temps {
			temps[w] += s.Temperature(w) / steps
			x := s.Walker(w)
			vars[w] += (x[0]*x[0] + x[1]*x[1] + x[2]*x[2]) / 3 / steps
		}
		return nil
	}}
	if err := d.Run(ctx, s, steps); err != nil {
		t.Fatal(err)
	}
	gotT, seT := meanSE(temps)
	gotV, seV := meanSE(vars)
	if math.Abs(gotT-kT) > sigmas*seT || math.Abs(gotV-kT/100) > sigmas*seV {
		t.Errorf("kinetic temperature %.4f +- %.4f (want %g), position variance %.5f +- %.5f (want %g)", gotT, seT, kT, gotV, seV, kT/100)
	}
	t.Logf("omega dt 0.8: kinetic temperature %.4f +- %.4f, position variance %.6f +- %.6f (exact 0.01)", gotT, seT, gotV, seV)
}
