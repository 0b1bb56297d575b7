package integrators

import (
	"context"
	"fmt"
	"math"
	"sort"
)

// ReplicaExchange swaps temperatures between walkers on neighbouring rungs
// of a temperature ladder (parallel tempering). The walkers form groups of
// len(Ladder), each group an independent ladder, so W*len(Ladder) walkers
// run W replica-exchange simulations at once. A swap of rungs r and r+1,
// held by walkers a and b, is accepted with probability
// min(1, exp((1/kT_r - 1/kT_(r+1)) (U_a - U_b))); velocities are rescaled by
// sqrt(kT_new/kT_old) so dynamics continue at the new temperature. Attempts
// alternate between the even pairs (0-1, 2-3, ...) and the odd ones.
type ReplicaExchange struct {
	Ladder []float64 // kT of each rung, increasing

	parity   int
	attempts []int64 // per pair r (rungs r, r+1), over all groups
	accepts  []int64
	// History records, after each application, the rung each walker holds.
	History [][]int16
	// KeepHistory enables History.
	KeepHistory bool
}

// NewReplicaExchange returns a replica-exchange move over a ladder of kT
// values (energy units), which must increase.
func NewReplicaExchange(ladder []float64) (*ReplicaExchange, error) {
	if len(ladder) < 2 {
		return nil, fmt.Errorf("replica exchange: a ladder needs at least two temperatures, got %d", len(ladder))
	}
	if len(ladder) > math.MaxInt16 {
		return nil, fmt.Errorf("replica exchange: %d rungs is too many", len(ladder))
	}
	for i, t := range ladder {
		if !(t > 0) || math.IsInf(t, 0) || (i > 0 && t <= ladder[i-1]) {
			return nil, fmt.Errorf("replica exchange: the ladder %v must hold positive, increasing temperatures", ladder)
		}
	}
	return &ReplicaExchange{
		Ladder: append([]float64(nil), ladder...), attempts: make([]int64, len(ladder)-1), accepts: make([]int64, len(ladder)-1),
	}, nil
}

// GeometricLadder returns n temperatures from lo to hi in geometric
// progression, which gives roughly equal swap acceptance between
// neighbours when the heat capacity is constant.
func GeometricLadder(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		if n == 1 {
			out[i] = lo
			continue
		}
		out[i] = lo * math.Pow(hi/lo, float64(i)/float64(n-1))
	}
	return out
}

// Setup assigns rungs to the walkers: walker w of group w/len(Ladder) holds
// rung w%len(Ladder). It sets their temperatures, adds one random stream
// per group for the swap decisions, and redraws no velocities (call
// InitVelocities after).
func (re *ReplicaExchange) Setup(s *State) error {
	r := len(re.Ladder)
	if s.Walkers%r != 0 {
		return fmt.Errorf("replica exchange: %d walkers is not a whole number of ladders of %d rungs", s.Walkers, r)
	}
	for w := 0; w < s.Walkers; w++ {
		s.TempIndex[w] = w % r
		s.KT[w] = re.Ladder[w%r]
	}
	s.Rand.grow(s.Walkers + s.Walkers/r)
	return nil
}

func (re *ReplicaExchange) Name() string { return "replica_exchange" }

// Stats counts swap attempts and acceptances over all pairs.
func (re *ReplicaExchange) Stats() MoveStats {
	st := MoveStats{Name: re.Name()}
	for i := range re.attempts {
		st.Attempted += re.attempts[i]
		st.Accepted += re.accepts[i]
	}
	return st
}

// PairAcceptance returns the fraction of accepted swaps between rungs r and
// r+1, for each r.
func (re *ReplicaExchange) PairAcceptance() []float64 {
	out := make([]float64, len(re.attempts))
	for i := range out {
		if re.attempts[i] > 0 {
			out[i] = float64(re.accepts[i]) / float64(re.attempts[i])
		}
	}
	return out
}

// PairCounts returns the attempts and acceptances of each pair.
func (re *ReplicaExchange) PairCounts() (attempts, accepts []int64) {
	return append([]int64(nil), re.attempts...), append([]int64(nil), re.accepts...)
}

// Apply attempts one round of swaps in every group.
func (re *ReplicaExchange) Apply(_ context.Context, s *State) error {
	r := len(re.Ladder)
	if s.Walkers%r != 0 || s.Rand.Len() < s.Walkers+s.Walkers/r {
		return fmt.Errorf("replica exchange: call Setup on the state first")
	}
	holder := make([]int, r)
	for g := 0; g < s.Walkers/r; g++ {
		rng := s.Rand.At(s.Walkers + g)
		for k := 0; k < r; k++ {
			holder[s.TempIndex[g*r+k]] = g*r + k
		}
		for p := re.parity; p+1 < r; p += 2 {
			a, b := holder[p], holder[p+1]
			delta := (1/re.Ladder[p] - 1/re.Ladder[p+1]) * (s.U[a] - s.U[b])
			re.attempts[p]++
			if u := rng.Float64(); delta >= 0 || u < math.Exp(delta) {
				re.accepts[p]++
				re.swap(s, a, b)
				holder[p], holder[p+1] = b, a
			}
		}
	}
	re.parity = 1 - re.parity
	if re.KeepHistory {
		h := make([]int16, s.Walkers)
		for w, t := range s.TempIndex {
			h[w] = int16(t)
		}
		re.History = append(re.History, h)
	}
	s.Step++
	return nil
}

// swap exchanges the rungs of walkers a and b.
func (re *ReplicaExchange) swap(s *State, a, b int) {
	ka, kb := s.KT[a], s.KT[b]
	scaleVelocities(s, a, math.Sqrt(kb/ka))
	scaleVelocities(s, b, math.Sqrt(ka/kb))
	s.KT[a], s.KT[b] = kb, ka
	s.TempIndex[a], s.TempIndex[b] = s.TempIndex[b], s.TempIndex[a]
}

func scaleVelocities(s *State, w int, f float64) {
	v := s.V[w*s.Dim : (w+1)*s.Dim]
	for i := range v {
		v[i] *= f
	}
}

// WalkersAtRung returns, for each group, the walker holding rung r.
func WalkersAtRung(s *State, rung, rungs int) []int {
	var out []int
	for w, t := range s.TempIndex {
		if t == rung {
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]/rungs < out[j]/rungs })
	return out
}
