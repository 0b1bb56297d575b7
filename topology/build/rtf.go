package build

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/flowmd/flowmd/topology"
)

// RTF is a CHARMM residue topology file: atom types with their masses and the
// residues (RESI) and patches (PRES) built from them.
//
// Every name is upper-case. Atom names in terms keep their prefixes as
// written: "+N" and "-C" name atoms of the next and previous residue, and in
// a patch "1CB" and "2SG" name atoms of the patch's first and second target
// residue (see Residue).
type RTF struct {
	// File is the name given to ReadRTF, used in error messages.
	File string
	// Version is the version line after the title ("36 1"), nil if absent.
	Version []int
	// Masses maps atom types to their MASS entries.
	Masses map[string]topology.MassType
	// Declared lists the DECL names (atoms of neighbouring residues that
	// terms may refer to, such as "-C" and "+N"), in file order.
	Declared []string
	// DefaultFirst and DefaultLast are the patches of the last DEFA line,
	// "" if the file has none. Residues capture the defaults in force when
	// they are read (Residue.First and Last), which is what the builder
	// uses.
	DefaultFirst, DefaultLast string
	// Auto holds the flags of the last AUTO line: whether angles and
	// dihedrals are generated from the bonds rather than listed.
	Auto AutoFlags
	// Residues holds the RESI and PRES entries by name. A name defined
	// twice keeps the later definition, as CHARMM does.
	Residues map[string]*Residue
	// Names lists the residue and patch names in the order first read.
	Names []string
}

// AutoFlags are the flags of an AUTO(GENERATE) line.
type AutoFlags struct {
	Angles, Dihedrals bool
	// Patch asks for angles and dihedrals to be generated again after
	// patching; the builder always generates them once, after all patches,
	// so it only records the flag.
	Patch bool
	Drude bool
}

// Residue is a RESI or PRES entry.
//
// In a residue, "+X" and "-X" name atom X of the next and previous residue
// of the chain. In a patch, unprefixed names and names with the prefix 1 are
// atoms of the first target residue, the prefix 2 the second, and so on;
// "+X" and "-X" are relative to the first target.
type Residue struct {
	Name   string
	Patch  bool    // PRES rather than RESI
	Charge float64 // total charge as declared on the RESI/PRES line
	Line   int     // line of the RESI/PRES keyword

	Atoms []AtomDef
	// Deletes are the DELETE lines of a patch.
	Deletes   []Deletion
	Bonds     []Bond
	Angles    []Angle    // explicit ANGL/THET entries
	Dihedrals []Torsion  // explicit DIHE/PHI entries
	Impropers []Torsion  // IMPR/IMPH entries
	CMaps     []CrossMap // CMAP entries
	ICs       []IC

	// First and Last are the patches applied when this residue starts or
	// ends a chain: those of its PATCHING line, else the DEFA defaults in
	// force when the residue was read (psfgen's rule, which is what gives
	// every residue of a block between two DEFA lines that block's
	// terminal patches). "" means no default was given.
	First, Last string
}

// AtomDef is an ATOM line.
type AtomDef struct {
	Name   string
	Type   string
	Charge float64
	// Group is the 0-based index of the GROUP the atom belongs to within
	// its residue or patch, -1 when no GROUP line precedes it.
	Group int
	Line  int
}

// Bond is a BOND (Order 1), DOUBLE (2), TRIPLE (3) or AROMATIC (4) pair. The
// order does not change the PSF; it is kept for completeness.
type Bond struct {
	Atoms [2]string
	Order int
	Line  int
}

// Angle is an explicit ANGLE entry.
type Angle struct {
	Atoms [3]string
	Line  int
}

// Torsion is a DIHE or IMPR entry.
type Torsion struct {
	Atoms [4]string
	Line  int
}

// CrossMap is a CMAP entry: two dihedrals of four atoms each.
type CrossMap struct {
	Atoms [8]string
	Line  int
}

// IC is an internal-coordinate entry,
//
//	IC I J K L  R1 A1 Phi A2 R2
//
// For a normal entry, R1 = |IJ|, A1 = angle IJK, Phi = dihedral IJKL,
// A2 = angle JKL and R2 = |KL|. For an improper entry, written with a star on
// the third atom ("IC I J *K L"), K is the central atom bonded to I, J and L:
// R1 = |IK|, A1 = angle IKJ, Phi = dihedral IJKL, A2 = angle JKL and R2 = |KL|.
// Angles are in degrees. A zero length or angle means "not given" (CHARMM's
// IC PARAM fills it from the parameters); a zero dihedral is a real value.
type IC struct {
	Atoms    [4]string // without the star
	Improper bool
	R1, A1   float64
	Phi      float64
	A2, R2   float64
	Line     int
}

