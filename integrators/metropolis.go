package integrators

import (
	"context"
	"fmt"
	"math"
)

// Proposal proposes new positions for Metropolis-Hastings. Flow proposals
// plug in here too: anything that can say how much more likely the reverse
// move is than the forward one.
type Proposal interface {
	Name() string
	// Propose writes a proposal for every walker to xp (Walkers*Dim).
	Propose(ctx context.Context, s *State, xp []float64) error
	// LogRatio returns log q(x|x') - log q(x'|x) for walker w, given the
	// proposal xp and the forces fp at it (0 for symmetric proposals).
	LogRatio(s *State, w int, xp, fp []float64) float64
}

// Weighing proposals see the energies of each step's proposals, after
// equilibration, and report what they make of them: an independence
// proposal turns them into importance weights.
type Weighing interface {
	Weigh(s *State, up []float64)
	// Importance returns the statistics so far, nil before any.
	Importance() *ImportanceStats
}

// Adaptive proposals tune a step size from acceptances while the state is
// equilibrating.
type Adaptive interface {
	Adapt(s *State, accepted []bool)
}

// Metropolis is the Metropolis-Hastings move: every walker proposes, the
// proposals are evaluated in one batched call, and each is accepted with
// probability min(1, exp(-(U' - U)/kT) q(x|x')/q(x'|x)).
type Metropolis struct {
	Proposal Proposal
	// Classify, when set, names the class (a mode: index into Classes, -1
	// for none) of each proposal, and the move keeps its statistics per
	// class of the proposed configuration: which modes the proposals
	// reach, and what rejects them there.
	Classify func(x []float64) int
	Classes  []string

	xp, up, fp, tp []float64
	accepted       []bool
	attempted, acc int64
	logA, dBetaU   []float64 // this step's log acceptance and beta*(U'-U) per walker
	byClass        []ClassStats
}

// NewMetropolis returns a Metropolis-Hastings move with a proposal.
func NewMetropolis(p Proposal) *Metropolis { return &Metropolis{Proposal: p} }

func (m *Metropolis) Name() string { return m.Proposal.Name() }

func (m *Metropolis) Stats() MoveStats {
	st := MoveStats{Name: m.Name(), Attempted: m.attempted, Accepted: m.acc}
	if p, ok := m.Proposal.(Weighing); ok {
		st.Importance = p.Importance()
	}
	for _, c := range m.byClass {
		if c.Attempted > 0 {
			c.MeanBetaDU /= float64(c.Attempted)
			c.MeanLogRatio /= float64(c.Attempted)
			c.MeanAcceptance /= float64(c.Attempted)
		}
		st.ByClass = append(st.ByClass, c)
	}
	return st
}

// tally adds walker w's proposal of this step to its class's statistics.
func (m *Metropolis) tally(s *State, w int) {
	if m.byClass == nil {
		m.byClass = make([]ClassStats, len(m.Classes))
		for k, name := range m.Classes {
			m.byClass[k].Class = name
		}
	}
	k := m.Classify(m.xp[w*s.Dim : (w+1)*s.Dim])
	if k < 0 || k >= len(m.byClass) {
		return
	}
	c := &m.byClass[k]
	c.Attempted++
	if m.accepted[w] {
		c.Accepted++
	}
	c.MeanBetaDU += m.dBetaU[w]
	c.MeanLogRatio += m.dBetaU[w] + m.logA[w]
	c.MeanAcceptance += math.Exp(min(0, m.logA[w]))
}

