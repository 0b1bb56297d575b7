package build

import (
	"bytes"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/topology"
)

// rtfChunks splits an RTF into its header (everything before the first
// RESI or PRES) and one chunk per residue or patch, so that each seed is a
// small, valid file: the header followed by one entry.
func rtfChunks(text string) (header string, entries []string) {
	lines := strings.SplitAfter(text, "\n")
	start := -1
	for i, l := range lines {
		w := strings.ToUpper(strings.TrimSpace(l))
		if strings.HasPrefix(w, "RESI") || strings.HasPrefix(w, "PRES") {
			if start < 0 {
				header = strings.Join(lines[:i], "")
			} else {
				entries = append(entries, strings.Join(lines[start:i], ""))
			}
			start = i
		}
	}
	if start >= 0 {
		entries = append(entries, strings.Join(lines[start:], ""))
	}
	return header, entries
}

// FuzzReadRTF feeds the reader variations of the real topology files. It
// must never panic, and every error must be a *topology.ParseError naming
// the file and a line that exists. Files it accepts are built into a short
// chain, which must not panic either and must give finite coordinates for
// every atom when it succeeds.
func FuzzReadRTF(f *testing.F) {
	prot, err := os.ReadFile(protRTF)
	if err != nil {
		f.Fatal(err)
	}
	header, entries := rtfChunks(string(prot))
	for i, e := range entries {
		// Residues with their terminal patches, and every patch.
		if i%3 == 0 || strings.HasPrefix(strings.ToUpper(e), "PRES") {
			f.Add([]byte(header + e + "END\n"))
		}
	}
	f.Add([]byte(header + entries[0] + entries[len(entries)-24] + entries[len(entries)-20] + "END\n"))
	cgenff, err := os.ReadFile(cgenfRTF)
	if err != nil {
		f.Fatal(err)
	}
	cheader, centries := rtfChunks(string(cgenff))
	for i := 0; i < len(centries); i += 97 {
		f.Add([]byte(cheader + centries[i]))
	}
	f.Add([]byte("* t\n*\nMASS -1 C 12.0\nRESI X 0\nATOM A C 0\nATOM B C 0\nBOND A B A +B\nIC -B A B +A 1 2 3 4 5\nEND\n"))
	f.Add([]byte("RESI X 0\nBOND A -\n-\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		rtf, err := ReadRTF(bytes.NewReader(data), "fuzz.rtf")
		if err != nil {
			var pe *topology.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *topology.ParseError", err, err)
			}
			if pe.File != "fuzz.rtf" || pe.Line < 1 || pe.Line > bytes.Count(data, []byte("\n"))+1 || pe.Msg == "" {
				t.Fatalf("error %q names file %q line %d", pe.Msg, pe.File, pe.Line)
			}
			return
		}
		built := 0
		for _, name := range rtf.Names {
			r := rtf.Residues[name]
			if r.Patch || built == 2 {
				continue
			}
			built++
			for _, opts := range []Options{{}, {First: "NONE", Last: "NONE", Backbone: BackboneHelix}} {
				psf, x, err := BuildPeptide(rtf, "F", []string{name, name, name}, opts)
				if err != nil {
					continue
				}
				if len(x) != 3*len(psf.Atoms) {
					t.Fatalf("%s: %d coordinates for %d atoms", name, len(x), len(psf.Atoms))
				}
				for i, v := range x {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("%s: coordinate %d is %v", name, i, v)
					}
				}
				for _, b := range psf.Bonds {
					if b[0] == b[1] || b[0] < 0 || b[1] >= len(psf.Atoms) {
						t.Fatalf("%s: bad bond %v", name, b)
					}
				}
			}
		}
	})
}
