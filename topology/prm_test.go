package topology

import (
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

const prmDataDir = "../data/toppar/"

// readParamString reads text as one file called name into a new set.
func readParamString(name, text string) (*Parameters, error) {
	p := NewParameters()
	err := ReadParameters(strings.NewReader(text), name, p)
	return p, err
}

func mustReadParams(t *testing.T, paths ...string) *Parameters {
	t.Helper()
	full := make([]string, len(paths))
	for i, p := range paths {
		full[i] = prmDataDir + p
	}
	p, err := ReadParameterFiles(full...)
	if err != nil {
		t.Fatalf("ReadParameterFiles(%v): %v", paths, err)
	}
	return p
}

func prmNear(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// paramCounts are the sizes of a parameter set.
type paramCounts struct {
	masses, bonds, angles, ub, dihKeys, dihTerms, impKeys, impTerms, cmaps, lj, lj14, nbfix int
}

func countParams(p *Parameters) paramCounts {
	c := paramCounts{
		masses: len(p.Masses), bonds: len(p.Bonds), angles: len(p.Angles),
		dihKeys: len(p.Dihedrals), impKeys: len(p.Impropers), cmaps: len(p.CMaps),
		lj: len(p.LJ), nbfix: len(p.NBFix),
	}
	for _, a := range p.Angles {
		if a.KUB != 0 {
			c.ub++
		}
	}
	for _, ts := range p.Dihedrals {
		c.dihTerms += len(ts)
	}
	for _, ts := range p.Impropers {
		c.impTerms += len(ts)
	}
	for _, l := range p.LJ {
		if l.Has14 {
			c.lj14++
		}
	}
	return c
}

// The expected counts below were taken independently of this parser with awk
// over the files: comments ("!...") removed, title lines ("*...") and blank
// lines skipped, the current section tracked from lines whose first word is a
// section keyword, then per section: unique MASS types; unique bond pairs
// (the two types sorted); unique angles (outer types sorted); angles with 7
// fields and Kub != 0; unique dihedral/improper quadruples (lesser of forward
// and reverse) and unique (quadruple, |n|) pairs; CMAP header lines (9
// fields); NONBONDED lines with 4 or 7 fields (7 = with 1-4 values); unique
// NBFIX pairs. Neither file repeats an entry, so unique counts equal line
// counts (e.g. 132 BONDS lines in par_all36m_prot.prm).

func TestReadParametersProt(t *testing.T) {
	p := mustReadParams(t, "par_all36m_prot.prm")
	want := paramCounts{masses: 54, bonds: 132, angles: 370, ub: 113, dihKeys: 560, dihTerms: 720,
		impKeys: 35, impTerms: 35, cmaps: 6, lj: 54, lj14: 13, nbfix: 1}
	if got := countParams(p); got != want {
		t.Errorf("counts:\n got %+v\nwant %+v", got, want)
	}
	if !slices.Equal(p.Files, []string{prmDataDir + "par_all36m_prot.prm"}) {
		t.Errorf("Files = %v", p.Files)
	}

	// CT3  C     250.000     1.4900
	if b := p.Bonds[NewBondKey("CT3", "C")]; !prmNear(b.K, 250) || !prmNear(b.B0, 1.49) {
		t.Errorf("bond CT3-C = %+v", b)
	}
	// HA3  CT3  HA3   35.500    108.40    5.40   1.80200
	if a := p.Angles[NewAngleKey("HA3", "CT3", "HA3")]; !prmNear(a.K, 35.5) || !prmNear(a.Theta0, 108.4) ||
		!prmNear(a.KUB, 5.4) || !prmNear(a.S0, 1.802) {
		t.Errorf("angle HA3-CT3-HA3 = %+v", a)
	}
	// CT3  C    NH1  CT1      1.6000  1     0.00
	// CT3  C    NH1  CT1      2.5000  2   180.00
	wantDih := []DihedralTerm{{K: 1.6, N: 1, Delta: 0}, {K: 2.5, N: 2, Delta: 180}}
	if got := p.Dihedrals[NewDihedralKey("CT3", "C", "NH1", "CT1")]; !slices.Equal(got, wantDih) {
		t.Errorf("dihedral CT3-C-NH1-CT1 = %+v, want %+v", got, wantDih)
	}
	// Looked up in the other direction, the key is the same.
	if got := p.Dihedrals[NewDihedralKey("CT1", "NH1", "C", "CT3")]; len(got) != 2 {
		t.Errorf("reversed lookup found %d terms", len(got))
	}
	// X    CT1  CT1  X        0.2000  3     0.00
	if got := p.Dihedrals[NewDihedralKey(Wildcard, "CT1", "CT1", Wildcard)]; !slices.Equal(got, []DihedralTerm{{K: 0.2, N: 3}}) {
		t.Errorf("dihedral X-CT1-CT1-X = %+v", got)
	}
	// O    X    X    C     120.0000         0      0.0000
	if got := p.Impropers[NewDihedralKey("O", "X", "X", "C")]; !slices.Equal(got, []ImproperTerm{{K: 120, N: 0, Psi0: 0}}) {
		t.Errorf("improper O-X-X-C = %+v", got)
	}
	// Alanine map: "C NH1 CT1 C NH1 CT1 C NH1 24", first value 0.13, last -1.81.
	ala := p.CMaps[CMapKey{"C", "NH1", "CT1", "C", "NH1", "CT1", "C", "NH1"}]
	if ala == nil {
		t.Fatal("alanine CMAP missing")
	}
	if ala.Size != 24 || len(ala.Values) != 576 || ala.Values[0] != 0.13 || ala.Values[575] != -1.81 {
		t.Errorf("alanine CMAP: size %d, %d values, first %v, last %v", ala.Size, len(ala.Values), ala.Values[0], ala.Values[len(ala.Values)-1])
	}
	// Row 1 (phi = -165) starts with -0.13, so rows are read in file order.
	if ala.Values[24] != -0.13 {
		t.Errorf("alanine CMAP value[24] = %v, want -0.13", ala.Values[24])
	}
	// Proline map, header with irregular spacing: "C N CP1 C N CP1 C NH1 24".
	if p.CMaps[CMapKey{"C", "N", "CP1", "C", "N", "CP1", "C", "NH1"}] == nil {
		t.Error("proline CMAP missing")
	}
	// CT3 0.0 -0.0780 2.040 0.0 -0.01 1.9
	if lj := p.LJ["CT3"]; lj != (LJParam{Eps: 0.078, RminHalf: 2.04, Eps14: 0.01, RminHalf14: 1.9, Has14: true}) {
		t.Errorf("LJ CT3 = %+v", lj)
	}
	// C 0.000000 -0.110000 2.000000
	if lj := p.LJ["C"]; lj != (LJParam{Eps: 0.11, RminHalf: 2}) {
		t.Errorf("LJ C = %+v", lj)
	}
	// NC2    OC       -0.154919   3.637
	if nb := p.NBFix[NewBondKey("OC", "NC2")]; nb != (NBFixParam{Emin: 0.154919, Rmin: 3.637}) {
		t.Errorf("NBFIX NC2-OC = %+v", nb)
	}
	nbo := p.Nonbonded
	if nbo.NBXMod != 5 || nbo.E14Fac != 1 || nbo.Eps != 1 || nbo.CutNB != 14 || nbo.CtOfNB != 12 || nbo.CtOnNB != 10 {
		t.Errorf("nonbonded options = %+v", nbo)
	}
	wantFlags := []string{"ATOM", "CDIEL", "FSHIFT", "VATOM", "VDISTANCE", "VFSWITCH"}
	if !slices.Equal(nbo.Flags, wantFlags) {
		t.Errorf("flags = %v, want %v", nbo.Flags, wantFlags)
	}
	if m := p.Masses["CT3"]; m != (MassType{Code: -1, Type: "CT3", Mass: 12.011}) {
		t.Errorf("mass CT3 = %+v", m)
	}
	if len(p.TypeCodes) != 0 {
		t.Errorf("TypeCodes = %v, want none (all MASS -1)", p.TypeCodes)
	}
}

func TestReadParametersCGenFF(t *testing.T) {
	p := mustReadParams(t, "par_all36_cgenff.prm")
	want := paramCounts{masses: 161, bonds: 683, angles: 2501, ub: 443, dihKeys: 5775, dihTerms: 7460,
		impKeys: 203, impTerms: 203, cmaps: 0, lj: 161, lj14: 19, nbfix: 73}
	if got := countParams(p); got != want {
		t.Errorf("counts:\n got %+v\nwant %+v", got, want)
	}

	// Butane: CG331-CG321-CG321-CG331 with HGA3 and HGA2 hydrogens.
	bonds := map[BondKey]BondParam{
		NewBondKey("CG321", "CG321"): {222.5, 1.53},
		NewBondKey("CG321", "CG331"): {222.5, 1.528},
		NewBondKey("CG321", "HGA2"):  {309, 1.111},
		NewBondKey("CG331", "HGA3"):  {322, 1.111},
	}
	for k, want := range bonds {
		if got := p.Bonds[k]; got != want {
			t.Errorf("bond %v = %+v, want %+v", k, got, want)
		}
	}
	angles := map[AngleKey]AngleParam{
		NewAngleKey("CG321", "CG321", "CG331"): {58, 115, 8, 2.561},
		NewAngleKey("CG331", "CG321", "HGA2"):  {34.6, 110.1, 22.53, 2.179},
		NewAngleKey("CG321", "CG321", "HGA2"):  {26.5, 110.1, 22.53, 2.179},
		NewAngleKey("HGA2", "CG321", "HGA2"):   {35.5, 109, 5.4, 1.802},
		NewAngleKey("CG321", "CG331", "HGA3"):  {34.6, 110.1, 22.53, 2.179},
		NewAngleKey("HGA3", "CG331", "HGA3"):   {35.5, 108.4, 5.4, 1.802},
		NewAngleKey("CG321", "CG321", "NG2D1"): {103, 112, 0, 0}, // no UB
	}
	for k, want := range angles {
		if got := p.Angles[k]; got != want {
			t.Errorf("angle %v = %+v, want %+v", k, got, want)
		}
	}
	dihedrals := map[DihedralKey][]DihedralTerm{
		NewDihedralKey("CG331", "CG321", "CG321", "CG331"): {{0.03819, 2, 0}, {0.03178, 6, 180}},
		NewDihedralKey("CG331", "CG321", "CG321", "HGA2"):  {{0.18, 3, 0}},
		NewDihedralKey("HGA2", "CG321", "CG321", "HGA2"):   {{0.22, 3, 0}},
		NewDihedralKey("CG321", "CG321", "CG331", "HGA3"):  {{0.16, 3, 0}},
		NewDihedralKey("HGA2", "CG321", "CG331", "HGA3"):   {{0.16, 3, 0}},
		NewDihedralKey("CG321", "CG321", "CG321", "CG321"): {{0.0645, 2, 0}, {0.14975, 3, 180}, {0.09458, 4, 0}, {0.11251, 5, 0}},
	}
	for k, want := range dihedrals {
		if got := p.Dihedrals[k]; !slices.Equal(got, want) {
			t.Errorf("dihedral %v = %+v, want %+v", k, got, want)
		}
	}
	ljs := map[string]LJParam{
		"HGA2":  {Eps: 0.035, RminHalf: 1.34},
		"HGA3":  {Eps: 0.024, RminHalf: 1.34},
		"CG321": {Eps: 0.056, RminHalf: 2.01, Eps14: 0.01, RminHalf14: 1.9, Has14: true},
		"CG331": {Eps: 0.078, RminHalf: 2.05, Eps14: 0.01, RminHalf14: 1.9, Has14: true},
	}
	for k, want := range ljs {
		if got := p.LJ[k]; got != want {
			t.Errorf("LJ %s = %+v, want %+v", k, got, want)
		}
	}
	// First NBFIX line: "NN3G      BRGR1    -0.22       3.61".
	if nb := p.NBFix[NewBondKey("NN3G", "BRGR1")]; nb != (NBFixParam{Emin: 0.22, Rmin: 3.61}) {
		t.Errorf("NBFIX NN3G-BRGR1 = %+v", nb)
	}
}

func TestReadParametersRTF(t *testing.T) {
	// MASS lines counted with: grep -ic '^\s*MASS' (54 and 161). The CGenFF
	// RTF gives an element on all but one of them (NG2D1, line 179).
	p := mustReadParams(t, "top_all36_prot.rtf")
	if len(p.Masses) != 54 {
		t.Errorf("prot RTF: %d masses, want 54", len(p.Masses))
	}
	if m := p.Masses["NH1"]; m != (MassType{Code: -1, Type: "NH1", Mass: 14.007}) {
		t.Errorf("prot RTF NH1 = %+v", m)
	}
	if n := len(p.Bonds) + len(p.Angles) + len(p.Dihedrals) + len(p.Impropers) + len(p.CMaps) + len(p.LJ); n != 0 {
		t.Errorf("RTF produced %d bonded/nonbonded parameters; IMPR/CMAP/BOND lines must be ignored", n)
	}

	p = mustReadParams(t, "top_all36_cgenff.rtf")
	if len(p.Masses) != 161 {
		t.Errorf("CGenFF RTF: %d masses, want 161", len(p.Masses))
	}
	withElem := 0
	for _, m := range p.Masses {
		if m.Element != "" {
			withElem++
		}
	}
	if withElem != 160 {
		t.Errorf("CGenFF RTF: %d masses with an element, want 160", withElem)
	}
	if m := p.Masses["HGA2"]; m != (MassType{Code: -1, Type: "HGA2", Mass: 1.008, Element: "H"}) {
		t.Errorf("CGenFF RTF HGA2 = %+v", m)
	}
	if m := p.Masses["NG2D1"]; m.Element != "" || m.Mass != 14.007 {
		t.Errorf("CGenFF RTF NG2D1 = %+v", m)
	}
}

func TestReadParametersWaterIonsStream(t *testing.T) {
	p := mustReadParams(t, "toppar_water_ions.str")
	// 17 MASS lines in the RTF block, the same 17 types in the PRM block.
	if len(p.Masses) != 17 {
		t.Errorf("%d masses, want 17", len(p.Masses))
	}
	// The PRM block's MASS lines have no element; the RTF block's is kept.
	if m := p.Masses["OT"]; m != (MassType{Code: -1, Type: "OT", Mass: 15.9994, Element: "O"}) {
		t.Errorf("mass OT = %+v", m)
	}
	if m := p.Masses["SOD"]; m.Element != "NA" || m.Mass != 22.98977 {
		t.Errorf("mass SOD = %+v", m)
	}
	if b := p.Bonds[NewBondKey("OT", "HT")]; b != (BondParam{K: 450, B0: 0.9572}) {
		t.Errorf("bond HT-OT = %+v", b)
	}
	if a := p.Angles[NewAngleKey("HT", "OT", "HT")]; a != (AngleParam{K: 55, Theta0: 104.52}) {
		t.Errorf("angle HT-OT-HT = %+v", a)
	}
	ljs := map[string]LJParam{
		"OT":  {Eps: 0.1521, RminHalf: 1.7682},
		"HT":  {Eps: 0.046, RminHalf: 0.2245},
		"SOD": {Eps: 0.0469, RminHalf: 1.41075},
		"CLA": {Eps: 0.15, RminHalf: 2.27},
		"POT": {Eps: 0.087, RminHalf: 1.76375},
	}
	for k, want := range ljs {
		if got := p.LJ[k]; got != want {
			t.Errorf("LJ %s = %+v, want %+v", k, got, want)
		}
	}
	if len(p.LJ) != 17 {
		t.Errorf("%d LJ types, want 17", len(p.LJ))
	}
	// NBFIX of the second PRM block (the first block's are commented out):
	// 25 lines, with types (OC, OG2D2, ...) this file does not define.
	if len(p.NBFix) != 25 {
		t.Errorf("%d NBFIX pairs, want 25", len(p.NBFix))
	}
	if nb := p.NBFix[NewBondKey("SOD", "OC")]; nb != (NBFixParam{Emin: 0.07502, Rmin: 3.23}) {
		t.Errorf("NBFIX SOD-OC = %+v", nb)
	}
	if nb := p.NBFix[NewBondKey("CLA", "SOD")]; nb != (NBFixParam{Emin: 0.0839, Rmin: 3.731}) {
		t.Errorf("NBFIX CLA-SOD = %+v", nb)
	}
	if got := p.Dihedrals[NewDihedralKey("HPER", "OPER", "OPER", "HPER")]; !slices.Equal(got, []DihedralTerm{{2.02, 2, 0}}) {
		t.Errorf("dihedral HPER-OPER-OPER-HPER = %+v", got)
	}
}

func TestReadParametersAllFiles(t *testing.T) {
	p := mustReadParams(t, "top_all36_prot.rtf", "par_all36m_prot.prm", "top_all36_cgenff.rtf",
		"par_all36_cgenff.prm", "toppar_water_ions.str")
	if len(p.Files) != 5 {
		t.Errorf("Files = %v", p.Files)
	}
	if len(p.Masses) != 54+161+17 || len(p.LJ) != 54+161+17 {
		t.Errorf("%d masses, %d LJ types", len(p.Masses), len(p.LJ))
	}
	// The stream's NBFIX for SOD-OC needs the protein's OC type, now present.
	if _, ok := p.NBFix[NewBondKey("SOD", "OC")]; !ok {
		t.Error("NBFIX SOD-OC missing")
	}
}

func TestReadParameterFilesMissing(t *testing.T) {
	_, err := ReadParameterFiles(prmDataDir + "no_such_file.prm")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

func TestReadParametersOverride(t *testing.T) {
	first := `* first
*
BONDS
A B 100.0 1.0
ANGLES
A B C 50.0 109.5 10.0 2.0
DIHEDRALS
A B C D 1.0 1 0.0
A B C D 2.0 2 180.0
IMPROPER
A X X D 10.0 0 0.0
NONBONDED
A 0.0 -0.1 2.0
B 0.0 -0.2 1.5 0.0 -0.1 1.4
NBFIX
A B -0.3 3.5
END
`
	second := `* second
*
BONDS
B A 200.0 1.1             ! reversed order, same key
ANGLES
C B A 60.0 110.0          ! drops the UB term
DIHEDRALS
D C B A 3.0 2 0.0         ! same n: replaces the n=2 term
A B C D 0.5 3 0.0         ! new n: appended
IMPROPER
D X X A 20.0 0 5.0
NONBONDED
A 0.0 -0.3 2.2
NBFIX
B A -0.4 3.6 -0.2 3.0
END
`
	p := NewParameters()
	if err := ReadParameters(strings.NewReader(first), "first.prm", p); err != nil {
		t.Fatal(err)
	}
	if err := ReadParameters(strings.NewReader(second), "second.prm", p); err != nil {
		t.Fatal(err)
	}
	if b := p.Bonds[NewBondKey("A", "B")]; b != (BondParam{200, 1.1}) || len(p.Bonds) != 1 {
		t.Errorf("bonds = %v", p.Bonds)
	}
	if a := p.Angles[NewAngleKey("A", "B", "C")]; a != (AngleParam{K: 60, Theta0: 110}) || len(p.Angles) != 1 {
		t.Errorf("angles = %v", p.Angles)
	}
	want := []DihedralTerm{{1, 1, 0}, {3, 2, 0}, {0.5, 3, 0}}
	if got := p.Dihedrals[NewDihedralKey("A", "B", "C", "D")]; !slices.Equal(got, want) || len(p.Dihedrals) != 1 {
		t.Errorf("dihedrals = %v, want %v", p.Dihedrals, want)
	}
	if got := p.Impropers[NewDihedralKey("A", "X", "X", "D")]; !slices.Equal(got, []ImproperTerm{{20, 0, 5}}) {
		t.Errorf("impropers = %v", p.Impropers)
	}
	if lj := p.LJ["A"]; lj != (LJParam{Eps: 0.3, RminHalf: 2.2}) {
		t.Errorf("LJ A = %+v", lj)
	}
	if lj := p.LJ["B"]; !lj.Has14 || lj.Eps != 0.2 {
		t.Errorf("LJ B = %+v (should be untouched)", lj)
	}
	if nb := p.NBFix[NewBondKey("A", "B")]; nb != (NBFixParam{0.4, 3.6, 0.2, 3.0, true}) {
		t.Errorf("NBFIX A-B = %+v", nb)
	}
	if len(p.Files) != 0 {
		t.Errorf("ReadParameters must not touch Files: %v", p.Files)
	}
}

func TestReadParametersSyntax(t *testing.T) {
	// Lower case, abbreviated keywords, continuation lines, comments, a
	// title, Windows line endings, Fortran exponents, negative multiplicity.
	text := strings.Join([]string{
		"* a title line ! with a bang",
		"* second title line",
		"*   ",
		"",
		"! a comment",
		"atom",
		"mass 5 ct3 12.011 c",
		"mass -1 ha 1.008",
		"bond",
		"ct3 ha 3.22D+02 1.111   ! Fortran exponent",
		"theta",
		"ha ct3 ha 35.5 108.4 5.4 1.802 0.0 ! a trailing number is tolerated",
		"phi",
		"x ct3 ct3 x 0.1 -3 0.0  ! old-style negative multiplicity",
		"x ct3 ct3 x 0.2 2 180.0",
		"imph",
		"ha x x ct3 5.0 0 0.0",
		"nbonded nbxmod 4 atom -   ! options continue",
		"  cdiel switch -",
		"  cutnb 13.0 ctofnb 11.0 ctonnb 9.0 eps 2.0 e14fac 0.5 wmin 1.5 cutim 14 ctexnb 99",
		"ct3 0.0 -0.078 2.04",
		"ha 0.0 -2.4d-2 1.34",
		"nbfi",
		"ct3 ha -0.1 3.0",
		"hbond cuthb 0.5",
		"ha ct3 0.0 0.0 ! ignored",
		"end",
		"THIS IS IGNORED AFTER END",
	}, "\r\n")
	p, err := readParamString("syntax.prm", text)
	if err != nil {
		t.Fatal(err)
	}
	if m := p.Masses["CT3"]; m != (MassType{Code: 5, Type: "CT3", Mass: 12.011, Element: "C"}) {
		t.Errorf("mass CT3 = %+v", m)
	}
	if p.TypeCodes[5] != "CT3" || len(p.TypeCodes) != 1 {
		t.Errorf("TypeCodes = %v", p.TypeCodes)
	}
	if b := p.Bonds[NewBondKey("HA", "CT3")]; b != (BondParam{322, 1.111}) {
		t.Errorf("bond = %+v", b)
	}
	if a := p.Angles[NewAngleKey("HA", "CT3", "HA")]; a != (AngleParam{35.5, 108.4, 5.4, 1.802}) {
		t.Errorf("angle = %+v", a)
	}
	if d := p.Dihedrals[NewDihedralKey("X", "CT3", "CT3", "X")]; !slices.Equal(d, []DihedralTerm{{0.1, 3, 0}, {0.2, 2, 180}}) {
		t.Errorf("dihedral = %+v", d)
	}
	if d := p.Impropers[NewDihedralKey("HA", "X", "X", "CT3")]; !slices.Equal(d, []ImproperTerm{{5, 0, 0}}) {
		t.Errorf("improper = %+v", d)
	}
	want := NonbondedOptions{NBXMod: 4, E14Fac: 0.5, Eps: 2, CutNB: 13, CtOfNB: 11, CtOnNB: 9,
		Flags: []string{"ATOM", "CDIEL", "SWITCH"}}
	got := p.Nonbonded
	if got.NBXMod != want.NBXMod || got.E14Fac != want.E14Fac || got.Eps != want.Eps || got.CutNB != want.CutNB ||
		got.CtOfNB != want.CtOfNB || got.CtOnNB != want.CtOnNB || !slices.Equal(got.Flags, want.Flags) {
		t.Errorf("nonbonded = %+v, want %+v", got, want)
	}
	if lj := p.LJ["HA"]; lj != (LJParam{Eps: 0.024, RminHalf: 1.34}) {
		t.Errorf("LJ HA = %+v", lj)
	}
	if nb := p.NBFix[NewBondKey("CT3", "HA")]; nb != (NBFixParam{Emin: 0.1, Rmin: 3}) {
		t.Errorf("NBFIX = %+v", nb)
	}
	if len(p.Bonds) != 1 || len(p.LJ) != 2 {
		t.Errorf("HBOND entries must be ignored: bonds %v, LJ %v", p.Bonds, p.LJ)
	}
}

func TestReadParametersNonbondedOptionsWithoutContinuation(t *testing.T) {
	// The "-" is missing, but an option keyword cannot start an LJ entry.
	p, err := readParamString("x.prm", "NONBONDED nbxmod 5 atom\ncutnb 16.0 e14fac 0.8333\nCT 0.0 -0.1 2.0\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.Nonbonded.CutNB != 16 || p.Nonbonded.E14Fac != 0.8333 || len(p.LJ) != 1 {
		t.Errorf("nonbonded %+v, LJ %v", p.Nonbonded, p.LJ)
	}
}

func TestReadParametersTitleWithoutTerminator(t *testing.T) {
	// A title missing its closing "*" ends at the first other line.
	p, err := readParamString("x.prm", "* title\n* more\nBONDS\nA B 1 2\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Bonds) != 1 {
		t.Errorf("bonds = %v", p.Bonds)
	}
}

func TestReadParametersDetectRTF(t *testing.T) {
	// RTF lines that look like PRM section headers: IMPR with atom names,
	// and a CMAP line with 8 names and no grid size. No version line: the
	// RESI line marks the file as an RTF.
	rtf := `* tiny rtf
*
MASS 1 HT 1.008 H
MASS 2 OT 15.9994 O
DEFA FIRS NONE LAST NONE
RESI TIP3 0.0
GROUP
ATOM OH2 OT -0.834
ATOM H1 HT 0.417
BOND OH2 H1
IMPR OH2 H1 H2 X
CMAP -C N CA C N CA C +N
DONOR H1 OH2
IC H1 OH2 H2 1.0 2.0 3.0 4.0 5.0
END
BONDS
this is ignored
`
	p, err := readParamString("tiny.inp", rtf)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Masses) != 2 || p.TypeCodes[1] != "HT" || p.TypeCodes[2] != "OT" || p.Masses["OT"].Element != "O" {
		t.Errorf("masses %v, codes %v", p.Masses, p.TypeCodes)
	}
	if len(p.Impropers)+len(p.CMaps)+len(p.Bonds) != 0 {
		t.Error("RTF lines were read as parameters")
	}
}

func TestReadParametersStream(t *testing.T) {
	str := `* a stream file
*
set app
if @x eq 1 set app append
Read RTF Card @app
* block title
*
36 1
MASS -1 QQ 10.0 C
RESI QQQ 0.0
ATOM Q1 QQ 0.0
END

bomlev -2
read param card flex append
* block title
*
BONDS
QQ QQ 100.0 1.5
END
read coor pdb name something.pdb
read para card append
NONBONDED
QQ 0.0 -0.2 2.0
end
return
`
	// Named .prm: detected by its read commands, not by the extension.
	p, err := readParamString("stream.prm", str)
	if err != nil {
		t.Fatal(err)
	}
	if p.Masses["QQ"].Mass != 10 || p.Bonds[NewBondKey("QQ", "QQ")].K != 100 || p.LJ["QQ"].Eps != 0.2 {
		t.Errorf("masses %v bonds %v LJ %v", p.Masses, p.Bonds, p.LJ)
	}
	// Named .str but with no blocks at all: nothing to read, no error.
	if _, err := readParamString("empty.str", "* t\n*\nset a 1\nreturn\n"); err != nil {
		t.Errorf("script-only stream: %v", err)
	}
}

func TestReadParametersZeroValue(t *testing.T) {
	var p Parameters
	if err := ReadParameters(strings.NewReader("BONDS\nA B 1 2\n"), "x.prm", &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Bonds) != 1 {
		t.Errorf("bonds = %v", p.Bonds)
	}
	if err := ReadParameters(strings.NewReader(""), "x.prm", nil); err == nil {
		t.Error("nil *Parameters accepted")
	}
}

func TestReadParametersErrors(t *testing.T) {
	cmapHeader := "CMAP\nA B C D B C D E 2\n"
	tests := []struct {
		name, file, text string
		line             int
		want             []string // substrings of Msg
	}{
		{"bond missing b0", "x.prm", "BONDS\nA B 100.0\n", 2, []string{"BONDS entry", `"type1 type2 Kb b0"`, "missing b0"}},
		{"bond bad Kb", "x.prm", "* t\n*\nBONDS\n\nA B one 1.5\n", 5, []string{"BONDS entry", `Kb "one" is not a number`}},
		{"bond trailing word", "x.prm", "BONDS\nA B 100.0 1.5 extra\n", 2, []string{"BONDS entry", `unexpected field "extra"`}},
		{"bond NaN", "x.prm", "BONDS\nA B NaN 1.5\n", 2, []string{"BONDS entry", "not a number"}},
		{"bond Inf", "x.prm", "BONDS\nA B 1.5 +Inf\n", 2, []string{"BONDS entry", "b0"}},
		{"bond hex", "x.prm", "BONDS\nA B 0x1p3 1.5\n", 2, []string{"BONDS entry", "Kb"}},
		{"angle half UB", "x.prm", "ANGLES\nA B C 50 109.5 10.0\n", 2, []string{"ANGLES entry", "Ktheta theta0 [Kub S0]", "missing S0"}},
		{"angle too short", "x.prm", "THETAS\nA B C 50\n", 2, []string{"ANGLES entry", "missing theta0"}},
		{"dihedral n zero", "x.prm", "DIHEDRALS\nA B C D 1.0 0 0.0\n", 2, []string{"DIHEDRALS entry", "Kchi n delta", "must not be 0"}},
		{"dihedral n real", "x.prm", "DIHEDRALS\nA B C D 1.0 2.5 0.0\n", 2, []string{"DIHEDRALS entry", `multiplicity "2.5" is not an integer`}},
		{"dihedral short", "x.prm", "DIHEDRALS\nA B C D 1.0 2\n", 2, []string{"DIHEDRALS entry", "missing angle"}},
		{"improper short", "x.prm", "IMPROPER\nA B C D 1.0\n", 2, []string{"IMPROPER entry", "Kpsi n psi0", "missing n"}},
		{"cmap header fields", "x.prm", "CMAP\nA B C D 24\n", 2, []string{"CMAP entry", "gridsize", "5 fields instead of 9"}},
		{"cmap size zero", "x.prm", "CMAP\nA B C D E F G H 0\n", 2, []string{"CMAP entry", "grid size"}},
		{"cmap size huge", "x.prm", "CMAP\nA B C D E F G H 100000\n", 2, []string{"CMAP entry", "between 1 and 360"}},
		{"cmap interrupted", "x.prm", cmapHeader + "1 2 3\nNONBONDED\n", 4, []string{"CMAP grid A B C D B C D E (header at line 2)", "3 of its 4 values", `got "NONBONDED"`}},
		{"cmap at eof", "x.prm", cmapHeader + "1 2\n", 2, []string{"CMAP grid", "2 of its 4 values at the end of the input"}},
		{"cmap too many", "x.prm", cmapHeader + "1 2\n3 4 5\n", 4, []string{"more than the 2 x 2 values"}},
		{"nonbonded 5 fields", "x.prm", "NONBONDED\nA 0.0 -0.1 2.0 0.0\n", 2, []string{"NONBONDED entry", "[ignored eps,1-4 Rmin/2,1-4]", "missing eps,1-4"}},
		{"nonbonded bad eps", "x.prm", "NONBONDED\nA 0.0 x 2.0\n", 2, []string{"NONBONDED entry", `epsilon "x"`}},
		{"nonbonded option no value", "x.prm", "NONBONDED cutnb\n", 1, []string{"NONBONDED option CUTNB", "expected a value"}},
		{"nonbonded option bad value", "x.prm", "NONBONDED -\n nbxmod five\n", 1, []string{"NBXMOD", "expected an integer"}},
		{"nonbonded stray number", "x.prm", "NONBONDED 5\n", 1, []string{"unexpected number", "expected a keyword"}},
		{"nbfix 5 fields", "x.prm", "NBFIX\nA B -0.1 3.0 -0.1\n", 2, []string{"NBFIX entry", "Emin Rmin [Emin14 Rmin14]", "missing Rmin14"}},
		{"mass bad code", "x.prm", "ATOMS\nMASS x CT 12.0\n", 2, []string{"ATOMS entry", "MASS code type mass [element]", "not an integer"}},
		{"mass short", "x.rtf", "36 1\nMASS 1 CT\n", 2, []string{"MASS code type mass", "too few fields"}},
		{"atoms non-mass", "x.prm", "ATOMS\nCT 12.0\n", 2, []string{"ATOMS entry", "does not start with MASS"}},
		{"unknown section", "x.prm", "* t\n*\nFOO bar\n", 3, []string{"unknown section keyword FOO", "expected one of ATOMS, BONDS"}},
		{"entry before section", "x.prm", "A B 100 1.5\n", 1, []string{"unknown section keyword A"}},
		{"drude thole", "x.prm", "BONDS\nA B 1 2\nTHOLE\n", 3, []string{"section THOLE is not supported", "Drude"}},
		{"drude nbthole", "x.prm", "NBTHOLE\n", 1, []string{"section NBTHOLE is not supported"}},
		{"keyword with junk", "x.prm", "BONDS A B\n", 1, []string{"section keyword BONDS takes no options"}},
		{"continued line number", "x.prm", "BONDS\nA B -\n 1 -\n x\n", 2, []string{"BONDS entry", `b0 "x"`}},
		{"crlf line number", "x.prm", "* t\r\n*\r\nBONDS\r\nA B 1 2\r\nA B 1\r\n", 5, []string{"missing b0"}},
		{"stream read name", "x.str", "read rtf card name top.rtf\n", 1, []string{"reads from another file", "read that file directly"}},
		{"stream read unit", "x.str", "read para card unit 10\n", 1, []string{"reads from another file"}},
		{"stream not card", "x.str", "read para file\n", 1, []string{"not a formatted read", "read para card"}},
		{"stream missing end", "x.str", "read rtf card\n* t\n*\nMASS -1 A 1.0\nread para card\nBONDS\nEND\n", 5, []string{"expected END", "line 1"}},
		{"stream bad entry", "x.str", "set a 1\nread para card\n* t\n*\nBONDS\nA B 1\nEND\n", 6, []string{"BONDS entry"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readParamString(tc.file, tc.text)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *ParseError", err, err)
			}
			if pe.File != tc.file || pe.Line != tc.line {
				t.Errorf("error at %s:%d, want %s:%d: %v", pe.File, pe.Line, tc.file, tc.line, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(pe.Msg, w) {
					t.Errorf("message %q does not mention %q", pe.Msg, w)
				}
			}
		})
	}
}

func BenchmarkReadParametersCGenFF(b *testing.B) {
	data, err := os.ReadFile(prmDataDir + "par_all36_cgenff.prm")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		p := NewParameters()
		if err := ReadParameters(strings.NewReader(string(data)), "par_all36_cgenff.prm", p); err != nil {
			b.Fatal(err)
		}
	}
}
