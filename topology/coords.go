package topology

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CoordAtom is the identity of one atom as a coordinate file names it.
type CoordAtom struct {
	Serial  int    // atom serial number as written; informational only (see ReadPDB)
	Name    string // trimmed
	ResName string
	Chain   string // PDB chain ID, "" for CRD
	ResID   string // residue number + insertion code as text (PDB), or CRD RESID column
	Segment string // PDB segment ID (cols 73-76) or CRD SEGID
	Element string // PDB element column (77-78) when present, else ""
}

// Structure is a set of coordinates read from a PDB or CRD file: one atom
// list and one or more models (frames) of coordinates over it.
type Structure struct {
	File   string
	Atoms  []CoordAtom
	Models [][]float64 // each of length 3*len(Atoms), angstrom, x y z per atom
}

// ReadCoordinates reads a coordinate file, choosing the format by the
// extension of path: .pdb and .ent are PDB, .crd and .cor are CHARMM CRD
// (case-insensitive).
func ReadCoordinates(path string) (*Structure, error) {
	var read func(io.Reader, string) (*Structure, error)
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".pdb", ".ent":
		read = ReadPDB
	case ".crd", ".cor":
		read = ReadCRD
	default:
		return nil, errorf(path, 0,
			"unsupported coordinate file extension %q: expected .pdb or .ent (PDB), .crd or .cor (CHARMM CRD)", ext)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, path)
}

// coordLines reads text line by line, numbering lines from 1. Unlike a
// bufio.Scanner it has no limit on the length of a line, so a pathological
// file fails with a message about its content rather than a buffer size.
type coordLines struct {
	r    *bufio.Reader
	file string
	n    int   // number of the line last returned
	err  error // first read error other than io.EOF
	done bool
}

func newCoordLines(r io.Reader, file string) *coordLines {
	return &coordLines{r: bufio.NewReader(r), file: file}
}

// next returns the next line without its line ending (LF or CRLF); ok is
// false at the end of the input or after a read error (see readErr).
func (l *coordLines) next() (line string, ok bool) {
	if l.done {
		return "", false
	}
	s, err := l.r.ReadString('\n')
	if err != nil {
		l.done = true
		if err != io.EOF {
			l.err = err
			return "", false
		}
		if s == "" {
			return "", false
		}
	}
	l.n++
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r"), true
}

