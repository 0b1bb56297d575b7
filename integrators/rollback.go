package integrators

import "fmt"

// restorePoint is a copy of a state taken before a move, so that a move
// that fails halfway (a plugin that crashed during its energy call) can be
// undone and the state saved as it was after the last complete step.
type restorePoint struct {
	x, v, u, f, terms, kT []float64
	tempIndex             []int
	step                  int64
	time                  float64
	removedDOF            int
	rand                  [][]byte
}

func (p *restorePoint) save(s *State) error {
	p.x = append(p.x[:0], s.X...)
	p.v = append(p.v[:0], s.V...)
	p.u = append(p.u[:0], s.U...)
	p.f = append(p.f[:0], s.F...)
	p.terms = append(p.terms[:0], s.Terms...)
	p.kT = append(p.kT[:0], s.KT...)
	p.tempIndex = append(p.tempIndex[:0], s.TempIndex...)
	p.step, p.time, p.removedDOF = s.Step, s.Time, s.RemovedDOF
	p.rand = p.rand[:0]
	for _, src := range s.Rand.src {
		b, err := src.MarshalBinary()
		if err != nil {
			return err
		}
		p.rand = append(p.rand, b)
	}
	return nil
}

func (p *restorePoint) restore(s *State) error {
	copy(s.X, p.x)
	copy(s.V, p.v)
	copy(s.U, p.u)
	copy(s.F, p.f)
	copy(s.Terms, p.terms)
	copy(s.KT, p.kT)
	copy(s.TempIndex, p.tempIndex)
	s.Step, s.Time, s.RemovedDOF = p.step, p.time, p.removedDOF
	if len(p.rand) > len(s.Rand.src) {
		return fmt.Errorf("random streams changed during the step")
	}
	for i, b := range p.rand {
		if err := s.Rand.src[i].UnmarshalBinary(b); err != nil {
			return err
		}
	}
	return nil
}
