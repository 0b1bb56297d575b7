// Command misbehave is a forcefield plugin for the host's tests: a harmonic
// oscillator whose Evaluate crashes the process or hangs when the first
// coordinate asks it to.
package main

import (
	"context"
	"strconv"
	"time"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// oscillator crashes at its crashAfter-th evaluation when that is set.
type oscillator struct {
	calls, crashAfter int
}

func (*oscillator) Dim() int        { return 2 }
func (*oscillator) Terms() []string { return []string{"harmonic"} }
func (o *oscillator) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	if err := b.Check(2, 1); err != nil {
		return err
	}
	o.calls++
	if o.crashAfter > 0 && o.calls == o.crashAfter {
		plugins.Logger("misbehave").Error("crashing as configured", "call", o.calls)
		panic("simulated crash in the plugin")
	}
	switch b.Coords[0] {
	case 666:
		plugins.Logger("misbehave").Error("about to fail", "coordinate", 666)
		panic("simulated crash in the plugin")
	case 777:
		plugins.Logger("misbehave").Info("sleeping forever")
		time.Sleep(time.Hour)
	}
	for c := range b.Energy {
		x, y := b.Coords[2*c], b.Coords[2*c+1]
		b.Energy[c] = 0.5 * (x*x + y*y)
		if b.Forces != nil {
			b.Forces[2*c], b.Forces[2*c+1] = -x, -y
		}
		if b.Terms != nil {
			b.Terms[c] = b.Energy[c]
		}
	}
	return nil
}

type provider struct{}

func (provider) Configure(options map[string]string) (forcefields.Model, []float64, string, error) {
	o := &oscillator{}
	if s := options["crash_after"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, nil, "", err
		}
		o.crashAfter = n
	}
	return o, nil, "reduced", nil
}

func main() {
	plugins.ServeForceField(&pluginpb.PluginInfo{Name: "misbehave", Version: "test"}, provider{})
}