func (m *Metropolis) Apply(ctx context.Context, s *State) error {
	if len(m.xp) != len(s.X) {
		m.xp = make([]float64, len(s.X))
		m.fp = make([]float64, len(s.X))
		m.up = make([]float64, s.Walkers)
		m.tp = make([]float64, len(s.Terms))
		m.accepted = make([]bool, s.Walkers)
		m.logA, m.dBetaU = make([]float64, s.Walkers), make([]float64, s.Walkers)
	}
	if err := m.Proposal.Propose(ctx, s, m.xp); err != nil {
		return err
	}
	if err := s.evaluate(ctx, m.xp, m.up, m.fp, m.tp); err != nil {
		return err
	}
	if wp, ok := m.Proposal.(Weighing); ok && !s.Equilibrating {
		wp.Weigh(s, m.up)
	}
	nt := len(s.Terms) / s.Walkers
	s.forWalkers(func(w int) {
		m.dBetaU[w] = (m.up[w] - s.U[w]) / s.KT[w]
		logA := -m.dBetaU[w] + m.Proposal.LogRatio(s, w, m.xp, m.fp)
		m.logA[w] = logA
		// Draw the uniform number whatever the outcome, so a walker's
		// stream advances the same way in every case.
		u := s.Rand.At(w).Float64()
		m.accepted[w] = logA >= 0 || u < math.Exp(logA)
		if m.accepted[w] {
			lo, hi := w*s.Dim, (w+1)*s.Dim
			copy(s.X[lo:hi], m.xp[lo:hi])
			copy(s.F[lo:hi], m.fp[lo:hi])
			copy(s.Terms[w*nt:(w+1)*nt], m.tp[w*nt:(w+1)*nt])
			s.U[w] = m.up[w]
		}
	})
	for w, a := range m.accepted {
		m.attempted++
		if a {
			m.acc++
		}
		if m.Classify != nil {
			m.tally(s, w)
		}
	}
	if ad, ok := m.Proposal.(Adaptive); ok && s.Equilibrating {
		ad.Adapt(s, m.accepted)
	}
	s.Step++
	return nil
}

// rungSizes holds a step size per rung of the temperature ladder, so that
// a walker's step size follows its temperature through replica swaps, and
// adapts it by a Robbins-Monro rule on the logarithm towards a target
// acceptance.
type rungSizes struct {
	size   []float64
	n      []int
	target float64
	init   float64
}

func (r *rungSizes) get(rung int) float64 {
	for len(r.size) <= rung {
		r.size = append(r.size, r.init)
		r.n = append(r.n, 0)
	}
	return r.size[rung]
}

// adapt moves the step size of each walker's rung up after an acceptance
// and down after a rejection, by gains that shrink as 1/k^0.6, walker by
// walker in a fixed order.
func (r *rungSizes) adapt(s *State, accepted []bool) {
	for w, a := range accepted {
		rung := s.TempIndex[w]
		r.get(rung)
		r.n[rung]++
		x := -r.target
		if a {
			x = 1 - r.target
		}
		r.size[rung] *= math.Exp(x / math.Pow(float64(r.n[rung]), 0.6))
	}
}

// StepSizes returns the current step size of each rung.
func (r *rungSizes) StepSizes() []float64 { return append([]float64(nil), r.size...) }

// RandomWalk is the Gaussian random-walk proposal: all coordinates at once,
// or one group of Group coordinates (an atom: 3) chosen at random.
type RandomWalk struct {
	Group int // coordinates moved together; 0 moves all
	rungSizes
}

// NewRandomWalk returns a random-walk proposal with initial step size
// stepSize (A), moving group coordinates at a time (0: all), adapting during
// equilibration towards the target acceptance.
func NewRandomWalk(stepSize float64, group int, target float64) (*RandomWalk, error) {
	if !(stepSize > 0) || math.IsInf(stepSize, 0) || group < 0 || !(target > 0 && target < 1) {
		return nil, fmt.Errorf("random walk: step size %v must be positive, group %d zero or positive, target acceptance %v in (0, 1)", stepSize, group, target)
	}
	return &RandomWalk{Group: group, rungSizes: rungSizes{init: stepSize, target: target}}, nil
}

func (p *RandomWalk) Name() string { return "random_walk" }

