package plugins

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/losses"
)

// TestLossPluginMatchesInProcess evaluates losses through the built-in
// loss plugin and in process: the same values, gradients and metrics.
func TestLossPluginMatchesInProcess(t *testing.T) {
	h := &Host{Log: &logBuf}
	defer h.Close()
	ctx := context.Background()
	spec := Spec{Path: pluginPath(t, "flowmd-loss")}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 16
	in := losses.Inputs{losses.BetaU: make([]float64, n), losses.LogPG: make([]float64, n), losses.LogQN: make([]float64, n), losses.Coords: make([]float64, 2*n)}
	for i := 0; i < n; i++ {
		in[losses.BetaU][i], in[losses.LogPG][i], in[losses.LogQN][i] = rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		in[losses.Coords][2*i], in[losses.Coords][2*i+1] = rng.NormFloat64(), rng.NormFloat64()
	}
	for _, c := range []struct {
		opts  map[string]string
		local losses.Loss
	}{
		{map[string]string{"name": "l2plus"}, losses.L2Plus{}},
		{map[string]string{"name": "klz_df", "weights": "clamped"}, losses.DataFreeKLz{Weights: "clamped", Temperature: 1}},
		{map[string]string{"name": "klx_bw", "cv": "coordinate", "index": "0", "edges": "0", "targets": "0.3,0.7"},
			&losses.ReweightedKLx{Mode: func(x []float64) int {
				if x[0] < 0 {
					return 0
				}
				return 1
			}, Targets: []float64{0.3, 0.7}}},
	} {
		remote, err := h.Loss(ctx, spec, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		info := remote.Info()
		if strings.Join(info.Inputs, ",") != strings.Join(c.local.Info().Inputs, ",") || info.NeedsForces != c.local.Info().NeedsForces {
			t.Errorf("%v: the plugin says %+v, in process %+v", c.opts, info, c.local.Info())
		}
		a, err := remote.Evaluate(in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.local.Evaluate(in)
		if err != nil {
			t.Fatal(err)
		}
		if a.Value != b.Value || len(a.Grad) != len(b.Grad) || len(a.Metrics) != len(b.Metrics) {
			t.Errorf("%v: value %g (%d gradients, %d metrics) through the plugin, %g (%d, %d) in process", c.opts, a.Value, len(a.Grad), len(a.Metrics), b.Value, len(b.Grad), len(b.Metrics))
		}
		for name, g := range b.Grad {
			same(t, c.opts["name"]+" gradient of "+name, a.Grad[name], g)
		}
	}
	for opts, want := range map[string]map[string]string{
		"expected ml, klx":       {"name": "kl"},
		"does not apply":         {"name": "l2plus", "mask": "true"},
		"unknown batch weights":  {"name": "klz_df", "weights": "cubic"},
		"2 modes, got 3 targets": {"name": "klx_bw", "cv": "coordinate", "index": "0", "edges": "0", "targets": "0.2,0.3,0.5"},
		"four 0-based atom":      {"name": "klx_bw", "cv": "dihedral", "atoms": "1,2", "edges": "120,240", "targets": "0.2,0.6,0.2"},
	} {
		if _, err := h.Loss(ctx, spec, want); err == nil || !strings.Contains(err.Error(), opts) {
			t.Errorf("options %v: %v", want, err)
		}
	}
}
