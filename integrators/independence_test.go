package integrators

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// gaussian is an independence density on one coordinate, N(mean, sd^2),
// counting its calls.
type gaussian struct {
	mean, sd        float64
	samples, logqs  int
	sampled, logged int // configurations drawn and evaluated
}

func (g *gaussian) logq(x float64) float64 {
	r := (x - g.mean) / g.sd
	return -0.5*r*r - math.Log(g.sd*math.Sqrt(2*math.Pi))
}

func (g *gaussian) Sample(_ context.Context, n int, seed uint64) ([]float64, []float64, error) {
	g.samples++
	g.sampled += n
	r := rand.New(rand.NewPCG(seed, 1))
	x, lq := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = g.mean + g.sd*r.NormFloat64()
		lq[i] = g.logq(x[i])
	}
	return x, lq, nil
}

func (g *gaussian) LogDensity(_ context.Context, x []float64) ([]float64, error) {
	g.logqs++
	g.logged += len(x)
	lq := make([]float64, len(x))
	for i, v := range x {
		lq[i] = g.logq(v)
	}
	return lq, nil
}

// TestIndependenceDoubleWell samples an asymmetric double well with
// independence Metropolis-Hastings moves alone and mixed with a random
// walk, from a proposal density close to the target and from a poor one
// (a single Gaussian off to one side): both give the exact left-well
// fraction by quadrature within error bars; the poor one only accepts less.
func TestIndependenceDoubleWell(t *testing.T) {
	q := quartic{a: 1, b: 4, c: 0.6}
	const kT = 1.0
	want := q.leftFraction(kT)
	xb := q.barrier()
	ctx := context.Background()
	const walkers = 32
	var acceptance []float64
	for _, tc := range []struct {
		name  string
		q     *gaussian
		local bool
	}{
		{"close", &gaussian{mean: 0.3, sd: 1.4}, false},
		{"poor", &gaussian{mean: 1.5, sd: 1.0}, false},
		{"poor, with a random walk", &gaussian{mean: 1.5, sd: 1.0}, true},
	} {
		p, err := NewIndependence(tc.q, 100, 3)
		if err != nil {
			t.Fatal(err)
		}
		flow := NewMetropolis(p)
		flow.Classes = []string{"left", "right"}
		flow.Classify = func(x []float64) int {
			if x[0] < xb {
				return 0
			}
			return 1
		}
		sched := Schedule{{flow, 1}}
		if tc.local {
			rw, err := NewRandomWalk(0.3, 0, 0.5)
			if err != nil {
				t.Fatal(err)
			}
			sched = Schedule{{NewMetropolis(rw), 3}, {flow, 1}}
		}
		x := make([]float64, walkers)
		for i := range x {
			x[i] = 1.4
		}
		s, err := NewState(ctx, q, x, []float64{1}, ReducedUnits, kT, 11)
		if err != nil {
			t.Fatal(err)
		}
		left := make([]float64, walkers)
		// A poor density's chain sticks for long at the configurations
		// where p/q is largest, and reaches them quickly from the start:
		// the equilibration must outlast that transient (with 400 steps
		// the left fraction came out 0.007 high over eight seeds).
		d := &Driver{Schedule: sched, Equilibration: 5000}
		if err := d.Run(ctx, s, 5000); err != nil {
			t.Fatal(err)
		}
		const steps = 40000
		d.Observers = []Observer{func(s *State) error {
			for w, v := range s.X {
				if v < xb {
					left[w]++
				}
			}
			return nil
		}}
		if err := d.Run(ctx, s, steps); err != nil {
			t.Fatal(err)
		}
		for w := range left {
			left[w] /= steps
		}
		got, se := meanSE(left)
		acc := flow.Stats().Acceptance()
		acceptance = append(acceptance, acc)
		t.Logf("%s: left-well fraction %.4f +- %.4f, quadrature %.4f; flow acceptance %.3f; %d draws, %d density calls for %d configurations",
			tc.name, got, se, want, acc, tc.q.samples, tc.q.logqs, tc.q.logged)
		if math.Abs(got-want) > sigmas*se || se > 0.01 {
			t.Errorf("%s: left-well fraction %.4f +- %.4f, quadrature %.4f", tc.name, got, se, want)
		}
		// Proposals come in batches, and log q of the current positions is
		// only computed after another move changed them.
		attempts := int(flow.Stats().Attempted)
		if tc.q.sampled < attempts || tc.q.sampled > attempts+100 {
			t.Errorf("%s: %d proposals drawn for %d attempts", tc.name, tc.q.sampled, attempts)
		}
		if !tc.local && tc.q.logged != walkers {
			t.Errorf("%s: log q evaluated for %d configurations; only the starting ones need it", tc.name, tc.q.logged)
		}
		// The poor density's transient (see above) is in the statistics,
		// which count from the first step: only the close one's chain is
		// at equilibrium nearly throughout.
		checkClassStats(t, tc.name, flow.Stats(), q, tc.q, kT, xb, tc.name == "close")
		// Importance sampling with the same proposals: log Z and the ESS
		// fraction against quadrature.
		imp := flow.Stats().Importance
		z, z2 := simpson(-6, 6, func(x float64) float64 { return math.Exp(-q.u(x) / kT) }),
			simpson(-6, 6, func(x float64) float64 { return math.Exp(-2*q.u(x)/kT - tc.q.logq(x)) })
		wantESS := z * z / z2
		// log Z's standard error is about 1/sqrt(ESS): allow 5 of them.
		if imp == nil || math.Abs(imp.LogZ-math.Log(z)) > 5/math.Sqrt(wantESS*float64(imp.Samples)) || math.Abs(imp.ESSFraction-wantESS) > 0.1*wantESS {
			t.Errorf("%s: importance sampling %+v, quadrature log Z %.4f, ESS fraction %.4f", tc.name, imp, math.Log(z), wantESS)
		} else {
			t.Logf("%s: log Z %.4f (quadrature %.4f), ESS fraction %.4f (%.4f) over %d proposals", tc.name, imp.LogZ, math.Log(z), imp.ESSFraction, wantESS, imp.Samples)
		}
	}
	if !(acceptance[1] < acceptance[0]) {
		t.Errorf("the poor density accepts %.3f, the close one %.3f", acceptance[1], acceptance[0])
	}
}