func (p *RandomWalk) Propose(_ context.Context, s *State, xp []float64) error {
	if p.Group > 0 && s.Dim%p.Group != 0 {
		return fmt.Errorf("random walk: groups of %d coordinates do not divide dimension %d", p.Group, s.Dim)
	}
	copy(xp, s.X)
	for w := 0; w < s.Walkers; w++ {
		p.get(s.TempIndex[w])
	}
	s.forWalkers(func(w int) {
		r := s.Rand.At(w)
		sigma := p.size[s.TempIndex[w]]
		x := xp[w*s.Dim : (w+1)*s.Dim]
		if p.Group == 0 {
			for i := range x {
				x[i] += sigma * r.NormFloat64()
			}
			return
		}
		g := r.IntN(s.Dim / p.Group)
		for i := g * p.Group; i < (g+1)*p.Group; i++ {
			x[i] += sigma * r.NormFloat64()
		}
	})
	return nil
}

func (p *RandomWalk) LogRatio(*State, int, []float64, []float64) float64 { return 0 }

func (p *RandomWalk) Adapt(s *State, accepted []bool) { p.adapt(s, accepted) }

// MALA is the Metropolis-adjusted Langevin proposal, preconditioned by the
// inverse masses: x' = x + (h/2) D F(x)/kT + sqrt(h D) xi with D = Units/m,
// so that h is a time step squared (ps^2) and light atoms move further.
type MALA struct {
	rungSizes
	prep preparedMasses
}

// NewMALA returns a MALA proposal with initial step h (ps^2, or reduced),
// adapting during equilibration towards the target acceptance (0.574 is
// optimal for smooth targets in high dimension).
func NewMALA(h, target float64) (*MALA, error) {
	if !(h > 0) || math.IsInf(h, 0) || !(target > 0 && target < 1) {
		return nil, fmt.Errorf("MALA: step %v must be positive and target acceptance %v in (0, 1)", h, target)
	}
	return &MALA{rungSizes: rungSizes{init: h, target: target}}, nil
}

func (p *MALA) Name() string { return "mala" }

func (p *MALA) Propose(_ context.Context, s *State, xp []float64) error {
	p.prep.prepare(s)
	for w := 0; w < s.Walkers; w++ {
		p.get(s.TempIndex[w])
	}
	d := p.prep.invMass
	s.forWalkers(func(w int) {
		r := s.Rand.At(w)
		h := p.size[s.TempIndex[w]]
		x := s.X[w*s.Dim : (w+1)*s.Dim]
		f := s.F[w*s.Dim : (w+1)*s.Dim]
		y := xp[w*s.Dim : (w+1)*s.Dim]
		for i := range x {
			y[i] = x[i] + 0.5*h*d[i]*f[i]/s.KT[w] + math.Sqrt(h*d[i])*r.NormFloat64()
		}
	})
	return nil
}

// LogRatio is log q(x|x') - log q(x'|x) for the Gaussian proposal kernels.
func (p *MALA) LogRatio(s *State, w int, xp, fp []float64) float64 {
	h := p.size[s.TempIndex[w]]
	d := p.prep.invMass
	x := s.X[w*s.Dim : (w+1)*s.Dim]
	f := s.F[w*s.Dim : (w+1)*s.Dim]
	y := xp[w*s.Dim : (w+1)*s.Dim]
	g := fp[w*s.Dim : (w+1)*s.Dim]
	kT := s.KT[w]
	var fwd, rev float64
	for i := range x {
		a := y[i] - x[i] - 0.5*h*d[i]*f[i]/kT // x -> x'
		b := x[i] - y[i] - 0.5*h*d[i]*g[i]/kT // x' -> x
		fwd += a * a / (h * d[i])
		rev += b * b / (h * d[i])
	}
	return 0.5 * (fwd - rev)
}

func (p *MALA) Adapt(s *State, accepted []bool) { p.adapt(s, accepted) }
