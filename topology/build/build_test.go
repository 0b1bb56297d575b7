package build

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/topology"
)

var update = flag.Bool("update", false, "rewrite testdata/peptide20.psf and .pdb")

const (
	toppar   = "../../data/toppar"
	protRTF  = toppar + "/top_all36_prot.rtf"
	protPRM  = toppar + "/par_all36m_prot.prm"
	systems  = "../../data/systems"
	cgenfRTF = toppar + "/top_all36_cgenff.rtf"
)

// allAminoAcids holds the 20 standard amino acids (CHARMM names) in 25
// residues. The proline is third: a proline later in a helix runs its CD
// into the carbonyl four residues back, which is why prolines break
// helices; in the first turn it has no such partner.
var allAminoAcids = []string{
	"MET", "ALA", "PRO", "GLU", "LEU", "ARG", "LYS", "ASN", "ASP", "CYS",
	"GLN", "GLY", "HSD", "ILE", "THR", "TRP", "TYR", "VAL", "SER", "PHE",
	"ALA", "LYS", "GLU", "ALA", "LEU",
}

var (
	loadOnce   sync.Once
	protTop    *RTF
	protParams *topology.Parameters
	loadErr    error
)

func load(t testing.TB) (*RTF, *topology.Parameters) {
	t.Helper()
	loadOnce.Do(func() {
		protTop, loadErr = ReadRTFFile(protRTF)
		if loadErr == nil {
			protParams, loadErr = topology.ReadParameterFiles(protPRM)
		}
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return protTop, protParams
}

func build(t testing.TB, seq []string, opts Options) (*topology.PSF, []float64) {
	t.Helper()
	rtf, params := load(t)
	if opts.Params == nil {
		opts.Params = params
	}
	psf, x, err := BuildPeptide(rtf, "PROA", seq, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != 3*len(psf.Atoms) {
		t.Fatalf("%d coordinates for %d atoms", len(x), len(psf.Atoms))
	}
	return psf, x
}

func TestReadRTFProt(t *testing.T) {
	rtf, _ := load(t)
	var resi, pres int
	for _, name := range rtf.Names {
		if rtf.Residues[name].Patch {
			pres++
		} else {
			resi++
		}
	}
	if resi != 24 || pres != 24 || len(rtf.Masses) != 54 {
		t.Errorf("got %d RESI, %d PRES, %d MASS; want 24, 24, 54", resi, pres, len(rtf.Masses))
	}
	if !slices.Equal(rtf.Version, []int{36, 1}) {
		t.Errorf("version %v", rtf.Version)
	}
	if !slices.Equal(rtf.Declared, []string{"-CA", "-C", "-O", "+N", "+HN", "+CA"}) {
		t.Errorf("DECL %v", rtf.Declared)
	}
	if rtf.DefaultFirst != "NTER" || rtf.DefaultLast != "CTER" {
		t.Errorf("DEFA %s %s", rtf.DefaultFirst, rtf.DefaultLast)
	}
	if rtf.Auto != (AutoFlags{Angles: true, Dihedrals: true, Patch: true}) {
		t.Errorf("AUTO %+v", rtf.Auto)
	}
	if m := rtf.Masses["CT1"]; m.Mass != 12.011 || m.Code != -1 {
		t.Errorf("MASS CT1 %+v", m)
	}

	ala := rtf.Residues["ALA"]
	if len(ala.Atoms) != 10 || ala.Atoms[4] != (AtomDef{Name: "CB", Type: "CT3", Charge: -0.27, Group: 1, Line: 102}) {
		t.Errorf("ALA atoms %+v", ala.Atoms)
	}
	if len(ala.Bonds) != 10 || ala.Bonds[4].Atoms != [2]string{"C", "+N"} || ala.Bonds[9].Order != 2 {
		t.Errorf("ALA bonds %+v", ala.Bonds)
	}
	if len(ala.Impropers) != 2 || ala.Impropers[0].Atoms != [4]string{"N", "-C", "CA", "HN"} {
		t.Errorf("ALA impropers %+v", ala.Impropers)
	}
	if len(ala.CMaps) != 1 || ala.CMaps[0].Atoms != [8]string{"-C", "N", "CA", "C", "N", "CA", "C", "+N"} {
		t.Errorf("ALA CMAP %+v", ala.CMaps)
	}
	wantIC := IC{Atoms: [4]string{"-C", "CA", "N", "HN"}, Improper: true, R1: 1.3551, A1: 126.49, Phi: 180, A2: 115.42, R2: 0.9996, Line: 116}
	if len(ala.ICs) != 10 || ala.ICs[0] != wantIC || ala.ICs[1].Improper {
		t.Errorf("ALA ICs %+v", ala.ICs)
	}
	if ala.First != "NTER" || ala.Last != "CTER" {
		t.Errorf("ALA patches %s %s", ala.First, ala.Last)
	}
	for name, first := range map[string]string{"GLY": "GLYP", "PRO": "PROP", "ALAD": "NONE"} {
		if r := rtf.Residues[name]; r.First != first {
			t.Errorf("%s first patch %s, want %s", name, r.First, first)
		}
	}
	nter := rtf.Residues["NTER"]
	if !nter.Patch || nter.Charge != 1 || len(nter.Deletes) != 1 || nter.Deletes[0].Kind != "ATOM" || nter.Deletes[0].Atoms[0] != "HN" {
		t.Errorf("NTER %+v", nter)
	}
	if disu := rtf.Residues["DISU"]; len(disu.Bonds) != 1 || disu.Bonds[0].Atoms != [2]string{"1SG", "2SG"} {
		t.Errorf("DISU bonds %+v", disu.Bonds)
	}
	if link := rtf.Residues["LINK"]; len(link.Angles) != 4 || len(link.Dihedrals) != 10 {
		t.Errorf("LINK: %d angles, %d dihedrals; want 4, 10", len(link.Angles), len(link.Dihedrals))
	}
	// The declared charge of every residue is the sum of its atoms'.
	for _, name := range rtf.Names {
		r := rtf.Residues[name]
		if r.Patch {
			continue
		}
		var q float64
		for _, a := range r.Atoms {
			q += a.Charge
		}
		if math.Abs(q-r.Charge) > 1e-9 {
			t.Errorf("%s: atoms add up to %g, declared %g", name, q, r.Charge)
		}
	}
}

func TestReadRTFCGenFF(t *testing.T) {
	rtf, err := ReadRTFFile(cgenfRTF)
	if err != nil {
		t.Fatal(err)
	}
	if len(rtf.Residues) < 900 || len(rtf.Masses) < 150 {
		t.Errorf("%d residues, %d masses", len(rtf.Residues), len(rtf.Masses))
	}
	if m := rtf.Masses["HGA1"]; m.Element != "H" || m.Mass != 1.008 {
		t.Errorf("MASS HGA1 %+v", m)
	}
	// The PEG block sets its own terminal patches with DEFAULT.
	if r := rtf.Residues["PEGM"]; r == nil || r.First != "HYD1" || r.Last != "HYD2" || len(r.Bonds) != 7 {
		t.Errorf("PEGM %+v", r)
	}
	// A residue written "ATOM," (a typo CHARMM's four-character keywords
	// forgive).
	if r := rtf.Residues["C3C"]; r == nil || r.Atoms[0].Name != "CG1" {
		t.Errorf("C3C %+v", r)
	}
	// Build a few molecules from it: CGenFF residues are single molecules.
	for _, name := range []string{"BENZ", "ACO", "PEGM"} {
		psf, x, err := BuildPeptide(rtf, "LIG", []string{name}, Options{Backbone: BackboneRTF})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(x) != 3*len(psf.Atoms) || len(psf.Angles) == 0 {
			t.Errorf("%s: %d atoms, %d coordinates, %d angles", name, len(psf.Atoms), len(x), len(psf.Angles))
		}
	}
}

func TestReadRTFSyntax(t *testing.T) {
	const text = `* a title
* on two lines
*
36 1
mass -1 ct3 12.011 C ! methyl carbon
MASS  -1  HA3   1.008
MASS 23 OX 15.9994
decl -c
defa firs none last none
auto angl dihe

resi MOL  0.00 ! comment
group
atom C1 ct3 -0.27
ATOM, H1 HA3 0.09
ATOM H2 HA3 0.09 alpha -1.0 thole 1.3
ATOM H3 HA3 -
  0.09
BOND C1 H1 C1 H2 -
     C1 H3
ic h1 c1 *h2 h3  1.1 109.5 120.0 109.5 1.1
IC H1 C1 H2 H3 0. 0.0 1.D2 0 0
PATCHING FIRS xyz
PRES XYZ 0
DELETE ATOM H3
DELE IMPR A B C D
donor H1 C1
END
this is not read
`
	rtf, err := ReadRTF(strings.NewReader(text), "inline.rtf")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rtf.Version, []int{36, 1}) || rtf.Masses["CT3"].Element != "C" || rtf.Masses["OX"].Code != 23 {
		t.Errorf("header: %+v %+v", rtf.Version, rtf.Masses)
	}
	if rtf.Auto != (AutoFlags{Angles: true, Dihedrals: true}) || rtf.DefaultFirst != "NONE" {
		t.Errorf("AUTO %+v DEFA %s", rtf.Auto, rtf.DefaultFirst)
	}
	mol := rtf.Residues["MOL"]
	if len(mol.Atoms) != 4 || mol.Atoms[3].Name != "H3" || mol.Atoms[3].Charge != 0.09 || mol.Atoms[1].Name != "H1" {
		t.Fatalf("atoms %+v", mol.Atoms)
	}
	if len(mol.Bonds) != 3 || mol.Bonds[2].Atoms != [2]string{"C1", "H3"} || mol.Bonds[2].Line != 19 {
		t.Errorf("bonds %+v", mol.Bonds)
	}
	if len(mol.ICs) != 2 || !mol.ICs[0].Improper || mol.ICs[0].Atoms[2] != "H2" || mol.ICs[1].Phi != 100 {
		t.Errorf("ICs %+v", mol.ICs)
	}
	if mol.First != "XYZ" || mol.Last != "NONE" {
		t.Errorf("patches %s %s", mol.First, mol.Last)
	}
	xyz := rtf.Residues["XYZ"]
	if !xyz.Patch || len(xyz.Deletes) != 2 || xyz.Deletes[1].Kind != "IMPR" || len(xyz.Deletes[1].Atoms) != 4 {
		t.Errorf("XYZ %+v", xyz)
	}
	if !slices.Equal(rtf.Names, []string{"MOL", "XYZ"}) {
		t.Errorf("names %v", rtf.Names)
	}
}

func TestReadRTFErrors(t *testing.T) {
	head := "* t\n*\n36 1\nMASS -1 C 12.0\n"
	cases := []struct {
		body string
		line int
		want string
	}{
		{"ATOM A C 0\n", 5, "outside a RESI"},
		{"RESI X 0\nATOM A C\n", 6, "expected ATOM name type charge"},
		{"RESI X 0\nATOM A C zero\n", 6, "not a number"},
		{"RESI X 0\nATOM A C 0 junk\n", 6, "unexpected"},
		{"RESI X 0\nATOM A C 0\nATOM A C 0\n", 7, "defined twice"},
		{"RESI X 0\nATOM +A C 0\n", 6, "neighbouring"},
		{"RESI X 0\nBOND A\n", 6, "not a multiple of 2"},
		{"RESI X 0\nBOND A A\n", 6, "twice"},
		{"RESI X 0\nIMPR A B C\n", 6, "not a multiple of 4"},
		{"RESI X 0\nCMAP A B C D E F G\n", 6, "not a multiple of 8"},
		{"RESI X 0\nIC A B C D 1 2 3 4\n", 6, "expected IC I J [*]K L"},
		{"RESI X 0\nIC A *B C D 1 2 3 4 5\n", 6, "only the third atom"},
		{"RESI X 0\nIC A B C D 1 2 x 4 5\n", 6, "IC value 3"},
		{"RESI X 0\nIC A B C D 1 2 nan 4 5\n", 6, "IC value 3"},
		{"RESI X 0\nDELETE FOO A\n", 6, "unknown kind"},
		{"RESI X 0\nDELETE BOND A\n", 6, "not a multiple of 2"},
		{"RESI X abc\n", 5, "charge"},
		{"RESI\n", 5, "expected RESI name charge"},
		{"MASS -1 C\n", 5, "expected MASS code type mass"},
		{"MASS x C 12\n", 5, "not an integer"},
		{"MASS -1 C -12\n", 5, "non-negative"},
		{"DECL C\n", 5, "does not start with + or -"},
		{"DEFA FIRS\n", 5, "keyword-patch pairs"},
		{"DEFA FIRST NTER MIDDLE X\n", 5, "unknown keyword"},
		{"AUTO ANGLES BONDS\n", 5, "unknown flag"},
		{"PATCHING FIRS NONE\n", 5, "outside a RESI"},
		{"FROB\n", 5, "unknown RTF keyword"},
		{"RESI X 0\nGROUP\nATOM A C 0\nBOND A -\n  B C\n", 8, "not a multiple of 2"},
		{"RESI X 0\nATOM ABCDEFGHI C 0\n", 6, "1 to 8 characters"},
		{"RESI X 0\nATOM A\x01 C 0\n", 6, "printable ASCII"},
	}
	for _, c := range cases {
		_, err := ReadRTF(strings.NewReader(head+c.body), "bad.rtf")
		var pe *topology.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want a *topology.ParseError", c.body, err)
			continue
		}
		if pe.File != "bad.rtf" || pe.Line != c.line || !strings.Contains(pe.Msg, c.want) {
			t.Errorf("%q: got %v, want line %d and %q", c.body, err, c.line, c.want)
		}
	}
}

// canonical returns a term's key independent of its direction.
func canonical(t []int) string {
	r := slices.Clone(t)
	slices.Reverse(r)
	a, b := fmt.Sprint(t), fmt.Sprint(r)
	if b < a {
		return b
	}
	return a
}

func termSet[T ~[2]int | ~[3]int | ~[4]int | ~[8]int](terms []T) map[string]int {
	set := map[string]int{}
	for _, t := range terms {
		s := make([]int, len(t))
		for i := range len(t) {
			s[i] = t[i]
		}
		set[canonical(s)]++
	}
	return set
}

// comparePSF compares the atoms and the terms, as sets, of two PSFs.
func comparePSF(t *testing.T, got, want *topology.PSF) {
	t.Helper()
	if len(got.Atoms) != len(want.Atoms) {
		t.Fatalf("%d atoms, want %d", len(got.Atoms), len(want.Atoms))
	}
	for i, a := range got.Atoms {
		w := want.Atoms[i]
		if a.Name != w.Name || a.Type != w.Type || a.ResName != w.ResName || math.Abs(a.Charge-w.Charge) > 1e-9 || math.Abs(a.Mass-w.Mass) > 1e-9 {
			t.Errorf("atom %d: %+v, want %+v", i+1, a, w)
		}
	}
	for _, c := range []struct {
		name      string
		got, want map[string]int
	}{
		{"bonds", termSet(got.Bonds), termSet(want.Bonds)},
		{"angles", termSet(got.Angles), termSet(want.Angles)},
		{"dihedrals", termSet(got.Dihedrals), termSet(want.Dihedrals)},
		{"impropers", termSet(got.Impropers), termSet(want.Impropers)},
		{"cmap", termSet(got.CrossTerms), termSet(want.CrossTerms)},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s differ:\n got %v\nwant %v", c.name, c.got, c.want)
		}
	}
}

