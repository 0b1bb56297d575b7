package integrators

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
)

// Density is the distribution q of an independence proposal: it draws
// configurations and evaluates log q of any configuration. A trained flow
// is one (log q = log p_G, plus the hydrogens' noise for a molecular flow
// that places hydrogens deterministically).
type Density interface {
	// Sample draws n configurations (n*Dim values) with their log q; the
	// same seed gives the same draws.
	Sample(ctx context.Context, n int, seed uint64) (x, logq []float64, err error)
	// LogDensity returns log q of n configurations.
	LogDensity(ctx context.Context, x []float64) ([]float64, error)
}

// Independence is the independence Metropolis-Hastings proposal: x' is
// drawn from q whatever the current x, and the move is accepted with
// min(1, exp(-(U(x') - U(x))/kT) q(x)/q(x')). Detailed balance holds for
// any q that is positive wherever the Boltzmann distribution is: a poor q
// makes the chain slow, never wrong.
//
// Proposals are drawn Batch at a time in one call (one batch serves all
// walkers and several steps), and log q of the current configurations is
// remembered, so a run of flow moves between other moves costs one
// density evaluation per walker and step, not two.
type Independence struct {
	Density Density
	// Batch is the number of proposals drawn per call to Density.Sample.
	Batch int
	// Seed starts the proposals' seeds: batch k is drawn with a seed
	// derived from Seed and k.
	Seed uint64
	// Carry, when q covers only some coordinates (a molecular flow's heavy
	// atoms), sets the others of the proposals prop from the current
	// configurations cur (all walkers at once, Walkers*Dim each). For
	// fixed q coordinates it must preserve volume and undo itself along
	// the reverse move (carrying x' back to x's heavy atoms gives x), so
	// that the acceptance ratio is still q(x)/q(x'). Nil leaves proposals
	// as drawn.
	Carry func(ctx context.Context, cur, prop []float64) error

	buf, bufLogq []float64
	pos          int    // next unused proposal in buf
	draws        uint64 // batches drawn so far
	restorePos   int    // position in batch draws-1 after a restore

	logqP []float64 // log q of this step's proposals
	// log q of the current configurations: known[w] holds the
	// configuration it belongs to, so that any other move (dynamics, a
	// replica swap) invalidates it simply by changing the positions.
	known, knownLogq []float64
	cand, candLogq   []float64 // the last proposals, which may have been accepted
	cur              []float64 // log q(x) of this step's current configurations

	// Importance sampling with the same proposals: log-sum-exp of the log
	// weights and of twice them, over weighed proposals.
	weighed    int64
	lseW, lse2 float64
}

// Weigh accumulates the importance weights of the proposals made to
// walkers at the lowest temperature of the state (all walkers without a
// ladder).
func (p *Independence) Weigh(s *State, up []float64) {
	kt := s.KT[0]
	for _, v := range s.KT {
		kt = math.Min(kt, v)
	}
	for w := range up {
		if s.KT[w] != kt || math.IsNaN(up[w]) || math.IsInf(up[w], 0) {
			continue
		}
		lw := -up[w]/kt - p.logqP[w]
		if p.weighed == 0 {
			p.lseW, p.lse2 = lw, 2*lw
		} else {
			p.lseW, p.lse2 = logAddExp(p.lseW, lw), logAddExp(p.lse2, 2*lw)
		}
		p.weighed++
	}
}

// Importance returns the reverse ESS fraction, (sum w)^2 / sum w^2 over
// the number of weights, and log Z, log-mean-exp of the log weights.
func (p *Independence) Importance() *ImportanceStats {
	if p.weighed == 0 {
		return nil
	}
	n := float64(p.weighed)
	return &ImportanceStats{Samples: p.weighed, ESSFraction: math.Exp(2*p.lseW-p.lse2) / n, LogZ: p.lseW - math.Log(n)}
}

func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// NewIndependence returns an independence proposal from q, drawing batch
// proposals per call.
func NewIndependence(q Density, batch int, seed uint64) (*Independence, error) {
	if q == nil || batch < 1 {
		return nil, fmt.Errorf("flow proposal: needs a density and a batch of at least 1 (got %d)", batch)
	}
	return &Independence{Density: q, Batch: batch, Seed: seed}, nil
}

func (p *Independence) Name() string { return "flow" }

