package topology

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// coordTestDir holds the real systems shipped with the repository.
const coordTestDir = "../data/systems"

func coordTestPath(system, ext string) string {
	return filepath.Join(coordTestDir, system, system+ext)
}

func coordTestPSF(t *testing.T, system string) *PSF {
	t.Helper()
	psf, err := ReadPSFFile(coordTestPath(system, ".psf"))
	if err != nil {
		t.Fatal(err)
	}
	return psf
}

func coordTestRead(t *testing.T, path string) *Structure {
	t.Helper()
	s, err := ReadCoordinates(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkStructure checks the invariants every successful read must hold.
func checkStructure(t *testing.T, s *Structure) {
	t.Helper()
	if len(s.Atoms) == 0 || len(s.Models) == 0 {
		t.Fatalf("%d atoms, %d models", len(s.Atoms), len(s.Models))
	}
	for m, xyz := range s.Models {
		if len(xyz) != 3*len(s.Atoms) {
			t.Fatalf("model %d has %d coordinates for %d atoms", m+1, len(xyz), len(s.Atoms))
		}
	}
}

func TestReadPDBRealFiles(t *testing.T) {
	cases := []struct {
		system string
		atoms  int
		first  CoordAtom
		xyz    [3]float64 // first atom, exactly as written
		last   string
	}{
		{"ala2", 23, CoordAtom{Serial: 1, Name: "N", ResName: "ALA", Chain: "A", ResID: "1", Element: "N"},
			[3]float64{-3.428, -6.279, -5.162}, "OXT"},
		{"butane", 14, CoordAtom{Serial: 1, Name: "H11", ResName: "BUT", Chain: "H", ResID: "1", Element: "H"},
			[3]float64{-0.380, -1.037, 0.020}, "C4"},
		{"dialanine", 22, CoordAtom{Serial: 1, Name: "CL", ResName: "ALA", Chain: "A", ResID: "1", Element: "C"},
			[3]float64{3.823, 26.415, 2.128}, "HR3"},
	}
	for _, c := range cases {
		t.Run(c.system, func(t *testing.T) {
			path := coordTestPath(c.system, ".pdb")
			s := coordTestRead(t, path)
			checkStructure(t, s)
			if s.File != path {
				t.Errorf("File = %q, want %q", s.File, path)
			}
			if len(s.Atoms) != c.atoms || len(s.Models) != 1 {
				t.Fatalf("%d atoms in %d models, want %d in 1", len(s.Atoms), len(s.Models), c.atoms)
			}
			if s.Atoms[0] != c.first {
				t.Errorf("first atom %+v, want %+v", s.Atoms[0], c.first)
			}
			if got := [3]float64(s.Models[0][:3]); got != c.xyz {
				t.Errorf("first atom at %v, want exactly %v", got, c.xyz)
			}
			if got := s.Atoms[len(s.Atoms)-1].Name; got != c.last {
				t.Errorf("last atom %s, want %s", got, c.last)
			}
		})
	}
}

func TestReadPDBColumns(t *testing.T) {
	// Column ruler:
	// 12345678901234567890123456789012345678901234567890123456789012345678901234567890
	const in = `HEADER    TEST
CRYST1   30.000   30.000   30.000  90.00  90.00  90.00 P 1           1
ATOM     12 HG21 ILE B  52A     -1.000   2.000   3.000  1.00  0.00      PROB H
ATOM      1  OH2 TIP3W   1       0.100   0.200   0.300  1.00  0.00      WT1  O
ATOM      2  H1  TIP3 12345      1.100   1.200   1.300
ATOM      3  C   ALA A   1       4.000   5.000   6.000` + "\r\n" + `TER
ANISOU    3  C   ALA A   1     1000   1000   1000      0      0      0       C
CONECT    1    2
END
`
	s, err := ReadPDB(strings.NewReader(in), "cols.pdb")
	if err != nil {
		t.Fatal(err)
	}
	checkStructure(t, s)
	want := []CoordAtom{
		{Serial: 12, Name: "HG21", ResName: "ILE", Chain: "B", ResID: "52A", Segment: "PROB", Element: "H"},
		{Serial: 1, Name: "OH2", ResName: "TIP3", Chain: "W", ResID: "1", Segment: "WT1", Element: "O"},
		{Serial: 2, Name: "H1", ResName: "TIP3", ResID: "12345"},
		{Serial: 3, Name: "C", ResName: "ALA", Chain: "A", ResID: "1"},
	}
	if !reflect.DeepEqual(s.Atoms, want) {
		t.Errorf("atoms\n%+v\nwant\n%+v", s.Atoms, want)
	}
	wantXYZ := []float64{-1, 2, 3, 0.1, 0.2, 0.3, 1.1, 1.2, 1.3, 4, 5, 6}
	if !reflect.DeepEqual(s.Models, [][]float64{wantXYZ}) {
		t.Errorf("coordinates %v, want %v", s.Models, wantXYZ)
	}
}

func TestReadPDBAltLoc(t *testing.T) {
	// Residue 1: A and B, keep A. Residue 2: first altLoc is B, keep B.
	// Residue 3: microheterogeneity SER (A) / THR (B), keep SER only.
	const in = `ATOM      1  N   SER A   1       0.000   0.000   0.000  0.50  0.00           N
ATOM      2  CA ASER A   1       1.000   0.000   0.000  0.50  0.00           C
ATOM      3  CA BSER A   1       1.100   0.000   0.000  0.50  0.00           C
ATOM      4  CB ASER A   1       2.000   0.000   0.000  0.50  0.00           C
ATOM      5  CB BSER A   1       2.100   0.000   0.000  0.50  0.00           C
ATOM      6  C   SER A   1       3.000   0.000   0.000  0.50  0.00           C
ATOM      7  N  BTHR A   2       4.000   0.000   0.000  0.50  0.00           N
ATOM      8  N  CTHR A   2       4.100   0.000   0.000  0.50  0.00           N
ATOM      9  CA  THR A   2       5.000   0.000   0.000  0.50  0.00           C
ATOM     10  N  ASER A   3       6.000   0.000   0.000  0.50  0.00           N
ATOM     11  N  BTHR A   3       6.100   0.000   0.000  0.50  0.00           N
ATOM     12  CA ASER A   3       7.000   0.000   0.000  0.50  0.00           C
ATOM     13  CA BTHR A   3       7.100   0.000   0.000  0.50  0.00           C
ATOM     14  OG ASER A   3       8.000   0.000   0.000  0.50  0.00           O
ATOM     15  OG1BTHR A   3       8.100   0.000   0.000  0.50  0.00           O
ATOM     16  CG2BTHR A   3       9.100   0.000   0.000  0.50  0.00           C
`
	s, err := ReadPDB(strings.NewReader(in), "alt.pdb")
	if err != nil {
		t.Fatal(err)
	}
	checkStructure(t, s)
	var names, res []string
	var xs []float64
	for i, a := range s.Atoms {
		names = append(names, a.Name)
		res = append(res, a.ResName)
		xs = append(xs, s.Models[0][3*i])
	}
	wantNames := []string{"N", "CA", "CB", "C", "N", "CA", "N", "CA", "OG"}
	wantRes := []string{"SER", "SER", "SER", "SER", "THR", "THR", "SER", "SER", "SER"}
	wantX := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8}
	if !reflect.DeepEqual(names, wantNames) || !reflect.DeepEqual(res, wantRes) || !reflect.DeepEqual(xs, wantX) {
		t.Errorf("got %v %v %v\nwant %v %v %v", names, res, xs, wantNames, wantRes, wantX)
	}
}

func TestReadPDBLargeSerials(t *testing.T) {
	// Serials past 99999 as VMD (hexadecimal), as "*****" and overflowing
	// into column 6: none of them may matter.
	const in = `ATOM  99999  N   ALA A   1       1.000   2.000   3.000  1.00  0.00      PROA N
ATOM  186a0  CA  ALA A   1      -1.500  22.250-333.125
HETATM*****  C   ALA A   1       4.000   5.000   6.000  1.00
ATOM 100001  O   ALA A   1       7.000   8.000   9.000  1.00  0.00
`
	s, err := ReadPDB(strings.NewReader(in), "big.pdb")
	if err != nil {
		t.Fatal(err)
	}
	checkStructure(t, s)
	var names []string
	for _, a := range s.Atoms {
		names = append(names, a.Name)
	}
	if want := []string{"N", "CA", "C", "O"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if got, want := s.Models[0], []float64{1, 2, 3, -1.5, 22.25, -333.125, 4, 5, 6, 7, 8, 9}; !reflect.DeepEqual(got, want) {
		t.Errorf("coordinates %v, want %v", got, want)
	}
	if s.Atoms[0].Serial != 99999 || s.Atoms[1].Serial != 100000 || s.Atoms[2].Serial != 0 {
		t.Errorf("serials %d %d %d, want 99999 100000 0", s.Atoms[0].Serial, s.Atoms[1].Serial, s.Atoms[2].Serial)
	}
}

func TestPDBRoundTripManyAtoms(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 10 MB file")
	}
	// 0x20000 = 131072 atoms: serial 131072 is written "20000", which must
	// read back as hexadecimal.
	const n = 0x20000 + 1
	atoms := make([]CoordAtom, n)
	xyz := make([]float64, 3*n)
	for i := range atoms {
		atoms[i] = CoordAtom{Name: "OH2", ResName: "TIP3", ResID: fmt.Sprint(i%9999 + 1), Segment: "W", Element: "O"}
		xyz[3*i], xyz[3*i+1], xyz[3*i+2] = float64(i%1000), -float64(i%999)/8, 0.125
	}
	var buf bytes.Buffer
	if err := WritePDB(&buf, atoms, [][]float64{xyz}); err != nil {
		t.Fatal(err)
	}
	s, err := ReadPDB(&buf, "many.pdb")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Atoms) != n || !reflect.DeepEqual(s.Models[0], xyz) {
		t.Fatalf("read back %d atoms, want %d with the same coordinates", len(s.Atoms), n)
	}
	for _, i := range []int{0, 99998, 99999, 100000, 0x20000 - 1, 0x20000} {
		if s.Atoms[i].Serial != i+1 {
			t.Errorf("atom %d: serial %d", i+1, s.Atoms[i].Serial)
		}
	}
}