// TestALAD builds CHARMM's alanine dipeptide residue alone and compares it
// with the PSF psfgen wrote for it.
func TestALAD(t *testing.T) {
	want, err := topology.ReadPSFFile(filepath.Join(systems, "dialanine", "dialanine.psf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, {First: "NONE", Last: "none"}} {
		psf, x := build(t, []string{"ALAD"}, opts)
		comparePSF(t, psf, want)
		checkGeometry(t, "ALAD", psf, x, 200)
	}
}

// TestALA2 builds ALA-ALA with NTER and CTER and compares it with the PSF
// CHARMM (through CHARMM-GUI) wrote for the same chain: atom order with the
// patch atoms where CHARMM puts them, terms as sets, and charge groups.
func TestALA2(t *testing.T) {
	want, err := topology.ReadPSFFile(filepath.Join(systems, "ala2", "ala2.psf"))
	if err != nil {
		t.Fatal(err)
	}
	psf, x := build(t, []string{"ALA", "ALA"}, Options{})
	comparePSF(t, psf, want)
	if !reflect.DeepEqual(psf.Groups, want.Groups) {
		t.Errorf("groups %v, want %v", psf.Groups, want.Groups)
	}
	checkGeometry(t, "ALA2", psf, x, 200)
}

func TestAllAminoAcids(t *testing.T) {
	rtf, params := load(t)
	psf, _ := build(t, allAminoAcids, Options{})

	// Atoms: every residue's, NTER replaces HN by HT1-3, CTER O by OT1-2.
	n, q := 0, 0.0
	for _, name := range allAminoAcids {
		n += len(rtf.Residues[name].Atoms)
		q += rtf.Residues[name].Charge
	}
	q += rtf.Residues["NTER"].Charge + rtf.Residues["CTER"].Charge
	if len(psf.Atoms) != n+2+1 {
		t.Errorf("%d atoms, want %d", len(psf.Atoms), n+3)
	}
	var names []string
	for _, a := range psf.Atoms[:5] {
		names = append(names, a.Name)
	}
	for _, a := range psf.Atoms[len(psf.Atoms)-3:] {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, " "); got != "N HT1 HT2 HT3 CA C OT1 OT2" {
		t.Errorf("terminal atoms %s", got)
	}
	var total float64
	for i, a := range psf.Atoms {
		total += a.Charge
		if r, err := strconv.Atoi(a.ResID); err != nil || r < 1 || r > len(allAminoAcids) || allAminoAcids[r-1] != a.ResName {
			t.Errorf("atom %d: residue %s %s is not in the sequence", i+1, a.ResID, a.ResName)
		}
		if a.Segment != "PROA" {
			t.Errorf("atom %d: segment %q", i+1, a.Segment)
		}
	}
	if math.Abs(total-q) > 1e-9 || math.Abs(q-math.Round(q)) > 1e-9 {
		t.Errorf("total charge %g, want %g (an integer)", total, q)
	}
	if len(psf.CrossTerms) != len(allAminoAcids)-2 {
		t.Errorf("%d CMAP terms, want %d", len(psf.CrossTerms), len(allAminoAcids)-2)
	}

	// Round trip through the PSF writer and reader.
	var buf bytes.Buffer
	if err := topology.WritePSF(&buf, psf); err != nil {
		t.Fatal(err)
	}
	back, err := topology.ReadPSF(bytes.NewReader(buf.Bytes()), "peptide.psf")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, psf) {
		t.Errorf("the PSF changed in a write/read round trip")
	}
	sys, err := topology.Assign(back, params)
	if err != nil {
		t.Fatal(err)
	}
	c := sys.Counts()
	t.Logf("sequence %s", strings.Join(allAminoAcids, "-"))
	t.Logf("%d atoms, %d bonds, %d angles (%d Urey-Bradley), %d dihedrals (%d Fourier terms), %d impropers, %d CMAP, %d groups, charge %+g",
		c.Atoms, c.Bonds, c.Angles, c.UreyBradleys, c.Dihedrals, c.DihedralTerm, c.Impropers, c.CMaps, len(psf.Groups), c.TotalCharge)
}

