package integrators

import (
	"context"
	"fmt"
	"math"
)

// Langevin is Langevin dynamics with the BAOAB splitting of Leimkuhler and
// Matthews (half kick B, half drift A, Ornstein-Uhlenbeck friction and noise
// O, half drift, half kick), in the form of OpenMM's LangevinMiddleIntegrator:
// the closing half kick of one step and the opening half kick of the next
// are merged into one full kick, and the velocities kept between steps are
// those right after O, in the middle of the step. The positions are BAOAB's,
// whose configurational averages are accurate to second order in the time
// step (exact for harmonic potentials); the mid-step velocities give an
// unbiased kinetic temperature, while the velocities after a closing half
// kick run cold by O(dt^2): measured on dialanine at 1 fs, 0.977 T against
// 0.998 T (hydrogen stretches have omega dt = 0.6 there).
type Langevin struct {
	Timestep  float64 // ps (or reduced time)
	Friction  float64 // collision rate gamma, 1/ps
	RemoveCOM bool    // remove each walker's centre-of-mass velocity every step (molecules only)

	steps int64
	prep  preparedMasses
}

// NewLangevin returns a Langevin move; timestep in ps, friction in 1/ps.
func NewLangevin(timestep, friction float64, removeCOM bool) (*Langevin, error) {
	if !(timestep > 0) || math.IsInf(timestep, 0) {
		return nil, fmt.Errorf("langevin: time step %v must be positive", timestep)
	}
	if !(friction >= 0) || math.IsInf(friction, 0) {
		return nil, fmt.Errorf("langevin: friction %v must be zero or positive", friction)
	}
	return &Langevin{Timestep: timestep, Friction: friction, RemoveCOM: removeCOM}, nil
}

func (l *Langevin) Name() string { return "langevin" }

func (l *Langevin) Stats() MoveStats {
	return MoveStats{Name: l.Name(), Attempted: l.steps, Accepted: l.steps}
}

// preparedMasses caches per-coordinate factors of a state's masses.
type preparedMasses struct {
	masses  []float64
	invMass []float64 // Units / m
	sdev    []float64 // sqrt(Units / m)
}

func (p *preparedMasses) prepare(s *State) {
	if len(p.masses) == len(s.Masses) && &p.masses[0] == &s.Masses[0] {
		return
	}
	p.masses = s.Masses
	p.invMass = make([]float64, s.Dim)
	p.sdev = make([]float64, s.Dim)
	for i, m := range s.Masses {
		p.invMass[i] = s.Units / m
		p.sdev[i] = math.Sqrt(s.Units / m)
	}
}

// Apply advances every walker by one time step.
func (l *Langevin) Apply(ctx context.Context, s *State) error {
	if l.RemoveCOM && s.Dim%3 != 0 {
		return fmt.Errorf("langevin: centre-of-mass removal needs three coordinates per atom, the model has %d", s.Dim)
	}
	l.prep.prepare(s)
	dt := l.Timestep
	a := math.Exp(-l.Friction * dt)
	b := math.Sqrt(1 - a*a)
	inv, sdev := l.prep.invMass, l.prep.sdev
	s.forWalkers(func(w int) {
		x := s.X[w*s.Dim : (w+1)*s.Dim]
		v := s.V[w*s.Dim : (w+1)*s.Dim]
		f := s.F[w*s.Dim : (w+1)*s.Dim]
		r := s.Rand.At(w)
		noise := b * math.Sqrt(s.KT[w])
		for i := range x {
			vi := v[i] + dt*inv[i]*f[i] // B B: the previous step's closing half kick and this one's opening one
			x[i] += 0.5 * dt * vi       // A
			v[i] = a*vi + noise*sdev[i]*r.NormFloat64()
		}
		if l.RemoveCOM {
			removeCOM(v, s.Masses)
		}
		for i := range x {
			x[i] += 0.5 * dt * v[i] // A
		}
	})
	if l.RemoveCOM {
		s.RemovedDOF = 3
	}
	l.steps += int64(s.Walkers)
	s.Step++
	s.Time += dt
	return s.Evaluate(ctx)
}

// removeCOM subtracts the centre-of-mass velocity from one walker's
// velocities (three coordinates per atom).
func removeCOM(v, masses []float64) {
	var p [3]float64
	var mt float64
	for i := 0; i < len(v); i += 3 {
		m := masses[i]
		mt += m
		p[0] += m * v[i]
		p[1] += m * v[i+1]
		p[2] += m * v[i+2]
	}
	for k := range p {
		p[k] /= mt
	}
	for i := 0; i < len(v); i += 3 {
		v[i] -= p[0]
		v[i+1] -= p[1]
		v[i+2] -= p[2]
	}
}

// VelocityVerlet is microcanonical (NVE) dynamics: half kick, drift, forces,
// half kick. It conserves total energy up to an error of order dt^2 that
// does not drift, which tests the forces.
type VelocityVerlet struct {
	Timestep float64
	steps    int64
	prep     preparedMasses
}

// NewVelocityVerlet returns a velocity Verlet move; timestep in ps.
func NewVelocityVerlet(timestep float64) (*VelocityVerlet, error) {
	if !(timestep > 0) || math.IsInf(timestep, 0) {
		return nil, fmt.Errorf("velocity verlet: time step %v must be positive", timestep)
	}
	return &VelocityVerlet{Timestep: timestep}, nil
}

func (vv *VelocityVerlet) Name() string { return "velocity_verlet" }

func (vv *VelocityVerlet) Stats() MoveStats {
	return MoveStats{Name: vv.Name(), Attempted: vv.steps, Accepted: vv.steps}
}

// Apply advances every walker by one time step.
func (vv *VelocityVerlet) Apply(ctx context.Context, s *State) error {
	vv.prep.prepare(s)
	dt := vv.Timestep
	inv := vv.prep.invMass
	s.forWalkers(func(w int) {
		x := s.X[w*s.Dim : (w+1)*s.Dim]
		v := s.V[w*s.Dim : (w+1)*s.Dim]
		f := s.F[w*s.Dim : (w+1)*s.Dim]
		for i := range x {
			v[i] += 0.5 * dt * inv[i] * f[i]
			x[i] += dt * v[i]
		}
	})
	if err := s.Evaluate(ctx); err != nil {
		return err
	}
	s.forWalkers(func(w int) {
		v := s.V[w*s.Dim : (w+1)*s.Dim]
		f := s.F[w*s.Dim : (w+1)*s.Dim]
		for i := range v {
			v[i] += 0.5 * dt * inv[i] * f[i]
		}
	})
	vv.steps += int64(s.Walkers)
	s.Step++
	s.Time += dt
	return nil
}
