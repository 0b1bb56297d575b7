package topology

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// prmLineRange returns lines [from, to) (0-based) of text, clamped.
func prmLineRange(text string, from, to int) string {
	lines := strings.SplitAfter(text, "\n")
	from = min(max(from, 0), len(lines))
	to = min(max(to, from), len(lines))
	return strings.Join(lines[from:to], "")
}

// prmSectionOf returns the lines of text from the first line whose first word
// is keyword up to (not including) the next line starting with one of the
// next keywords, so that the seeds follow the files if they change.
func prmSectionOf(text, keyword string, next ...string) string {
	lines := strings.SplitAfter(text, "\n")
	start := -1
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		w := strings.ToUpper(f[0])
		if start < 0 {
			if w == keyword {
				start = i
			}
			continue
		}
		for _, n := range next {
			if w == n {
				return strings.Join(lines[start:i], "")
			}
		}
	}
	if start < 0 {
		return ""
	}
	return strings.Join(lines[start:], "")
}

func FuzzReadParameters(f *testing.F) {
	files := map[string]string{}
	for _, name := range []string{"par_all36m_prot.prm", "par_all36_cgenff.prm", "top_all36_prot.rtf",
		"top_all36_cgenff.rtf", "toppar_water_ions.str"} {
		data, err := os.ReadFile(prmDataDir + name)
		if err != nil {
			f.Logf("seed file %s: %v", name, err)
			continue
		}
		files[name] = string(data)
		f.Add([]byte(prmLineRange(files[name], 0, 200)), strings.HasSuffix(name, ".str"))
	}
	if s := files["toppar_water_ions.str"]; s != "" {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false) // detected by its read commands alone
	}
	if s := files["par_all36m_prot.prm"]; s != "" {
		cmap := prmSectionOf(s, "CMAP", "NONBONDED")
		f.Add([]byte(prmLineRange(cmap, 0, 120)), false) // an incomplete grid
		f.Add([]byte(prmLineRange(cmap, 0, 180)), false) // the whole alanine map
		f.Add([]byte(prmSectionOf(s, "NONBONDED", "END")+"END\n"), false)
		f.Add([]byte(prmSectionOf(s, "IMPROPER", "CMAP")), false)
		f.Add([]byte(prmLineRange(prmSectionOf(s, "DIHEDRALS", "IMPROPER"), 0, 150)), false)
	}
	if s := files["par_all36_cgenff.prm"]; s != "" {
		f.Add([]byte(prmLineRange(prmSectionOf(s, "ANGLES", "DIHEDRALS"), 1300, 1400)), false)
		f.Add([]byte(prmSectionOf(s, "NBFIX", "END")), false)
		f.Add([]byte(prmLineRange(prmSectionOf(s, "NONBONDED", "NBFIX"), 0, 60)), false)
	}
	if s := files["top_all36_cgenff.rtf"]; s != "" {
		f.Add([]byte(prmLineRange(s, 31030, 31070)), false) // lone pairs in an RTF
	}

	for _, s := range []string{
		"",
		"*\n",
		"* title\n",
		"-\n-\n-",
		"BONDS\nA B 1 2 -\n",
		"BONDS\r\nA B 1D0 2d-1\r\nEND\r\n",
		"ANGLES\nA B C 1 2 3 4 5 6\n",
		"DIHEDRALS\nX A B X 1 -3 0\nX A B X 1 3 0\n",
		"IMPROPER\nA X X B 1 0 0\n",
		"CMAP\nA B C D E F G H 2\n1 2\n3 4\n",
		"CMAP\nA B C D E F G H 1\n1\nA B C D E F G H 1\n",
		"NONBONDED nbxmod 5 atom -\ncutnb 14 ctofnb 12 ctonnb 10 eps 1 e14fac 1 wmin 1.5\nC 0 -0.1 2 0 -0.01 1.9\n",
		"NBFIX\nA B -0.1 3 -0.1 3\nHBOND CUTHB 0.5\nx y z\nEND\n",
		"36 1\nRESI A 0\nMASS -1 A 1.0 H\nIMPR A B C D\nCMAP a b c d e f g h\nEND\n",
		"read rtf card\n* t\n*\n36 1\nMASS -1 A 1 H\nEND\nread para card flex append\nBONDS\nA A 1 1\nEND\nreturn\n",
		"read para card name x\n",
		"THOLE\n",
		"MASS 2147483648 A 1.0\n",
		"DIHEDRALS\nA B C D 1 -2147483648 0\n",
	} {
		f.Add([]byte(s), false)
	}

	f.Fuzz(func(t *testing.T, data []byte, asStream bool) {
		name := "fuzz.prm"
		if asStream {
			name = "fuzz.str"
		}
		p := NewParameters()
		err := ReadParameters(bytes.NewReader(data), name, p)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, not *ParseError: %v", err, err)
			}
			if pe.File != name || pe.Line < 0 || pe.Msg == "" {
				t.Fatalf("bad ParseError %+v", pe)
			}
			return
		}
		for k, terms := range p.Dihedrals {
			if k != NewDihedralKey(k[0], k[1], k[2], k[3]) {
				t.Fatalf("dihedral key %v is not canonical", k)
			}
			seen := map[int]bool{}
			for _, term := range terms {
				if term.N <= 0 || seen[term.N] {
					t.Fatalf("dihedral %v: bad or repeated multiplicity in %v", k, terms)
				}
				seen[term.N] = true
			}
		}
		for k, g := range p.CMaps {
			if g == nil || g.Size < 1 || len(g.Values) != g.Size*g.Size {
				t.Fatalf("CMAP %v: incomplete grid", k)
			}
		}
		for k := range p.Bonds {
			if k != NewBondKey(k[0], k[1]) {
				t.Fatalf("bond key %v is not canonical", k)
			}
		}
	})
}