// bruteForceTerms finds every angle and dihedral of a bond graph by trying
// every triple and quadruple of atoms: nothing like the builder's walk over
// neighbour lists.
func bruteForceTerms(n int, bonds [][2]int) (angles, dihedrals map[string]int) {
	a := make([][]bool, n)
	for i := range a {
		a[i] = make([]bool, n)
	}
	for _, b := range bonds {
		a[b[0]][b[1]], a[b[1]][b[0]] = true, true
	}
	angles, dihedrals = map[string]int{}, map[string]int{}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if !a[i][j] {
				continue
			}
			for k := i + 1; k < n; k++ {
				if k != j && a[j][k] {
					angles[canonical([]int{i, j, k})] = 1
				}
			}
			for k := 0; k < n; k++ {
				if k == i || !a[j][k] {
					continue
				}
				for l := 0; l < n; l++ {
					if l != i && l != j && a[k][l] {
						dihedrals[canonical([]int{i, j, k, l})] = 1
					}
				}
			}
		}
	}
	return angles, dihedrals
}

// walkCounts counts angles and dihedrals with powers of the adjacency
// matrix A: walks of length 2 between different atoms are angles (twice);
// walks of length 3 between different atoms, less those that step back
// (i-j-i-l and i-j-k-j), are dihedrals (twice).
func walkCounts(n int, bonds [][2]int) (angles, dihedrals int) {
	a := make([][]int, n)
	for i := range a {
		a[i] = make([]int, n)
	}
	for _, b := range bonds {
		a[b[0]][b[1]], a[b[1]][b[0]] = 1, 1
	}
	mul := func(x, y [][]int) [][]int {
		z := make([][]int, n)
		for i := range z {
			z[i] = make([]int, n)
			for k := 0; k < n; k++ {
				if x[i][k] == 0 {
					continue
				}
				for j := 0; j < n; j++ {
					z[i][j] += x[i][k] * y[k][j]
				}
			}
		}
		return z
	}
	a2 := mul(a, a)
	a3 := mul(a2, a)
	var w2, w3, sumDeg2, edges int
	for i := 0; i < n; i++ {
		deg := a2[i][i]
		sumDeg2 += deg * deg
		edges += deg
		for j := 0; j < n; j++ {
			if i != j {
				w2 += a2[i][j]
				w3 += a3[i][j]
			}
		}
	}
	// Back-stepping walks: i-j-i-l (sum of deg^2) and i-j-k-j (again);
	// i-j-i-j is in both (once per ordered bond, edges counts them).
	paths := w3 - 2*sumDeg2 + edges
	return w2 / 2, paths / 2
}

