package topology

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// systemsDir holds the real CHARMM inputs shipped with the repository.
const systemsDir = "../data/systems"

func readTestPSF(t *testing.T, system string) *PSF {
	t.Helper()
	psf, err := ReadPSFFile(filepath.Join(systemsDir, system, system+".psf"))
	if err != nil {
		t.Fatal(err)
	}
	return psf
}

func TestReadPSFRealSystems(t *testing.T) {
	cases := []struct {
		system                                                    string
		atoms, bonds, angles, dihedrals, impropers, cross, groups int
		ext, cheq, xplor                                          bool
		firstName, firstType, lastName, lastType                  string
		firstCharge, firstMass                                    float64
	}{
		// Counts from the !N... headers and checked against the number of
		// entries in each section by hand (awk over the files).
		{"dialanine", 22, 21, 36, 41, 4, 1, 1, false, false, false, "CL", "CT3", "HR3", "HA3", -0.27, 12.011},
		{"butane", 14, 13, 24, 27, 0, 0, 4, true, true, true, "H11", "HGA3", "C4", "CG331", 0.09, 1.008},
		{"ala2", 23, 22, 39, 49, 3, 0, 6, true, false, true, "N", "NH3", "OT2", "OC", -0.3, 14.007},
	}
	for _, c := range cases {
		t.Run(c.system, func(t *testing.T) {
			psf := readTestPSF(t, c.system)
			got := []int{len(psf.Atoms), len(psf.Bonds), len(psf.Angles), len(psf.Dihedrals), len(psf.Impropers), len(psf.CrossTerms), len(psf.Groups)}
			want := []int{c.atoms, c.bonds, c.angles, c.dihedrals, c.impropers, c.cross, c.groups}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("counts atoms,bonds,angles,dihedrals,impropers,cmap,groups = %v, want %v", got, want)
			}
			if psf.Ext != c.ext || psf.CHEQ != c.cheq || psf.XPLOR != c.xplor {
				t.Errorf("flags EXT=%v CHEQ=%v XPLOR=%v, want %v %v %v", psf.Ext, psf.CHEQ, psf.XPLOR, c.ext, c.cheq, c.xplor)
			}
			first, last := psf.Atoms[0], psf.Atoms[len(psf.Atoms)-1]
			if first.Name != c.firstName || first.Type != c.firstType || last.Name != c.lastName || last.Type != c.lastType {
				t.Errorf("first/last atoms %s/%s %s/%s, want %s/%s %s/%s", first.Name, first.Type, last.Name, last.Type, c.firstName, c.firstType, c.lastName, c.lastType)
			}
			if first.Charge != c.firstCharge || first.Mass != c.firstMass {
				t.Errorf("first atom charge %v mass %v, want %v %v", first.Charge, first.Mass, c.firstCharge, c.firstMass)
			}
			for _, b := range psf.Bonds {
				if b[0] == b[1] {
					t.Errorf("bond %v joins an atom to itself", b)
				}
			}
		})
	}
}

func TestReadPSFDialanineEntries(t *testing.T) {
	psf := readTestPSF(t, "dialanine")
	// First and last entries of each section, 0-based, from the file.
	if psf.Bonds[0] != [2]int{0, 4} || psf.Bonds[20] != [2]int{18, 21} {
		t.Errorf("bonds %v ... %v", psf.Bonds[0], psf.Bonds[20])
	}
	if psf.Angles[0] != [3]int{0, 4, 5} || psf.Angles[35] != [3]int{20, 18, 21} {
		t.Errorf("angles %v ... %v", psf.Angles[0], psf.Angles[35])
	}
	if psf.Dihedrals[0] != [4]int{0, 4, 6, 7} || psf.Dihedrals[40] != [4]int{17, 16, 18, 19} {
		t.Errorf("dihedrals %v ... %v", psf.Dihedrals[0], psf.Dihedrals[40])
	}
	if psf.Impropers[3] != [4]int{16, 14, 18, 17} {
		t.Errorf("improper %v", psf.Impropers[3])
	}
	if psf.CrossTerms[0] != [8]int{4, 6, 8, 14, 6, 8, 14, 16} {
		t.Errorf("cross-term %v", psf.CrossTerms[0])
	}
	if len(psf.Title) != 3 || !strings.Contains(psf.Title[1], "top_all36_prot.rtf") {
		t.Errorf("title %q", psf.Title)
	}
}