// Deletion is a DELETE line of a patch: DELETE ATOM name, or DELETE BOND,
// ANGL, DIHE, IMPR, CMAP, DONO or ACCE with the atoms of the term.
type Deletion struct {
	Kind  string // ATOM, BOND, ANGL, DIHE, IMPR, CMAP, DONO or ACCE
	Atoms []string
	Line  int
}

// ReadRTFFile reads a CHARMM topology file; see ReadRTF.
func ReadRTFFile(path string) (*RTF, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadRTF(f, path)
}

// ReadRTF reads a CHARMM residue topology file (such as top_all36_prot.rtf or
// top_all36_cgenff.rtf). name is used in error messages.
//
// The reader follows CHARMM's syntax: case does not matter; "!" starts a
// comment; a "-" standing as the last word of a line continues it on the
// next; the title is the block of lines starting with "*" at the top; keywords
// are recognised by their first four characters (any longer spelling must be
// a prefix of the full keyword, so "DIHE", "DIHEDRAL" and "DIHEDRALS" are all
// DIHEDRAL); reading stops at END. DONOR, ACCEPTOR, LONEPAIR and ANISOTROPY
// lines are accepted and ignored: they do not change the energy flowmd
// computes.
//
// Malformed lines are reported as a *topology.ParseError naming the line and
// the form that was expected. Checks that need the whole residue (atoms a
// term refers to) are made when a molecule is built, where the error can name
// the residue in the chain too.
func ReadRTF(r io.Reader, name string) (*RTF, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	p := rtfParser{
		rtf: &RTF{
			File:     name,
			Masses:   map[string]topology.MassType{},
			Residues: map[string]*Residue{},
		},
		sc: topology.CardScanner{Lines: strings.Split(string(data), "\n")},
	}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.rtf, nil
}

type rtfParser struct {
	rtf *RTF
	sc  topology.CardScanner

	cur      *Residue // residue or patch being read, nil before the first
	group    int      // GROUP index within cur, -1 before the first GROUP
	atomLine map[string]int
}

