package integrators

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/flowmd/flowmd/forcefields"

	"github.com/flowmd/flowmd/forcefields/charmm"
)

// TestResumeIsBitForBit stops a run with every kind of move halfway, saves
// the state and the moves' states through JSON, restores them into fresh
// objects, and finishes: the positions must equal an uninterrupted run's.
func TestResumeIsBitForBit(t *testing.T) {
	ctx := context.Background()
	m, masses, x0 := dialanine(t, charmm.Options{})
	build := func() (*State, *Driver, []Move) {
		s, err := NewState(ctx, m, repeat(x0, 8), masses, MDUnits, KT(300), 5)
		if err != nil {
			t.Fatal(err)
		}
		re, _ := NewReplicaExchange(GeometricLadder(KT(300), KT(500), 4))
		if err := re.Setup(s); err != nil {
			t.Fatal(err)
		}
		s.InitVelocities()
		l, _ := NewLangevin(0.001, 1, true)
		rw, _ := NewRandomWalk(0.02, 3, 0.4)
		mala, _ := NewMALA(1e-6, 0.574)
		hmc, _ := NewHMC(3, 0.0005, 0.7)
		vv, _ := NewVelocityVerlet(0.0005)
		moves := []Move{l, NewMetropolis(rw), NewMetropolis(mala), hmc, vv, re}
		d := &Driver{Schedule: Schedule{{l, 4}, {moves[1], 2}, {moves[2], 2}, {hmc, 1}, {vv, 2}, {re, 1}}, Equilibration: 30}
		return s, d, moves
	}
	const total, stop = 97, 41
	s, d, _ := build()
	if err := d.Run(ctx, s, total); err != nil {
		t.Fatal(err)
	}
	want := append(append([]float64(nil), s.X...), s.V...)

	s1, d1, moves1 := build()
	if err := d1.Run(ctx, s1, stop); err != nil {
		t.Fatal(err)
	}
	snap, err := s1.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var states [][]byte
	for _, mv := range moves1 {
		b, err := mv.(Stateful).MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, b)
	}

	s2, d2, moves2 := build()
	var back Snapshot
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if err := s2.Restore(ctx, &back); err != nil {
		t.Fatal(err)
	}
	for i, mv := range moves2 {
		if err := mv.(Stateful).UnmarshalState(states[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := d2.Run(ctx, s2, total-stop); err != nil {
		t.Fatal(err)
	}
	got := append(append([]float64(nil), s2.X...), s2.V...)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d after resuming: %.17g, uninterrupted %.17g", i, got[i], want[i])
		}
	}
	for i := range moves1 {
		a, b := d.Stats()[i], d2.Stats()[i]
		if !reflect.DeepEqual(a, b) {
			t.Errorf("move statistics %+v after resuming, %+v uninterrupted", b, a)
		}
	}
}

// failingModel fails its n-th evaluation.
type failingModel struct {
	harmonic
	calls, failAt int
}

func (f *failingModel) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	f.calls++
	if f.calls == f.failAt {
		return errors.New("simulated plugin failure")
	}
	return f.harmonic.Evaluate(ctx, b)
}

// TestTransactionalRollBack makes the energy fail in the middle of a run:
// with a transactional driver the state is put back as it was after the
// last complete step, so continuing from it gives what an uninterrupted run
// gives.
func TestTransactionalRollBack(t *testing.T) {
	ctx := context.Background()
	run := func(failAt int) (*State, error) {
		m := &failingModel{harmonic: harmonic{[]float64{1, 2}}, failAt: failAt}
		s, err := NewState(ctx, m, make([]float64, 4), ones(2), ReducedUnits, 1, 4)
		if err != nil {
			t.Fatal(err)
		}
		s.InitVelocities()
		l, _ := NewLangevin(0.05, 1, false)
		rw, _ := NewRandomWalk(0.5, 0, 0.4)
		d := &Driver{Schedule: Schedule{{l, 3}, {NewMetropolis(rw), 1}}, Transactional: true}
		err = d.Run(ctx, s, 40)
		if err != nil {
			var rb *RolledBack
			if !errors.As(err, &rb) || rb.Step != s.Step {
				t.Fatalf("got %v", err)
			}
			m.failAt = 0
			if err := d.Run(ctx, s, 40-s.Step); err != nil {
				t.Fatal(err)
			}
		}
		return s, err
	}
	want, _ := run(0)
	got, err := run(23) // fails during step 21, a Langevin step
	if err == nil {
		t.Fatal("no failure happened")
	}
	for i := range want.X {
		if got.X[i] != want.X[i] || got.V[i] != want.V[i] {
			t.Fatalf("coordinate %d after the roll-back: %v / %v, uninterrupted %v / %v", i, got.X[i], got.V[i], want.X[i], want.V[i])
		}
	}
}