func TestReadPDBModels(t *testing.T) {
	const model = `ATOM      1  N   ALA A   1       %d.000   0.000   0.000  1.00  0.00           N
ATOM      2  CA  ALA A   1       %d.500   0.000   0.000  1.00  0.00           C
`
	in := "REMARK two models\nMODEL        1\n" + fmt.Sprintf(model, 1, 1) + "TER\nENDMDL\n" +
		"MODEL        2\n" + fmt.Sprintf(model, 2, 2) + "ENDMDL\nEND\n"
	s, err := ReadPDB(strings.NewReader(in), "models.pdb")
	if err != nil {
		t.Fatal(err)
	}
	checkStructure(t, s)
	want := [][]float64{{1, 0, 0, 1.5, 0, 0}, {2, 0, 0, 2.5, 0, 0}}
	if len(s.Atoms) != 2 || !reflect.DeepEqual(s.Models, want) {
		t.Errorf("%d atoms, models %v, want 2 atoms, %v", len(s.Atoms), s.Models, want)
	}

	// A missing ENDMDL is tolerated: the next MODEL (or the end) closes it.
	in = "MODEL 1\n" + fmt.Sprintf(model, 1, 1) + "MODEL 2\n" + fmt.Sprintf(model, 2, 2)
	s, err = ReadPDB(strings.NewReader(in), "models.pdb")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Models, want) {
		t.Errorf("without ENDMDL: models %v, want %v", s.Models, want)
	}
}

