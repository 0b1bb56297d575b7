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
	// Transactional undoes a move that fails halfway, so that the state
	// after an error is the state after the last complete step and can be
	// checkpointed. It costs a copy of the state per step; runs whose
	// energy comes from a plugin, which can crash, turn it on.
	Transactional bool

	undo restorePoint
}

// RolledBack is returned (wrapped) when a move failed and the state was put
// back as it was before the move.
type RolledBack struct {
	Step int64 // the state's step after the roll-back
	Err  error
}

func (e *RolledBack) Error() string { return e.Err.Error() }
func (e *RolledBack) Unwrap() error { return e.Err }

// Run applies steps moves. It stops early, with the context's error, when
// ctx is cancelled, at the next step boundary: the state is then that of a
// complete step.
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
		if d.Transactional {
			if err := d.undo.save(s); err != nil {
				return err
			}
		}
		// A move is never cut short: cancellation is honoured between
		// steps only, so that a stopped run's state is that of a complete
		// step. (A plugin that hangs still ends in its host's time-out.)
		if err := mv.Apply(context.WithoutCancel(ctx), s); err != nil {
			err = fmt.Errorf("step %d, %s: %w", s.Step, mv.Name(), err)
			if d.Transactional {
				if rerr := d.undo.restore(s); rerr != nil {
					return fmt.Errorf("%w; undoing the step failed too: %v", err, rerr)
				}
				return &RolledBack{Step: s.Step, Err: err}
			}
			return err
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