// checkClassStats checks a flow move's statistics per well of the
// proposals: the counts add up to the move's, and, when the current
// configurations follow the Boltzmann distribution pi (flow moves alone,
// after a short transient: stationary), each well's mean acceptance, mean beta*dU and
// mean log ratio are the integrals over x ~ pi and x' ~ q restricted to
// the well, computed on a grid.
func checkClassStats(t *testing.T, name string, st MoveStats, q quartic, g *gaussian, kT, xb float64, stationary bool) {
	t.Helper()
	if len(st.ByClass) != 2 {
		t.Fatalf("%s: statistics by class %+v", name, st.ByClass)
	}
	var att, acc int64
	for _, c := range st.ByClass {
		att, acc = att+c.Attempted, acc+c.Accepted
	}
	if att != st.Attempted || acc != st.Accepted {
		t.Errorf("%s: classes hold %d attempts and %d acceptances, the move %d and %d", name, att, acc, st.Attempted, st.Accepted)
	}
	if !stationary {
		return
	}
	// Wide enough that q's tail, where U is large, is in.
	const n, lo, hi = 1800, -9.0, 9.0
	h := (hi - lo) / n
	xs := make([]float64, n+1)
	pi, lq := make([]float64, n+1), make([]float64, n+1)
	var z float64
	for i := range xs {
		xs[i] = lo + float64(i)*h
		pi[i] = math.Exp(-q.u(xs[i]) / kT)
		lq[i] = g.logq(xs[i])
		z += pi[i] * h
	}
	var piU, piLogq float64
	for i := range xs {
		pi[i] /= z
		piU += pi[i] * q.u(xs[i]) / kT * h
		piLogq += pi[i] * lq[i] * h
	}
	for k, c := range st.ByClass {
		var mass, accept, uq, uq2, lqq float64
		for j, xp := range xs {
			if (xp < xb) != (k == 0) {
				continue
			}
			wq := math.Exp(lq[j]) * h
			mass += wq
			uq += wq * q.u(xp) / kT
			uq2 += wq * q.u(xp) * q.u(xp) / (kT * kT)
			lqq += wq * lq[j]
			for i := range xs {
				logr := -(q.u(xp)-q.u(xs[i]))/kT + lq[i] - lq[j]
				accept += wq * pi[i] * h * math.Exp(min(0, logr))
			}
		}
		wantAcc, wantDU, wantLR := accept/mass, uq/mass-piU, piLogq-lqq/mass
		// The proposals are independent draws: beta U' has the standard
		// error of a mean of them, large in the quartic's tail.
		seDU := math.Sqrt((uq2/mass - (uq/mass)*(uq/mass)) / float64(c.Attempted))
		t.Logf("%s, proposals into %s: %d, acceptance %.4f (integral %.4f), mean beta dU %.4f (%.4f +- %.4f), mean log ratio %.4f (%.4f)",
			name, c.Class, c.Attempted, c.MeanAcceptance, wantAcc, c.MeanBetaDU, wantDU, seDU, c.MeanLogRatio, wantLR)
		if math.Abs(c.MeanAcceptance-wantAcc) > 0.005 || math.Abs(c.MeanBetaDU-wantDU) > 4*seDU+0.01 || math.Abs(c.MeanLogRatio-wantLR) > 0.02 {
			t.Errorf("%s, proposals into %s: acceptance %.4f, mean beta dU %.4f, mean log ratio %.4f; integrals %.4f, %.4f, %.4f",
				name, c.Class, c.MeanAcceptance, c.MeanBetaDU, c.MeanLogRatio, wantAcc, wantDU, wantLR)
		}
	}
}