func TestPDBRoundTrip(t *testing.T) {
	for _, system := range []string{"ala2", "butane", "dialanine"} {
		t.Run(system, func(t *testing.T) {
			s := coordTestRead(t, coordTestPath(system, ".pdb"))
			// Three models: the file's, its mirror image and its double
			// (both exact in binary, so they read back exactly).
			models := [][]float64{s.Models[0], make([]float64, len(s.Models[0])), make([]float64, len(s.Models[0]))}
			for i, x := range s.Models[0] {
				models[1][i] = -x
				models[2][i] = 2 * x
			}
			for _, ms := range [][][]float64{models[:1], models} {
				var buf bytes.Buffer
				if err := WritePDB(&buf, s.Atoms, ms); err != nil {
					t.Fatal(err)
				}
				back, err := ReadPDB(bytes.NewReader(buf.Bytes()), "back.pdb")
				if err != nil {
					t.Fatalf("%v\n%s", err, buf.String())
				}
				if !reflect.DeepEqual(back.Atoms, s.Atoms) {
					t.Errorf("atoms differ after a round trip:\n%+v\n%+v", back.Atoms, s.Atoms)
				}
				if !reflect.DeepEqual(back.Models, ms) {
					t.Errorf("%d models differ after a round trip", len(ms))
				}
				nModel := strings.Count(buf.String(), "\nMODEL ") + strings.Count(buf.String()[:6], "MODEL ")
				if len(ms) > 1 && nModel != len(ms) || len(ms) == 1 && nModel != 0 {
					t.Errorf("%d MODEL records for %d models", nModel, len(ms))
				}
				if !strings.HasSuffix(buf.String(), "\nEND\n") {
					t.Errorf("output does not end with END")
				}
			}
		})
	}
}

