package charmm

import (
	"math"
	"testing"

	"github.com/flowmd/flowmd/internal/superpose"
	"github.com/flowmd/flowmd/topology"
)

var testClip = &ClipOptions{Bond: 40, Angle: 30, UreyBradley: 40, Improper: 30, LennardJones: 60, Coulomb: 60}

// TestClippingFiniteDifferences checks the forces of the clipped energy on
// strained configurations and on the near-clash, where every clipped term is
// beyond its threshold somewhere.
func TestClippingFiniteDifferences(t *testing.T) {
	for _, system := range testSystems {
		sys, ref := loadReference(t, system)
		for _, kernel := range Kernels() {
			m, err := New(sys, Options{Clip: testClip}, kernel)
			if err != nil {
				t.Fatal(err)
			}
			clash := flatten(ref.Configurations[len(ref.Configurations)-1].Positions)
			strained := perturbed(t, flatten(ref.Configurations[0].Positions), 1, 0.2, 5)
			for name, x := range map[string][]float64{"clash": clash, "strained": strained} {
				t.Run(system+"/"+kernel+"/"+name, func(t *testing.T) {
					b := evaluate(t, m, x)
					clip := b.Terms[TermIndexOf(m, TermClipping)]
					if clip >= 0 {
						t.Fatalf("clipping correction %g: expected the clipped terms to lower this energy", clip)
					}
					checkFiniteDifferences(t, m, x, 1e-6, 1e-6)
				})
			}
		}
	}
}

// TermIndexOf is forcefields.TermIndex for tests.
func TermIndexOf(m *Model, name string) int {
	for i, t := range m.Terms() {
		if t == name {
			return i
		}
	}
	return -1
}

// TestClippingIsReweightable checks that the clipped energy minus the
// clipping term is the unclipped energy, and that the per-term energies are
// the unclipped ones.
func TestClippingIsReweightable(t *testing.T) {
	sys, ref := loadReference(t, "dialanine")
	var x []float64
	for _, c := range ref.Configurations {
		x = append(x, flatten(c.Positions)...)
	}
	plain, _ := New(sys, Options{}, "")
	clipped, _ := New(sys, Options{Clip: testClip}, "")
	a, b := evaluate(t, plain, x), evaluate(t, clipped, x)
	k := TermIndexOf(clipped, TermClipping)
	nt := len(clipped.Terms())
	for c := range ref.Configurations {
		unclipped := b.Energy[c] - b.Terms[c*nt+k]
		if d := math.Abs(unclipped - a.Energy[c]); d > 1e-9*(1+math.Abs(a.Energy[c])) {
			t.Errorf("%s: clipped total minus clipping %.10g, unclipped total %.10g", ref.Configurations[c].Name, unclipped, a.Energy[c])
		}
		for i := 0; i < numBaseTerms; i++ {
			// Equal up to rounding: the clipped pair loop orders its
			// operations differently from the plain one.
			if u, v := a.Terms[c*numBaseTerms+i], b.Terms[c*nt+i]; math.Abs(u-v) > 1e-12*(1+math.Abs(u)) {
				t.Errorf("%s: term %s differs with clipping", ref.Configurations[c].Name, baseTerms[i])
			}
		}
	}
	if b.Terms[k] != 0 {
		t.Errorf("clipping changed the minimized structure's energy by %g", b.Terms[k])
	}
}

// TestClippingBoundsGradient drives single terms through their thresholds:
// the energy and the force are continuous there and the force never exceeds
// the threshold beyond it.
func TestClippingBoundsGradient(t *testing.T) {
	g := 25.0
	nb := newNBForm(Options{})
	a, b := lj(0.11, 4.0) // carbonyl C pair
	rth := ljClipRadius(&nb, a, b, g)
	if _, d := nb.lj(a, b, rth); math.Abs(-d-g) > 1e-9*g {
		t.Fatalf("Lennard-Jones slope at the clipping radius %g is %g, want %g", rth, -d, g)
	}
	cases := []struct {
		name string
		f    func(r float64) (e, d float64)
		from float64
		to   float64
		at   float64
	}{
		{"bond", func(r float64) (float64, float64) { e, d, _ := harmonic(300, r-1.5, g); return e, d }, 0.5, 2.5, 1.5 + g/600},
		{"lennard_jones", func(r float64) (float64, float64) { e, d, _ := nb.ljClip(a, b, r, rth); return e, d }, 0.05, 6, rth},
		{"coulomb", func(r float64) (float64, float64) {
			e, d, _ := nb.coulombClip(-150, r, coulombClipRadius(&nb, -150, g))
			return e, d
		}, 0.05, 6, math.Sqrt(150 / g)},
	}
	for _, c := range cases {
		for r := c.from; r < c.to; r += 1e-3 {
			if _, d := c.f(r); math.Abs(d) > g*(1+1e-12) {
				t.Errorf("%s: slope %g at r = %g exceeds the threshold %g", c.name, d, r, g)
				break
			}
		}
		const h = 1e-9
		e1, d1 := c.f(c.at - h)
		e2, d2 := c.f(c.at + h)
		if math.Abs(e1-e2) > 1e-6 || math.Abs(d1-d2) > 1e-5*g {
			t.Errorf("%s: discontinuous at the threshold: energy %g / %g, slope %g / %g", c.name, e1, e2, d1, d2)
		}
	}
}

func rotation(axis vec3, angle float64) mat3 {
	return mat3(superpose.Matrix(axis.scale(1/axis.norm()), angle))
}

