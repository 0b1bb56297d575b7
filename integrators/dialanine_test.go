package integrators

import (
	"context"
	"math"
	"runtime"
	"testing"

	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/topology"
)

// dialanine returns the CHARMM model of the alanine dipeptide, its masses
// per coordinate and its minimized structure.
func dialanine(t testing.TB, opts charmm.Options) (*charmm.Model, []float64, []float64) {
	t.Helper()
	psf, err := topology.ReadPSFFile("../data/systems/dialanine/dialanine.psf")
	if err != nil {
		t.Fatal(err)
	}
	params, err := topology.ReadParameterFiles("../data/toppar/par_all36m_prot.prm")
	if err != nil {
		t.Fatal(err)
	}
	sys, err := topology.Assign(psf, params)
	if err != nil {
		t.Fatal(err)
	}
	m, err := charmm.New(sys, opts, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := topology.ReadCoordinates("../data/systems/dialanine/dialanine.pdb")
	if err != nil {
		t.Fatal(err)
	}
	return m, AtomMasses(sys.Masses()), s.Models[0]
}

func repeat(x []float64, n int) []float64 {
	out := make([]float64, 0, n*len(x))
	for i := 0; i < n; i++ {
		out = append(out, x...)
	}
	return out
}

// TestDialanineTemperature runs Langevin dynamics at 300 K, 1 fs, with
// centre-of-mass motion removed, and checks that the kinetic temperature,
// counted over 3N - 3 degrees of freedom, averages 300 K. A friction of
// 5/ps decorrelates the kinetic energy in 0.1 ps, so the estimate is good to
// about 0.7 K: a bias of 2% (what end-of-step velocities would show) fails.
func TestDialanineTemperature(t *testing.T) {
	ctx := context.Background()
	m, masses, x0 := dialanine(t, charmm.Options{})
	const walkers, kelvin = 64, 300.0
	s, err := NewState(ctx, m, repeat(x0, walkers), masses, MDUnits, KT(kelvin), 1)
	if err != nil {
		t.Fatal(err)
	}
	s.InitVelocities()
	l, err := NewLangevin(0.001, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	d := &Driver{Schedule: Schedule{{l, 1}}}
	if err := d.Run(ctx, s, 1000); err != nil {
		t.Fatal(err)
	}
	temps := make([]float64, walkers)
	const steps = 10000
	d.Observers = []Observer{func(s *State) error {
		for w := range temps {
			temps[w] += s.Temperature(w) / Boltzmann
		}
		return nil
	}}
	if err := d.Run(ctx, s, steps); err != nil {
		t.Fatal(err)
	}
	for w := range temps {
		temps[w] /= steps
	}
	got, se := meanSE(temps)
	if s.DOF() != 63 {
		t.Errorf("degrees of freedom %d, want 3*22-3", s.DOF())
	}
	if math.Abs(got-kelvin) > sigmas*se {
		t.Errorf("kinetic temperature %.2f +- %.2f K, want %.0f K", got, se, kelvin)
	}
	t.Logf("kinetic temperature %.2f +- %.2f K over %d walkers x %d steps", got, se, walkers, steps)
}

// TestDialanineEnergyConservation runs velocity Verlet at 0.5 fs from a
// 300 K start and checks that the total energy neither drifts nor
// fluctuates beyond what a 0.5 fs step gives a flexible molecule.
func TestDialanineEnergyConservation(t *testing.T) {
	ctx := context.Background()
	m, masses, x0 := dialanine(t, charmm.Options{})
	s, err := NewState(ctx, m, x0, masses, MDUnits, KT(300), 3)
	if err != nil {
		t.Fatal(err)
	}
	s.InitVelocities()
	vv, err := NewVelocityVerlet(0.0005)
	if err != nil {
		t.Fatal(err)
	}
	const steps = 20000 // 10 ps
	var ts, es []float64
	d := &Driver{Schedule: Schedule{{vv, 1}}, Observers: []Observer{func(s *State) error {
		ts = append(ts, s.Time)
		es = append(es, s.U[0]+s.KineticEnergy(0))
		return nil
	}}}
	if err := d.Run(ctx, s, steps); err != nil {
		t.Fatal(err)
	}
	slope, fluct := linearFit(ts, es)
	ke := 0.5 * float64(s.DOF()) * KT(300)
	t.Logf("NVE 0.5 fs, 10 ps: drift %.2e kcal/mol/ps, fluctuation %.2e kcal/mol (kinetic energy about %.1f)", slope, fluct, ke)
	if math.Abs(slope) > 1e-3 {
		t.Errorf("total energy drifts by %.2e kcal/mol/ps", slope)
	}
	if fluct > 0.02 {
		t.Errorf("total energy fluctuates by %.3f kcal/mol", fluct)
	}
}

// linearFit returns the least-squares slope of y(t) and the standard
// deviation of the residuals.
func linearFit(t, y []float64) (slope, residual float64) {
	n := float64(len(t))
	var mt, my float64
	for i := range t {
		mt += t[i]
		my += y[i]
	}
	mt /= n
	my /= n
	var stt, sty float64
	for i := range t {
		stt += (t[i] - mt) * (t[i] - mt)
		sty += (t[i] - mt) * (y[i] - my)
	}
	slope = sty / stt
	var ss float64
	for i := range t {
		r := y[i] - my - slope*(t[i]-mt)
		ss += r * r
	}
	return slope, math.Sqrt(ss / n)
}

// TestReproducibleAcrossThreads runs the same seeded simulation (Langevin,
// random walk, MALA and HMC with replica exchange, 64 walkers) with one and
// with two threads: every position must be the same bit for bit.
func TestReproducibleAcrossThreads(t *testing.T) {
	run := func(procs int) []float64 {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		ctx := context.Background()
		m, masses, x0 := dialanine(t, charmm.Options{})
		s, err := NewState(ctx, m, repeat(x0, 64), masses, MDUnits, KT(300), 99)
		if err != nil {
			t.Fatal(err)
		}
		re, _ := NewReplicaExchange(GeometricLadder(KT(300), KT(600), 4))
		if err := re.Setup(s); err != nil {
			t.Fatal(err)
		}
		s.InitVelocities()
		l, _ := NewLangevin(0.001, 1, false)
		rw, _ := NewRandomWalk(0.02, 3, 0.4)
		mala, _ := NewMALA(1e-6, 0.574)
		hmc, _ := NewHMC(3, 0.0005, 0.7)
		d := &Driver{Schedule: Schedule{{l, 5}, {NewMetropolis(rw), 2}, {NewMetropolis(mala), 2}, {hmc, 1}, {re, 1}}, Equilibration: 20}
		if err := d.Run(ctx, s, 66); err != nil {
			t.Fatal(err)
		}
		return append(append([]float64(nil), s.X...), s.V...)
	}
	a, b := run(1), run(2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("coordinate %d differs between one and two threads: %.17g vs %.17g", i, a[i], b[i])
		}
	}
}

// TestMinimize lowers strained dialanine configurations to the force
// tolerance.
func TestMinimize(t *testing.T) {
	ctx := context.Background()
	m, masses, x0 := dialanine(t, charmm.Options{})
	x := repeat(x0, 3)
	for i := range x {
		x[i] += 0.15 * math.Sin(float64(7*i)) // deterministic strain
	}
	s, err := NewState(ctx, m, x, masses, MDUnits, KT(300), 1)
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float64(nil), s.U...)
	res, err := Minimize(ctx, s, MinimizeOptions{ForceTolerance: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	for w, r := range res {
		if !r.Converged || r.MaxForce > 0.01 || r.Energy >= before[w] || s.U[w] != r.Energy {
			t.Errorf("walker %d: %+v (energy before %.3f)", w, r, before[w])
		}
		t.Logf("walker %d: %.3f -> %.4f kcal/mol, max force %.4f, %d evaluations, %s", w, before[w], r.Energy, r.MaxForce, r.Evaluations, r.Method)
	}
}
