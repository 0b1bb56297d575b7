package topology

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// ReadPSFFile reads a PSF from a file path.
func ReadPSFFile(path string) (*PSF, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadPSF(f, path)
}

// ReadPSF reads a CHARMM PSF in any of the flavours CHARMM, psfgen and
// CHARMM-GUI write: standard or EXT widths, numeric type codes or XPLOR type
// names, with or without CHEQ columns and the CMAP cross-term section. The
// sections NDON, NACC, NNB, NGRP, MOLNT and an empty NUMLP are read and
// ignored. Drude particles and lone pairs are reported as not supported.
//
// Fields are split on white space rather than by fixed columns: every writer
// separates them, and the column widths differ between flavours and versions.
// name is used in error messages.
func ReadPSF(r io.Reader, name string) (*PSF, error) {
	p := &psfParser{file: name, sc: bufio.NewScanner(r)}
	p.sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	psf, err := p.parse()
	if err != nil {
		return nil, err
	}
	return psf, nil
}

type psfParser struct {
	file string
	sc   *bufio.Scanner
	line int
}

// next returns the next line and false at the end of input.
func (p *psfParser) next() (string, bool) {
	if !p.sc.Scan() {
		return "", false
	}
	p.line++
	return strings.TrimRight(p.sc.Text(), "\r"), true
}

func (p *psfParser) errorf(format string, args ...any) error {
	return errorf(p.file, p.line, format, args...)
}

// scanErr turns a scanner failure (I/O error or an overlong line) into an error
// naming the file; nil if input simply ended.
func (p *psfParser) scanErr() error {
	if err := p.sc.Err(); err != nil {
		return errorf(p.file, p.line+1, "reading: %v", err)
	}
	return nil
}

// sectionHeader parses a "count !NAME..." line. Counts of the header may be
// one or two integers (NGRP NST2, NUMLP NUMLPH). ok is false if the line is
// not a section header.
func sectionHeader(s string) (counts []int, name string, ok bool) {
	bang := strings.IndexByte(s, '!')
	if bang < 0 {
		return nil, "", false
	}
	fields := strings.Fields(s[:bang])
	if len(fields) == 0 {
		return nil, "", false
	}
	for _, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, "", false
		}
		counts = append(counts, n)
	}
	rest := strings.Fields(strings.TrimLeft(s[bang+1:], "!"))
	if len(rest) == 0 {
		return nil, "", false
	}
	name = strings.ToUpper(strings.TrimRight(rest[0], ":"))
	return counts, name, true
}