func TestWritePDBColumns(t *testing.T) {
	atoms := []CoordAtom{
		{Name: "N", ResName: "ALA", Chain: "A", ResID: "1", Segment: "PROA", Element: "N"},
		{Name: "HG21", ResName: "ILE", Chain: "A", ResID: "52A"},
		{Name: "CA", ResName: "CAL", ResID: "10000", Segment: "ION"}, // calcium: two-letter element
		{Name: "CLA", ResName: "CLA", ResID: "2"},
		{Name: "FE", ResName: "HEM", ResID: "3", Element: "Fe"},
		{Name: "1HB", ResName: "ALA", ResID: "-1"},
		{Name: "LP1", ResName: "XXX", ResID: "4"}, // unknown element: blank
	}
	xyz := []float64{
		1, 2, 3,
		-1.5, -22.25, -333.125,
		9999.999, -999.999, 0,
		0.0004, -0.0004, 12.3456,
		1, 1, 1,
		1, 1, 1,
		1, 1, 1,
	}
	// Expected records built with an independent implementation (Python's
	// % formatting of the PDB v3.3 columns).
	want := strings.Join([]string{
		"ATOM      1  N   ALA A   1       1.000   2.000   3.000  1.00  0.00      PROA N  ",
		"ATOM      2 HG21 ILE A  52A     -1.500 -22.250-333.125  1.00  0.00           H  ",
		"ATOM      3 CA   CAL  10000   9999.999-999.999   0.000  1.00  0.00      ION CA  ",
		"ATOM      4 CLA  CLA     2       0.000  -0.000  12.346  1.00  0.00          CL  ",
		"ATOM      5 FE   HEM     3       1.000   1.000   1.000  1.00  0.00          FE  ",
		"ATOM      6  1HB ALA    -1       1.000   1.000   1.000  1.00  0.00           H  ",
		"ATOM      7  LP1 XXX     4       1.000   1.000   1.000  1.00  0.00              ",
		"END", "",
	}, "\n")
	var buf bytes.Buffer
	if err := WritePDB(&buf, atoms, [][]float64{xyz}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	buf.Reset()
	if err := WritePDB(&buf, atoms[:1], [][]float64{xyz[:3], xyz[3:6]}); err != nil {
		t.Fatal(err)
	}
	want = "MODEL        1\n" +
		"ATOM      1  N   ALA A   1       1.000   2.000   3.000  1.00  0.00      PROA N  \n" +
		"ENDMDL\nMODEL        2\n" +
		"ATOM      1  N   ALA A   1      -1.500 -22.250-333.125  1.00  0.00      PROA N  \n" +
		"ENDMDL\nEND\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWriteErrors(t *testing.T) {
	ok := CoordAtom{Name: "CA", ResName: "ALA", ResID: "1"}
	xyz := []float64{1, 2, 3}
	pdbCases := []struct {
		name   string
		atoms  []CoordAtom
		models [][]float64
	}{
		{"no atoms", nil, [][]float64{{}}},
		{"no models", []CoordAtom{ok}, nil},
		{"short model", []CoordAtom{ok}, [][]float64{xyz, {1, 2}}},
		{"x too large", []CoordAtom{ok}, [][]float64{{10000, 0, 0}}},
		{"x too small", []CoordAtom{ok}, [][]float64{{0, -999.9996, 0}}},
		{"NaN", []CoordAtom{ok}, [][]float64{{0, 0, math.NaN()}}},
		{"long name", []CoordAtom{{Name: "HG211", ResName: "ILE"}}, [][]float64{xyz}},
		{"empty name", []CoordAtom{{ResName: "ILE"}}, [][]float64{xyz}},
		{"long resname", []CoordAtom{{Name: "CA", ResName: "ALANI"}}, [][]float64{xyz}},
		{"long chain", []CoordAtom{{Name: "CA", Chain: "AB"}}, [][]float64{xyz}},
		{"long resid", []CoordAtom{{Name: "CA", ResID: "123456"}}, [][]float64{xyz}},
		{"long segment", []CoordAtom{{Name: "CA", Segment: "PROAB"}}, [][]float64{xyz}},
		{"long element", []CoordAtom{{Name: "CA", Element: "CAL"}}, [][]float64{xyz}},
		// Found by FuzzReadPDB: fmt pads by runes, columns are bytes.
		{"non-ASCII", []CoordAtom{{Name: "CA", ResID: "00\x80"}}, [][]float64{xyz}},
	}
	for _, c := range pdbCases {
		if err := WritePDB(&bytes.Buffer{}, c.atoms, c.models); err == nil {
			t.Errorf("WritePDB %s: no error", c.name)
		}
	}
	crdCases := []struct {
		name   string
		atoms  []CoordAtom
		coords []float64
		ext    bool
	}{
		{"no atoms", nil, nil, false},
		{"short coordinates", []CoordAtom{ok}, xyz[:2], false},
		{"x too large", []CoordAtom{ok}, []float64{10000, 0, 0}, false},
		{"x too small", []CoordAtom{ok}, []float64{-1000, 0, 0}, false},
		{"x too large for EXT", []CoordAtom{ok}, []float64{1e10, 0, 0}, true},
		{"Inf", []CoordAtom{ok}, []float64{math.Inf(1), 0, 0}, true},
		{"long name", []CoordAtom{{Name: "C3141", ResName: "POPC"}}, xyz, false},
		{"long name for EXT", []CoordAtom{{Name: "C31415926", ResName: "POPC"}}, xyz, true},
		{"long segid", []CoordAtom{{Name: "CA", Segment: "MEMBR"}}, xyz, false},
		{"empty name", []CoordAtom{{ResName: "ALA"}}, xyz, true},
		{"non-ASCII", []CoordAtom{{Name: "C\u00e9", ResName: "ALA"}}, xyz, true},
	}
	for _, c := range crdCases {
		if err := WriteCRD(&bytes.Buffer{}, c.atoms, c.coords, c.ext); err == nil {
			t.Errorf("WriteCRD %s: no error", c.name)
		}
	}
}

// Hand-written CRD files in both formats. Atom 3 of the standard one has x
// and y touching, which only a fixed-column reader gets right.
const (
	crdStandardSample = `* DIALANINE
*  DATE:     2/13/18     14:17:46      CREATED BY USER: test
*
    3
    1    1 ALAD CL     3.82300  26.41500   2.12800 AD   1      0.00000
    2    1 ALAD HL1    3.55500  27.48200   2.29000 AD   1      0.00000
    3    2 TIP3 OH2 -999.12345-888.54321   3.08100 WT1  12     1.50000
`
	crdExtSample = `* EXTENDED
*
         3  EXT
         1         1  ALAD      CL              3.8230000000       26.4150000000        2.1280000000  AD        1               0.0000000000
         2         1  ALAD      HL1             3.5550000000       27.4820000000        2.2900000000  AD        1               0.0000000000
    123456         2  POPC      C3141       -1234.5678901234     9876.5000000000        3.0810000000  MEMB      12345           1.5000000000
`
	// Whitespace-separated lines as other programs write them, with a
	// trailing blank line.
	crdFieldsSample = `* FREE FORMAT
*
3
1 1 ALAD CL 3.823 26.415 2.128 AD 1 0.0
2    1  ALAD   HL1    3.555   27.482    2.29  AD 1 0
  3 2 TIP3 OH2  -1.0D+01  1e-3  -0.5 WT1 12 1.5

`
)

func TestReadCRD(t *testing.T) {
	first := []CoordAtom{
		{Serial: 1, Name: "CL", ResName: "ALAD", ResID: "1", Segment: "AD"},
		{Serial: 2, Name: "HL1", ResName: "ALAD", ResID: "1", Segment: "AD"},
	}
	cases := []struct {
		name, in string
		atoms    []CoordAtom
		xyz      []float64
	}{
		{"standard.crd", crdStandardSample,
			append(first[:2:2], CoordAtom{Serial: 3, Name: "OH2", ResName: "TIP3", ResID: "12", Segment: "WT1"}),
			[]float64{3.823, 26.415, 2.128, 3.555, 27.482, 2.29, -999.12345, -888.54321, 3.081}},
		{"ext.crd", crdExtSample,
			append(first[:2:2], CoordAtom{Serial: 123456, Name: "C3141", ResName: "POPC", ResID: "12345", Segment: "MEMB"}),
			[]float64{3.823, 26.415, 2.128, 3.555, 27.482, 2.29, -1234.5678901234, 9876.5, 3.081}},
		{"fields.crd", crdFieldsSample,
			append(first[:2:2], CoordAtom{Serial: 3, Name: "OH2", ResName: "TIP3", ResID: "12", Segment: "WT1"}),
			[]float64{3.823, 26.415, 2.128, 3.555, 27.482, 2.29, -10, 0.001, -0.5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ReadCRD(strings.NewReader(c.in), c.name)
			if err != nil {
				t.Fatal(err)
			}
			checkStructure(t, s)
			if !reflect.DeepEqual(s.Atoms, c.atoms) {
				t.Errorf("atoms\n%+v\nwant\n%+v", s.Atoms, c.atoms)
			}
			if !reflect.DeepEqual(s.Models, [][]float64{c.xyz}) {
				t.Errorf("coordinates %v, want %v", s.Models, c.xyz)
			}
		})
	}
}

func TestCRDRoundTrip(t *testing.T) {
	pdb := coordTestRead(t, coordTestPath("ala2", ".pdb"))
	atoms := make([]CoordAtom, len(pdb.Atoms))
	for i, a := range pdb.Atoms {
		// What a CRD keeps: no chain, no element; serials are renumbered.
		atoms[i] = CoordAtom{Serial: i + 1, Name: a.Name, ResName: a.ResName, ResID: a.ResID, Segment: "PROA"}
	}
	// Values that need all of F10.5 and F20.10.
	wide := []CoordAtom{
		{Serial: 1, Name: "C3141", ResName: "POPC", ResID: "12345", Segment: "MEMB"},
		{Serial: 2, Name: "OH2", ResName: "TIP3", ResID: "9999", Segment: "SOLV"},
	}
	cases := []struct {
		name   string
		atoms  []CoordAtom
		coords []float64
		ext    bool
	}{
		{"standard", atoms, pdb.Models[0], false},
		{"ext", atoms, pdb.Models[0], true},
		{"standard extremes", []CoordAtom{{Serial: 1, Name: "OH2", ResName: "TIP3", ResID: "9999", Segment: "SOLV"}}, []float64{-999.12345, 9999.99999, -0.00001}, false},
		{"ext extremes", wide, []float64{-12345678.0123456789, 1e-10, 0, 98765.4321, -5, 12.5}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCRD(&buf, c.atoms, c.coords, c.ext); err != nil {
				t.Fatal(err)
			}
			s, err := ReadCRD(bytes.NewReader(buf.Bytes()), "back.crd")
			if err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			if !reflect.DeepEqual(s.Atoms, c.atoms) {
				t.Errorf("atoms\n%+v\nwant\n%+v", s.Atoms, c.atoms)
			}
			digits := 5
			if c.ext {
				digits = 10
			}
			for i, x := range s.Models[0] {
				// The decimal written is within half a unit of the last
				// digit, the double read back within half a unit of it.
				if math.Abs(x-c.coords[i]) > math.Pow10(-digits) {
					t.Errorf("coordinate %d: %v, want %v to %d decimals", i, x, c.coords[i], digits)
				}
			}
			// CHARMM reads by columns: check them for the first atom.
			lines := strings.Split(buf.String(), "\n")
			if c.ext {
				if !strings.HasSuffix(lines[2], "  EXT") {
					t.Errorf("count line %q lacks EXT", lines[2])
				}
				if l := lines[3]; len(l) != 140 || l[22:30] != fmt.Sprintf("%-8s", c.atoms[0].ResName) {
					t.Errorf("EXT atom line %q has the wrong columns", l)
				}
			} else if l := lines[3]; len(l) != 70 || l[16:20] != fmt.Sprintf("%-4s", c.atoms[0].Name) {
				t.Errorf("standard atom line %q has the wrong columns", l)
			}
		})
	}

	// The absolute residue number restarts nowhere and grows by residue.
	var buf bytes.Buffer
	if err := WriteCRD(&buf, atoms, pdb.Models[0], false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if got := lines[3+12][5:10]; got != "    2" { // atom 13, the N of residue 2
		t.Errorf("residue number of atom 13 is %q, want 2", got)
	}
}

// parseErrorAt checks that err is a *ParseError for file at line whose
// message contains want.
func parseErrorAt(t *testing.T, err error, file string, line int, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want line %d: %s", line, want)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	if pe.File != file || pe.Line != line || !strings.Contains(pe.Msg, want) {
		t.Errorf("error %q, want %s:%d: ...%s...", err, file, line, want)
	}
}

