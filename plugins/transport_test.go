package plugins

import (
	"context"
	"testing"
	"time"

	"github.com/flowmd/flowmd/forcefields"
)

// BenchmarkPluginTransport times a batch of 1,024 configurations of 66
// coordinates (dialanine's size) through the analytic plugin's harmonic
// oscillator, whose energy costs next to nothing: what is left is the cost
// of the plugin boundary.
func BenchmarkPluginTransport(b *testing.B) {
	h := &Host{}
	defer h.Close()
	ff, err := h.ForceField(context.Background(), Spec{Path: pluginPath(b, "flowmd-analytic")}, map[string]string{"model": "harmonic", "dim": "66"})
	if err != nil {
		b.Fatal(err)
	}
	bt := forcefields.NewBatch(ff, 1024, true, false)
	ctx := context.Background()
	start := time.Now()
	for b.Loop() {
		if err := ff.Evaluate(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1024)/time.Since(start).Seconds(), "configs/s")
}