func (p *psfParser) parse() (*PSF, error) {
	psf := &PSF{}
	if err := p.header(psf); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for {
		s, ok := p.next()
		if !ok {
			break
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		counts, name, ok := sectionHeader(s)
		if !ok {
			return nil, p.errorf("expected a section header such as \"22 !NATOM\", got %q", strings.TrimSpace(s))
		}
		if seen[name] {
			return nil, p.errorf("section !%s appears twice", name)
		}
		seen[name] = true
		for _, c := range counts {
			if c < 0 {
				return nil, p.errorf("negative count %d in section !%s", c, name)
			}
		}
		if name != "NTITLE" && name != "NATOM" && !seen["NATOM"] {
			return nil, p.errorf("section !%s before !NATOM", name)
		}
		if err := p.section(psf, name, counts); err != nil {
			return nil, err
		}
	}
	if err := p.scanErr(); err != nil {
		return nil, err
	}
	if !seen["NATOM"] {
		return nil, errorf(p.file, 0, "no !NATOM section: not a PSF file")
	}
	return psf, nil
}

// header reads the first non-blank line, "PSF" followed by flags.
func (p *psfParser) header(psf *PSF) error {
	for {
		s, ok := p.next()
		if !ok {
			if err := p.scanErr(); err != nil {
				return err
			}
			return errorf(p.file, 0, "empty file: expected a PSF header line starting with \"PSF\"")
		}
		fields := strings.Fields(strings.ToUpper(s))
		if len(fields) == 0 {
			continue
		}
		if fields[0] != "PSF" {
			return p.errorf("expected a PSF header line starting with \"PSF\", got %q", strings.TrimSpace(s))
		}
		for _, f := range fields[1:] {
			switch f {
			case "EXT":
				psf.Ext = true
			case "CMAP":
				psf.CMap = true
			case "CHEQ":
				psf.CHEQ = true
			case "XPLOR":
				psf.XPLOR = true
			case "DRUDE":
				return p.errorf("Drude polarizable PSF files are not supported (header flag DRUDE)")
			default:
				return p.errorf("unknown PSF header flag %q, expected EXT, CMAP, CHEQ or XPLOR", f)
			}
		}
		return nil
	}
}

func (p *psfParser) section(psf *PSF, name string, counts []int) error {
	n := counts[0]
	switch name {
	case "NTITLE":
		for i := 0; i < n; i++ {
			s, ok := p.next()
			if !ok {
				return p.truncated("NTITLE", n, i)
			}
			psf.Title = append(psf.Title, strings.TrimRight(s, " \t"))
		}
		return nil
	case "NATOM":
		return p.atoms(psf, n)
	case "NBOND":
		v, err := p.indices(name, n, 2, len(psf.Atoms))
		for i := 0; i < len(v); i += 2 {
			psf.Bonds = append(psf.Bonds, [2]int{v[i], v[i+1]})
		}
		return err
	case "NTHETA":
		v, err := p.indices(name, n, 3, len(psf.Atoms))
		for i := 0; i < len(v); i += 3 {
			psf.Angles = append(psf.Angles, [3]int{v[i], v[i+1], v[i+2]})
		}
		return err
	case "NPHI", "NIMPHI":
		v, err := p.indices(name, n, 4, len(psf.Atoms))
		for i := 0; i < len(v); i += 4 {
			q := [4]int{v[i], v[i+1], v[i+2], v[i+3]}
			if name == "NPHI" {
				psf.Dihedrals = append(psf.Dihedrals, q)
			} else {
				psf.Impropers = append(psf.Impropers, q)
			}
		}
		return err
	case "NCRTERM":
		v, err := p.indices(name, n, 8, len(psf.Atoms))
		for i := 0; i < len(v); i += 8 {
			var q [8]int
			copy(q[:], v[i:i+8])
			psf.CrossTerms = append(psf.CrossTerms, q)
		}
		return err
	case "NDON", "NACC":
		// Hydrogen-bond donors and acceptors: pairs of atoms where 0 means
		// none, which do not change the energy.
		v, err := p.ints(name, 2*n)
		if err != nil {
			return err
		}
		for i := 0; i < len(v); i += 2 {
			pair := [2]int{v[i] - 1, v[i+1] - 1}
			if err := p.optionalAtoms(name, pair[:], len(psf.Atoms)); err != nil {
				return err
			}
			if name == "NDON" {
				psf.Donors = append(psf.Donors, pair)
			} else {
				psf.Acceptors = append(psf.Acceptors, pair)
			}
		}
		return nil
	case "NNB":
		// Explicit non-bonded exclusions, then one IBLO entry per atom.
		// CHARMM writes zero exclusions for all the systems it builds from
		// an RTF; explicit ones would change the energy, so refuse them
		// rather than silently ignore them.
		if n > 0 {
			return p.errorf("explicit non-bonded exclusions (!NNB = %d) are not supported", n)
		}
		_, err := p.ints(name, len(psf.Atoms))
		return err
	case "NGRP":
		// Charge groups: first atom (0-based in the file), type, move flag.
		if len(counts) > 1 {
			psf.NST2 = counts[1]
		}
		v, err := p.ints(name, 3*n)
		if err != nil {
			return err
		}
		for i := 0; i < len(v); i += 3 {
			if v[i] < 0 || v[i] >= len(psf.Atoms) {
				return p.errorf("section !NGRP, group %d: first atom %d outside 0..%d", i/3+1, v[i], len(psf.Atoms)-1)
			}
			psf.Groups = append(psf.Groups, [3]int{v[i], v[i+1], v[i+2]})
		}
		return nil
	case "MOLNT":
		// Molecule number of each atom.
		v, err := p.ints(name, len(psf.Atoms))
		psf.Molecules = v
		return err
	case "NUMLP":
		lp := n
		if lp > 0 || (len(counts) > 1 && counts[1] > 0) {
			return p.errorf("lone pairs (!NUMLP) are not supported")
		}
		return nil
	case "NUMANISO":
		if n > 0 {
			return p.errorf("anisotropic Drude polarizability (!NUMANISO) is not supported")
		}
		return nil
	}
	return p.errorf("unknown section !%s, expected one of NTITLE, NATOM, NBOND, NTHETA, NPHI, NIMPHI, NDON, NACC, NNB, NGRP, MOLNT, NUMLP, NCRTERM", name)
}

func (p *psfParser) truncated(section string, want, got int) error {
	if err := p.scanErr(); err != nil {
		return err
	}
	return p.errorf("file ends inside section !%s: expected %d entries, found %d", section, want, got)
}

// atoms reads n atom lines:
//
//	id segid resid resname name type charge mass imove [ech eha]
//
// where type is a type name (XPLOR) or a type code. Some writers omit imove.
func (p *psfParser) atoms(psf *PSF, n int) error {
	if n > 1<<26 {
		return p.errorf("implausible atom count %d", n)
	}
	psf.Atoms = make([]Atom, 0, min(n, 1<<16))
	for i := 0; i < n; i++ {
		s, ok := p.next()
		if !ok {
			return p.truncated("NATOM", n, i)
		}
		f := strings.Fields(s)
		const format = "\"id segid resid resname name type charge mass imove\""
		if len(f) < 8 {
			return p.errorf("atom line: expected %s, got %d fields", format, len(f))
		}
		id, err := strconv.Atoi(f[0])
		if err != nil || id != i+1 {
			return p.errorf("atom line: expected atom number %d in the first field, got %q", i+1, f[0])
		}
		a := Atom{Segment: f[1], ResID: f[2], ResName: f[3], Name: f[4]}
		if code, err := strconv.Atoi(f[5]); err == nil && !psf.XPLOR {
			a.TypeCode = code
		} else {
			a.Type = strings.ToUpper(f[5])
		}
		if a.Charge, ok = parseReal(f[6]); !ok {
			return p.errorf("atom %d: expected a charge in field 7, got %q", id, f[6])
		}
		if a.Mass, ok = parseReal(f[7]); !ok {
			return p.errorf("atom %d: expected a mass in field 8, got %q", id, f[7])
		}
		if len(f) > 8 {
			if a.IMove, err = strconv.Atoi(f[8]); err != nil {
				return p.errorf("atom %d: expected the integer IMOVE flag in field 9, got %q", id, f[8])
			}
		}
		if psf.CHEQ && len(f) >= 11 {
			if a.ECH, ok = parseReal(f[9]); !ok {
				return p.errorf("atom %d: expected the CHEQ electronegativity in field 10, got %q", id, f[9])
			}
			if a.EHA, ok = parseReal(f[10]); !ok {
				return p.errorf("atom %d: expected the CHEQ hardness in field 11, got %q", id, f[10])
			}
		}
		maxFields := 9
		if psf.CHEQ {
			maxFields = 11
		}
		if len(f) > maxFields {
			return p.errorf("atom %d: expected at most %d fields, got %d (Drude PSF files are not supported)", id, maxFields, len(f))
		}
		psf.Atoms = append(psf.Atoms, a)
	}
	return nil
}

// ints reads n integers spread over as many lines as needed. A following
// section header or the end of input before n integers is an error.
func (p *psfParser) ints(section string, n int) ([]int, error) {
	if n > 1<<28 {
		return nil, p.errorf("implausible count %d in section !%s", n, section)
	}
	out := make([]int, 0, min(n, 1<<16))
	for len(out) < n {
		s, ok := p.next()
		if !ok {
			return out, p.truncated(section, n, len(out))
		}
		if _, _, hdr := sectionHeader(s); hdr {
			err := p.errorf("section !%s ends early, at the next section header: expected %d numbers, found %d", section, n, len(out))
			return out, err
		}
		for _, f := range strings.Fields(s) {
			v, err := strconv.Atoi(f)
			if err != nil {
				return out, p.errorf("section !%s: expected integers, got %q", section, f)
			}
			if len(out) == n {
				return out, p.errorf("section !%s: more numbers than the %d expected", section, n)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// indices reads n tuples of width atom numbers, checks them against the atom
// count and converts them to 0-based indices.
func (p *psfParser) indices(section string, n, width, natom int) ([]int, error) {
	if n > (1<<28)/width {
		return nil, p.errorf("implausible count %d in section !%s", n, section)
	}
	v, err := p.ints(section, n*width)
	if err != nil {
		return nil, err
	}
	for i, x := range v {
		if x < 1 || x > natom {
			return nil, p.errorf("section !%s, entry %d: atom number %d outside 1..%d", section, i/width+1, x, natom)
		}
		v[i] = x - 1
	}
	return v, nil
}

// optionalAtoms checks 0-based indices where -1 means none.
func (p *psfParser) optionalAtoms(section string, idx []int, natom int) error {
	for _, x := range idx {
		if x < -1 || x >= natom {
			return p.errorf("section !%s: atom number %d outside 0..%d", section, x+1, natom)
		}
	}
	return nil
}
