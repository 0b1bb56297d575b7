package topology

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// A synthetic force field whose entries tell which rule matched: each
// improper and dihedral force constant is distinct.
const matchingPRM = `* matching rules
*
ATOMS
MASS -1 CA 12.011
MASS -1 CB 12.011
MASS -1 HX 1.008
MASS -1 OX 15.999

BONDS
CB CA 300.0 1.5
HX CA 340.0 1.1
OX CB 400.0 1.2

ANGLES
HX CA CB 30.0 110.0 10.0 2.1
CA CB OX 40.0 120.0

DIHEDRALS
X CA CB X 0.5 3 0.0
HX CA CB OX 1.5 1 180.0
HX CA CB OX 0.25 2 0.0

IMPROPER
X X CB OX 7.0 0 0.0
X CA CB OX 8.0 0 0.0
CA X X OX 9.0 0 0.0

NONBONDED nbxmod 5 atom cdiel vswitch -
cutnb 14.0 ctofnb 12.0 ctonnb 10.0 eps 1.0 e14fac 0.5 wmin 1.5
CA 0.0 -0.1 2.0 0.0 -0.01 1.9
CB 0.0 -0.2 1.8
HX 0.0 -0.03 1.3
OX 0.0 -0.12 1.7

NBFIX
HX OX -0.5 2.9

END
`

// matchingPSF: H1-CA-CB-O1 with a second hydrogen on CA; one improper
// listed in each of three orientations that select different rules.
const matchingPSF = `PSF

       1 !NTITLE
* matching rules

       5 !NATOM
       1 A    1    RES  H1   HX     0.100000        1.0080           0
       2 A    1    RES  CA   CA    -0.200000       12.0110           0
       3 A    1    RES  CB   CB     0.300000       12.0110           0
       4 A    1    RES  O1   OX    -0.300000       15.9990           0
       5 A    1    RES  H2   HX     0.100000        1.0080           0

       4 !NBOND: bonds
       1       2       2       3       3       4       5       2

       3 !NTHETA: angles
       1       2       3       2       3       4       5       2       3

       2 !NPHI: dihedrals
       1       2       3       4       4       3       2       5

       3 !NIMPHI: impropers
       2       1       3       4       1       2       3       4       5       5       3       4
`