func transform(x []float64, r mat3, shift vec3) []float64 {
	out := make([]float64, len(x))
	for i := 0; i+2 < len(x); i += 3 {
		p := r.mulVec(vec3{x[i], x[i+1], x[i+2]}).add(shift)
		copy(out[i:], p[:])
	}
	return out
}

// TestAlignmentPenalty checks the penalty's values on rigid motions of the
// reference, the cap on the rotation, and its forces by finite differences
// in both regimes.
func TestAlignmentPenalty(t *testing.T) {
	sys, ref := loadReference(t, "dialanine")
	y := flatten(ref.Configurations[0].Positions)
	al := newAlignment(&AlignOptions{Reference: y, Lambda: 10, MaxAngle: math.Pi / 3})
	// Rigid motions of the reference about its own centroid, where the
	// aligned copy sits.
	yc := al.y
	c := al.cref
	move := func(r mat3, shift vec3) []float64 { return transform(yc, r, c.add(shift)) }
	sumSq := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += (a[i] - b[i]) * (a[i] - b[i])
		}
		return s
	}
	axis := vec3{0.3, -0.5, 0.8}
	if u := al.energy(y, nil); u > 1e-18 {
		t.Errorf("penalty of the reference: %g", u)
	}
	shift := vec3{1, 2, -0.5}
	if u, want := al.energy(move(identity3(), shift), nil), 10*22*shift.dot(shift); math.Abs(u-want) > 1e-9*want {
		t.Errorf("translated reference: %g, want lambda N |t|^2 = %g", u, want)
	}
	for _, angle := range []float64{0.3, 1.0} {
		x := move(rotation(axis, angle), vec3{})
		if u, want := al.energy(x, nil), 10*sumSq(x, y); math.Abs(u-want) > 1e-8*want {
			t.Errorf("rotated by %g: %g, want lambda |x - y|^2 = %g", angle, u, want)
		}
	}
	// Beyond the cap the aligned structure is rotated back by pi/3 only.
	x := move(rotation(axis, 2.0), vec3{})
	back := move(rotation(axis, 2.0-math.Pi/3), vec3{})
	if u, want := al.energy(x, nil), 10*sumSq(x, back); math.Abs(u-want) > 1e-8*want {
		t.Errorf("rotated by 2 rad: %g, want %g with the rotation capped", u, want)
	}

	m, err := New(sys, Options{Align: &AlignOptions{Reference: y}}, "")
	if err != nil {
		t.Fatal(err)
	}
	am := termModel(t, m.Plan(), TermAlignment)
	noise := perturbed(t, make([]float64, len(y)), 1, 0.3, 9)
	for _, angle := range []float64{0.4, 1.6, 2.9} {
		x := move(rotation(axis, angle), vec3{0.7, -1.2, 2})
		for i := range x {
			x[i] += noise[i]
		}
		checkFiniteDifferences(t, am, x, 1e-6, 1e-6)
	}
}

// TestAlignmentPenaltyOnHeavyAtoms checks the penalty restricted to a
// subset of atoms (dialanine's heavy atoms): the hydrogens neither change
// it nor feel it, a rigid translation costs lambda N_heavy |t|^2, and its
// forces match finite differences.
func TestAlignmentPenaltyOnHeavyAtoms(t *testing.T) {
	sys, ref := loadReference(t, "dialanine")
	y := flatten(ref.Configurations[0].Positions)
	heavy := topology.NewGraph(sys.PSF).Heavy
	m, err := New(sys, Options{Align: &AlignOptions{Reference: y, Atoms: heavy}}, "")
	if err != nil {
		t.Fatal(err)
	}
	am := termModel(t, m.Plan(), TermAlignment)
	axis := vec3{0.3, -0.5, 0.8}
	x := transform(y, rotation(axis, 0.4), vec3{0.7, -1.2, 2})
	base := evaluate(t, am, x)
	moved := append([]float64(nil), x...)
	isHeavy := make([]bool, len(x)/3)
	for _, a := range heavy {
		isHeavy[a] = true
	}
	for i := range moved {
		if !isHeavy[i/3] {
			moved[i] += 0.5 * math.Sin(float64(7*i))
		}
	}
	if again := evaluate(t, am, moved); again.Energy[0] != base.Energy[0] {
		t.Errorf("moving the hydrogens changed the penalty: %v -> %v", base.Energy[0], again.Energy[0])
	}
	for i, f := range base.Forces {
		if !isHeavy[i/3] && f != 0 {
			t.Errorf("coordinate %d of a hydrogen feels %g", i, f)
		}
	}
	shift := vec3{1, 2, -0.5}
	if u, want := evaluate(t, am, transform(y, identity3(), shift)).Energy[0], 10*float64(len(heavy))*shift.dot(shift); math.Abs(u-want) > 1e-9*want {
		t.Errorf("translated reference: %g, want lambda N_heavy |t|^2 = %g", u, want)
	}
	noise := perturbed(t, make([]float64, len(y)), 1, 0.3, 9)
	for i := range x {
		x[i] += noise[i]
	}
	checkFiniteDifferences(t, am, x, 1e-6, 1e-6)
	for _, atoms := range [][]int{{0, 1}, {0, 1, 22}, {0, 1, 1}} {
		if _, err := New(sys, Options{Align: &AlignOptions{Reference: y, Atoms: atoms}}, ""); err == nil {
			t.Errorf("atoms %v accepted", atoms)
		}
	}
}