// TestWritePSFRoundTrip writes each real PSF and reads it back: the data must
// be the same. Files CHARMM wrote (CHARMM-GUI's ala2 and butane) must come
// back byte for byte, apart from trailing blanks CHARMM pads lines with.
func TestWritePSFRoundTrip(t *testing.T) {
	for _, system := range []string{"dialanine", "butane", "ala2"} {
		t.Run(system, func(t *testing.T) {
			psf := readTestPSF(t, system)
			var buf bytes.Buffer
			if err := WritePSF(&buf, psf); err != nil {
				t.Fatal(err)
			}
			back, err := ReadPSF(bytes.NewReader(buf.Bytes()), "written")
			if err != nil {
				t.Fatalf("reading back: %v\n%s", err, buf.String())
			}
			// The writer always names types (XPLOR) and always has CMAP.
			want := *psf
			want.XPLOR, want.CMap = true, true
			if !reflect.DeepEqual(back, &want) {
				t.Errorf("round trip changed the PSF")
			}
			if system == "dialanine" {
				return // written by psfgen, whose number formats differ from CHARMM's
			}
			orig, err := os.ReadFile(filepath.Join(systemsDir, system, system+".psf"))
			if err != nil {
				t.Fatal(err)
			}
			if a, b := trimLines(string(orig)), trimLines(buf.String()); a != b {
				t.Errorf("written file differs from CHARMM's:\n%s", firstDifference(a, b))
			}
		})
	}
}

func trimLines(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n  want " + x + "\n  got  " + y
		}
	}
	return ""
}

func TestReadPSFErrors(t *testing.T) {
	const good = `PSF CMAP

       1 !NTITLE
 REMARKS test

       2 !NATOM
       1 A    1    ALA  C1   CT3   -0.270000       12.0110           0
       2 A    1    ALA  H1   HA3    0.270000        1.0080           0

       1 !NBOND: bonds
       1       2
`
	if _, err := ReadPSF(strings.NewReader(good), "good.psf"); err != nil {
		t.Fatalf("valid PSF refused: %v", err)
	}
	cases := []struct {
		name, input string
		line        int
		want        string
	}{
		{"empty", "", 0, "empty file"},
		{"not a psf", "HELLO\n", 1, "PSF header"},
		{"drude", "PSF EXT DRUDE\n", 1, "Drude"},
		{"bad flag", "PSF FOO\n", 1, "unknown PSF header flag"},
		{"no natom", "PSF\n\n 0 !NTITLE\n", 0, "no !NATOM"},
		{"bond atom out of range", strings.Replace(good, "       1       2\n", "       1       3\n", 1), 11, "atom number 3 outside 1..2"},
		{"truncated bonds", strings.Replace(good, "       1       2\n", "       1\n", 1), 11, "ends inside section !NBOND"},
		{"bad charge", strings.Replace(good, "-0.270000", "-0.27x", 1), 7, "expected a charge"},
		{"nan charge", strings.Replace(good, "-0.270000", "NaN", 1), 7, "expected a charge"},
		{"wrong atom number", strings.Replace(good, "       2 A    1", "       5 A    1", 1), 8, "expected atom number 2"},
		{"short atom line", strings.Replace(good, "   1.0080           0", "", 1), 8, "expected \"id segid"},
		{"truncated atoms", strings.Split(good, "       2 A")[0], 7, "ends inside section !NATOM"},
		{"garbage line", good + "\nxyz\n", 13, "expected a section header"},
		{"section twice", good + "\n       0 !NBOND: bonds\n", 13, "appears twice"},
		{"unknown section", good + "\n       0 !NFOO\n", 13, "unknown section !NFOO"},
		{"lone pairs", good + "\n       1       0 !NUMLP NUMLPH\n", 13, "lone pairs"},
		{"non-integer bond", strings.Replace(good, "       1       2\n", "       1       b\n", 1), 11, "expected integers"},
		{"early header", strings.Replace(good, "       1 !NBOND: bonds\n       1       2\n", "       2 !NBOND: bonds\n       1       2\n\n 0 !NTHETA: angles\n", 1), 13, "ends early"},
		{"explicit exclusions", good + "\n       1 !NNB\n       2\n       0       1\n", 13, "explicit non-bonded exclusions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadPSF(strings.NewReader(c.input), "test.psf")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.File != "test.psf" || pe.Line != c.line || !strings.Contains(pe.Msg, c.want) {
				t.Errorf("got %q (line %d), want line %d containing %q", err, pe.Line, c.line, c.want)
			}
		})
	}
}

func TestReadPSFNumericTypes(t *testing.T) {
	const in = `PSF

       1 !NTITLE
* numeric types

       2 !NATOM
       1 A    1    ALA  C1     24  -0.270000       12.0110           0
       2 A    1    ALA  H1      3   0.270000        1.0080           0

       1 !NBOND: bonds
       1       2
`
	psf, err := ReadPSF(strings.NewReader(in), "num.psf")
	if err != nil {
		t.Fatal(err)
	}
	if psf.Atoms[0].TypeCode != 24 || psf.Atoms[0].Type != "" || psf.Atoms[1].TypeCode != 3 {
		t.Errorf("type codes %+v", psf.Atoms)
	}
	if err := WritePSF(&bytes.Buffer{}, psf); err == nil {
		t.Error("writing unresolved type codes should fail")
	}
}
