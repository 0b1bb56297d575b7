package topology

import "strings"

// CardScanner yields the logical lines of a CHARMM card file (parameter,
// topology and stream files): "!" comments removed, a line ending in a "-"
// that stands as a word of its own joined with the next, blank lines
// skipped, words upper-cased (CHARMM is case-insensitive). The parameter
// reader and topology/build's residue reader share it.
type CardScanner struct {
	Lines []string // physical lines
	Pos   int      // index of the next physical line
}

// CardLine is one logical line.
type CardLine struct {
	Num    int      // 1-based number of its first physical line
	Text   string   // comment-free, trimmed text in its original case
	Fields []string // upper-cased words of Text, never empty
}

// StripComment removes a "!" comment and surrounding white space (including
// the '\r' of Windows line endings).
func StripComment(s string) string {
	if i := strings.IndexByte(s, '!'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// continues reports whether text (trimmed, comment-free) ends with CHARMM's
// continuation mark, a "-" standing as a word of its own (an atom name such
// as "-C" at the end of a line is not one).
func continues(text string) bool {
	n := len(text)
	if n == 0 || text[n-1] != '-' {
		return false
	}
	return n == 1 || text[n-2] == ' ' || text[n-2] == '\t'
}

// Next returns the next logical line, and false at the end.
func (s *CardScanner) Next() (CardLine, bool) {
	for s.Pos < len(s.Lines) {
		num := s.Pos + 1
		text := StripComment(s.Lines[s.Pos])
		s.Pos++
		if continues(text) {
			// Collect the parts first so a long run of continuation lines
			// costs linear, not quadratic, time.
			parts := []string{strings.TrimSpace(text[:len(text)-1])}
			for s.Pos < len(s.Lines) {
				t := StripComment(s.Lines[s.Pos])
				s.Pos++
				if !continues(t) {
					parts = append(parts, t)
					break
				}
				parts = append(parts, strings.TrimSpace(t[:len(t)-1]))
			}
			text = strings.TrimSpace(strings.Join(parts, " "))
		}
		if text == "" {
			continue
		}
		return CardLine{Num: num, Text: text, Fields: strings.Fields(UpperASCII(text))}, true
	}
	return CardLine{}, false
}

// SkipTitle skips a title at the current position: lines starting with
// '*', normally ended by a line holding only '*'. Blank and comment lines
// before it are skipped too. A title without its terminator ends at the
// first line that does not start with '*' (that line is kept), so a missing
// terminator can never swallow the entries that follow.
func (s *CardScanner) SkipTitle() {
	i := s.Pos
	for i < len(s.Lines) && StripComment(s.Lines[i]) == "" {
		i++
	}
	for ; i < len(s.Lines); i++ {
		t := strings.TrimSpace(s.Lines[i])
		if !strings.HasPrefix(t, "*") {
			break
		}
		if t == "*" {
			i++
			break
		}
	}
	if i > s.Pos {
		s.Pos = i
	}
}

// UpperASCII upper-cases ASCII letters only, leaving other bytes untouched
// (strings.ToUpper would rewrite invalid UTF-8 and change byte lengths).
func UpperASCII(s string) string {
	i := 0
	for i < len(s) && !('a' <= s[i] && s[i] <= 'z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'a' <= b[i] && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}