func TestReadPDBErrors(t *testing.T) {
	const (
		atomN  = "ATOM      1  N   ALA A   1       1.000   2.000   3.000  1.00  0.00           N\n"
		atomCA = "ATOM      2  CA  ALA A   1       1.000   2.000   3.000  1.00  0.00           C\n"
		atomCB = "ATOM      2  CB  ALA A   1       1.000   2.000   3.000  1.00  0.00           C\n"
	)
	cases := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"empty", "", 0, "no ATOM or HETATM records"},
		{"no atoms", "REMARK nothing\nCRYST1\nEND\n", 0, "no ATOM or HETATM records"},
		{"truncated x,y,z", "REMARK\nATOM      1  N   ALA A   1       1.000   2.000\n", 2, "expected x,y,z in columns 31-54"},
		{"truncated record", "ATOM      1  N   AL", 1, "expected x,y,z in columns 31-54"},
		{"record name only", atomN + "HETATM\n", 2, "expected an atom name in columns 13-16"},
		{"not a number", atomN + "ATOM      2  CA  ALA A   1       1.000   x.000   3.000\n", 2, "expected x,y,z in columns 31-54"},
		{"NaN", atomN + "ATOM      2  CA  ALA A   1         NaN   2.000   3.000\n", 2, "expected x,y,z in columns 31-54"},
		{"hex float", atomN + "ATOM      2  CA  ALA A   1      0x1p-2   2.000   3.000\n", 2, "expected x,y,z in columns 31-54"},
		{"shifted columns", "ATOM  1 N ALA A 1 1.000 2.000 3.000\n", 1, "expected x,y,z in columns 31-54"},
		{"blank name", "ATOM      1      ALA A   1       1.000   2.000   3.000\n", 1, "expected an atom name"},
		{"model 2 short", "MODEL 1\n" + atomN + atomCA + "ENDMDL\nMODEL 2\n" + atomN + "ENDMDL\n", 7, "model 2 has 1 atoms, expected 2"},
		{"model 2 short at EOF", "MODEL 1\n" + atomN + atomCA + "ENDMDL\nMODEL 2\n" + atomN, 6, "model 2 has 1 atoms, expected 2"},
		{"model 2 long", "MODEL 1\n" + atomN + "ENDMDL\nMODEL 2\n" + atomN + atomCA + "ENDMDL\n", 6, "model 2 has more atoms than model 1 (1)"},
		{"model 2 renamed", "MODEL 1\n" + atomN + atomCA + "ENDMDL\nMODEL 2\n" + atomN + atomCB + "ENDMDL\n", 7, "model 2: atom 2 is CB, expected CA"},
		{"empty model", "MODEL 1\nENDMDL\n", 2, "model 1 has no ATOM or HETATM records"},
		{"atom between models", "MODEL 1\n" + atomN + "ENDMDL\n" + atomN, 4, "outside a MODEL/ENDMDL block"},
		{"MODEL after atoms", atomN + "MODEL 1\n" + atomN + "ENDMDL\n", 2, "MODEL record after ATOM/HETATM records"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadPDB(strings.NewReader(c.in), "bad.pdb")
			parseErrorAt(t, err, "bad.pdb", c.line, c.msg)
		})
	}
}

