package topology

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSeedPrefixes adds in and some truncations of it (whole lines, and a cut
// in the middle of a line) to the corpus.
func addSeedPrefixes(f *testing.F, in []byte) {
	f.Add(in)
	lines := bytes.SplitAfter(in, []byte("\n"))
	for _, n := range []int{1, 2, len(lines) / 2, len(lines) - 1} {
		if n > 0 && n < len(lines) {
			prefix := bytes.Join(lines[:n], nil)
			f.Add(prefix)
			f.Add(append(prefix[:len(prefix):len(prefix)], lines[n][:len(lines[n])/2]...))
		}
	}
}

// checkReadResult holds a reader to its contract: an error is a
// *ParseError, a success a consistent Structure.
func checkReadResult(t *testing.T, s *Structure, err error) {
	t.Helper()
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v (%T) is not a *ParseError", err, err)
		}
		if s != nil {
			t.Fatalf("non-nil structure with error %v", err)
		}
		return
	}
	if len(s.Atoms) == 0 || len(s.Models) == 0 {
		t.Fatalf("success with %d atoms and %d models", len(s.Atoms), len(s.Models))
	}
	for m, xyz := range s.Models {
		if len(xyz) != 3*len(s.Atoms) {
			t.Fatalf("model %d has %d coordinates for %d atoms", m+1, len(xyz), len(s.Atoms))
		}
	}
}

func FuzzReadPDB(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join(coordTestDir, "*", "*.pdb"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed PDB files (%v)", err)
	}
	for _, p := range paths {
		in, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		addSeedPrefixes(f, in)
	}
	model := "ATOM      1  N   ALA A   1       1.000   2.000   3.000\n" +
		"ATOM      2  CA ASER A   1       1.000   2.000   3.000\n" +
		"ATOM      3  CA BSER A   1       1.000   2.000   3.000\n"
	f.Add([]byte("MODEL 1\n" + model + "ENDMDL\nMODEL 2\n" + model + "ENDMDL\nEND\n"))
	f.Add([]byte("MODEL 1\n" + model + "MODEL 2\n" + model))
	f.Add([]byte("ATOM  99999  N   ALA A   1       1.000   2.000   3.000\n" +
		"ATOM  186a0  CA  ALA A   1      -1.500  22.250-333.125\nHETATM*****  C   ALA A   1       4.000   5.000   6.000\n"))
	f.Add([]byte(""))
	f.Add([]byte("ATOM"))
	f.Add([]byte("HETATM\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ReadPDB(bytes.NewReader(in), "fuzz.pdb")
		checkReadResult(t, s, err)
		if err != nil {
			return
		}
		// Whatever was read and fits the format must write and read back to
		// the same atom count.
		var buf bytes.Buffer
		if WritePDB(&buf, s.Atoms, s.Models) != nil {
			return
		}
		back, err := ReadPDB(&buf, "back.pdb")
		if err != nil {
			t.Fatalf("written PDB does not read back: %v\n%s", err, buf.String())
		}
		if len(back.Atoms) != len(s.Atoms) || len(back.Models) != len(s.Models) {
			t.Fatalf("read back %d atoms in %d models, wrote %d in %d",
				len(back.Atoms), len(back.Models), len(s.Atoms), len(s.Models))
		}
	})
}

func FuzzReadCRD(f *testing.F) {
	for _, in := range []string{crdStandardSample, crdExtSample, crdFieldsSample} {
		addSeedPrefixes(f, []byte(in))
	}
	f.Add([]byte(strings.ReplaceAll(crdStandardSample, "\n", "\r\n")))
	f.Add([]byte("* T\n*\n    2\n    1    1 ALAD CL     3.82300  26.41500   2.12800 AD   1\n"))
	f.Add([]byte("* T\n    1 EXT\n"))
	f.Add([]byte("   99999999999999\n"))
	f.Add([]byte(""))
	f.Add([]byte("*"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ReadCRD(bytes.NewReader(in), "fuzz.crd")
		checkReadResult(t, s, err)
		if err != nil {
			return
		}
		for _, ext := range []bool{false, true} {
			var buf bytes.Buffer
			if WriteCRD(&buf, s.Atoms, s.Models[0], ext) != nil {
				continue
			}
			back, err := ReadCRD(&buf, "back.crd")
			if err != nil {
				t.Fatalf("written CRD (ext %v) does not read back: %v\n%s", ext, err, buf.String())
			}
			if len(back.Atoms) != len(s.Atoms) {
				t.Fatalf("read back %d atoms, wrote %d", len(back.Atoms), len(s.Atoms))
			}
		}
	})
}