func (p *rtfParser) errorf(line int, format string, args ...any) error {
	return &topology.ParseError{File: p.rtf.File, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// keyword reports whether the upper-case word w names keyword full: w is a
// prefix of full and at least four characters long, or all of full when full
// is shorter. CHARMM only looks at the first four characters; requiring a
// prefix keeps a misspelt keyword from passing silently.
func keyword(w, full string) bool {
	n := min(4, len(full))
	return len(w) >= n && strings.HasPrefix(full, w)
}

// parseNumber parses a real number, accepting Fortran 'D' exponents. Only
// finite decimal numbers are accepted: strconv would also take "Inf", "NaN"
// and hexadecimal floats, none of which belong in these files.
func parseNumber(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, false
	}
	s = strings.Map(func(r rune) rune {
		if r == 'd' || r == 'D' {
			return 'E'
		}
		return r
	}, s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

func (p *rtfParser) parse() error {
	p.sc.SkipTitle()
	first := true
	for {
		l, ok := p.sc.Next()
		if !ok {
			return nil
		}
		if first {
			first = false
			if v, ok := versionLine(l.Fields); ok {
				p.rtf.Version = v
				continue
			}
		}
		w := strings.TrimRight(l.Fields[0], ",")
		if w == "END" {
			return nil
		}
		if err := p.entry(w, l); err != nil {
			return err
		}
	}
}

// versionLine reports whether fields are an RTF version line: one or two
// integers, such as "36  1".
func versionLine(fields []string) ([]int, bool) {
	if len(fields) > 2 {
		return nil, false
	}
	var v []int
	for _, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, false
		}
		v = append(v, n)
	}
	return v, true
}

// entry dispatches one logical line on its keyword w.
func (p *rtfParser) entry(w string, l topology.CardLine) error {
	args := l.Fields[1:]
	switch {
	case keyword(w, "MASS"):
		return p.mass(l, args)
	case keyword(w, "DECLARE"):
		return p.declare(l, args)
	case keyword(w, "DEFAULT"):
		return p.defaults(l, args)
	case keyword(w, "AUTOGENERATE"):
		return p.auto(l, args)
	case keyword(w, "RESIDUE"):
		return p.residue(l, args, false)
	case keyword(w, "PRESIDUE"):
		return p.residue(l, args, true)
	case keyword(w, "GROUP"):
		if p.cur == nil {
			return p.errorf(l.Num, "GROUP outside a RESI or PRES: expected a RESI or PRES line first")
		}
		p.group++
		return nil
	case keyword(w, "ATOM"):
		return p.atom(l, args)
	case keyword(w, "BONDS"):
		return p.bonds(l, args, 1, "BOND")
	case keyword(w, "DOUBLE"):
		return p.bonds(l, args, 2, "DOUBLE")
	case keyword(w, "TRIPLE"):
		return p.bonds(l, args, 3, "TRIPLE")
	case keyword(w, "AROMATIC"):
		return p.bonds(l, args, 4, "AROMATIC")
	case keyword(w, "ANGLES"), keyword(w, "THETA"):
		return p.angles(l, args)
	case keyword(w, "DIHEDRALS"), keyword(w, "PHI"):
		return p.torsions(l, args, "DIHE", func(r *Residue) *[]Torsion { return &r.Dihedrals })
	case keyword(w, "IMPROPERS"), keyword(w, "IMPHI"):
		return p.torsions(l, args, "IMPR", func(r *Residue) *[]Torsion { return &r.Impropers })
	case keyword(w, "CMAP"):
		return p.cmaps(l, args)
	case keyword(w, "DONORS"), keyword(w, "ACCEPTORS"), keyword(w, "LONEPAIR"), keyword(w, "ANISOTROPY"):
		// Hydrogen-bond analysis and Drude/lone-pair sites: nothing the
		// builder or the energy uses.
		if p.cur == nil {
			return p.errorf(l.Num, "%s outside a RESI or PRES: expected a RESI or PRES line first", w)
		}
		return nil
	case w == "IC" || keyword(w, "BILD"):
		return p.ic(l, args)
	case keyword(w, "DELETE"):
		return p.delete(l, args)
	case keyword(w, "PATCHING"):
		return p.patching(l, args)
	}
	return p.errorf(l.Num, "unknown RTF keyword %q: expected MASS, DECL, DEFA, AUTO, RESI, PRES, GROUP, ATOM, BOND, DOUBLE, TRIPLE, ANGLE, DIHE, IMPR, CMAP, DONOR, ACCEPTOR, IC, DELETE, PATCHING or END", w)
}

func (p *rtfParser) mass(l topology.CardLine, args []string) error {
	const form = "expected MASS code type mass [element]"
	if len(args) < 3 || len(args) > 4 {
		return p.errorf(l.Num, "MASS line has %d fields after the keyword: %s", len(args), form)
	}
	code, err := strconv.Atoi(args[0])
	if err != nil {
		return p.errorf(l.Num, "MASS code %q is not an integer: %s", args[0], form)
	}
	typ := args[1]
	if err := p.checkName(l, typ, "atom type"); err != nil {
		return err
	}
	m, ok := parseNumber(args[2])
	if !ok || m < 0 {
		return p.errorf(l.Num, "mass %q of type %s is not a non-negative number: %s", args[2], typ, form)
	}
	mt := topology.MassType{Code: code, Type: typ, Mass: m}
	if len(args) == 4 {
		mt.Element = args[3]
	}
	p.rtf.Masses[typ] = mt
	return nil
}

func (p *rtfParser) declare(l topology.CardLine, args []string) error {
	if len(args) == 0 {
		return p.errorf(l.Num, "DECL without a name: expected DECL +NAME or DECL -NAME")
	}
	for _, a := range args {
		if len(a) < 2 || (a[0] != '+' && a[0] != '-') {
			return p.errorf(l.Num, "DECL name %q does not start with + or -: expected DECL +NAME or DECL -NAME", a)
		}
		if err := p.checkName(l, a[1:], "atom name"); err != nil {
			return err
		}
		p.rtf.Declared = append(p.rtf.Declared, a)
	}
	return nil
}

// firstLast parses the FIRS name / LAST name pairs of DEFA and PATCHING.
func (p *rtfParser) firstLast(l topology.CardLine, args []string, what string) (first, last string, err error) {
	form := fmt.Sprintf("expected %s FIRS patch LAST patch (either may be omitted)", what)
	if len(args) == 0 || len(args)%2 != 0 {
		return "", "", p.errorf(l.Num, "%s needs keyword-patch pairs: %s", what, form)
	}
	for i := 0; i < len(args); i += 2 {
		k, v := args[i], args[i+1]
		if err := p.checkName(l, v, "patch name"); err != nil {
			return "", "", err
		}
		switch {
		case keyword(k, "FIRST"):
			first = v
		case keyword(k, "LAST"):
			last = v
		default:
			return "", "", p.errorf(l.Num, "%s: unknown keyword %q: %s", what, k, form)
		}
	}
	return first, last, nil
}

func (p *rtfParser) defaults(l topology.CardLine, args []string) error {
	first, last, err := p.firstLast(l, args, "DEFA")
	if err != nil {
		return err
	}
	if first != "" {
		p.rtf.DefaultFirst = first
	}
	if last != "" {
		p.rtf.DefaultLast = last
	}
	return nil
}

func (p *rtfParser) patching(l topology.CardLine, args []string) error {
	if p.cur == nil {
		return p.errorf(l.Num, "PATCHING outside a RESI: expected it after the RESI line it applies to")
	}
	first, last, err := p.firstLast(l, args, "PATCHING")
	if err != nil {
		return err
	}
	if first != "" {
		p.cur.First = first
	}
	if last != "" {
		p.cur.Last = last
	}
	return nil
}

func (p *rtfParser) auto(l topology.CardLine, args []string) error {
	var f AutoFlags
	for _, a := range args {
		switch {
		case keyword(a, "ANGLES"):
			f.Angles = true
		case keyword(a, "DIHEDRALS"):
			f.Dihedrals = true
		case keyword(a, "PATCH"):
			f.Patch = true
		case keyword(a, "DRUDE"):
			f.Drude = true
		case a == "NONE":
		default:
			return p.errorf(l.Num, "AUTO: unknown flag %q: expected ANGLES, DIHEDRALS, PATCH, DRUDE or NONE", a)
		}
	}
	p.rtf.Auto = f
	return nil
}

func (p *rtfParser) residue(l topology.CardLine, args []string, patch bool) error {
	kw := "RESI"
	if patch {
		kw = "PRES"
	}
	form := fmt.Sprintf("expected %s name charge", kw)
	if len(args) == 0 || len(args) > 2 {
		return p.errorf(l.Num, "%s line has %d fields after the keyword: %s", kw, len(args), form)
	}
	name := args[0]
	if err := p.checkName(l, name, "residue name"); err != nil {
		return err
	}
	res := &Residue{Name: name, Patch: patch, Line: l.Num, First: p.rtf.DefaultFirst, Last: p.rtf.DefaultLast}
	if len(args) == 2 {
		// CHARMM reads a missing charge as 0.
		q, ok := parseNumber(args[1])
		if !ok {
			return p.errorf(l.Num, "%s %s: charge %q is not a number: %s", kw, name, args[1], form)
		}
		res.Charge = q
	}
	if _, seen := p.rtf.Residues[name]; !seen {
		p.rtf.Names = append(p.rtf.Names, name)
	}
	p.rtf.Residues[name] = res
	p.cur = res
	p.group = -1
	p.atomLine = map[string]int{}
	return nil
}

// checkName rejects names that no PSF or PDB could hold: the readers split
// on white space, and '*' marks improper ICs.
func (p *rtfParser) checkName(l topology.CardLine, name, what string) error {
	if name == "" || len(name) > 8 {
		return p.errorf(l.Num, "%s %q must have 1 to 8 characters", what, name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' || c == '*' {
			return p.errorf(l.Num, "%s %q has a character other than printable ASCII or a '*'", what, name)
		}
	}
	return nil
}

// checkRef checks an atom reference of a term: a name with an optional '+'
// or '-' prefix, or in a patch an operand digit.
func (p *rtfParser) checkRef(l topology.CardLine, ref string) error {
	base := ref
	if len(base) > 1 && (base[0] == '+' || base[0] == '-') {
		base = base[1:]
	}
	return p.checkName(l, base, "atom name")
}

// needResidue reports a term keyword that appears before any RESI or PRES.
func (p *rtfParser) needResidue(l topology.CardLine, kw string) error {
	if p.cur == nil {
		return p.errorf(l.Num, "%s outside a RESI or PRES: expected a RESI or PRES line first", kw)
	}
	return nil
}

func (p *rtfParser) atom(l topology.CardLine, args []string) error {
	if err := p.needResidue(l, "ATOM"); err != nil {
		return err
	}
	const form = "expected ATOM name type charge"
	if len(args) < 3 {
		return p.errorf(l.Num, "ATOM line has %d fields after the keyword: %s", len(args), form)
	}
	name, typ := args[0], args[1]
	if name[0] == '+' || name[0] == '-' {
		return p.errorf(l.Num, "ATOM %s: atoms of neighbouring residues cannot be defined here: %s", name, form)
	}
	if err := p.checkName(l, name, "atom name"); err != nil {
		return err
	}
	if err := p.checkName(l, typ, "atom type"); err != nil {
		return err
	}
	q, ok := parseNumber(args[2])
	if !ok {
		return p.errorf(l.Num, "ATOM %s: charge %q is not a number: %s", name, args[2], form)
	}
	// Drude force fields add ALPHA and THOLE values; accept them as
	// keyword-number pairs, nothing else.
	for i := 3; i < len(args); i += 2 {
		if !(keyword(args[i], "ALPHA") || keyword(args[i], "THOLE")) || i+1 >= len(args) {
			return p.errorf(l.Num, "ATOM %s: unexpected %q after the charge: %s [ALPHA a] [THOLE t]", name, args[i], form)
		}
		if _, ok := parseNumber(args[i+1]); !ok {
			return p.errorf(l.Num, "ATOM %s: %s value %q is not a number", name, args[i], args[i+1])
		}
	}
	if prev, dup := p.atomLine[name]; dup {
		return p.errorf(l.Num, "atom %s is defined twice in %s (first on line %d): atom names must be unique in a residue", name, p.cur.Name, prev)
	}
	p.atomLine[name] = l.Num
	p.cur.Atoms = append(p.cur.Atoms, AtomDef{Name: name, Type: typ, Charge: q, Group: p.group, Line: l.Num})
	return nil
}

// names checks that args are a whole number of n-atom terms of distinct
// atoms.
func (p *rtfParser) names(l topology.CardLine, args []string, n int, kw, form string) error {
	if err := p.needResidue(l, kw); err != nil {
		return err
	}
	if len(args) == 0 || len(args)%n != 0 {
		return p.errorf(l.Num, "%s has %d atom names, not a multiple of %d: %s", kw, len(args), n, form)
	}
	for i := 0; i < len(args); i += n {
		term := args[i : i+n]
		for j, a := range term {
			if err := p.checkRef(l, a); err != nil {
				return err
			}
			for _, b := range term[:j] {
				if a == b {
					return p.errorf(l.Num, "%s %s names atom %s twice: %s", kw, strings.Join(term, " "), a, form)
				}
			}
		}
	}
	return nil
}

func (p *rtfParser) bonds(l topology.CardLine, args []string, order int, kw string) error {
	if err := p.names(l, args, 2, kw, "expected "+kw+" a1 b1 [a2 b2 ...]"); err != nil {
		return err
	}
	for i := 0; i < len(args); i += 2 {
		p.cur.Bonds = append(p.cur.Bonds, Bond{Atoms: [2]string{args[i], args[i+1]}, Order: order, Line: l.Num})
	}
	return nil
}

func (p *rtfParser) angles(l topology.CardLine, args []string) error {
	if err := p.names(l, args, 3, "ANGLE", "expected ANGLE a1 b1 c1 [a2 b2 c2 ...]"); err != nil {
		return err
	}
	for i := 0; i < len(args); i += 3 {
		p.cur.Angles = append(p.cur.Angles, Angle{Atoms: [3]string(args[i : i+3]), Line: l.Num})
	}
	return nil
}

// torsions reads DIHE and IMPR lines; list selects the residue's list.
func (p *rtfParser) torsions(l topology.CardLine, args []string, kw string, list func(*Residue) *[]Torsion) error {
	if err := p.names(l, args, 4, kw, "expected "+kw+" a1 b1 c1 d1 [a2 b2 c2 d2 ...]"); err != nil {
		return err
	}
	dst := list(p.cur)
	for i := 0; i < len(args); i += 4 {
		*dst = append(*dst, Torsion{Atoms: [4]string(args[i : i+4]), Line: l.Num})
	}
	return nil
}

func (p *rtfParser) cmaps(l topology.CardLine, args []string) error {
	const form = "expected CMAP with 8 atom names (two dihedrals)"
	if err := p.needResidue(l, "CMAP"); err != nil {
		return err
	}
	if len(args) == 0 || len(args)%8 != 0 {
		return p.errorf(l.Num, "CMAP has %d atom names, not a multiple of 8: %s", len(args), form)
	}
	// The two dihedrals of a CMAP share three atoms, so only each half
	// must name distinct atoms.
	for i := 0; i < len(args); i += 4 {
		if err := p.names(l, args[i:i+4], 4, "CMAP", form); err != nil {
			return err
		}
	}
	for i := 0; i < len(args); i += 8 {
		p.cur.CMaps = append(p.cur.CMaps, CrossMap{Atoms: [8]string(args[i : i+8]), Line: l.Num})
	}
	return nil
}

func (p *rtfParser) ic(l topology.CardLine, args []string) error {
	const form = "expected IC I J [*]K L r_IJ theta_IJK phi theta_JKL r_KL (4 atom names, a star on the third for an improper IC, and 5 numbers)"
	if err := p.needResidue(l, "IC"); err != nil {
		return err
	}
	if len(args) != 9 {
		return p.errorf(l.Num, "IC line has %d fields after the keyword: %s", len(args), form)
	}
	var ic IC
	ic.Line = l.Num
	for i := 0; i < 4; i++ {
		a := args[i]
		if strings.HasPrefix(a, "*") {
			if i != 2 {
				return p.errorf(l.Num, "IC: star on atom %d (%s): only the third atom may carry one: %s", i+1, a, form)
			}
			ic.Improper = true
			a = a[1:]
		}
		// An entry naming an atom twice is useless but harmless, and
		// the distributed CGenFF file has one (a typo CHARMM accepts):
		// the builder skips such entries.
		if err := p.checkRef(l, a); err != nil {
			return err
		}
		ic.Atoms[i] = a
	}
	var v [5]float64
	for i := range v {
		x, ok := parseNumber(args[4+i])
		if !ok {
			return p.errorf(l.Num, "IC value %d (%q) is not a number: %s", i+1, args[4+i], form)
		}
		v[i] = x
	}
	ic.R1, ic.A1, ic.Phi, ic.A2, ic.R2 = v[0], v[1], v[2], v[3], v[4]
	p.cur.ICs = append(p.cur.ICs, ic)
	return nil
}

func (p *rtfParser) delete(l topology.CardLine, args []string) error {
	const form = "expected DELETE ATOM name, or DELETE BOND/ANGL/DIHE/IMPR/CMAP/DONO/ACCE with the atoms of the term"
	if err := p.needResidue(l, "DELETE"); err != nil {
		return err
	}
	if len(args) < 2 {
		return p.errorf(l.Num, "DELETE needs a kind and atom names: %s", form)
	}
	kinds := []struct {
		full, kind string
		n          int // atoms per term; 0 for any number
	}{
		{"ATOM", "ATOM", 1}, {"BONDS", "BOND", 2}, {"DOUBLE", "BOND", 2},
		{"ANGLES", "ANGL", 3}, {"THETA", "ANGL", 3},
		{"DIHEDRALS", "DIHE", 4}, {"PHI", "DIHE", 4},
		{"IMPROPERS", "IMPR", 4}, {"IMPHI", "IMPR", 4},
		{"CMAP", "CMAP", 8}, {"DONORS", "DONO", 0}, {"ACCEPTORS", "ACCE", 0},
	}
	for _, k := range kinds {
		if !keyword(args[0], k.full) {
			continue
		}
		names := args[1:]
		if k.n > 0 && len(names)%k.n != 0 {
			return p.errorf(l.Num, "DELETE %s has %d atom names, not a multiple of %d: %s", k.kind, len(names), k.n, form)
		}
		for _, a := range names {
			if err := p.checkRef(l, a); err != nil {
				return err
			}
		}
		n := k.n
		if n == 0 {
			n = len(names)
		}
		for i := 0; i < len(names); i += n {
			p.cur.Deletes = append(p.cur.Deletes, Deletion{Kind: k.kind, Atoms: append([]string(nil), names[i:i+n]...), Line: l.Num})
		}
		return nil
	}
	return p.errorf(l.Num, "DELETE: unknown kind %q: %s", args[0], form)
}