func TestReadCRDErrors(t *testing.T) {
	const (
		atom1 = "    1    1 ALAD CL     3.82300  26.41500   2.12800 AD   1      0.00000\n"
		atom2 = "    2    1 ALAD HL1    3.55500  27.48200   2.29000 AD   1      0.00000\n"
	)
	cases := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"empty", "", 1, "expected the atom count line"},
		{"title only", "* TITLE\n*\n", 3, "expected the atom count line"},
		{"count not a number", "* T\n*\nabc\n" + atom1, 3, "expected the atom count as an integer"},
		{"count with junk", "* T\n*\n    2 FOO\n" + atom1, 3, "optionally followed by EXT"},
		{"count zero", "* T\n*\n    0\n", 3, "expected a positive atom count"},
		{"count negative", "* T\n*\n   -5\n", 3, "expected a positive atom count"},
		{"fewer atoms", "* T\n*\n    3\n" + atom1 + atom2, 6, "expected atom 3 of the 3 declared on line 3"},
		{"no atoms", "* T\n    1", 3, "expected atom 1 of the 1 declared on line 2"},
		{"blank atom line", "* T\n    2\n" + atom1 + "\n" + atom2, 4, "10 whitespace-separated fields"},
		{"bad x, 10 fields", "* T\n    1\n    1    1 ALAD CL     3.8x300  26.41500   2.12800 AD   1      0.00000\n", 3, `x "3.8x300" is not a number`},
		{"bad x, 9 fields", "* T\n    1\n    1    1 ALAD CL     3.8x300  26.41500   2.12800 AD   1\n", 3, "x in columns 21-30 is not a number"},
		{"truncated", "* T\n    1\n    1    1 ALAD CL     3.82300  26.41\n", 3, "x,y,z end in column 50"},
		{"EXT line in standard file", "* T\n    1\n" + strings.Split(crdExtSample, "\n")[3] + " extra\n", 3, "10 whitespace-separated fields"},
		{"bad weight", "* T\n    1\n1 1 ALAD CL 3.823 26.415 2.128 AD 1 heavy\n", 3, `weight "heavy" is not a number`},
		{"bad atom number", "* T\n    1\nA 1 ALAD CL 3.823 26.415 2.128 AD 1 0\n", 3, `atom number "A" is not an integer`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadCRD(strings.NewReader(c.in), "bad.crd")
			parseErrorAt(t, err, "bad.crd", c.line, c.msg)
		})
	}
}