// TestIndependenceResume checkpoints mid-batch and restores into a fresh
// move: the continuation is the same bit for bit.
func TestIndependenceResume(t *testing.T) {
	q := quartic{a: 1, b: 4, c: 0.6}
	ctx := context.Background()
	newRun := func() (*State, *Metropolis) {
		p, err := NewIndependence(&gaussian{mean: 0, sd: 1.5}, 7, 5)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewState(ctx, q, []float64{1, -1, 0.5}, []float64{1}, ReducedUnits, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		return s, NewMetropolis(p)
	}
	s, m := newRun()
	d := &Driver{Schedule: Schedule{{m, 1}}}
	if err := d.Run(ctx, s, 5); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := m.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(ctx, s, 10); err != nil {
		t.Fatal(err)
	}
	s2, m2 := newRun()
	if err := s2.Restore(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if err := m2.UnmarshalState(ms); err != nil {
		t.Fatal(err)
	}
	d2 := &Driver{Schedule: Schedule{{m2, 1}}}
	if err := d2.Run(ctx, s2, 10); err != nil {
		t.Fatal(err)
	}
	for i, v := range s.X {
		if s2.X[i] != v {
			t.Fatalf("walker %d: %v after the restore, %v without", i, s2.X[i], v)
		}
	}
	a, b := m.Stats(), m2.Stats()
	if a.Attempted != b.Attempted || a.Accepted != b.Accepted || (a.Importance == nil) != (b.Importance == nil) ||
		(a.Importance != nil && *a.Importance != *b.Importance) {
		t.Errorf("stats %+v after the restore, %+v without", b, a)
	}
}

// simpson integrates f over [lo, hi] by composite Simpson quadrature.
func simpson(lo, hi float64, f func(float64) float64) float64 {
	const n = 20000
	h := (hi - lo) / n
	sum := f(lo) + f(hi)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		sum += w * f(lo+float64(i)*h)
	}
	return sum * h / 3
}
