package topology

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// This file reads CHARMM parameter (PRM), topology (RTF) and stream (STR)
// files into a Parameters set.
//
// Kind detection. ReadParameters is given one file and works out what it is:
//
//   - STR: the name ends in ".str", or the file contains a command line of the
//     form "read ... card" before its first END. Only the blocks opened by
//     "read rtf card" and "read para card" are read; every other script line
//     (set, if, return, WRNLEV, BOMLEV, ...) is ignored.
//   - RTF: the first line after the title is the version line (one or two
//     integers, such as "36  1"), or a line before the first END starts with
//     an RTF-only keyword (RESI, PRES, DECL, DEFA, AUTO). Only MASS lines are
//     read; everything else is skipped without being interpreted. This is what
//     keeps the RTF's "IMPR n1 n2 n3 n4" and "CMAP <8 names>" lines from being
//     taken for PRM section headers.
//   - PRM otherwise: a section-driven parser. MASS lines are accepted in any
//     section, as in both PRM and RTF files.
//
// Keywords are matched as CHARMM does, on their first four characters, but we
// also require the word to be a prefix of the full keyword ("DIHE", "DIHEDRAL"
// and "DIHEDRALS" are DIHEDRALS; "DIHEX" is not), so that a type name that
// happens to start with a keyword is not taken for one.
//
// Strictness. Where CHARMM needs a field we need it too, and it must parse as
// a number when a number is expected. CHARMM only warns about extra text after
// an entry; real files carry extra numeric columns now and then, so trailing
// fields are accepted when they are numbers and rejected otherwise, which
// catches shifted columns and mis-sectioned lines. Optional groups must be
// complete: an angle with Kub but no S0 is an error rather than a guess.

// ReadParameterFiles reads the PRM, RTF and STR files at paths, in order, into
// a new parameter set; later entries override earlier ones. Each path is
// appended to Files once it has been read.
func ReadParameterFiles(paths ...string) (*Parameters, error) {
	p := NewParameters()
	for _, path := range paths {
		if err := readParameterFile(path, p); err != nil {
			return nil, err
		}
		p.Files = append(p.Files, path)
	}
	return p, nil
}

func readParameterFile(path string, p *Parameters) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return ReadParameters(f, path, p)
}

