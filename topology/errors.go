package topology

import (
	"fmt"
	"strings"
)

// ParseError reports malformed or unsupported input. It names the file, the
// 1-based line number (0 when the problem is not tied to one line) and what was
// expected, so that a person can find and fix the problem.
type ParseError struct {
	File string // file name as given by the caller, "" if unknown
	Line int    // 1-based line number, 0 when not tied to a line
	Msg  string // what was found and what was expected
}

func (e *ParseError) Error() string {
	file := e.File
	if file == "" {
		file = "<input>"
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", file, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", file, e.Msg)
}

// errorf builds a *ParseError.
func errorf(file string, line int, format string, args ...any) *ParseError {
	return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// MissingParameter is one topology term for which no force-field parameter
// matched.
type MissingParameter struct {
	Kind  string   // "bond", "angle", "dihedral", "improper", "cmap", "nonbonded", "mass"
	Atoms []int    // 0-based atom indices of the term
	Names []string // atom names, "SEG:RESID:NAME" when needed to disambiguate
	Types []string // atom types as looked up
}

func (m MissingParameter) String() string {
	return fmt.Sprintf("%-9s atoms %s  names %s  types %s",
		m.Kind, joinInts(m.Atoms, 1), strings.Join(m.Names, "-"), strings.Join(m.Types, "-"))
}

// MissingParametersError lists every term without parameters at once, so a
// user can fix all of them in one round instead of one per run.
type MissingParametersError struct {
	Missing []MissingParameter
}

func (e *MissingParametersError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d terms have no parameters (atom numbers are 1-based as in the PSF):", len(e.Missing))
	for _, m := range e.Missing {
		b.WriteString("\n  ")
		b.WriteString(m.String())
	}
	return b.String()
}

// joinInts formats indices shifted by offset, joined with '-'.
func joinInts(xs []int, offset int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x + offset)
	}
	return strings.Join(parts, "-")
}
