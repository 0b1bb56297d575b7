package plugins

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/flows"
)

// TestFlowPluginMatchesInProcess runs the built-in flow plugin and the
// same generator in process: sampling, both passes, a VJP, an optimizer
// step and save/load give the same numbers through the protocol.
func TestFlowPluginMatchesInProcess(t *testing.T) {
	h := &Host{Log: &logBuf}
	defer h.Close()
	ctx := context.Background()
	opts := map[string]string{"system": "default", "blocks": "2", "hidden": "16", "placer_hidden": "32", "seed": "4"}
	remote, err := h.Flow(ctx, Spec{Path: pluginPath(t, "flowmd-flow")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	info := remote.Info()
	// Dialanine: 22 atoms, 10 of them heavy.
	if remote.LatentDim() != 30 || remote.Dim() != 66 || len(info.GetGeneratedAtoms()) != 10 || info.GetParameters() == 0 {
		t.Fatalf("the plugin describes %v", info)
	}
	local := localFlow(t, 4)
	if int64(local.Parameters()) != info.GetParameters() {
		t.Fatalf("%d parameters in process, %d in the plugin", local.Parameters(), info.GetParameters())
	}

	z, x, logp, err := remote.Sample(ctx, 5, 9)
	if err != nil {
		t.Fatal(err)
	}
	xl, ldl := make([]float64, 5*66), make([]float64, 5)
	local.Forward(5, z, xl, ldl, false)
	same(t, "sampled coordinates", x, xl)
	lp := make([]float64, 5)
	for r := range lp {
		lp[r] = local.Flow.LogBase(z[r*30:(r+1)*30]) - ldl[r]
	}
	same(t, "log p", logp, lp)
	// By the inverse pass: the same density, to rounding.
	for r, v := range local.LogProb(5, x) {
		if math.Abs(v-logp[r]) > 1e-9*math.Abs(v) {
			t.Errorf("log p by the inverse pass %g, by sampling %g", v, logp[r])
		}
	}

	// A VJP through the forward pass, then one optimizer step.
	x2, ld2, err := remote.Forward(ctx, z, true)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Forward", x2, xl)
	same(t, "log-det", ld2, ldl)
	w := make([]float64, 5*66)
	for i := range w {
		w[i] = math.Sin(float64(i))
	}
	dld := []float64{1, -1, 0.5, 2, 0}
	dz, err := remote.VJP(ctx, w, dld)
	if err != nil {
		t.Fatal(err)
	}
	local.Forward(5, z, xl, ldl, true)
	dzl := make([]float64, 5*30)
	if err := local.VJP(w, dld, dzl); err != nil {
		t.Fatal(err)
	}
	same(t, "VJP", dz, dzl)
	norm, err := remote.Step(ctx, 1e-3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if nl := local.Step(1e-3, 0); math.Abs(norm-nl) > 1e-12*nl {
		t.Errorf("gradient norm %g through the plugin, %g in process", norm, nl)
	}

	// Forces through the placer (Complete, then InputVJP): the inputs'
	// cotangents of VJP, and no parameter gradient, so the next step's
	// gradient norm is 0; a VJP after the same Complete leaves one.
	xc, err := remote.Complete(ctx, x, true)
	if err != nil {
		t.Fatal(err)
	}
	dxc, err := remote.InputVJP(ctx, w, make([]float64, 5))
	if err != nil {
		t.Fatal(err)
	}
	xcl := append([]float64(nil), x...)
	local.Complete(5, xcl, true)
	same(t, "Complete", xc, xcl)
	dxl := make([]float64, 5*66)
	if err := local.VJP(w, make([]float64, 5), dxl); err != nil {
		t.Fatal(err)
	}
	same(t, "InputVJP after Complete", dxc, dxl)
	// The in-process flow steps as the plugin does, to stay its twin.
	local.Flow.ZeroGrad()
	if norm, err := remote.Step(ctx, 1e-3, 0); err != nil || norm != 0 {
		t.Errorf("gradient norm %g (%v) after InputVJP, want 0", norm, err)
	}
	local.Step(1e-3, 0)
	if _, err := remote.Complete(ctx, x, true); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.VJP(ctx, w, make([]float64, 5)); err != nil {
		t.Fatal(err)
	}
	norm, err = remote.Step(ctx, 1e-3, 0)
	if err != nil || !(norm > 0) {
		t.Errorf("gradient norm %g (%v) after VJP, want > 0", norm, err)
	}
	local.Complete(5, append([]float64(nil), x...), true)
	if err := local.VJP(w, make([]float64, 5), dxl); err != nil {
		t.Fatal(err)
	}
	if nl := local.Step(1e-3, 0); math.Abs(norm-nl) > 1e-12*nl {
		t.Errorf("gradient norm %g through the plugin, %g in process", norm, nl)
	}

	// The inverse pass after the step, then save, perturb and load.
	zi, _, err := remote.Inverse(ctx, x, false)
	if err != nil {
		t.Fatal(err)
	}
	zl, ldi := make([]float64, 5*30), make([]float64, 5)
	local.Inverse(5, x, zl, ldi, false)
	same(t, "Inverse after a step", zi, zl)
	path := filepath.Join(t.TempDir(), "flow.npz")
	if err := remote.Save(ctx, path); err != nil {
		t.Fatal(err)
	}
	loaded, err := flows.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "saved parameters", loaded.Flow.Params.Values, local.Flow.Params.Values)
	if err := remote.Load(ctx, path); err != nil {
		t.Fatal(err)
	}
	if err := remote.Load(ctx, filepath.Join(t.TempDir(), "missing.npz")); err == nil || !strings.Contains(err.Error(), "missing.npz") {
		t.Errorf("loading a missing file: %v", err)
	}
}

func localFlow(t *testing.T, seed int) *flows.Generator {
	t.Helper()
	g, err := flowsDefaultDialanine(seed)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func same(t *testing.T, what string, a, b []float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d and %d numbers", what, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s: number %d is %.17g through the plugin, %.17g in process", what, i, a[i], b[i])
		}
	}
}

// TestFlowPluginErrors: bad options and calls out of order are errors that
// say what was wrong.
func TestFlowPluginErrors(t *testing.T) {
	h := &Host{Log: &logBuf}
	defer h.Close()
	ctx := context.Background()
	spec := Spec{Path: pluginPath(t, "flowmd-flow")}
	for opts, want := range map[string]map[string]string{
		"unknown option":      {"dim": "2", "widht": "3"},
		"expected an integer": {"dim": "two"},
		"give dim":            {},
	} {
		if _, err := h.Flow(ctx, spec, want); err == nil || !strings.Contains(err.Error(), opts) {
			t.Errorf("options %v: %v", want, err)
		}
	}
	f, err := h.Flow(ctx, spec, map[string]string{"dim": "2", "blocks": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.VJP(ctx, make([]float64, 2), make([]float64, 1)); err == nil || !strings.Contains(err.Error(), "no pass was kept") {
		t.Errorf("VJP before a kept pass: %v", err)
	}
	if _, _, err := f.Forward(ctx, make([]float64, 3), false); err == nil {
		t.Error("3 numbers were taken as rows of 2")
	}
	_ = rand.New
}