func loadMatching(t *testing.T) *System {
	t.Helper()
	psf, err := ReadPSF(strings.NewReader(matchingPSF), "matching.psf")
	if err != nil {
		t.Fatal(err)
	}
	p := NewParameters()
	if err := ReadParameters(strings.NewReader(matchingPRM), "matching.prm", p); err != nil {
		t.Fatal(err)
	}
	sys, err := Assign(psf, p)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

func TestAssignMatchingRules(t *testing.T) {
	sys := loadMatching(t)
	// Bonds in either direction.
	if len(sys.Bonds) != 4 || sys.Bonds[0].K != 340 || sys.Bonds[3].K != 340 || sys.Bonds[1].B0 != 1.5 {
		t.Errorf("bonds %+v", sys.Bonds)
	}
	// Angles in either direction; Urey-Bradley only where given.
	if len(sys.Angles) != 3 || sys.Angles[1].K != 40 || math.Abs(sys.Angles[0].Theta0-110*math.Pi/180) > 1e-15 {
		t.Errorf("angles %+v", sys.Angles)
	}
	if len(sys.UreyBradleys) != 2 || sys.UreyBradleys[0].Atoms != [2]int{0, 2} || sys.UreyBradleys[0].S0 != 2.1 {
		t.Errorf("Urey-Bradley %+v", sys.UreyBradleys)
	}
	// Dihedrals: the exact H-CA-CB-O entry (two terms) beats X-CA-CB-X,
	// also when the PSF lists the atoms reversed (O1-CB-CA-H2).
	var got []float64
	for _, d := range sys.Dihedrals {
		got = append(got, d.K)
	}
	if len(got) != 4 || got[0] != 1.5 || got[1] != 0.25 || got[2] != 1.5 || got[3] != 0.25 {
		t.Errorf("dihedral terms %v, want the exact match's two terms for both entries", got)
	}
	// Impropers: CA-H1-CB-O1 matches no exact entry; CHARMM's order picks
	// A-X-X-D (CA X X OX: 9), then X-B-C-D (X CA CB OX: 8 for H1-CA-CB-O1),
	// then X-X-C-D (X X CB OX: 7 for H2-H2-CB-O1).
	want := []float64{9, 8, 7}
	for i, im := range sys.Impropers {
		if im.K != want[i] {
			t.Errorf("improper %d %v: K %g, want %g", i, im.Atoms, im.K, want[i])
		}
	}
	// LJ: combining rules, 1-4 values where a type has them, NBFIX.
	n := len(sys.LJTypes)
	if n != 4 {
		t.Fatalf("LJ types %v", sys.LJTypes)
	}
	caCB := sys.LJ(1, 2)
	if math.Abs(caCB.Eps-math.Sqrt(0.1*0.2)) > 1e-15 || caCB.Rmin != 3.8 || math.Abs(caCB.Eps14-math.Sqrt(0.01*0.2)) > 1e-15 || caCB.Rmin14 != 3.7 {
		t.Errorf("CA-CB %+v", caCB)
	}
	hxOX := sys.LJ(0, 3)
	if hxOX.Eps != 0.5 || hxOX.Rmin != 2.9 || hxOX.Eps14 != 0.5 || hxOX.Rmin14 != 2.9 {
		t.Errorf("NBFIX HX-OX %+v", hxOX)
	}
	// nbxmod 5: 1-2 and 1-3 excluded by the bond graph (H1-H2 too, though
	// the PSF omits that angle), 1-4 kept (H1-O1 and H2-O1).
	if len(sys.Exclusions) != 4+4 || len(sys.Pairs14) != 2 || sys.Pairs14[0] != [2]int{0, 3} || sys.Pairs14[1] != [2]int{3, 4} {
		t.Errorf("exclusions %v, 1-4 %v", sys.Exclusions, sys.Pairs14)
	}
	if sys.E14Fac != 0.5 {
		t.Errorf("e14fac %g", sys.E14Fac)
	}
}

func TestAssignMissingAllAtOnce(t *testing.T) {
	psf, err := ReadPSF(strings.NewReader(matchingPSF), "matching.psf")
	if err != nil {
		t.Fatal(err)
	}
	p := NewParameters()
	prm := strings.Replace(matchingPRM, "OX CB 400.0 1.2\n", "", 1)
	prm = strings.Replace(prm, "CA CB OX 40.0 120.0\n", "", 1)
	prm = strings.Replace(prm, "OX 0.0 -0.12 1.7\n", "", 1)
	if err := ReadParameters(strings.NewReader(prm), "m.prm", p); err != nil {
		t.Fatal(err)
	}
	_, err = Assign(psf, p)
	var me *MissingParametersError
	if !errors.As(err, &me) {
		t.Fatalf("got %v", err)
	}
	var kinds []string
	for _, m := range me.Missing {
		kinds = append(kinds, m.Kind+":"+strings.Join(m.Names, "-")+":"+strings.Join(m.Types, "-"))
	}
	want := "bond:CB-O1:CB-OX angle:CA-CB-O1:CA-CB-OX nonbonded:O1:OX"
	if strings.Join(kinds, " ") != want {
		t.Errorf("missing %v, want %s", kinds, want)
	}
	if !strings.Contains(err.Error(), "3 terms have no parameters") || !strings.Contains(err.Error(), "3-4") {
		t.Errorf("message %q", err)
	}
}

// TestCountsIndependently recounts the real systems' terms from the bond
// graph by brute force over atom tuples: the PSF's angles and dihedrals are
// every path of two and three bonds, and the exclusion and 1-4 lists follow
// from shortest paths computed by Floyd-Warshall, independently of the
// breadth-first search Assign uses.
func TestCountsIndependently(t *testing.T) {
	cases := []struct {
		system string
		params []string
		counts Counts
	}{
		{"dialanine", []string{"par_all36m_prot.prm"}, Counts{Atoms: 22, HeavyAtoms: 10, Bonds: 21, Angles: 36, Dihedrals: 41, Impropers: 4, CMaps: 1}},
		{"butane", []string{"par_all36_cgenff.prm", "top_all36_cgenff.rtf"}, Counts{Atoms: 14, HeavyAtoms: 4, Bonds: 13, Angles: 24, Dihedrals: 27}},
		{"ala2", []string{"par_all36m_prot.prm"}, Counts{Atoms: 23, HeavyAtoms: 11, Bonds: 22, Angles: 39, Dihedrals: 49, Impropers: 3}},
	}
	for _, c := range cases {
		psf, err := ReadPSFFile(filepath.Join(systemsDir, c.system, c.system+".psf"))
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, f := range c.params {
			files = append(files, "../data/toppar/"+f)
		}
		p, err := ReadParameterFiles(files...)
		if err != nil {
			t.Fatal(err)
		}
		sys, err := Assign(psf, p)
		if err != nil {
			t.Fatal(err)
		}
		n := len(psf.Atoms)
		inf := n + 1
		d := make([][]int, n)
		for i := range d {
			d[i] = make([]int, n)
			for j := range d[i] {
				if i != j {
					d[i][j] = inf
				}
			}
		}
		for _, b := range psf.Bonds {
			d[b[0]][b[1]], d[b[1]][b[0]] = 1, 1
		}
		for k := 0; k < n; k++ {
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					d[i][j] = min(d[i][j], d[i][k]+d[k][j])
				}
			}
		}
		bonded := func(i, j int) bool { return d[i][j] == 1 }
		angles, dihedrals := 0, 0
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				for k := i + 1; k < n; k++ {
					if j != i && j != k && bonded(i, j) && bonded(j, k) {
						angles++
					}
				}
			}
		}
		for j := 0; j < n; j++ {
			for k := j + 1; k < n; k++ {
				if !bonded(j, k) {
					continue
				}
				for i := 0; i < n; i++ {
					for l := 0; l < n; l++ {
						if i != k && l != j && i != l && i != j && l != k && bonded(i, j) && bonded(k, l) {
							dihedrals++
						}
					}
				}
			}
		}
		excl, p14 := 0, 0
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				switch d[i][j] {
				case 1, 2:
					excl++
				case 3:
					p14++
				}
			}
		}
		got := sys.Counts()
		want := c.counts
		want.UreyBradleys, want.DihedralTerm, want.TotalCharge = got.UreyBradleys, got.DihedralTerm, got.TotalCharge
		want.Exclusions, want.Pairs14 = excl, p14
		if got != want {
			t.Errorf("%s: counts %+v, want %+v", c.system, got, want)
		}
		if angles != c.counts.Angles || dihedrals != c.counts.Dihedrals {
			t.Errorf("%s: the bond graph has %d angles and %d dihedrals, the PSF %d and %d", c.system, angles, dihedrals, c.counts.Angles, c.counts.Dihedrals)
		}
		if math.Abs(got.TotalCharge-math.Round(got.TotalCharge)) > 1e-9 {
			t.Errorf("%s: total charge %g is not an integer", c.system, got.TotalCharge)
		}
	}
}

