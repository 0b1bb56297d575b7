// Package builtin holds flowmd's own plugins: the analytic and CHARMM force
// fields, the flow, the losses and the trainer. Each is served by a small
// command under cmd/ and by mdrun itself (mdrun plugin-serve NAME), so that
// a config can name them without a plugin folder; the engine talks to them
// exactly as to a user's plugins.
package builtin

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is the version the built-in plugins report.
const Version = "1"

// parser reads typed plugin options, keeping the first error.
type parser struct {
	o   map[string]string
	err error
}

func (p *parser) fail(key, v, want string) {
	if p.err == nil {
		p.err = fmt.Errorf("option %s=%q: expected %s", key, v, want)
	}
}

func (p *parser) int(key string, def int) int {
	v := p.o[key]
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.fail(key, v, "an integer")
	}
	return n
}

func (p *parser) float(key string, def float64) float64 {
	v := p.o[key]
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.fail(key, v, "a number")
	}
	return f
}

func (p *parser) boolDefault(key string, def bool) bool {
	v := p.o[key]
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(key, v, "true or false")
	}
	return b
}

func (p *parser) floats(key string) []float64 {
	v := p.o[key]
	if v == "" {
		return nil
	}
	var out []float64
	for _, f := range strings.Split(v, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			p.fail(key, v, "comma-separated numbers")
			return nil
		}
		out = append(out, x)
	}
	return out
}

func (p *parser) ints(key string) []int {
	v := p.o[key]
	if v == "" {
		return nil
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			p.fail(key, v, "comma-separated integers")
			return nil
		}
		out = append(out, n)
	}
	return out
}