func (p *Independence) Propose(ctx context.Context, s *State, xp []float64) error {
	n, d := s.Walkers, s.Dim
	if len(p.logqP) != n {
		p.logqP = make([]float64, n)
		p.known = make([]float64, n*d)
		p.knownLogq = make([]float64, n)
		p.cand = make([]float64, n*d)
		p.candLogq = make([]float64, n)
		p.cur = make([]float64, n)
		for w := range p.knownLogq {
			p.knownLogq[w], p.candLogq[w] = math.NaN(), math.NaN()
		}
	}
	// log q of the current configurations, from what is remembered where
	// possible, by one batched call for the rest.
	var stale []int
	for w := 0; w < n; w++ {
		x := s.X[w*d : (w+1)*d]
		switch {
		case !math.IsNaN(p.candLogq[w]) && sameFloats(x, p.cand[w*d:(w+1)*d]):
			p.cur[w] = p.candLogq[w]
		case !math.IsNaN(p.knownLogq[w]) && sameFloats(x, p.known[w*d:(w+1)*d]):
			p.cur[w] = p.knownLogq[w]
		default:
			stale = append(stale, w)
		}
	}
	if len(stale) > 0 {
		xs := make([]float64, 0, len(stale)*d)
		for _, w := range stale {
			xs = append(xs, s.X[w*d:(w+1)*d]...)
		}
		lq, err := p.Density.LogDensity(ctx, xs)
		if err != nil {
			return err
		}
		if len(lq) != len(stale) {
			return fmt.Errorf("flow proposal: %d log densities for %d configurations", len(lq), len(stale))
		}
		for k, w := range stale {
			p.cur[w] = lq[k]
		}
	}
	copy(p.known, s.X)
	copy(p.knownLogq, p.cur)
	// The proposals.
	for w := 0; w < n; w++ {
		if err := p.next(ctx, d, xp[w*d:(w+1)*d], &p.logqP[w]); err != nil {
			return err
		}
	}
	if p.Carry != nil {
		if err := p.Carry(ctx, s.X, xp); err != nil {
			return fmt.Errorf("flow proposal: %w", err)
		}
	}
	copy(p.cand, xp)
	copy(p.candLogq, p.logqP)
	return nil
}

// next copies the next proposal of the buffer, drawing a batch if needed.
func (p *Independence) next(ctx context.Context, d int, x []float64, logq *float64) error {
	if p.pos >= len(p.bufLogq) {
		k := p.draws
		start := 0
		if p.restorePos > 0 {
			k, start = p.draws-1, p.restorePos
		} else {
			p.draws++
		}
		xs, lq, err := p.Density.Sample(ctx, p.Batch, batchSeed(p.Seed, k))
		if err != nil {
			return err
		}
		if len(lq) != p.Batch || len(xs) != p.Batch*d {
			return fmt.Errorf("flow proposal: asked for %d configurations of %d coordinates, got %d values and %d log densities", p.Batch, d, len(xs), len(lq))
		}
		p.buf, p.bufLogq, p.pos, p.restorePos = xs, lq, start, 0
	}
	copy(x, p.buf[p.pos*d:(p.pos+1)*d])
	*logq = p.bufLogq[p.pos]
	p.pos++
	return nil
}

// LogRatio is log q(x) - log q(x') for walker w.
func (p *Independence) LogRatio(_ *State, w int, _, _ []float64) float64 {
	return p.cur[w] - p.logqP[w]
}

// batchSeed mixes the run's seed with the batch number (SplitMix64), so
// that consecutive batches are unrelated streams.
func batchSeed(seed, k uint64) uint64 {
	z := seed + (k+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// sameFloats reports whether two slices hold the same bits.
func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i, v := range a {
		if math.Float64bits(v) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

type independenceState struct {
	Draws uint64 `json:"draws"`
	Pos   int    `json:"pos"`
	// The importance-sampling sums.
	Weighed int64   `json:"weighed,omitempty"`
	LSEW    float64 `json:"lse_w,omitempty"`
	LSE2    float64 `json:"lse_2w,omitempty"`
}

// MarshalState saves where the proposals stand: the batch and the position
// in it, from which a restore draws the same batch again.
func (p *Independence) MarshalState() ([]byte, error) {
	pos := p.pos
	if p.restorePos > 0 {
		pos = p.restorePos
	}
	return json.Marshal(independenceState{Draws: p.draws, Pos: pos, Weighed: p.weighed, LSEW: p.lseW, LSE2: p.lse2})
}

func (p *Independence) UnmarshalState(b []byte) error {
	var st independenceState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	p.draws, p.buf, p.bufLogq, p.pos, p.restorePos = st.Draws, nil, nil, 0, 0
	p.weighed, p.lseW, p.lse2 = st.Weighed, st.LSEW, st.LSE2
	if st.Draws > 0 && st.Pos < p.Batch {
		p.restorePos = st.Pos
	}
	// Pos 0 of a drawn batch cannot happen (a batch is drawn when a
	// proposal is needed); Pos == Batch means the next step draws anew.
	return nil
}