// readErr reports a read failure of the underlying reader, if any, in the
// package's error type, as the PSF reader does.
func (l *coordLines) readErr() error {
	if l.err != nil {
		return errorf(l.file, l.n+1, "reading: %v", l.err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// PDB

// ReadPDB reads the ATOM and HETATM records of a PDB file by the fixed
// columns of PDB format v3.3. name is used in error messages.
//
// Columns: serial 7-11, name 13-16, altLoc 17, resName 18-21 (the standard
// stops at 20; CHARMM writes 4-character residue names into 21), chainID 22,
// resSeq 23-26 with insertion code 27, x y z 31-54, segment 73-76, element
// 77-78. Lines may stop anywhere after z, as many writers drop blank trailing
// columns; x, y and z must be present and numeric. Occupancy and B-factor are
// not read.
//
// Serial numbers are not relied on: files with more than 99999 atoms write
// them in hexadecimal (VMD), as "*****" or wrapped around. Serial is decoded
// best effort (decimal, then hexadecimal once the decimal range is
// exhausted, else 0).
//
// Models: each MODEL ... ENDMDL block is one model (a missing ENDMDL is
// tolerated); all models must list the same number of atoms with the same
// names in the same order, and the atom identities are those of the first
// model. Without MODEL records, END records separate models (the
// multi-frame files VMD writes), and a file without either is one model. All
// other records (REMARK, CRYST1, TER, CONECT, ANISOU, ...) are ignored.
//
// Alternate locations: only the first alternate location of each residue is
// kept, that is the first non-blank altLoc letter met in the residue (usually
// 'A'); atoms with a blank altLoc are always kept. Choosing per residue rather
// than per atom keeps microheterogeneity (two residue types at one position)
// from mixing atoms of both residue types.
func ReadPDB(r io.Reader, name string) (*Structure, error) {
	lines := newCoordLines(r, name)
	p := pdbReader{file: name}
	for {
		line, ok := lines.next()
		if !ok {
			break
		}
		if err := p.record(line, lines.n); err != nil {
			return nil, err
		}
	}
	if err := lines.readErr(); err != nil {
		return nil, err
	}
	if p.open {
		if err := p.endModel(max(lines.n, 1)); err != nil {
			return nil, err
		}
	}
	if len(p.models) == 0 {
		return nil, errorf(name, 0, "no ATOM or HETATM records")
	}
	return &Structure{File: name, Atoms: p.atoms, Models: p.models}, nil
}

// pdbReader holds the state of ReadPDB between records.
type pdbReader struct {
	file     string
	atoms    []CoordAtom // identities, from the first model
	models   [][]float64 // finished models
	cur      []float64   // coordinates of the model being read
	open     bool        // a model is being read
	explicit bool        // the file has MODEL records
	model    int         // 1-based ordinal of the model being read
	// altLocs maps a residue to the first alternate location letter met in
	// it, in the current model.
	altLocs   map[string]byte
	hexSerial bool // serial numbers have passed 99999 in the first model
}

// pdbCols returns columns from..to (1-based, inclusive) of line, or the part
// of them the line has.
func pdbCols(line string, from, to int) string {
	if len(line) < from {
		return ""
	}
	return line[from-1 : min(to, len(line))]
}

// isPDBAtomRecord reports whether line is an ATOM or HETATM record. A digit
// in column 5 or 6 of an ATOM record is a serial number that overflowed its
// columns, which some writers of very large files produce.
func isPDBAtomRecord(line string) bool {
	if strings.HasPrefix(line, "HETATM") {
		return true
	}
	if !strings.HasPrefix(line, "ATOM") {
		return false
	}
	for i := 4; i < 6 && i < len(line); i++ {
		if c := line[i]; c != ' ' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func (p *pdbReader) record(line string, n int) error {
	if isPDBAtomRecord(line) {
		return p.atom(line, n)
	}
	switch strings.TrimRight(pdbCols(line, 1, 6), " ") {
	case "MODEL":
		if p.open && !p.explicit {
			return errorf(p.file, n, "MODEL record after ATOM/HETATM records that are outside any model")
		}
		if p.open { // tolerate a missing ENDMDL: MODEL ends the previous model
			if err := p.endModel(n); err != nil {
				return err
			}
		}
		p.explicit = true
		p.startModel()
	case "ENDMDL":
		if p.open {
			return p.endModel(n)
		}
	case "END":
		// VMD and other trajectory writers separate frames with END
		// instead of MODEL records: without MODEL records, END closes a
		// frame and the next atom opens another.
		if p.open && !p.explicit {
			return p.endModel(n)
		}
	}
	return nil
}

func (p *pdbReader) startModel() {
	p.open = true
	p.model++
	p.cur = make([]float64, 0, 3*len(p.atoms))
	p.altLocs = nil
	p.hexSerial = false
}

// endModel closes the current model at line n.
func (p *pdbReader) endModel(n int) error {
	p.open = false
	if len(p.models) == 0 {
		if len(p.cur) == 0 {
			return errorf(p.file, n, "model %d has no ATOM or HETATM records", p.model)
		}
	} else if len(p.cur) != 3*len(p.atoms) {
		return errorf(p.file, n, "model %d has %d atoms, expected %d as in model 1",
			p.model, len(p.cur)/3, len(p.atoms))
	}
	p.models = append(p.models, p.cur)
	p.cur = nil
	return nil
}

func (p *pdbReader) atom(line string, n int) error {
	if !p.open {
		if p.explicit {
			return errorf(p.file, n, "ATOM/HETATM record outside a MODEL/ENDMDL block")
		}
		p.startModel() // the single implicit model of a file without MODEL records
	}
	name := strings.TrimSpace(pdbCols(line, 13, 16))
	if name == "" {
		return errorf(p.file, n, "expected an atom name in columns 13-16")
	}
	var xyz [3]float64
	for k := range xyz {
		v, ok := parseReal(pdbCols(line, 31+8*k, 38+8*k))
		if !ok {
			return errorf(p.file, n, "expected x,y,z in columns 31-54, found %q", pdbCols(line, 31, 54))
		}
		xyz[k] = v
	}
	a := CoordAtom{
		Name:    name,
		ResName: strings.TrimSpace(pdbCols(line, 18, 21)),
		Chain:   strings.TrimSpace(pdbCols(line, 22, 22)),
		ResID:   strings.TrimSpace(pdbCols(line, 23, 26)) + strings.TrimSpace(pdbCols(line, 27, 27)),
		Segment: strings.TrimSpace(pdbCols(line, 73, 76)),
		Element: strings.TrimSpace(pdbCols(line, 77, 78)),
	}
	if alt := pdbCols(line, 17, 17); alt != "" && alt != " " {
		// Residues are told apart by segment, chain and number; the residue
		// name is left out on purpose so that microheterogeneity counts as
		// one residue (see ReadPDB).
		key := a.Segment + "\x00" + a.Chain + "\x00" + a.ResID
		if p.altLocs == nil {
			p.altLocs = map[string]byte{}
		}
		if first, seen := p.altLocs[key]; !seen {
			p.altLocs[key] = alt[0]
		} else if first != alt[0] {
			return nil
		}
	}
	idx := len(p.cur) / 3
	if len(p.models) == 0 {
		// Only the first model's identities are kept.
		a.Serial = p.serial(pdbCols(line, 7, 11))
		p.atoms = append(p.atoms, a)
	} else {
		if idx >= len(p.atoms) {
			return errorf(p.file, n, "model %d has more atoms than model 1 (%d)", p.model, len(p.atoms))
		}
		if want := p.atoms[idx].Name; name != want {
			return errorf(p.file, n, "model %d: atom %d is %s, expected %s as in model 1",
				p.model, idx+1, name, want)
		}
	}
	p.cur = append(p.cur, xyz[:]...)
	return nil
}

// serial decodes a serial number field. After 99999 VMD writes serials in
// hexadecimal, where "20000" means 131072, so once the decimal range is
// exhausted (or a hexadecimal digit is seen) the rest of the model is read
// as hexadecimal. Anything else ("*****") is 0.
func (p *pdbReader) serial(field string) int {
	s := strings.TrimSpace(field)
	if !p.hexSerial {
		if v, err := strconv.Atoi(s); err == nil {
			if v >= 99999 {
				p.hexSerial = true
			}
			return v
		}
	}
	if v, err := strconv.ParseUint(s, 16, 32); err == nil {
		p.hexSerial = true
		return int(v)
	}
	return 0
}

// WritePDB writes atoms and one or more models of coordinates (each of
// length 3*len(atoms), angstrom) as fixed-column PDB v3.3 ATOM records, with
// MODEL/ENDMDL around each model when there is more than one, and END.
//
// Atoms are numbered from 1 in every model; past 99999 serials are written
// in hexadecimal as VMD does, past 0xFFFFF as "*****" (ReadPDB does not rely
// on them). Atom names follow the PDB alignment rule: four-character names
// and names of two-letter elements start in column 13, others in column 14.
// The element column is the atom's Element, upper-cased, or else the element
// guessed from the name as Structure.Match does (blank if unknown).
// Occupancy is 1.00 and the B-factor 0.00. A value that does not fit its
// columns (names over 4 characters, coordinates outside -999.999..9999.999)
// is an error rather than a misaligned record.
func WritePDB(w io.Writer, atoms []CoordAtom, models [][]float64) error {
	if len(atoms) == 0 {
		return fmt.Errorf("WritePDB: no atoms")
	}
	if len(models) == 0 {
		return fmt.Errorf("WritePDB: no models")
	}
	for m, xyz := range models {
		if len(xyz) != 3*len(atoms) {
			return fmt.Errorf("WritePDB: model %d has %d coordinates, expected 3*%d", m+1, len(xyz), len(atoms))
		}
	}
	// The identity columns are the same in every model.
	idents := make([]string, len(atoms))
	tails := make([]string, len(atoms))
	for i, a := range atoms {
		id, tail, err := pdbIdentity(a)
		if err != nil {
			return fmt.Errorf("WritePDB: atom %d: %w", i+1, err)
		}
		idents[i], tails[i] = id, tail
	}
	bw := bufio.NewWriter(w)
	multi := len(models) > 1
	for m, xyz := range models {
		if multi {
			fmt.Fprintf(bw, "MODEL     %4d\n", m+1)
		}
		for i := range atoms {
			var c [3]string
			for k := range c {
				s, ok := fixedReal(xyz[3*i+k], 8, 3)
				if !ok {
					return fmt.Errorf("WritePDB: model %d atom %d: coordinate %g does not fit the PDB format (-999.999..9999.999)",
						m+1, i+1, xyz[3*i+k])
				}
				c[k] = s
			}
			fmt.Fprintf(bw, "ATOM  %5s%s   %s%s%s  1.00  0.00      %s  \n",
				pdbSerial(i+1), idents[i], c[0], c[1], c[2], tails[i])
		}
		if multi {
			bw.WriteString("ENDMDL\n")
		}
	}
	bw.WriteString("END\n")
	return bw.Flush()
}

// pdbSerial formats an atom serial number for columns 7-11.
func pdbSerial(n int) string {
	switch {
	case n <= 99999:
		return strconv.Itoa(n)
	case n <= 0xFFFFF:
		return strconv.FormatInt(int64(n), 16)
	}
	return "*****"
}

// pdbIdentity formats columns 12-27 of an ATOM record (blank, name, altLoc,
// residue name, chain, residue number and insertion code) and columns 73-78
// (segment and element).
func pdbIdentity(a CoordAtom) (cols, tail string, err error) {
	name := strings.TrimSpace(a.Name)
	resName := strings.TrimSpace(a.ResName)
	chain := strings.TrimSpace(a.Chain)
	seg := strings.TrimSpace(a.Segment)
	resID := strings.TrimSpace(a.ResID)
	elem := strings.ToUpper(strings.TrimSpace(a.Element))
	switch {
	case !printableASCII(name, resName, chain, seg, resID, elem):
		// Columns are bytes; fmt pads by runes, and the format has no
		// place for anything but ASCII anyway.
		return "", "", fmt.Errorf("identity %+v has characters other than printable ASCII", a)
	case name == "" || len(name) > 4:
		return "", "", fmt.Errorf("atom name %q must have 1 to 4 characters", a.Name)
	case len(resName) > 4:
		return "", "", fmt.Errorf("residue name %q has more than 4 characters", a.ResName)
	case len(chain) > 1:
		return "", "", fmt.Errorf("chain ID %q has more than 1 character", a.Chain)
	case len(seg) > 4:
		return "", "", fmt.Errorf("segment ID %q has more than 4 characters", a.Segment)
	case len(elem) > 2:
		return "", "", fmt.Errorf("element %q has more than 2 characters", a.Element)
	}
	if elem == "" {
		elem = strings.ToUpper(coordElement(a))
	}
	// Columns 13-16: a name starts in column 14, so that the element symbol
	// of e.g. " CA " (carbon alpha) stays apart from "CA  " (calcium), unless
	// it fills all four columns or its element has two letters.
	if len(name) < 4 && len(coordElement(a)) < 2 {
		name = " " + name
	}
	// Columns 23-27: resSeq right-justified in 23-26 and the insertion code
	// in 27; a five-digit number spills into 27, as CHARMM and VMD write
	// residue numbers over 9999, and reads back the same.
	var res string
	switch n := len(resID); {
	case n >= 2 && n <= 5 && !isDigit(resID[n-1]):
		res = fmt.Sprintf("%4s%s", resID[:n-1], resID[n-1:])
	case n <= 4:
		res = fmt.Sprintf("%4s ", resID)
	case n == 5:
		res = resID
	default:
		return "", "", fmt.Errorf("residue ID %q does not fit columns 23-27", a.ResID)
	}
	return fmt.Sprintf(" %-4s %-4s%1s%s", name, resName, chain, res), fmt.Sprintf("%-4s%2s", seg, elem), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// printableASCII reports whether all of ss are printable ASCII.
func printableASCII(ss ...string) bool {
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			if s[i] < ' ' || s[i] > '~' {
				return false
			}
		}
	}
	return true
}

// fixedReal formats x as Fortran's Fw.d: ok is false when x is not finite or
// does not fit w columns.
func fixedReal(x float64, w, d int) (string, bool) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "", false
	}
	s := strconv.FormatFloat(x, 'f', d, 64)
	if len(s) > w {
		return "", false
	}
	return strings.Repeat(" ", w-len(s)) + s, true
}

// ---------------------------------------------------------------------------
// CHARMM CRD

// crdCols is a 0-based, half-open column range of a CRD line.
type crdCols struct{ from, to int }

func (c crdCols) of(line string) string {
	if len(line) <= c.from {
		return ""
	}
	return line[c.from:min(c.to, len(line))]
}

// crdLayout gives the fixed columns of one of the two CRD formats.
type crdLayout struct {
	format                                     string // the Fortran format, for messages
	atomNo, resNo, resName, name, x, y, z      crdCols
	segID, resID, weight                       crdCols
	gaps                                       []crdCols // separator columns, blank
	nameWidth, realWidth, realDigits, intWidth int
}

// The two CHARMM CRD formats:
//
//	standard (2I5,1X,A4,1X,A4,3F10.5,1X,A4,1X,A4,F10.5)
//	EXT      (2I10,2X,A8,2X,A8,3F20.10,2X,A8,2X,A8,F20.10)
var (
	crdStandard = crdLayout{
		format: "(2I5,1X,A4,1X,A4,3F10.5,1X,A4,1X,A4,F10.5)",
		atomNo: crdCols{0, 5}, resNo: crdCols{5, 10},
		resName: crdCols{11, 15}, name: crdCols{16, 20},
		x: crdCols{20, 30}, y: crdCols{30, 40}, z: crdCols{40, 50},
		segID: crdCols{51, 55}, resID: crdCols{56, 60}, weight: crdCols{60, 70},
		gaps:      []crdCols{{10, 11}, {15, 16}, {50, 51}, {55, 56}},
		nameWidth: 4, realWidth: 10, realDigits: 5, intWidth: 5,
	}
	crdExtended = crdLayout{
		format: "(2I10,2X,A8,2X,A8,3F20.10,2X,A8,2X,A8,F20.10)",
		atomNo: crdCols{0, 10}, resNo: crdCols{10, 20},
		resName: crdCols{22, 30}, name: crdCols{32, 40},
		x: crdCols{40, 60}, y: crdCols{60, 80}, z: crdCols{80, 100},
		segID: crdCols{102, 110}, resID: crdCols{112, 120}, weight: crdCols{120, 140},
		gaps:      []crdCols{{20, 22}, {30, 32}, {100, 102}, {110, 112}},
		nameWidth: 8, realWidth: 20, realDigits: 10, intWidth: 10,
	}
)

// ReadCRD reads a CHARMM card coordinate file. name is used in error
// messages.
//
// The file is: title lines starting with '*'; a line with the atom count,
// followed by EXT for the extended format; then one line per atom in the
// standard format (2I5,1X,A4,1X,A4,3F10.5,1X,A4,1X,A4,F10.5) or the EXT
// format (2I10,2X,A8,2X,A8,3F20.10,2X,A8,2X,A8,F20.10): atom number, absolute
// residue number, residue name, atom name, x, y, z, segment ID, residue ID
// and weight. Atom lines are read by those fixed columns, since in the
// standard format wide numbers touch their neighbours; a line that does not
// fit the columns but has exactly 10 whitespace-separated fields (as other
// programs write) is read by fields. A missing weight is taken as 0. Lines
// after the declared number of atoms are ignored.
//
// The structure has one model; Chain and Element are empty, Serial is the
// atom number. The absolute residue number and the weight are not kept.
func ReadCRD(r io.Reader, name string) (*Structure, error) {
	lines := newCoordLines(r, name)
	var line string
	ok := false
	for {
		if line, ok = lines.next(); !ok {
			break
		}
		// Title lines, and blank lines a hand edit may leave before the count.
		if t := strings.TrimSpace(line); t != "" && t[0] != '*' {
			break
		}
	}
	if err := lines.readErr(); err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(name, lines.n+1, "expected the atom count line after the title, found end of file")
	}
	countLine := lines.n
	count, layout, err := crdCount(line)
	if err != nil {
		return nil, errorf(name, countLine, "%v", err)
	}
	s := &Structure{
		File:  name,
		Atoms: make([]CoordAtom, 0, min(count, 1<<16)), // the count is not trusted for allocation
	}
	xyz := make([]float64, 0, 3*min(count, 1<<16))
	for i := range count {
		line, ok := lines.next()
		if !ok {
			if err := lines.readErr(); err != nil {
				return nil, err
			}
			return nil, errorf(name, lines.n+1,
				"expected atom %d of the %d declared on line %d, found end of file", i+1, count, countLine)
		}
		a, c, err := layout.parse(line)
		if err != nil {
			return nil, errorf(name, lines.n, "%v", err)
		}
		s.Atoms = append(s.Atoms, a)
		xyz = append(xyz, c[:]...)
	}
	s.Models = [][]float64{xyz}
	return s, nil
}

// crdCount parses the atom count line: "N" or "N EXT".
func crdCount(line string) (int, *crdLayout, error) {
	f := strings.Fields(line)
	if len(f) < 1 || len(f) > 2 || (len(f) == 2 && !strings.EqualFold(f[1], "EXT")) {
		return 0, nil, fmt.Errorf("expected the atom count, optionally followed by EXT, found %q", line)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 0, nil, fmt.Errorf("expected the atom count as an integer, found %q", f[0])
	}
	if n <= 0 {
		return 0, nil, fmt.Errorf("expected a positive atom count, found %d", n)
	}
	if len(f) == 2 {
		return n, &crdExtended, nil
	}
	return n, &crdStandard, nil
}

// parse reads one atom line by the layout's columns, or else by fields.
func (l *crdLayout) parse(line string) (CoordAtom, [3]float64, error) {
	a, xyz, why := l.parseFixed(line)
	if why == "" {
		return a, xyz, nil
	}
	f := strings.Fields(line)
	if len(f) != 10 {
		return a, xyz, fmt.Errorf("expected an atom line in the format %s or 10 whitespace-separated fields: %s",
			l.format, why)
	}
	a, xyz, why = crdFields(f)
	if why != "" {
		return a, xyz, fmt.Errorf("expected an atom line of 10 fields (atom number, residue number, residue name, atom name, x, y, z, segment ID, residue ID, weight): %s", why)
	}
	return a, xyz, nil
}

// parseFixed reads an atom line by columns; why says what did not fit, ""
// on success. Separator columns must be blank and nothing may follow the
// weight, so that a whitespace-separated line with other widths is not
// misread by columns.
func (l *crdLayout) parseFixed(line string) (a CoordAtom, xyz [3]float64, why string) {
	if len(line) < l.z.to {
		return a, xyz, fmt.Sprintf("line has %d columns, x,y,z end in column %d", len(line), l.z.to)
	}
	for _, g := range l.gaps {
		if strings.TrimSpace(g.of(line)) != "" {
			return a, xyz, fmt.Sprintf("columns %d-%d are not blank", g.from+1, g.to)
		}
	}
	if len(line) > l.weight.to && strings.TrimSpace(line[l.weight.to:]) != "" {
		return a, xyz, fmt.Sprintf("text after column %d", l.weight.to)
	}
	atomNo, err := strconv.Atoi(strings.TrimSpace(l.atomNo.of(line)))
	if err != nil {
		return a, xyz, fmt.Sprintf("atom number in columns %d-%d is not an integer", l.atomNo.from+1, l.atomNo.to)
	}
	if _, err := strconv.Atoi(strings.TrimSpace(l.resNo.of(line))); err != nil {
		return a, xyz, fmt.Sprintf("residue number in columns %d-%d is not an integer", l.resNo.from+1, l.resNo.to)
	}
	a = CoordAtom{
		Serial:  atomNo,
		ResName: strings.TrimSpace(l.resName.of(line)),
		Name:    strings.TrimSpace(l.name.of(line)),
		Segment: strings.TrimSpace(l.segID.of(line)),
		ResID:   strings.TrimSpace(l.resID.of(line)),
	}
	if a.Name == "" {
		return a, xyz, fmt.Sprintf("atom name in columns %d-%d is blank", l.name.from+1, l.name.to)
	}
	for k, c := range [3]crdCols{l.x, l.y, l.z} {
		v, ok := parseReal(c.of(line))
		if !ok {
			return a, xyz, fmt.Sprintf("%c in columns %d-%d is not a number", "xyz"[k], c.from+1, c.to)
		}
		xyz[k] = v
	}
	if w := l.weight.of(line); strings.TrimSpace(w) != "" {
		if _, ok := parseReal(w); !ok {
			return a, xyz, fmt.Sprintf("weight in columns %d-%d is not a number", l.weight.from+1, l.weight.to)
		}
	}
	return a, xyz, ""
}

// crdFields reads an atom line split into its 10 fields.
func crdFields(f []string) (a CoordAtom, xyz [3]float64, why string) {
	atomNo, err := strconv.Atoi(f[0])
	if err != nil {
		return a, xyz, fmt.Sprintf("atom number %q is not an integer", f[0])
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return a, xyz, fmt.Sprintf("residue number %q is not an integer", f[1])
	}
	for k := range xyz {
		v, ok := parseReal(f[4+k])
		if !ok {
			return a, xyz, fmt.Sprintf("%c %q is not a number", "xyz"[k], f[4+k])
		}
		xyz[k] = v
	}
	if _, ok := parseReal(f[9]); !ok {
		return a, xyz, fmt.Sprintf("weight %q is not a number", f[9])
	}
	a = CoordAtom{Serial: atomNo, ResName: f[2], Name: f[3], Segment: f[7], ResID: f[8]}
	return a, xyz, ""
}

// crdFieldNames names the text fields of a CRD atom line in WriteCRD's order.
var crdFieldNames = [4]string{"residue name", "atom name", "segment ID", "residue ID"}

// WriteCRD writes one frame of coordinates (length 3*len(atoms), angstrom)
// as a CHARMM card coordinate file, in the EXT format if ext is set. Atoms
// are numbered from 1; the absolute residue number starts at 1 and grows
// whenever the segment, residue ID or residue name changes from one atom to
// the next; weights are 0. Names that do not fit the format's columns (4
// characters, 8 with EXT) and coordinates that do not fit F10.5 (F20.10) are
// errors. Blank segment or residue IDs are written blank, which fixed-column
// readers such as CHARMM and ReadCRD accept.
func WriteCRD(w io.Writer, atoms []CoordAtom, coords []float64, ext bool) error {
	if len(atoms) == 0 {
		return fmt.Errorf("WriteCRD: no atoms")
	}
	if len(coords) != 3*len(atoms) {
		return fmt.Errorf("WriteCRD: %d coordinates, expected 3*%d", len(coords), len(atoms))
	}
	l := &crdStandard
	if ext {
		l = &crdExtended
	}
	maxInt := int(math.Pow10(l.intWidth)) - 1
	if len(atoms) > maxInt {
		return fmt.Errorf("WriteCRD: %d atoms do not fit the standard CRD format (at most %d): use the EXT format",
			len(atoms), maxInt)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("* COORDINATES WRITTEN BY FLOWMD\n*\n")
	if ext {
		fmt.Fprintf(bw, "%10d  EXT\n", len(atoms))
	} else {
		fmt.Fprintf(bw, "%5d\n", len(atoms))
	}
	resNo := 0
	for i, a := range atoms {
		if i == 0 || a.Segment != atoms[i-1].Segment || a.ResID != atoms[i-1].ResID || a.ResName != atoms[i-1].ResName {
			resNo++
		}
		if resNo > maxInt {
			return fmt.Errorf("WriteCRD: %d residues do not fit the standard CRD format: use the EXT format", resNo)
		}
		fields := [4]string{a.ResName, a.Name, a.Segment, a.ResID}
		for k, s := range fields {
			s = strings.TrimSpace(s)
			if !printableASCII(s) {
				return fmt.Errorf("WriteCRD: atom %d: %s %q has characters other than printable ASCII",
					i+1, crdFieldNames[k], s)
			}
			if len(s) > l.nameWidth {
				hint := ""
				if !ext {
					hint = " (the EXT format allows 8)"
				}
				return fmt.Errorf("WriteCRD: atom %d: %s %q has more than %d characters%s",
					i+1, crdFieldNames[k], s, l.nameWidth, hint)
			}
			fields[k] = s
		}
		if fields[1] == "" {
			return fmt.Errorf("WriteCRD: atom %d has no name", i+1)
		}
		var c [3]string
		for k := range c {
			s, ok := fixedReal(coords[3*i+k], l.realWidth, l.realDigits)
			if !ok {
				return fmt.Errorf("WriteCRD: atom %d: coordinate %g does not fit F%d.%d",
					i+1, coords[3*i+k], l.realWidth, l.realDigits)
			}
			c[k] = s
		}
		weight, _ := fixedReal(0, l.realWidth, l.realDigits)
		if ext {
			fmt.Fprintf(bw, "%10d%10d  %-8s  %-8s%s%s%s  %-8s  %-8s%s\n",
				i+1, resNo, fields[0], fields[1], c[0], c[1], c[2], fields[2], fields[3], weight)
		} else {
			fmt.Fprintf(bw, "%5d%5d %-4s %-4s%s%s%s %-4s %-4s%s\n",
				i+1, resNo, fields[0], fields[1], c[0], c[1], c[2], fields[2], fields[3], weight)
		}
	}
	return bw.Flush()
}

// ---------------------------------------------------------------------------
// Matching coordinates to a PSF

// Match checks that the atoms of s are those of psf, in the same order, and
// returns the number of atoms whose names differ but which were accepted as
// the same atom under another naming convention, for the caller to note.
//
// Names equal ignoring case match. Otherwise PDB and CHARMM often name the
// same atom differently (H/H2/H3 vs HT1/HT2/HT3, H vs HN, OXT vs OT2, O vs
// OT1, HB2/HB3 vs HB1/HB2, CD1 vs CD of isoleucine), so differing names are
// accepted when both atoms are of the same element: for the PSF atom the
// element of its mass, for the coordinate atom its element column or else
// the element guessed from its name (see coordElement). Atoms whose element
// is unknown on either side must have equal names. All mismatches are
// reported in one error, listing the first ten.
func (s *Structure) Match(psf *PSF) (renamed int, err error) {
	if psf == nil {
		return 0, errorf(s.File, 0, "no PSF to match the coordinates against")
	}
	if len(s.Atoms) != len(psf.Atoms) {
		return 0, errorf(s.File, 0, "has %d atoms but the PSF has %d", len(s.Atoms), len(psf.Atoms))
	}
	kind := "coordinates"
	switch strings.ToLower(filepath.Ext(s.File)) {
	case ".pdb", ".ent":
		kind = "PDB"
	case ".crd", ".cor":
		kind = "CRD"
	}
	const maxListed = 10
	var listed []string
	bad := 0
	for i, c := range s.Atoms {
		p := psf.Atoms[i]
		if strings.EqualFold(strings.TrimSpace(c.Name), strings.TrimSpace(p.Name)) {
			continue
		}
		pe, ce := elementFromMass(p.Mass), coordElement(c)
		if pe != "" && pe == ce {
			renamed++
			continue
		}
		bad++
		if len(listed) < maxListed {
			listed = append(listed, fmt.Sprintf("atom %d: PSF %s (%s) vs %s %s (%s)",
				i+1, p.Name, orUnknown(pe), kind, c.Name, orUnknown(ce)))
		}
	}
	if bad == 0 {
		return renamed, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d atoms differ from the PSF in both name and element (atoms are matched in order, numbered from 1):",
		bad, len(s.Atoms))
	for _, l := range listed {
		b.WriteString("\n  ")
		b.WriteString(l)
	}
	if bad > len(listed) {
		fmt.Fprintf(&b, "\n  ... and %d more", bad-len(listed))
	}
	return 0, errorf(s.File, 0, "%s", b.String())
}

func orUnknown(element string) string {
	if element == "" {
		return "?"
	}
	return element
}

// elementMasses lists the standard atomic masses (amu) of the elements met in
// biomolecular simulations. Hydrogen is handled apart in elementFromMass.
var elementMasses = [...]struct {
	symbol string
	mass   float64
}{
	{"H", 1.008}, {"Li", 6.94}, {"B", 10.81}, {"C", 12.011}, {"N", 14.007},
	{"O", 15.999}, {"F", 18.998}, {"Na", 22.990}, {"Mg", 24.305},
	{"Al", 26.982}, {"Si", 28.085}, {"P", 30.974}, {"S", 32.06},
	{"Cl", 35.45}, {"K", 39.098}, {"Ca", 40.078}, {"Mn", 54.938},
	{"Fe", 55.845}, {"Co", 58.933}, {"Ni", 58.693}, {"Cu", 63.546},
	{"Zn", 65.38}, {"Se", 78.971}, {"Br", 79.904}, {"Rb", 85.468},
	{"Sr", 87.62}, {"Cd", 112.414}, {"I", 126.904}, {"Cs", 132.905},
	{"Ba", 137.327},
}

// elementFromMass returns the element symbol of a mass in amu, "" if no
// element of elementMasses is within 0.1 amu. Every mass from 0.5 to 3.5 is
// hydrogen, so that deuterium and the heavier hydrogens of hydrogen mass
// repartitioning still count as hydrogen (the heavy atoms they took mass
// from, however, no longer match their element).
func elementFromMass(m float64) string {
	if m >= 0.5 && m <= 3.5 {
		return "H"
	}
	for _, e := range elementMasses {
		if math.Abs(m-e.mass) <= 0.1 {
			return e.symbol
		}
	}
	return ""
}

// canonicalElement returns the symbol of elementMasses that s names
// (case-insensitive, "CL" → "Cl"), "H" for deuterium "D", "" if none.
func canonicalElement(s string) string {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "D") {
		return "H"
	}
	for _, e := range elementMasses {
		if strings.EqualFold(s, e.symbol) {
			return e.symbol
		}
	}
	return ""
}

// ionResidueElements maps the residue names of monatomic ions (CHARMM's and
// the PDB's) to their element. An atom name alone cannot tell calcium from
// carbon alpha (CA) or chloride from CHARMM's CL carbon, but the residue can.
var ionResidueElements = map[string]string{
	"SOD": "Na", "NA": "Na", "POT": "K", "K": "K", "CLA": "Cl", "CL": "Cl",
	"CAL": "Ca", "CA": "Ca", "MG": "Mg", "ZN": "Zn", "ZN2": "Zn",
	"LIT": "Li", "LI": "Li", "CES": "Cs", "CS": "Cs", "RUB": "Rb", "RB": "Rb",
	"BAR": "Ba", "BA": "Ba", "CD2": "Cd", "CD": "Cd", "FE": "Fe", "FE2": "Fe",
	"MN": "Mn", "CO": "Co", "NI": "Ni", "CU": "Cu", "CU1": "Cu", "SR": "Sr",
	"BR": "Br", "IOD": "I", "F": "F",
}

// coordElement returns the element of a coordinate atom: its element column
// if that names a known element; else the ion's element if the residue is a
// monatomic ion (CLA, SOD, CAL, MG, ...); else the first letter of the name,
// leading digits stripped ("1HB" → H), when that is H, C, N, O, S, P, F or
// I. Two-letter elements are thus only recognized from the element column or
// an ion residue, which keeps CA carbon and CL (CHARMM's left methyl carbon)
// carbon. "" if unknown.
func coordElement(a CoordAtom) string {
	if e := canonicalElement(a.Element); e != "" {
		return e
	}
	if e, ok := ionResidueElements[strings.ToUpper(strings.TrimSpace(a.ResName))]; ok {
		return e
	}
	name := strings.TrimLeft(strings.ToUpper(strings.TrimSpace(a.Name)), "0123456789")
	if name == "" {
		return ""
	}
	switch c := name[0]; c {
	case 'H', 'C', 'N', 'O', 'S', 'P', 'F', 'I':
		return string(c)
	}
	return ""
}