// ReadParameters reads one CHARMM PRM, RTF or STR file from r into p, whose
// entries it adds to or overrides. The kind of file is detected:
//
//   - a stream file if name ends in ".str" or the file has a "read ... card"
//     command; only its "read rtf card" and "read para card" blocks are read,
//     each up to its END, and every other script line is ignored;
//   - an RTF if its first line after the title is a version line ("36 1") or
//     it has RESI, PRES, DECL, DEFA or AUTO lines; only MASS entries are read;
//   - a PRM otherwise.
//
// name is used in error messages; it is not added to p.Files
// (ReadParameterFiles does that). p may be a zero Parameters.
//
// Malformed or unsupported input yields a *ParseError naming the file, line
// and what was expected. On error p may already hold some of the file's
// entries.
func ReadParameters(r io.Reader, name string, p *Parameters) error {
	if p == nil {
		return errors.New("topology: ReadParameters needs a non-nil *Parameters")
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	p.ensureMaps()
	ps := &prmParser{
		file: name,
		p:    p,
		sc:   CardScanner{Lines: strings.Split(string(data), "\n")},
	}
	switch detectParamKind(name, ps.sc.Lines) {
	case kindSTR:
		return ps.parseStream()
	case kindRTF:
		ps.sc.SkipTitle()
		return ps.parseBody(kindRTF, false, 0)
	default:
		ps.sc.SkipTitle()
		return ps.parseBody(kindPRM, false, 0)
	}
}

// ensureMaps makes a zero Parameters usable.
func (p *Parameters) ensureMaps() {
	if p.Masses == nil {
		p.Masses = map[string]MassType{}
	}
	if p.TypeCodes == nil {
		p.TypeCodes = map[int]string{}
	}
	if p.Bonds == nil {
		p.Bonds = map[BondKey]BondParam{}
	}
	if p.Angles == nil {
		p.Angles = map[AngleKey]AngleParam{}
	}
	if p.Dihedrals == nil {
		p.Dihedrals = map[DihedralKey][]DihedralTerm{}
	}
	if p.Impropers == nil {
		p.Impropers = map[DihedralKey][]ImproperTerm{}
	}
	if p.CMaps == nil {
		p.CMaps = map[CMapKey]*CMapGrid{}
	}
	if p.LJ == nil {
		p.LJ = map[string]LJParam{}
	}
	if p.NBFix == nil {
		p.NBFix = map[BondKey]NBFixParam{}
	}
}

type paramKind int

const (
	kindPRM paramKind = iota
	kindRTF
	kindSTR
)

// detectParamKind applies the rules described at the top of this file. It
// stops at the first END: a stream file's first read command precedes the END
// of its first block, and nothing after a PRM's or RTF's END is read anyway.
func detectParamKind(name string, lines []string) paramKind {
	if strings.HasSuffix(strings.ToLower(name), ".str") {
		return kindSTR
	}
	sc := CardScanner{Lines: lines}
	sc.SkipTitle()
	rtf := false
	for first := true; ; first = false {
		l, ok := sc.Next()
		if !ok {
			break
		}
		if isStreamReadCard(l.Fields) {
			return kindSTR
		}
		if first && isRTFVersionLine(l.Fields) {
			rtf = true
		}
		w := l.Fields[0]
		if prmKeyword(w, "RESIDUE", 4) || prmKeyword(w, "PRESIDUE", 4) ||
			prmKeyword(w, "DECLARE", 4) || prmKeyword(w, "DEFAULT", 4) ||
			prmKeyword(w, "AUTOGENERATE", 4) {
			rtf = true
		}
		if w == "END" {
			break
		}
	}
	if rtf {
		return kindRTF
	}
	return kindPRM
}

// isRTFVersionLine reports whether fields are an RTF version line: one or two
// integers, such as "36  1".
func isRTFVersionLine(fields []string) bool {
	if len(fields) == 0 || len(fields) > 2 {
		return false
	}
	for _, f := range fields {
		if _, err := strconv.Atoi(f); err != nil {
			return false
		}
	}
	return true
}

// isStreamReadCard reports whether fields are a "read ... card" command.
func isStreamReadCard(fields []string) bool {
	if len(fields) < 2 || !prmKeyword(fields[0], "READ", 4) {
		return false
	}
	for _, f := range fields[1:] {
		if f == "CARD" {
			return true
		}
	}
	return false
}

// prmKeyword reports whether the upper-case word w names keyword full: w is
// a prefix of full at least min characters long (CHARMM only looks at the
// first four characters of a keyword).
func prmKeyword(w, full string, min int) bool {
	if min > len(full) {
		min = len(full)
	}
	return len(w) >= min && strings.HasPrefix(full, w)
}

// prmInt parses an integer in the int32 range, so that negating it (for
// CHARMM's negative multiplicities) cannot overflow.
func prmInt(s string) (int, bool) {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int(v), true
}

type prmSection int

const (
	secNone prmSection = iota
	secAtoms
	secBonds
	secAngles
	secDihedrals
	secImpropers
	secCMap
	secNonbonded
	secNBFix
	secHBond
	secEnd
	secUnsupported
)

// String returns the section's name as used in messages.
func (s prmSection) String() string {
	switch s {
	case secAtoms:
		return "ATOMS"
	case secBonds:
		return "BONDS"
	case secAngles:
		return "ANGLES"
	case secDihedrals:
		return "DIHEDRALS"
	case secImpropers:
		return "IMPROPER"
	case secCMap:
		return "CMAP"
	case secNonbonded:
		return "NONBONDED"
	case secNBFix:
		return "NBFIX"
	case secHBond:
		return "HBOND"
	case secEnd:
		return "END"
	}
	return "(none)"
}

const prmKnownSections = "ATOMS, BONDS, ANGLES (THETAS), DIHEDRALS (PHI), IMPROPER (IMPHI), CMAP, NONBONDED (NBONDED), NBFIX, HBOND or END"

// prmSectionKeyword classifies a PRM line's first word. ok is false for a word
// that is not a section keyword (an entry's first type name).
func prmSectionKeyword(w string) (prmSection, bool) {
	switch {
	case prmKeyword(w, "ATOMS", 4):
		return secAtoms, true
	case prmKeyword(w, "BONDS", 4):
		return secBonds, true
	case prmKeyword(w, "ANGLES", 4), prmKeyword(w, "THETAS", 4):
		return secAngles, true
	case prmKeyword(w, "DIHEDRALS", 4), w == "PHI":
		return secDihedrals, true
	case prmKeyword(w, "IMPROPERS", 4), prmKeyword(w, "IMPHI", 4):
		return secImpropers, true
	case w == "CMAP":
		return secCMap, true
	case prmKeyword(w, "NONBONDED", 4), prmKeyword(w, "NBONDED", 4):
		return secNonbonded, true
	case prmKeyword(w, "NBFIX", 4):
		return secNBFix, true
	case prmKeyword(w, "HBONDS", 4):
		return secHBond, true
	case w == "END":
		return secEnd, true
	case prmKeyword(w, "THOLE", 4), prmKeyword(w, "NBTHOLE", 4),
		prmKeyword(w, "ANISOTROPY", 4), prmKeyword(w, "DRUDE", 4),
		prmKeyword(w, "POLARIZABILITY", 4), prmKeyword(w, "LONEPAIR", 4):
		return secUnsupported, true
	}
	return secNone, false
}

// prmParser holds the state of one ReadParameters call.
type prmParser struct {
	file string
	p    *Parameters
	sc   CardScanner
}

// parseStream reads a stream file: script lines are skipped, and each
// "read rtf card" or "read para card" block is read up to its END.
func (ps *prmParser) parseStream() error {
	ps.sc.SkipTitle()
	for {
		l, ok := ps.sc.Next()
		if !ok {
			return nil
		}
		f := l.Fields
		if len(f) < 2 || !prmKeyword(f[0], "READ", 4) {
			continue
		}
		var kind paramKind
		switch {
		case f[1] == "RTF":
			kind = kindRTF
		case prmKeyword(f[1], "PARAMETERS", 4):
			kind = kindPRM
		default:
			// read sequ/coor/psf...: not parameters. An inline block of
			// such data is made of lines that are skipped here anyway.
			continue
		}
		card := false
		for _, w := range f[2:] {
			switch {
			case w == "CARD":
				card = true
			case w == "NAME", w == "UNIT":
				return errorf(ps.file, l.Num,
					"%q reads from another file or unit; expected an inline block (read rtf card / read para card): read that file directly instead", l.Text)
			}
		}
		if !card {
			return errorf(ps.file, l.Num,
				"%q is not a formatted read; expected \"read rtf card\" or \"read para card\"", l.Text)
		}
		// "flex" and "append" only steer CHARMM's own bookkeeping: for us
		// every block adds to and overrides what was read before.
		ps.sc.SkipTitle()
		if err := ps.parseBody(kind, true, l.Num); err != nil {
			return err
		}
	}
}

// prmCMapState is a CMAP grid being read.
type prmCMapState struct {
	key  CMapKey
	grid *CMapGrid
	line int // header line
}

// maxCMapGridSize bounds the grid size N of a CMAP header. CHARMM36 uses 24; a
// finer grid than one point per degree is certainly an error, and the bound
// keeps a corrupt header from asking for an enormous allocation.
const maxCMapGridSize = 360

// parseBody reads PRM or RTF content up to END (consumed) or the end of the
// input. In a stream block (inStream), a "read ... card" line before END
// means the block's END is missing.
func (ps *prmParser) parseBody(kind paramKind, inStream bool, blockLine int) error {
	sec := secNone
	var cm *prmCMapState
	nbEntries := 0 // NONBONDED entries read in the current section
	for {
		l, ok := ps.sc.Next()
		if !ok {
			break
		}
		f := l.Fields
		if inStream && isStreamReadCard(f) {
			return errorf(ps.file, l.Num,
				"expected END to close the block opened by the read command at line %d before this read command", blockLine)
		}
		if kind == kindRTF {
			switch f[0] {
			case "END":
				return nil
			case "MASS":
				if err := ps.mass(l); err != nil {
					return err
				}
			}
			// Everything else in an RTF (RESI, ATOM, BOND, IMPR, CMAP,
			// IC, ...) describes residues, not parameters.
			continue
		}

		if cm != nil {
			done, err := ps.cmapValues(l, cm)
			if err != nil {
				return err
			}
			if done {
				ps.p.CMaps[cm.key] = cm.grid
				cm = nil
			}
			continue
		}

		if f[0] == "MASS" {
			if err := ps.mass(l); err != nil {
				return err
			}
			continue
		}
		if s, isKw := prmSectionKeyword(f[0]); isKw {
			switch s {
			case secEnd:
				return nil
			case secUnsupported:
				return errorf(ps.file, l.Num,
					"section %s is not supported (Drude polarizable force fields and lone pairs are not supported)", f[0])
			case secNonbonded:
				opts := DefaultNonbondedOptions()
				if err := ps.nonbondedOptions(l, f[1:], &opts); err != nil {
					return err
				}
				ps.p.Nonbonded = opts
				nbEntries = 0
			case secHBond:
				// The HBOND header carries options (CUTHB ...) and its
				// entries are ignored.
			default:
				if len(f) > 1 {
					return errorf(ps.file, l.Num,
						"section keyword %s takes no options, got %q; expected %s alone on its line", s, l.Text, s)
				}
			}
			sec = s
			continue
		}

		var err error
		switch sec {
		case secNone:
			err = errorf(ps.file, l.Num, "unknown section keyword %s, expected one of %s", prmFirstWord(l.Text), prmKnownSections)
		case secAtoms:
			err = ps.entryError(l, sec, "MASS code type mass [element]", "the line does not start with MASS")
		case secBonds:
			err = ps.bond(l)
		case secAngles:
			err = ps.angle(l)
		case secDihedrals:
			err = ps.dihedral(l)
		case secImpropers:
			err = ps.improper(l)
		case secCMap:
			cm, err = ps.cmapHeader(l)
		case secNonbonded:
			// Lenient: options continued on a new line without the "-"
			// mark are still options if they come before the entries.
			if nbEntries == 0 && isNBValueOption(f[0]) {
				err = ps.nonbondedOptions(l, f, &ps.p.Nonbonded)
				break
			}
			err = ps.lj(l)
			nbEntries++
		case secNBFix:
			err = ps.nbfix(l)
		case secHBond:
			// ignored
		}
		if err != nil {
			return err
		}
	}
	if cm != nil {
		return errorf(ps.file, cm.line,
			"CMAP grid %s has %d of its %d values at the end of the input; expected %d x %d values after this header",
			strings.Join(cm.key[:], " "), len(cm.grid.Values), cm.grid.Size*cm.grid.Size, cm.grid.Size, cm.grid.Size)
	}
	return nil
}

func prmFirstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

// entryError builds the message for a malformed entry: the section, the
// expected format, the line as written and, when known, what was wrong.
func (ps *prmParser) entryError(l CardLine, sec prmSection, format, reason string) error {
	msg := fmt.Sprintf("%s entry: expected %q, got %q", sec, format, l.Text)
	if reason != "" {
		msg += " (" + reason + ")"
	}
	return &ParseError{File: ps.file, Line: l.Num, Msg: msg}
}

// field returns field i of l as written (original case), for messages.
func (l CardLine) field(i int) string {
	f := strings.Fields(l.Text)
	if i < len(f) {
		return f[i]
	}
	return ""
}

// prmNumbers parses fields first, first+1, ... of l as the numbers named by
// names. On failure it returns a reason for entryError.
func prmNumbers(l CardLine, first int, names ...string) ([]float64, string) {
	vals := make([]float64, len(names))
	for i, name := range names {
		j := first + i
		if j >= len(l.Fields) {
			return nil, "missing " + name
		}
		v, ok := parseReal(l.Fields[j])
		if !ok {
			return nil, fmt.Sprintf("%s %q is not a number", name, l.field(j))
		}
		vals[i] = v
	}
	return vals, ""
}

// prmExtraFields checks the fields from index from on: they are accepted (and
// ignored) only if they are numbers.
func prmExtraFields(l CardLine, from int) string {
	for j := from; j < len(l.Fields); j++ {
		if _, ok := parseReal(l.Fields[j]); !ok {
			return fmt.Sprintf("unexpected field %q after the entry; only numbers may follow", l.field(j))
		}
	}
	return ""
}

func (ps *prmParser) mass(l CardLine) error {
	const format = "MASS code type mass [element]"
	f := l.Fields
	if len(f) < 4 {
		return ps.entryError(l, secAtoms, format, "too few fields")
	}
	code, ok := prmInt(f[1])
	if !ok {
		return ps.entryError(l, secAtoms, format, fmt.Sprintf("code %q is not an integer", l.field(1)))
	}
	vals, reason := prmNumbers(l, 3, "mass")
	if reason != "" {
		return ps.entryError(l, secAtoms, format, reason)
	}
	elem := ""
	if len(f) >= 5 {
		elem = f[4]
		if reason := prmExtraFields(l, 5); reason != "" {
			return ps.entryError(l, secAtoms, format, reason)
		}
	}
	typ := f[2]
	if elem == "" {
		// PRM ATOMS sections rarely give the element; keep the one an
		// earlier RTF gave for the same type.
		elem = ps.p.Masses[typ].Element
	}
	ps.p.Masses[typ] = MassType{Code: code, Type: typ, Mass: vals[0], Element: elem}
	if code >= 0 {
		ps.p.TypeCodes[code] = typ
	}
	return nil
}

func (ps *prmParser) bond(l CardLine) error {
	const format = "type1 type2 Kb b0"
	vals, reason := prmNumbers(l, 2, "Kb", "b0")
	if reason == "" {
		reason = prmExtraFields(l, 4)
	}
	if reason != "" {
		return ps.entryError(l, secBonds, format, reason)
	}
	f := l.Fields
	ps.p.Bonds[NewBondKey(f[0], f[1])] = BondParam{K: vals[0], B0: vals[1]}
	return nil
}

func (ps *prmParser) angle(l CardLine) error {
	const format = "type1 type2 type3 Ktheta theta0 [Kub S0]"
	vals, reason := prmNumbers(l, 3, "Ktheta", "theta0")
	var ub []float64
	if reason == "" && len(l.Fields) > 5 {
		// The Urey-Bradley pair is optional but must be complete.
		ub, reason = prmNumbers(l, 5, "Kub", "S0")
		if reason == "" {
			reason = prmExtraFields(l, 7)
		}
	}
	if reason != "" {
		return ps.entryError(l, secAngles, format, reason)
	}
	a := AngleParam{K: vals[0], Theta0: vals[1]}
	if ub != nil {
		a.KUB, a.S0 = ub[0], ub[1]
	}
	f := l.Fields
	ps.p.Angles[NewAngleKey(f[0], f[1], f[2])] = a
	return nil
}

// torsion parses "t1 t2 t3 t4 K n angle" for dihedrals and impropers.
func (ps *prmParser) torsion(l CardLine, sec prmSection, format string) (DihedralKey, float64, int, float64, error) {
	vals, reason := prmNumbers(l, 4, "K")
	n := 0
	if reason == "" {
		if len(l.Fields) < 6 {
			reason = "missing n"
		} else if v, ok := prmInt(l.Fields[5]); !ok {
			reason = fmt.Sprintf("multiplicity %q is not an integer", l.field(5))
		} else {
			n = v
		}
	}
	var ang []float64
	if reason == "" {
		ang, reason = prmNumbers(l, 6, "angle")
	}
	if reason == "" {
		reason = prmExtraFields(l, 7)
	}
	if reason != "" {
		return DihedralKey{}, 0, 0, 0, ps.entryError(l, sec, format, reason)
	}
	// Old CHARMM files write a negative multiplicity to say "more terms of
	// this dihedral follow"; the term itself has multiplicity |n|.
	if n < 0 {
		n = -n
	}
	f := l.Fields
	return NewDihedralKey(f[0], f[1], f[2], f[3]), vals[0], n, ang[0], nil
}

// dihedral adds a Fourier term. Several lines for one quadruple are several
// terms; a later line with the same multiplicity replaces that term, as in
// OpenMM and ParmEd, so a later file can override single terms.
func (ps *prmParser) dihedral(l CardLine) error {
	const format = "type1 type2 type3 type4 Kchi n delta"
	key, k, n, delta, err := ps.torsion(l, secDihedrals, format)
	if err != nil {
		return err
	}
	if n == 0 {
		return ps.entryError(l, secDihedrals, format, "multiplicity n must not be 0 for a proper dihedral")
	}
	term := DihedralTerm{K: k, N: n, Delta: delta}
	terms := ps.p.Dihedrals[key]
	for i := range terms {
		if terms[i].N == n {
			terms[i] = term
			return nil
		}
	}
	ps.p.Dihedrals[key] = append(terms, term)
	return nil
}

// improper adds an improper term with the same override rule as dihedral.
func (ps *prmParser) improper(l CardLine) error {
	const format = "type1 type2 type3 type4 Kpsi n psi0"
	key, k, n, psi0, err := ps.torsion(l, secImpropers, format)
	if err != nil {
		return err
	}
	term := ImproperTerm{K: k, N: n, Psi0: psi0}
	terms := ps.p.Impropers[key]
	for i := range terms {
		if terms[i].N == n {
			terms[i] = term
			return nil
		}
	}
	ps.p.Impropers[key] = append(terms, term)
	return nil
}

func (ps *prmParser) cmapHeader(l CardLine) (*prmCMapState, error) {
	const format = "type1 type2 type3 type4 type5 type6 type7 type8 gridsize"
	f := l.Fields
	if len(f) != 9 {
		reason := fmt.Sprintf("%d fields instead of 9", len(f))
		return nil, ps.entryError(l, secCMap, format, reason)
	}
	n, ok := prmInt(f[8])
	if !ok || n < 1 || n > maxCMapGridSize {
		reason := fmt.Sprintf("grid size %q is not an integer between 1 and %d", l.field(8), maxCMapGridSize)
		return nil, ps.entryError(l, secCMap, format, reason)
	}
	var key CMapKey
	copy(key[:], f[:8])
	return &prmCMapState{
		key:  key,
		grid: &CMapGrid{Size: n, Values: make([]float64, 0, n*n)},
		line: l.Num,
	}, nil
}

// cmapValues adds a line of grid values; done reports a complete grid.
// The values may be spread over any number of lines.
func (ps *prmParser) cmapValues(l CardLine, cm *prmCMapState) (done bool, err error) {
	want := cm.grid.Size * cm.grid.Size
	for i, w := range l.Fields {
		v, ok := parseReal(w)
		if !ok {
			return false, errorf(ps.file, l.Num,
				"CMAP grid %s (header at line %d) has %d of its %d values; expected a number, got %q",
				strings.Join(cm.key[:], " "), cm.line, len(cm.grid.Values), want, l.field(i))
		}
		if len(cm.grid.Values) == want {
			return false, errorf(ps.file, l.Num,
				"CMAP grid %s (header at line %d) has more than the %d x %d values its header declares",
				strings.Join(cm.key[:], " "), cm.line, cm.grid.Size, cm.grid.Size)
		}
		cm.grid.Values = append(cm.grid.Values, v)
	}
	return len(cm.grid.Values) == want, nil
}

// nbValueOption returns the option a NONBONDED header word names if it takes a
// value. Options are matched on their first four characters, as CHARMM does.
func nbValueOption(w string) (string, bool) {
	for _, opt := range [...]string{"NBXMOD", "E14FAC", "EPS", "CUTNB", "CTOFNB", "CTONNB", "WMIN", "CUTIM", "INBFRQ", "IMGFRQ"} {
		if prmKeyword(w, opt, 4) {
			return opt, true
		}
	}
	return "", false
}

func isNBValueOption(w string) bool {
	_, ok := nbValueOption(w)
	return ok
}

// nonbondedOptions parses NONBONDED header words into opts. Known options
// with a value are stored or ignored; an unknown word followed by a number is
// taken as an option with a value and ignored (CHARMM has many); any other
// word is a flag.
func (ps *prmParser) nonbondedOptions(l CardLine, words []string, opts *NonbondedOptions) error {
	for i := 0; i < len(words); i++ {
		w := words[i]
		if _, isNum := parseReal(w); isNum {
			return errorf(ps.file, l.Num,
				"NONBONDED options: unexpected number %q; expected a keyword (such as CUTNB) before each value", w)
		}
		opt, takesValue := nbValueOption(w)
		if !takesValue {
			if i+1 < len(words) {
				if _, isNum := parseReal(words[i+1]); isNum {
					i++ // an option we do not know, with its value
					continue
				}
			}
			opts.Flags = append(opts.Flags, w)
			continue
		}
		if i+1 >= len(words) {
			return errorf(ps.file, l.Num, "NONBONDED option %s: expected a value after it", w)
		}
		i++
		if opt == "NBXMOD" {
			n, ok := prmInt(words[i])
			if !ok {
				return errorf(ps.file, l.Num, "NONBONDED option NBXMOD: expected an integer, got %q", words[i])
			}
			opts.NBXMod = n
			continue
		}
		v, ok := parseReal(words[i])
		if !ok {
			return errorf(ps.file, l.Num, "NONBONDED option %s: expected a number, got %q", w, words[i])
		}
		switch opt {
		case "E14FAC":
			opts.E14Fac = v
		case "EPS":
			opts.Eps = v
		case "CUTNB":
			opts.CutNB = v
		case "CTOFNB":
			opts.CtOfNB = v
		case "CTONNB":
			opts.CtOnNB = v
		}
	}
	return nil
}

// lj reads "type ignored eps Rmin/2 [ignored eps14 Rmin14/2]". The files
// write the well depth negated; we store its magnitude.
func (ps *prmParser) lj(l CardLine) error {
	const format = "type ignored epsilon Rmin/2 [ignored eps,1-4 Rmin/2,1-4]"
	vals, reason := prmNumbers(l, 1, "ignored", "epsilon", "Rmin/2")
	var v14 []float64
	if reason == "" && len(l.Fields) > 4 {
		v14, reason = prmNumbers(l, 4, "ignored", "eps,1-4", "Rmin/2,1-4")
		if reason == "" {
			reason = prmExtraFields(l, 7)
		}
	}
	if reason != "" {
		return ps.entryError(l, secNonbonded, format, reason)
	}
	e := LJParam{Eps: math.Abs(vals[1]), RminHalf: vals[2]}
	if v14 != nil {
		e.Eps14, e.RminHalf14, e.Has14 = math.Abs(v14[1]), v14[2], true
	}
	ps.p.LJ[l.Fields[0]] = e
	return nil
}

// nbfix reads "type1 type2 Emin Rmin [Emin14 Rmin14]". The types need not be
// defined: stream files carry NBFIX lines for force fields that may not have
// been read, and CHARMM only warns about them.
func (ps *prmParser) nbfix(l CardLine) error {
	const format = "type1 type2 Emin Rmin [Emin14 Rmin14]"
	vals, reason := prmNumbers(l, 2, "Emin", "Rmin")
	var v14 []float64
	if reason == "" && len(l.Fields) > 4 {
		v14, reason = prmNumbers(l, 4, "Emin14", "Rmin14")
		if reason == "" {
			reason = prmExtraFields(l, 6)
		}
	}
	if reason != "" {
		return ps.entryError(l, secNBFix, format, reason)
	}
	nb := NBFixParam{Emin: math.Abs(vals[0]), Rmin: vals[1]}
	if v14 != nil {
		nb.Emin14, nb.Rmin14, nb.Has14 = math.Abs(v14[0]), v14[1], true
	}
	f := l.Fields
	ps.p.NBFix[NewBondKey(f[0], f[1])] = nb
	return nil
}
