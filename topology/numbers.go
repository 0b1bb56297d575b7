package topology

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseReal parses a real number as Fortran programs write it, also with a
// D exponent (1.0D-02). Only the characters of a decimal Fortran real are
// allowed, so that Go-only syntax ("0x1p3", "Inf", "NaN", "1_0") found in a
// corrupted field is refused rather than read as a number: no CHARMM file
// holds such values, and letting a NaN through would turn every energy into
// NaN.
func parseReal(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.', c == '+', c == '-', c == 'e', c == 'E':
		case c == 'd' || c == 'D': // Fortran double-precision exponent
		default:
			return 0, false
		}
	}
	if strings.ContainsAny(s, "dD") {
		s = strings.NewReplacer("d", "e", "D", "e").Replace(s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// fortranG formats x as Fortran's Gw.d edit descriptor does (with the
// compilers CHARMM is built with), so that files flowmd writes look like the
// ones CHARMM writes: fixed notation with d significant digits and four
// trailing blanks when 0.1 <= |x| < 10^d, else Ew.d exponent notation
// "0.dddddE-ee". The result is right-justified in w columns, or w asterisks
// when it does not fit, as Fortran does.
func fortranG(x float64, w, d int) string {
	ax := math.Abs(x)
	var s string
	switch {
	case x == 0:
		s = fmt.Sprintf("%.*f", d-1, 0.0) + "    "
	case ax >= 0.1 && ax < math.Pow(10, float64(d)):
		// Number of digits before the decimal point after rounding to d
		// significant digits decides the F format.
		k := int(math.Floor(math.Log10(ax))) + 1
		r, _ := strconv.ParseFloat(strconv.FormatFloat(ax, 'e', d-1, 64), 64)
		if r >= math.Pow(10, float64(k)) {
			k++
		}
		if k > d {
			return fortranE(x, w, d)
		}
		s = strconv.FormatFloat(x, 'f', d-k, 64) + "    "
	default:
		return fortranE(x, w, d)
	}
	return padLeft(s, w)
}

// fortranE formats x as Fortran's Ew.d: 0.dddddE+ee.
func fortranE(x float64, w, d int) string {
	if x == 0 {
		return padLeft("0."+strings.Repeat("0", d)+"E+00", w)
	}
	m := strconv.FormatFloat(math.Abs(x), 'e', d-1, 64) // d.ddddde±XX
	mant, exp, _ := strings.Cut(m, "e")
	e, _ := strconv.Atoi(exp)
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if x < 0 {
		sign = "-"
	}
	es := "+"
	if e+1 < 0 {
		es = "-"
	}
	return padLeft(fmt.Sprintf("%s0.%sE%s%02d", sign, digits, es, absInt(e+1)), w)
}

func absInt(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func padLeft(s string, w int) string {
	if len(s) > w {
		return strings.Repeat("*", w)
	}
	return strings.Repeat(" ", w-len(s)) + s
}
