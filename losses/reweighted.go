package losses

import (
	"encoding/json"
	"fmt"
)

// ReweightedKLx is KLx^bw (thesis eq. 26-30): the reverse KL with detached
// per-mode batch weights that push the model's mode fractions toward
// Targets. With Adaptive, each mode's weight is multiplied by Factor
// (default 1.01) at every step where the mode is under-represented and
// divided by it otherwise (eq. 30, stateful); else it is the ratio of the
// target to the batch's fraction (eq. 29, needs large batches). Mode
// classifies a configuration (-1 for none; such samples keep weight 1).
type ReweightedKLx struct {
	Mode     func(x []float64) int
	Targets  []float64
	Adaptive bool
	Factor   float64

	state []float64 // adaptive weights per mode
}

func (l *ReweightedKLx) Info() Info {
	return Info{Name: "klx_bw", Inputs: []string{BetaU, LogPG, LogQN, Coords}, Samples: []string{ModelReparameterized},
		NeedsForces: true, NeedsCoordinates: true, Stateful: l.Adaptive}
}

// State returns the adaptive weights, for checkpoints.
func (l *ReweightedKLx) State() []float64 { return append([]float64(nil), l.state...) }

// SetState restores adaptive weights saved by State.
func (l *ReweightedKLx) SetState(w []float64) error {
	if len(w) != 0 && len(w) != len(l.Targets) {
		return fmt.Errorf("losses: %d mode weights for %d modes", len(w), len(l.Targets))
	}
	l.state = append([]float64(nil), w...)
	return nil
}

// SaveState and LoadState are State and SetState as bytes (StateSaver).
func (l *ReweightedKLx) SaveState() ([]byte, error) { return json.Marshal(l.State()) }

func (l *ReweightedKLx) LoadState(b []byte) error {
	var w []float64
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("losses: klx_bw state: %w", err)
	}
	return l.SetState(w)
}

func (l *ReweightedKLx) Evaluate(in Inputs) (Result, error) {
	if l.Mode == nil || len(l.Targets) == 0 {
		return Result{}, fmt.Errorf("losses: klx_bw needs a mode function and target fractions")
	}
	n, err := batch(in, BetaU, LogPG, LogQN, Coords)
	if err != nil {
		return Result{}, err
	}
	x := in[Coords]
	dim := len(x) / n
	k := len(l.Targets)
	modes := make([]int, n)
	counts := make([]float64, k)
	for i := range modes {
		m := l.Mode(x[i*dim : (i+1)*dim])
		if m >= k {
			return Result{}, fmt.Errorf("losses: mode %d of sample %d, but %d targets", m, i, k)
		}
		modes[i] = m
		if m >= 0 {
			counts[m]++
		}
	}
	perMode := make([]float64, k)
	if l.Adaptive {
		if l.state == nil {
			l.state = make([]float64, k)
			for m := range l.state {
				l.state[m] = 1
			}
		}
		f := l.Factor
		if f == 0 {
			f = 1.01
		}
		for m := range l.state {
			if counts[m]/float64(n) < l.Targets[m] {
				l.state[m] *= f
			} else {
				l.state[m] /= f
			}
		}
		copy(perMode, l.state)
	} else {
		for m := range perMode {
			if counts[m] > 0 {
				perMode[m] = l.Targets[m] / (counts[m] / float64(n))
			}
		}
	}
	w := make([]float64, n)
	for i, m := range modes {
		w[i] = 1
		if m >= 0 {
			w[i] = perMode[m]
		}
	}
	w = normalize(w)
	res, err := weightedReverseKL(in, n, w)
	if err != nil {
		return res, err
	}
	res.Grad[Coords] = make([]float64, len(x))
	for m := range counts {
		res.Metrics[fmt.Sprintf("mode%d_fraction", m)] = counts[m] / float64(n)
	}
	return res, nil
}