func TestReadCoordinates(t *testing.T) {
	dir := t.TempDir()
	crd := filepath.Join(dir, "dialanine.CRD")
	if err := os.WriteFile(crd, []byte(crdStandardSample), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ReadCoordinates(crd)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Atoms) != 3 || s.File != crd {
		t.Errorf("read %d atoms from %s, want 3 from %s", len(s.Atoms), s.File, crd)
	}

	_, err = ReadCoordinates(filepath.Join(dir, "x.xyz"))
	parseErrorAt(t, err, filepath.Join(dir, "x.xyz"), 0, ".pdb or .ent (PDB), .crd or .cor (CHARMM CRD)")

	if _, err := ReadCoordinates(filepath.Join(dir, "missing.pdb")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want a not-exist error", err)
	}
}

func TestMatchRealSystems(t *testing.T) {
	cases := []struct {
		system  string
		renamed int
	}{
		// ala2.pdb has OpenMM's names: H/H2/H3 for HT1/HT2/HT3, H for HN,
		// O/OXT for OT1/OT2.
		{"ala2", 6},
		{"dialanine", 0},
		{"butane", 0},
	}
	for _, c := range cases {
		t.Run(c.system, func(t *testing.T) {
			s := coordTestRead(t, coordTestPath(c.system, ".pdb"))
			renamed, err := s.Match(coordTestPSF(t, c.system))
			if err != nil {
				t.Fatal(err)
			}
			if renamed != c.renamed {
				t.Errorf("renamed = %d, want %d", renamed, c.renamed)
			}
		})
	}
}

func TestMatchErrors(t *testing.T) {
	psf := coordTestPSF(t, "dialanine")
	s := coordTestRead(t, coordTestPath("dialanine", ".pdb"))
	file := s.File

	// Count mismatch.
	short := *s
	short.Atoms = s.Atoms[:21]
	_, err := short.Match(psf)
	parseErrorAt(t, err, file, 0, "has 21 atoms but the PSF has 22")

	// One atom of another element.
	bad := *s
	bad.Atoms = append([]CoordAtom(nil), s.Atoms...)
	bad.Atoms[6].Name, bad.Atoms[6].Element = "H1", "H"
	_, err = bad.Match(psf)
	parseErrorAt(t, err, file, 0, "1 of 22 atoms differ")
	parseErrorAt(t, err, file, 0, "\n  atom 7: PSF NL (N) vs PDB H1 (H)")

	// Atoms of unknown element must keep their names: a lone pair (mass 0)
	// against a dummy atom.
	lp := *psf
	lp.Atoms = append([]Atom(nil), psf.Atoms...)
	lp.Atoms[0].Name, lp.Atoms[0].Mass = "LP1", 0
	_, err = s.Match(&lp)
	parseErrorAt(t, err, file, 0, "atom 1: PSF LP1 (?) vs PDB CL (C)")
	named := *s
	named.Atoms = append([]CoordAtom(nil), s.Atoms...)
	named.Atoms[0] = CoordAtom{Name: "lp1"}
	if _, err := named.Match(&lp); err != nil {
		t.Errorf("equal names of unknown element: %v", err)
	}

	// Many mismatches: ten listed, the rest counted.
	many := *s
	many.Atoms = make([]CoordAtom, len(s.Atoms))
	for i := range many.Atoms {
		many.Atoms[i] = CoordAtom{Name: fmt.Sprintf("X%d", i+1)}
	}
	_, err = many.Match(psf)
	parseErrorAt(t, err, file, 0, "22 of 22 atoms differ")
	parseErrorAt(t, err, file, 0, "\n  ... and 12 more")
	if n := strings.Count(err.Error(), "\n  atom "); n != 10 {
		t.Errorf("%d mismatches listed, want 10", n)
	}

	if _, err := s.Match(nil); err == nil {
		t.Error("Match(nil): no error")
	}
}

