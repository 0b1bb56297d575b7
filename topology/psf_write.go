package topology

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WritePSF writes psf in the format CHARMM writes (XPLOR type names, with the
// EXT widths when the PSF had them or when a name is too long for the standard
// ones, CHEQ columns when the PSF had them), so that CHARMM, NAMD, OpenMM, VMD
// and MDTraj read it. A PSF read by ReadPSF and written back reads as the same
// PSF; files CHARMM wrote come back byte for byte.
//
// Atoms without a type name are refused: the numeric codes of old PSF files
// only mean something together with the RTF they came from, so resolve them
// first (PSF.ResolveTypeCodes).
func WritePSF(w io.Writer, psf *PSF) error {
	ext := psf.Ext
	for i, a := range psf.Atoms {
		if a.Type == "" {
			return fmt.Errorf("atom %d (%s) has no type name: resolve type codes before writing", i+1, a.Name)
		}
		for _, f := range []string{a.Segment, a.ResID, a.ResName, a.Name, a.Type} {
			if strings.ContainsAny(f, " \t\n\r!") || f == "" {
				return fmt.Errorf("atom %d: field %q cannot be written to a PSF (empty or contains white space or '!')", i+1, f)
			}
		}
		if len(a.Segment) > 4 || len(a.ResID) > 4 || len(a.ResName) > 4 || len(a.Name) > 4 || len(a.Type) > 4 {
			ext = true
		}
		if len(a.Segment) > 8 || len(a.ResID) > 8 || len(a.ResName) > 8 || len(a.Name) > 8 || len(a.Type) > 6 {
			return fmt.Errorf("atom %d: a name is longer than the PSF EXT format allows (8 characters, 6 for the type)", i+1)
		}
	}
	pw := psfWriter{w: bufio.NewWriter(w), ext: ext}
	pw.write(psf)
	if pw.err != nil {
		return pw.err
	}
	return pw.w.Flush()
}

type psfWriter struct {
	w   *bufio.Writer
	ext bool
	err error
}

func (pw *psfWriter) printf(format string, args ...any) {
	if pw.err == nil {
		_, pw.err = fmt.Fprintf(pw.w, format, args...)
	}
}

// intWidth is the width of an integer field: I8, or I10 in EXT files.
func (pw *psfWriter) intWidth() int {
	if pw.ext {
		return 10
	}
	return 8
}

// header writes a section header preceded by a blank line, as CHARMM's
// "(/I8,A)" format does.
func (pw *psfWriter) header(title string, counts ...int) {
	pw.printf("\n")
	for _, c := range counts {
		pw.printf("%*d", pw.intWidth(), c)
	}
	pw.printf(" !%s\n", title)
}

// ints writes values perLine to a line. Like a Fortran list write, an empty
// list still produces one empty line.
func (pw *psfWriter) ints(values []int, perLine int) {
	if len(values) == 0 {
		pw.printf("\n")
		return
	}
	for i, v := range values {
		pw.printf("%*d", pw.intWidth(), v)
		if (i+1)%perLine == 0 || i == len(values)-1 {
			pw.printf("\n")
		}
	}
}

func (pw *psfWriter) write(psf *PSF) {
	flags := []string{"PSF"}
	if pw.ext {
		flags = append(flags, "EXT")
	}
	flags = append(flags, "CMAP")
	if psf.CHEQ {
		flags = append(flags, "CHEQ")
	}
	flags = append(flags, "XPLOR")
	pw.printf("%s\n", strings.Join(flags, " "))

	pw.header("NTITLE", len(psf.Title))
	for _, t := range psf.Title {
		pw.printf("%s\n", t)
	}

	pw.header("NATOM", len(psf.Atoms))
	for i, a := range psf.Atoms {
		if pw.ext {
			pw.printf("%10d %-8s %-8s %-8s %-8s %-6s ", i+1, a.Segment, a.ResID, a.ResName, a.Name, a.Type)
		} else {
			pw.printf("%8d %-4s %-4s %-4s %-4s %-4s ", i+1, a.Segment, a.ResID, a.ResName, a.Name, a.Type)
		}
		pw.printf("%s%s%8d", fortranG(a.Charge, 14, 6), fortranG(a.Mass, 14, 6), a.IMove)
		if psf.CHEQ {
			pw.printf("%s%s", fortranG(a.ECH, 14, 6), fortranG(a.EHA, 14, 6))
		}
		pw.printf("\n")
	}

	pw.header("NBOND: bonds", len(psf.Bonds))
	pw.ints(flatten1(psf.Bonds), 8)
	pw.header("NTHETA: angles", len(psf.Angles))
	pw.ints(flatten1(psf.Angles), 9)
	pw.header("NPHI: dihedrals", len(psf.Dihedrals))
	pw.ints(flatten1(psf.Dihedrals), 8)
	pw.header("NIMPHI: impropers", len(psf.Impropers))
	pw.ints(flatten1(psf.Impropers), 8)
	pw.header("NDON: donors", len(psf.Donors))
	pw.ints(flatten1(psf.Donors), 8)
	pw.header("NACC: acceptors", len(psf.Acceptors))
	pw.ints(flatten1(psf.Acceptors), 8)

	pw.header("NNB", 0)
	pw.ints(nil, 8)                         // the (empty) exclusion list
	pw.ints(make([]int, len(psf.Atoms)), 8) // IBLO: no exclusions per atom

	groups := psf.Groups
	if len(groups) == 0 && len(psf.Atoms) > 0 {
		// One group holding every atom: what CHARMM assumes without groups.
		groups = [][3]int{{0, 0, 0}}
	}
	pw.header("NGRP NST2", len(groups), psf.NST2)
	flat := make([]int, 0, 3*len(groups))
	for _, g := range groups {
		flat = append(flat, g[:]...)
	}
	pw.ints(flat, 9)

	if psf.Molecules != nil {
		nmol := 0
		for _, m := range psf.Molecules {
			nmol = max(nmol, m)
		}
		pw.header("MOLNT", nmol)
		pw.ints(psf.Molecules, 8)
	}
	pw.header("NUMLP NUMLPH", 0, 0) // no lone pairs: CHARMM writes no data line
	pw.header("NCRTERM: cross-terms", len(psf.CrossTerms))
	pw.ints(flatten1(psf.CrossTerms), 8)
}

// flatten1 turns 0-based index tuples into the 1-based flat list a PSF holds;
// -1 ("none", in donors and acceptors) becomes 0.
func flatten1[T ~[2]int | ~[3]int | ~[4]int | ~[8]int](tuples []T) []int {
	var out []int
	for _, t := range tuples {
		for i := 0; i < len(t); i++ {
			out = append(out, t[i]+1)
		}
	}
	return out
}