// TestBackboneDihedralsOfPeptide finds phi, psi and omega in the 25-residue
// peptide the builder makes (all twenty amino acids): one phi per residue
// but the first, one psi and omega per residue but the last, with the
// backbone atoms by name, also for serine and threonine, whose CB is bonded
// to an oxygen too.
func TestBackboneDihedralsOfPeptide(t *testing.T) {
	psf, err := ReadPSFFile("build/testdata/peptide20.psf")
	if err != nil {
		t.Fatal(err)
	}
	g := NewGraph(psf)
	ds := g.BackboneDihedrals(psf)
	counts := map[string]int{}
	for _, d := range ds {
		kind := strings.Fields(d.Name)[0]
		counts[kind]++
		var names []string
		for _, a := range d.Atoms {
			names = append(names, psf.Atoms[a].Name)
		}
		want := map[string]string{"phi": "C-N-CA-C", "psi": "N-CA-C-N", "omega": "CA-C-N-CA"}[kind]
		if got := strings.Join(names, "-"); got != want {
			t.Errorf("%s: atoms %s, want %s", d.Name, got, want)
		}
	}
	if counts["phi"] != 24 || counts["psi"] != 24 || counts["omega"] != 24 {
		t.Errorf("found %v, want 24 of each for 25 residues", counts)
	}
}