func TestElementFromMass(t *testing.T) {
	cases := map[float64]string{
		1.008: "H", 2.014: "H", 3.024: "H", 0.5: "H", 3.5: "H", // D and HMR hydrogens
		12.011: "C", 14.007: "N", 15.9994: "O", 15.999: "O", 32.06: "S", 32.065: "S",
		30.974: "P", 22.98977: "Na", 35.45: "Cl", 39.0983: "K", 24.305: "Mg",
		40.08: "Ca", 65.37: "Zn", 55.847: "Fe", 6.941: "Li", 18.998: "F",
		79.904: "Br", 126.90447: "I", 132.90545: "Cs",
		0: "", 0.4: "", 4.0: "", 12.2: "", 11.9: "", 7.979: "", 1000: "", -1: "",
	}
	for m, want := range cases {
		if got := elementFromMass(m); got != want {
			t.Errorf("elementFromMass(%v) = %q, want %q", m, got, want)
		}
	}
}

func TestCoordElement(t *testing.T) {
	cases := []struct {
		atom CoordAtom
		want string
	}{
		{CoordAtom{Name: "CA", ResName: "ALA"}, "C"},
		{CoordAtom{Name: "CA", ResName: "CAL"}, "Ca"},
		{CoordAtom{Name: "CA", ResName: "CA"}, "Ca"},
		{CoordAtom{Name: "CL", ResName: "ALAD"}, "C"},
		{CoordAtom{Name: "CLA", ResName: "CLA"}, "Cl"},
		{CoordAtom{Name: "CL", ResName: "CL"}, "Cl"},
		{CoordAtom{Name: "SOD", ResName: "SOD"}, "Na"},
		{CoordAtom{Name: "1HB", ResName: "ALA"}, "H"},
		{CoordAtom{Name: "HT1"}, "H"},
		{CoordAtom{Name: "OXT"}, "O"},
		{CoordAtom{Name: "SG"}, "S"},
		{CoordAtom{Name: "LP1"}, ""},
		{CoordAtom{Name: "123"}, ""},
		{CoordAtom{Name: ""}, ""},
		{CoordAtom{Name: "CL1", Element: "CL"}, "Cl"},
		{CoordAtom{Name: "FE", ResName: "HEM", Element: "FE"}, "Fe"},
		{CoordAtom{Name: "D1", Element: "D"}, "H"},
		{CoordAtom{Name: "C1", Element: "XX"}, "C"}, // unknown element column: the name decides
	}
	for _, c := range cases {
		if got := coordElement(c.atom); got != c.want {
			t.Errorf("coordElement(%+v) = %q, want %q", c.atom, got, c.want)
		}
	}
}

// TestReadPDBFramesSeparatedByEND reads a trajectory as VMD writes it:
// frames ended by END without MODEL records.
func TestReadPDBFramesSeparatedByEND(t *testing.T) {
	const in = `CRYST1    0.000    0.000    0.000  90.00  90.00  90.00 P 1           1
ATOM      1  C1  BUT H   1       0.000   1.000   2.000  1.00  0.00           C
ATOM      2  C2  BUT H   1       1.500   1.000   2.000  1.00  0.00           C
END
CRYST1    0.000    0.000    0.000  90.00  90.00  90.00 P 1           1
ATOM      1  C1  BUT H   1       0.100   1.000   2.000  1.00  0.00           C
ATOM      2  C2  BUT H   1       1.600   1.000   2.000  1.00  0.00           C
END
`
	s, err := ReadPDB(strings.NewReader(in), "frames.pdb")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Models) != 2 || s.Models[1][0] != 0.1 || len(s.Atoms) != 2 {
		t.Errorf("models %v atoms %d", s.Models, len(s.Atoms))
	}
	bad := strings.Replace(in, "ATOM      2  C2  BUT H   1       1.600", "ATOM      2  C3  BUT H   1       1.600", 1)
	if _, err := ReadPDB(strings.NewReader(bad), "frames.pdb"); err == nil || !strings.Contains(err.Error(), "frames.pdb:7: model 2: atom 2 is C3, expected C2") {
		t.Errorf("renamed atom in frame 2: %v", err)
	}
}

func TestAssignRefusesGeometricCombiningRule(t *testing.T) {
	psf, err := ReadPSFFile(filepath.Join(systemsDir, "dialanine", "dialanine.psf"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ReadParameterFiles("../data/toppar/par_all36m_prot.prm")
	if err != nil {
		t.Fatal(err)
	}
	p.Nonbonded.Flags = append(p.Nonbonded.Flags, "GEOM")
	if _, err := Assign(psf, p); err == nil || !strings.Contains(err.Error(), "GEOM") {
		t.Errorf("GEOM accepted: %v", err)
	}
}