func TestAutogenerateIndependently(t *testing.T) {
	// Brute force on a small peptide with five- and six-membered rings.
	psf, _ := build(t, []string{"ALA", "PRO", "PHE", "HSD", "TRP"}, Options{})
	angles, dihedrals := bruteForceTerms(len(psf.Atoms), psf.Bonds)
	if got := termSet(psf.Angles); !reflect.DeepEqual(got, angles) {
		t.Errorf("angles: builder %d, brute force %d", len(got), len(angles))
	}
	if got := termSet(psf.Dihedrals); !reflect.DeepEqual(got, dihedrals) {
		t.Errorf("dihedrals: builder %d, brute force %d", len(got), len(dihedrals))
	}
	if len(termSet(psf.Dihedrals)) != len(psf.Dihedrals) || len(termSet(psf.Angles)) != len(psf.Angles) {
		t.Errorf("duplicate angles or dihedrals")
	}
	// Matrix powers on the full peptide.
	psf, _ = build(t, allAminoAcids, Options{})
	na, nd := walkCounts(len(psf.Atoms), psf.Bonds)
	if na != len(psf.Angles) || nd != len(psf.Dihedrals) {
		t.Errorf("walk counts: %d angles, %d dihedrals; builder %d, %d", na, nd, len(psf.Angles), len(psf.Dihedrals))
	}
	// A three-membered ring has three angles and no dihedral i-j-k-i.
	tri := [][2]int{{0, 1}, {1, 2}, {2, 0}, {0, 3}}
	adj := adjacency(4, tri)
	if a, d := generateAngles(adj), generateDihedrals(adj, tri); len(a) != 5 || len(d) != 2 {
		t.Errorf("cyclopropyl: %d angles %v, %d dihedrals %v; want 5, 2", len(a), a, len(d), d)
	}
}

