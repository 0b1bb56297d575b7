package integrators

import (
	"context"
	"fmt"
)

// Entry is one part of a schedule: a move applied Count times in a row.
type Entry struct {
	Move  Move
	Count int
}

// Schedule is a cycle of moves, for instance 50 Langevin steps then one
// round of replica swaps. Each application of a move is one step of the
// state; the cycle repeats.
type Schedule []Entry

// Len returns the number of steps in one cycle.
func (sc Schedule) Len() int {
	n := 0
	for _, e := range sc {
		n += e.Count
	}
	return n
}

// MoveAt returns the move applied at step k.
func (sc Schedule) MoveAt(k int64) Move {
	pos := int(k % int64(sc.Len()))
	for _, e := range sc {
		if pos < e.Count {
			return e.Move
		}
		pos -= e.Count
	}
	return nil // unreachable for a valid schedule
}

// Validate checks that the schedule has at least one move and positive
// counts.
func (sc Schedule) Validate() error {
	if len(sc) == 0 {
		return fmt.Errorf("the move schedule is empty")
	}
	for i, e := range sc {
		if e.Move == nil || e.Count < 1 {
			return fmt.Errorf("move schedule entry %d: needs a move and a count of at least 1", i+1)
		}
	}
	return nil
}

// Observer is called after every step the driver runs; an error stops the
// run.
type Observer func(s *State) error

// Driver runs a schedule on a state: it owns the step loop, the end of
// equilibration (when moves stop adapting), cancellation and the observers.
// Which move runs at a step depends only on the state's step counter, so a
// run continued from a saved state continues the same cycle.
type Driver struct {
	Schedule Schedule
	// Equilibration is the number of steps during which moves adapt their
	// step sizes.
	Equilibration int64
	Observers     []Observer
}

// Run applies steps moves. It stops early, with the context's error, when
// ctx is cancelled; the state is then consistent at a step boundary.
func (d *Driver) Run(ctx context.Context, s *State, steps int64) error {
	if err := d.Schedule.Validate(); err != nil {
		return err
	}
	end := s.Step + steps
	for s.Step < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.Equilibrating = s.Step < d.Equilibration
		mv := d.Schedule.MoveAt(s.Step)
		if err := mv.Apply(ctx, s); err != nil {
			return fmt.Errorf("step %d, %s: %w", s.Step, mv.Name(), err)
		}
		for _, o := range d.Observers {
			if err := o(s); err != nil {
				return err
			}
		}
	}
	s.Equilibrating = s.Step < d.Equilibration
	return nil
}

// Stats returns the statistics of the schedule's moves, once per distinct
// move.
func (d *Driver) Stats() []MoveStats {
	var out []MoveStats
	seen := map[Move]bool{}
	for _, e := range d.Schedule {
		if !seen[e.Move] {
			seen[e.Move] = true
			out = append(out, e.Move.Stats())
		}
	}
	return out
}
