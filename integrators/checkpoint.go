package integrators

import (
	"context"
	"encoding/json"
	"fmt"
)

// Snapshot is everything of a State that a checkpoint needs to continue a
// run bit for bit: energies and forces are not saved, since evaluating the
// positions again gives the same numbers.
type Snapshot struct {
	Walkers    int       `json:"walkers"`
	Dim        int       `json:"dim"`
	X          []float64 `json:"x"`
	V          []float64 `json:"v"`
	KT         []float64 `json:"kt"`
	TempIndex  []int     `json:"temp_index"`
	Step       int64     `json:"step"`
	Time       float64   `json:"time_ps"`
	RemovedDOF int       `json:"removed_dof"`
	Rand       []byte    `json:"rand"`
	// Evaluations is State.Evaluations (absent in older checkpoints).
	Evaluations int64 `json:"evaluations,omitempty"`
}

// Snapshot copies the state.
func (s *State) Snapshot() (*Snapshot, error) {
	r, err := s.Rand.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &Snapshot{
		Walkers: s.Walkers, Dim: s.Dim,
		X: append([]float64(nil), s.X...), V: append([]float64(nil), s.V...),
		KT: append([]float64(nil), s.KT...), TempIndex: append([]int(nil), s.TempIndex...),
		Step: s.Step, Time: s.Time, RemovedDOF: s.RemovedDOF, Rand: r, Evaluations: s.Evaluations,
	}, nil
}

// Restore puts a snapshot back into a state of the same shape and evaluates
// the energies and forces at the restored positions.
func (s *State) Restore(ctx context.Context, snap *Snapshot) error {
	if snap.Walkers != s.Walkers || snap.Dim != s.Dim || len(snap.X) != len(s.X) || len(snap.V) != len(s.V) ||
		len(snap.KT) != s.Walkers || len(snap.TempIndex) != s.Walkers {
		return fmt.Errorf("checkpoint holds %d walkers of dimension %d, the run has %d of dimension %d", snap.Walkers, snap.Dim, s.Walkers, s.Dim)
	}
	copy(s.X, snap.X)
	copy(s.V, snap.V)
	copy(s.KT, snap.KT)
	copy(s.TempIndex, snap.TempIndex)
	s.Step, s.Time, s.RemovedDOF = snap.Step, snap.Time, snap.RemovedDOF
	if err := s.Rand.UnmarshalBinary(snap.Rand); err != nil {
		return err
	}
	err := s.Evaluate(ctx)
	s.Evaluations = snap.Evaluations
	return err
}

// Stateful is a move that carries state from step to step (adapted step
// sizes, counters, the parity of replica swaps), which a checkpoint saves.
type Stateful interface {
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error
}

// counters are the statistics every move keeps.
type counters struct {
	Attempted int64 `json:"attempted"`
	Accepted  int64 `json:"accepted"`
}

type rungState struct {
	Size []float64 `json:"step_sizes"`
	N    []int     `json:"adapt_counts"`
}

func (r *rungSizes) state() rungState {
	return rungState{Size: append([]float64(nil), r.size...), N: append([]int(nil), r.n...)}
}

func (r *rungSizes) setState(st rungState) error {
	if len(st.Size) != len(st.N) {
		return fmt.Errorf("step sizes and adaptation counts differ in length")
	}
	r.size = append([]float64(nil), st.Size...)
	r.n = append([]int(nil), st.N...)
	return nil
}

func (l *Langevin) MarshalState() ([]byte, error) { return json.Marshal(counters{l.steps, l.steps}) }
func (l *Langevin) UnmarshalState(b []byte) error {
	var c counters
	err := json.Unmarshal(b, &c)
	l.steps = c.Attempted
	return err
}

func (vv *VelocityVerlet) MarshalState() ([]byte, error) {
	return json.Marshal(counters{vv.steps, vv.steps})
}
func (vv *VelocityVerlet) UnmarshalState(b []byte) error {
	var c counters
	err := json.Unmarshal(b, &c)
	vv.steps = c.Attempted
	return err
}

type metropolisState struct {
	counters
	Proposal json.RawMessage `json:"proposal,omitempty"`
	// ByClass holds the per-class sums (not yet means).
	ByClass []ClassStats `json:"by_class,omitempty"`
}

func (m *Metropolis) MarshalState() ([]byte, error) {
	st := metropolisState{counters: counters{m.attempted, m.acc}, ByClass: m.byClass}
	if p, ok := m.Proposal.(Stateful); ok {
		b, err := p.MarshalState()
		if err != nil {
			return nil, err
		}
		st.Proposal = b
	}
	return json.Marshal(st)
}

func (m *Metropolis) UnmarshalState(b []byte) error {
	var st metropolisState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	m.attempted, m.acc = st.Attempted, st.Accepted
	m.byClass = nil
	if st.ByClass != nil {
		if len(st.ByClass) != len(m.Classes) {
			return fmt.Errorf("the checkpoint holds statistics of %d classes of proposals, the move has %d", len(st.ByClass), len(m.Classes))
		}
		m.byClass = append([]ClassStats(nil), st.ByClass...)
	}
	if p, ok := m.Proposal.(Stateful); ok && st.Proposal != nil {
		return p.UnmarshalState(st.Proposal)
	}
	return nil
}

func (p *RandomWalk) MarshalState() ([]byte, error) { return json.Marshal(p.state()) }
func (p *RandomWalk) UnmarshalState(b []byte) error {
	var st rungState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	return p.setState(st)
}

func (p *MALA) MarshalState() ([]byte, error) { return json.Marshal(p.state()) }
func (p *MALA) UnmarshalState(b []byte) error {
	var st rungState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	return p.setState(st)
}

type hmcState struct {
	counters
	rungState
}

func (h *HMC) MarshalState() ([]byte, error) {
	return json.Marshal(hmcState{counters{h.attempted, h.acc}, h.state()})
}

func (h *HMC) UnmarshalState(b []byte) error {
	var st hmcState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	h.attempted, h.acc = st.Attempted, st.Accepted
	return h.setState(st.rungState)
}

type exchangeState struct {
	Parity   int     `json:"parity"`
	Attempts []int64 `json:"attempts"`
	Accepts  []int64 `json:"accepts"`
}

func (re *ReplicaExchange) MarshalState() ([]byte, error) {
	return json.Marshal(exchangeState{re.parity, re.attempts, re.accepts})
}

func (re *ReplicaExchange) UnmarshalState(b []byte) error {
	var st exchangeState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if len(st.Attempts) != len(re.attempts) || len(st.Accepts) != len(re.accepts) {
		return fmt.Errorf("replica exchange: the checkpoint has %d rung pairs, the run %d", len(st.Attempts), len(re.attempts))
	}
	re.parity = st.Parity
	copy(re.attempts, st.Attempts)
	copy(re.accepts, st.Accepts)
	return nil
}

var (
	_ Stateful = (*Langevin)(nil)
	_ Stateful = (*VelocityVerlet)(nil)
	_ Stateful = (*Metropolis)(nil)
	_ Stateful = (*RandomWalk)(nil)
	_ Stateful = (*MALA)(nil)
	_ Stateful = (*HMC)(nil)
	_ Stateful = (*ReplicaExchange)(nil)
)