func dist(x []float64, i, j int) float64 {
	dx, dy, dz := x[3*i]-x[3*j], x[3*i+1]-x[3*j+1], x[3*i+2]-x[3*j+2]
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

func dihedralDeg(x []float64, a, b, c, d int) float64 {
	p := func(i int) vec { return vec{x[3*i], x[3*i+1], x[3*i+2]} }
	b1 := p(c).sub(p(b)).unitOr(vec{})
	v := p(a).sub(p(b))
	w := p(d).sub(p(c))
	v = v.sub(b1.scale(v.dot(b1)))
	w = w.sub(b1.scale(w.dot(b1)))
	return math.Atan2(b1.cross(v).dot(w), v.dot(w)) / degree
}

// energy evaluates the CHARMM energy of one configuration.
func energy(t *testing.T, psf *topology.PSF, x []float64) (float64, map[string]float64, *charmm.Model) {
	t.Helper()
	_, params := load(t)
	sys, err := topology.Assign(psf, params)
	if err != nil {
		t.Fatal(err)
	}
	m, err := charmm.New(sys, charmm.Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	b := forcefields.NewBatch(m, 1, false, true)
	copy(b.Coords, x)
	if err := m.Evaluate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	terms := map[string]float64{}
	for i, name := range m.Terms() {
		terms[name] = b.Terms[i]
	}
	return b.Energy[0], terms, m
}

// checkGeometry checks bond lengths against the parameters, close contacts
// and the energy.
func checkGeometry(t *testing.T, label string, psf *topology.PSF, x []float64, maxEnergy float64) {
	t.Helper()
	checkGeometryTol(t, label, psf, x, maxEnergy, 0.1)
}

func checkGeometryTol(t *testing.T, label string, psf *topology.PSF, x []float64, maxEnergy, bondTol float64) {
	t.Helper()
	_, params := load(t)
	sys, err := topology.Assign(psf, params)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, b := range sys.Bonds {
		d := dist(x, b.Atoms[0], b.Atoms[1])
		worst = max(worst, math.Abs(d-b.B0))
		if math.Abs(d-b.B0) > bondTol {
			t.Errorf("%s: bond %s-%s is %.3f A, b0 %.3f", label, psf.AtomLabel(b.Atoms[0]), psf.AtomLabel(b.Atoms[1]), d, b.B0)
		}
	}
	excluded := map[[2]int]bool{}
	for _, p := range sys.Exclusions {
		excluded[p] = true
	}
	closest := math.Inf(1)
	for i := range psf.Atoms {
		for j := i + 1; j < len(psf.Atoms); j++ {
			if excluded[[2]int{i, j}] {
				continue
			}
			d := dist(x, i, j)
			closest = min(closest, d)
			if d < 1.5 {
				t.Errorf("%s: atoms %s and %s are %.2f A apart", label, psf.AtomLabel(i), psf.AtomLabel(j), d)
			}
		}
	}
	e, terms, _ := energy(t, psf, x)
	if math.IsNaN(e) || e > maxEnergy {
		t.Errorf("%s: energy %g kcal/mol, want below %g", label, e, maxEnergy)
	}
	var parts []string
	for _, name := range []string{"bond", "angle", "urey_bradley", "dihedral", "improper", "cmap", "lennard_jones", "coulomb"} {
		parts = append(parts, fmt.Sprintf("%s %.2f", name, terms[name]))
	}
	t.Logf("%s: worst bond deviation %.3f A, closest non-excluded pair %.2f A, energy %.2f kcal/mol (%s)",
		label, worst, closest, e, strings.Join(parts, ", "))
}

func TestCoordinates(t *testing.T) {
	for _, c := range []struct {
		backbone string
		phi, psi float64
	}{{BackboneHelix, -57, -47}, {BackboneExtended, -120, 120}} {
		psf, x := build(t, allAminoAcids, Options{Backbone: c.backbone})
		checkGeometry(t, c.backbone, psf, x, 1000)
		// Every backbone dihedral is what was asked for, but proline's
		// phi, which its ring fixes.
		for _, bt := range backboneTorsions(psf, adjacency(len(psf.Atoms), psf.Bonds)) {
			want := map[string]float64{"phi": c.phi, "psi": c.psi, "omega": 180}[bt.kind]
			if bt.kind == "phi" && psf.Atoms[bt.at[2]].ResName == "PRO" {
				want = -76.12
			}
			got := dihedralDeg(x, bt.at[0], bt.at[1], bt.at[2], bt.at[3])
			if d := math.Remainder(got-want, 360); math.Abs(d) > 1e-6 {
				t.Errorf("%s: %s of %s is %.2f, want %.2f", c.backbone, bt.kind, psf.AtomLabel(bt.at[2]), got, want)
			}
		}
	}
	// Without parameters the IC tables and element radii still give a
	// sane structure; the patch atoms, whose IC entries leave lengths to
	// the parameters, get bonds from covalent radii (C-OT 1.42 A for 1.26).
	rtf, _ := load(t)
	psf, x, err := BuildPeptide(rtf, "PROA", allAminoAcids, Options{Params: topology.NewParameters()})
	if err != nil {
		t.Fatal(err)
	}
	checkGeometryTol(t, "no parameters", psf, x, 1000, 0.2)

	// KeepRotamers leaves the side chains as the IC tables have them,
	// which in an extended chain runs the Trp ring into the Val two
	// residues on: the clash relief is what removes such contacts.
	psf, x = build(t, allAminoAcids, Options{KeepRotamers: true})
	_, relaxed := build(t, allAminoAcids, Options{})
	e, _, _ := energy(t, psf, x)
	eRelaxed, _, _ := energy(t, psf, relaxed)
	if !(e > eRelaxed) {
		t.Errorf("energy with the IC rotamers %g, after clash relief %g: want the relief to lower it", e, eRelaxed)
	}
	t.Logf("extended chain: %.1f kcal/mol with the IC tables' rotamers, %.1f after clash relief", e, eRelaxed)
}

func TestFiniteDifferences(t *testing.T) {
	psf, x := build(t, allAminoAcids, Options{Backbone: BackboneHelix})
	_, _, m := energy(t, psf, x)
	base := forcefields.NewBatch(m, 1, true, false)
	copy(base.Coords, x)
	if err := m.Evaluate(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	n := len(psf.Atoms)
	var coords []int
	for _, atom := range []int{0, 7, n / 3, n / 2, 2 * n / 3, n - 1} {
		for k := 0; k < 3; k++ {
			coords = append(coords, 3*atom+k)
		}
	}
	const h = 1e-5
	b := forcefields.NewBatch(m, 2*len(coords), false, false)
	for c, j := range coords {
		for s, sign := range []float64{1, -1} {
			cfg := b.Coords[(2*c+s)*3*n : (2*c+s+1)*3*n]
			copy(cfg, x)
			cfg[j] += sign * h
		}
	}
	if err := m.Evaluate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for c, j := range coords {
		fd := -(b.Energy[2*c] - b.Energy[2*c+1]) / (2 * h)
		if d := math.Abs(fd - base.Forces[j]); d > 1e-4*(1+math.Abs(fd)) {
			t.Errorf("atom %s %c: force %.6g, finite difference %.6g", psf.AtomLabel(j/3), "xyz"[j%3], base.Forces[j], fd)
		}
	}
}

func TestTerminalPatches(t *testing.T) {
	rtf, params := load(t)
	// An N-terminal glycine or proline gets GLYP or PROP, as the RTF's
	// PATCHING lines ask.
	psf, x := build(t, []string{"GLY", "ALA", "SER"}, Options{})
	if a := psf.Atoms[0:6]; a[0].Type != "NH3" || a[1].Name != "HT1" || a[4].Name != "CA" || a[4].Type != "CT2" || math.Abs(a[4].Charge-0.13) > 1e-12 {
		t.Errorf("GLYP: %+v", a)
	}
	checkGeometry(t, "GLY-ALA-SER", psf, x, 200)
	psf, x = build(t, []string{"PRO", "ALA", "ALA"}, Options{})
	if a := psf.Atoms[0:4]; a[0].Type != "NP" || a[1].Name != "HN1" || a[2].Name != "HN2" || a[3].Name != "CD" {
		t.Errorf("PROP: %+v", a)
	}
	checkGeometry(t, "PRO-ALA-ALA", psf, x, 200)

	// Blocked ends: ACE and CT3 keep the end residues' CMAP terms.
	seq := []string{"ALA", "GLY", "LYS", "SER", "ALA"}
	psf, x = build(t, seq, Options{First: "ACE", Last: "CT3"})
	if len(psf.CrossTerms) != len(seq) {
		t.Errorf("ACE/CT3: %d CMAP terms, want %d", len(psf.CrossTerms), len(seq))
	}
	if psf.Atoms[0].Name != "CAY" || psf.Atoms[len(psf.Atoms)-1].Name != "HT3" {
		t.Errorf("ACE/CT3 ends: %s ... %s", psf.Atoms[0].Name, psf.Atoms[len(psf.Atoms)-1].Name)
	}
	checkGeometry(t, "ACE-AGKSA-CT3", psf, x, 300)

	// No patches: the bare residues, integral charge, no missing parameter
	// (CHARMM36 has none for a bare N or C terminus, hence no Assign).
	psf, _, err := BuildPeptide(rtf, "P", []string{"ALA", "ALA"}, Options{First: "NONE", Last: "NONE", Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if len(psf.Atoms) != 20 || len(psf.CrossTerms) != 0 || len(psf.Impropers) != 2 {
		t.Errorf("bare ALA-ALA: %d atoms, %d CMAP, %d impropers", len(psf.Atoms), len(psf.CrossTerms), len(psf.Impropers))
	}

	// A single residue gets both patches.
	psf, x = build(t, []string{"TRP"}, Options{})
	if psf.Atoms[1].Name != "HT1" || psf.Atoms[len(psf.Atoms)-1].Name != "OT2" || len(psf.CrossTerms) != 0 {
		t.Errorf("single TRP: %s ... %s", psf.Atoms[1].Name, psf.Atoms[len(psf.Atoms)-1].Name)
	}
	checkGeometry(t, "TRP", psf, x, 200)
}

func TestPatches(t *testing.T) {
	// A disulfide between the first and last cysteine.
	psf, _ := build(t, []string{"CYS", "ALA", "GLY", "ALA", "CYS"}, Options{
		Patches: []PatchSpec{{Name: "disu", Residues: []int{1, 5}}},
	})
	var sg []int
	for i, a := range psf.Atoms {
		if a.Name == "HG1" {
			t.Errorf("HG1 of residue %s survived DISU", a.ResID)
		}
		if a.Name == "SG" {
			sg = append(sg, i)
			if a.Type != "SM" {
				t.Errorf("SG type %s after DISU", a.Type)
			}
		}
	}
	if len(sg) != 2 || !slices.Contains(psf.Bonds, [2]int{sg[0], sg[1]}) {
		t.Errorf("no SG-SG bond: %v", sg)
	}
	_, params := load(t)
	if _, err := topology.Assign(psf, params); err != nil {
		t.Error(err)
	}
	// A protonated aspartate.
	psf, x := build(t, []string{"ALA", "ASP", "ALA"}, Options{Patches: []PatchSpec{{Name: "ASPP", Residues: []int{2}}}})
	var q float64
	for _, a := range psf.Atoms {
		q += a.Charge
	}
	if math.Abs(q) > 1e-9 {
		t.Errorf("ASPP: charge %g, want 0", q)
	}
	checkGeometry(t, "ALA-ASPP-ALA", psf, x, 200)
}

func TestBuildErrors(t *testing.T) {
	rtf, _ := load(t)
	cases := []struct {
		seg  string
		seq  []string
		opts Options
		want string
	}{
		{"P", []string{"ALA", "XYZ"}, Options{}, `residue 2: "XYZ" is not defined`},
		{"P", []string{"NTER"}, Options{}, "is a patch"},
		{"P", nil, Options{}, "no residues"},
		{"", []string{"ALA"}, Options{}, "segment name"},
		{"A B", []string{"ALA"}, Options{}, "segment name"},
		{"P", []string{"ALA"}, Options{First: "FOO"}, "first patch FOO is not defined"},
		{"P", []string{"ALA"}, Options{Last: "ALA"}, "is a residue"},
		{"P", []string{"PRO", "ALA"}, Options{First: "ACE"}, "has no atom HN"},
		{"P", []string{"GLY", "ALA"}, Options{First: "NTER"}, "adds atom HA to residue 1 GLY"},
		{"P", []string{"ALA"}, Options{First: "GLYP"}, "adds atom HA1 to residue 1 ALA"},
		{"P", []string{"PRO"}, Options{First: "NTER"}, "DELETE ATOM HN: no such atom"},
		{"P", []string{"ALA"}, Options{Backbone: "sheet"}, `unknown backbone "sheet"`},
		{"P", []string{"ALA"}, Options{Backbone: BackboneCustom, Phi: math.NaN()}, "finite"},
		{"P", []string{"CYS", "CYS"}, Options{Patches: []PatchSpec{{Name: "DISU", Residues: []int{1, 3}}}}, "outside the chain"},
		{"P", []string{"CYS", "CYS"}, Options{Patches: []PatchSpec{{Name: "DISU", Residues: []int{1}}}}, "applied to 1 residue"},
		{"P", []string{"ALA", "ALAD"}, Options{}, "residue 2 ALAD has no atom N"},
	}
	for _, c := range cases {
		_, _, err := BuildPeptide(rtf, c.seg, c.seq, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v %+v: got %v, want %q", c.seg, c.seq, c.opts, err, c.want)
		}
	}
	// Charges that do not add up to an integer.
	bad, err := ReadRTF(strings.NewReader("MASS -1 C 12.011\nAUTO ANGL DIHE\nRESI X 0\nATOM C1 C 0.1\nATOM C2 C 0\nBOND C1 C2\nEND\n"), "bad.rtf")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := BuildPeptide(bad, "P", []string{"X"}, Options{}); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Errorf("fractional charge: got %v", err)
	}
	// A type without MASS.
	bad, err = ReadRTF(strings.NewReader("RESI X 0\nATOM C1 C 0\nEND\n"), "bad.rtf")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := BuildPeptide(bad, "P", []string{"X"}, Options{}); err == nil || !strings.Contains(err.Error(), "no MASS entry") {
		t.Errorf("missing mass: got %v", err)
	}
}

// icValues measures the five values of an IC entry over four points.
func icValues(p [4]vec, improper bool) icEntry {
	x := make([]float64, 0, 12)
	for _, v := range p {
		x = append(x, v[:]...)
	}
	angle := func(i, j, k int) float64 {
		u, v := p[i].sub(p[j]), p[k].sub(p[j])
		return math.Acos(u.dot(v)/(u.norm()*v.norm())) / degree
	}
	e := icEntry{at: [4]int{0, 1, 2, 3}, improper: improper, phi: dihedralDeg(x, 0, 1, 2, 3),
		a2: angle(1, 2, 3), r2: p[3].sub(p[2]).norm()}
	if improper {
		e.r1, e.a1 = p[0].sub(p[2]).norm(), angle(0, 2, 1)
	} else {
		e.r1, e.a1 = p[0].sub(p[1]).norm(), angle(0, 1, 2)
	}
	return e
}

// TestICBuild checks that an IC entry measured on four points rebuilds the
// missing point, forwards and backwards, for normal and improper entries.
func TestICBuild(t *testing.T) {
	p := [4]vec{{1.2, 0.3, -0.4}, {0.1, 1.1, 0.2}, {-0.3, -0.2, 0.5}, {-1.4, 0.2, 1.3}}
	for _, improper := range []bool{false, true} {
		ic := icValues(p, improper)
		for _, missing := range []int{0, 3} {
			x := p[:]
			placed := []bool{true, true, true, true}
			placed[missing] = false
			i, got, ok := ic.build(x, placed)
			if !ok || i != missing || got.sub(p[missing]).norm() > 1e-9 {
				t.Errorf("improper %v, missing atom %d: built atom %d at %v, want %v", improper, missing, i, got, p[missing])
			}
		}
	}
	// place follows the IUPAC sign of dihedrals.
	d := place(vec{1, 1, 0}, vec{1, 0, 0}, vec{0, 0, 0}, 1, 90, 60)
	x := []float64{1, 1, 0, 1, 0, 0, 0, 0, 0, d[0], d[1], d[2]}
	if got := dihedralDeg(x, 0, 1, 2, 3); math.Abs(got-60) > 1e-9 {
		t.Errorf("dihedral %g, want 60", got)
	}
	// Degenerate references still give finite points.
	if q := place(vec{}, vec{}, vec{}, 1, 109.5, 120); !q.finite() {
		t.Errorf("degenerate place gave %v", q)
	}
}

// TestGolden checks that building the peptide again reproduces
// testdata/peptide20.psf and .pdb byte for byte; -update rewrites them.
func TestGolden(t *testing.T) {
	psf, x := build(t, allAminoAcids, Options{Backbone: BackboneHelix})
	var psfBuf, pdbBuf bytes.Buffer
	if err := topology.WritePSF(&psfBuf, psf); err != nil {
		t.Fatal(err)
	}
	if err := topology.WritePDB(&pdbBuf, PDBAtoms(psf), [][]float64{x}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{"testdata/peptide20.psf", psfBuf.Bytes()}, {"testdata/peptide20.pdb", pdbBuf.Bytes()}} {
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatalf("%v (run go test ./topology/build -run TestGolden -update to create it)", err)
		}
		if !bytes.Equal(f.data, want) {
			t.Errorf("%s differs from a new build (run with -update if the change is intended)", f.path)
		}
	}
	// The files read back as the same structure.
	back, err := topology.ReadPSFFile("testdata/peptide20.psf")
	if err != nil {
		t.Fatal(err)
	}
	st, err := topology.ReadCoordinates("testdata/peptide20.pdb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Match(back); err != nil {
		t.Error(err)
	}
	for i, v := range st.Models[0] {
		if math.Abs(v-x[i]) > 0.0005+1e-9 {
			t.Fatalf("coordinate %d: %g in the PDB, %g built", i, v, x[i])
		}
	}
}
