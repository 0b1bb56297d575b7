package topology

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzReadPSF holds the PSF reader to its promise: no input panics, every
// failure is a *ParseError, and whatever it reads, WritePSF writes back into
// a file that reads as the same PSF.
func FuzzReadPSF(f *testing.F) {
	for _, system := range []string{"dialanine", "butane", "ala2"} {
		raw, err := os.ReadFile(filepath.Join(systemsDir, system, system+".psf"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		// Truncations at section boundaries are the interesting prefixes.
		s := string(raw)
		for _, cut := range []string{"!NBOND", "!NTHETA", "!NPHI", "!NCRTERM"} {
			if i := strings.Index(s, cut); i > 0 {
				f.Add([]byte(s[:i+20]))
			}
		}
	}
	f.Add([]byte("PSF\n\n 0 !NTITLE\n\n 0 !NATOM\n"))
	f.Add([]byte("PSF EXT DRUDE\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		psf, err := ReadPSF(bytes.NewReader(in), "fuzz.psf")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := WritePSF(&buf, psf); err != nil {
			return // names that no PSF format can hold, or numeric types
		}
		back, err := ReadPSF(&buf, "written.psf")
		if err != nil {
			t.Fatalf("reading back a written PSF: %v\n%s", err, buf.String())
		}
		want := *psf
		want.XPLOR, want.CMap = true, true
		if !want.Ext {
			want.Ext = back.Ext // the writer widens to EXT for long names
		}
		if len(want.Groups) == 0 && len(want.Atoms) > 0 {
			want.Groups = [][3]int{{0, 0, 0}}
		}
		normalizeFuzzPSF(&want)
		normalizeFuzzPSF(back)
		if !reflect.DeepEqual(back, &want) {
			t.Fatalf("round trip changed the PSF:\n got %+v\nwant %+v", back, &want)
		}
	})
}

// normalizeFuzzPSF clears what a written file cannot reproduce exactly:
// numbers written with six significant digits (CHARMM's G14.6), and
// trailing blanks of title lines.
func normalizeFuzzPSF(p *PSF) {
	for i := range p.Atoms {
		a := &p.Atoms[i]
		a.Charge = roundSig(a.Charge)
		a.Mass = roundSig(a.Mass)
		a.ECH = roundSig(a.ECH)
		a.EHA = roundSig(a.EHA)
	}
	for i := range p.Title {
		p.Title[i] = strings.TrimRight(p.Title[i], " \t")
	}
	if len(p.Title) == 0 {
		p.Title = nil
	}
}

func roundSig(x float64) float64 {
	v, ok := parseReal(fortranG(x, 30, 6))
	if !ok {
		return x
	}
	return v
}
