package plugins

import (
	"context"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/topology"
)

// localDialanine is the in-process CHARMM model of the files in opts and
// the minimized structure.
func localDialanine(t testing.TB, opts map[string]string) (*charmm.Model, []float64) {
	t.Helper()
	psf, err := topology.ReadPSFFile(opts["psf"])
	if err != nil {
		t.Fatal(err)
	}
	params, err := topology.ReadParameterFiles(opts["params"])
	if err != nil {
		t.Fatal(err)
	}
	sys, err := topology.Assign(psf, params)
	if err != nil {
		t.Fatal(err)
	}
	m, err := charmm.New(sys, charmm.Options{}, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := topology.ReadCoordinates(dataDir + "/systems/dialanine/dialanine.pdb")
	if err != nil {
		t.Fatal(err)
	}
	return m, s.Models[0]
}

// TestCharmmPluginMatchesInProcess evaluates dialanine configurations
// through the flowmd-charmm plugin and in process: the same numbers.
func TestCharmmPluginMatchesInProcess(t *testing.T) {
	h := &Host{Log: &logBuf}
	defer h.Close()
	spec, opts := charmmSpec(t)
	remote, err := h.ForceField(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	local, confs := localDialanine(t, opts)
	if remote.Dim() != local.Dim() || len(remote.Terms()) != len(local.Terms()) || len(remote.Masses()) != local.Dim() || remote.Units() != "md" {
		t.Fatalf("plugin describes dim %d terms %v masses %d units %s", remote.Dim(), remote.Terms(), len(remote.Masses()), remote.Units())
	}
	const n = 8
	a, b := forcefields.NewBatch(local, n, true, true), forcefields.NewBatch(remote, n, true, true)
	for c := 0; c < n; c++ {
		for i, v := range confs {
			x := v + 0.05*math.Sin(float64(c*97+i))
			a.Coords[c*local.Dim()+i], b.Coords[c*local.Dim()+i] = x, x
		}
	}
	ctx := context.Background()
	if err := local.Evaluate(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := remote.Evaluate(ctx, b); err != nil {
		t.Fatal(err)
	}
	for i := range a.Energy {
		if a.Energy[i] != b.Energy[i] {
			t.Errorf("energy %d: in process %.17g, plugin %.17g", i, a.Energy[i], b.Energy[i])
		}
	}
	for i := range a.Forces {
		if a.Forces[i] != b.Forces[i] {
			t.Fatalf("force %d differs", i)
		}
	}
	for i := range a.Terms {
		if a.Terms[i] != b.Terms[i] {
			t.Fatalf("term %d differs", i)
		}
	}
	if sharedSupported && remote.shared == nil {
		t.Error("the plugin did not take the shared region")
	}
	// The inline path, which plugins without Attach get, gives the same.
	remote.noShared = true
	c := forcefields.NewBatch(remote, n, true, true)
	copy(c.Coords, b.Coords)
	if err := remote.Evaluate(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i := range a.Forces {
		if a.Forces[i] != c.Forces[i] {
			t.Fatalf("inline: force %d differs", i)
		}
	}
}

// BenchmarkPluginOverhead times a batch of 1,024 dialanine configurations
// (energies and forces) in process and through the flowmd-charmm plugin,
// and a batch of 4,096 to show how the boundary's fixed cost amortizes.
func BenchmarkPluginOverhead(b *testing.B) {
	h := &Host{}
	defer h.Close()
	spec, opts := charmmSpec(b)
	remote, err := h.ForceField(context.Background(), spec, opts)
	if err != nil {
		b.Fatal(err)
	}
	local, confs := localDialanine(b, opts)
	for _, m := range []struct {
		name  string
		model forcefields.Model
		n     int
	}{{"in-process", local, 1024}, {"plugin", remote, 1024}, {"in-process-4096", local, 4096}, {"plugin-4096", remote, 4096}} {
		n := m.n
		b.Run(m.name, func(b *testing.B) {
			bt := forcefields.NewBatch(m.model, n, true, false)
			for c := 0; c < n; c++ {
				for i, v := range confs {
					bt.Coords[c*m.model.Dim()+i] = v + 0.02*math.Sin(float64(c*31+i))
				}
			}
			ctx := context.Background()
			start := time.Now()
			for b.Loop() {
				if err := m.model.Evaluate(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "configs/s")
		})
	}
}

// muellerBrown is the potential of the Python example plugin, written again
// in Go for the test.
func muellerBrown(x, y, scale float64) (e, fx, fy float64) {
	A := [4]float64{-200, -100, -170, 15}
	a := [4]float64{-1, -1, -6.5, 0.7}
	b := [4]float64{0, 0, 11, 0.6}
	c := [4]float64{-10, -10, -6.5, 0.7}
	x0 := [4]float64{1, 0, -0.5, -1}
	y0 := [4]float64{0, 0.5, 1.5, 1}
	for k := range A {
		dx, dy := x-x0[k], y-y0[k]
		ek := scale * A[k] * math.Exp(a[k]*dx*dx+b[k]*dx*dy+c[k]*dy*dy)
		e += ek
		fx -= ek * (2*a[k]*dx + b[k]*dy)
		fy -= ek * (b[k]*dx + 2*c[k]*dy)
	}
	return e, fx, fy
}

// TestPythonPlugin starts the Python example plugin through the same host,
// with automatic mutual TLS, and checks its energies and forces. Skipped
// without Debian's gRPC for Python, except in CI, where scripts/test.sh
// installs it.
func TestPythonPlugin(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf, numpy, cryptography").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-grpcio, python3-protobuf, python3-numpy or python3-cryptography missing in CI")
		}
		t.Skip("Python gRPC (Debian python3-grpcio, python3-protobuf, python3-cryptography) not available")
	}
	var log syncBuffer
	h := &Host{Log: &log}
	defer h.Close()
	spec := Spec{Path: "../examples/plugins/python-forcefield/flowmd-mueller-brown"}
	ff, err := h.ForceField(context.Background(), spec, map[string]string{"scale": "0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if ff.Dim() != 2 || ff.Terms()[0] != "mueller_brown" || ff.Units() != "reduced" {
		t.Fatalf("describes %d %v %s", ff.Dim(), ff.Terms(), ff.Units())
	}
	b := forcefields.NewBatch(ff, 5, true, true)
	copy(b.Coords, []float64{-0.558, 1.442, 0.623, 0.028, -0.05, 0.467, 0, 0, 1.2, -0.3})
	if err := ff.Evaluate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 5; c++ {
		e, fx, fy := muellerBrown(b.Coords[2*c], b.Coords[2*c+1], 0.1)
		if math.Abs(e-b.Energy[c]) > 1e-12 || math.Abs(fx-b.Forces[2*c]) > 1e-10 || math.Abs(fy-b.Forces[2*c+1]) > 1e-10 || b.Terms[c] != b.Energy[c] {
			t.Errorf("configuration %d: plugin %g (%g, %g), Go %g (%g, %g)", c, b.Energy[c], b.Forces[2*c], b.Forces[2*c+1], e, fx, fy)
		}
	}
	if sharedSupported && ff.shared == nil {
		t.Error("the Python plugin did not take the shared region")
	}
	// A batch too large for the region makes the host offer a larger one.
	big := forcefields.NewBatch(ff, 5000, true, false)
	for i := range big.Coords {
		big.Coords[i] = 0.3 * math.Sin(float64(i))
	}
	if err := ff.Evaluate(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 5000; c += 999 {
		e, _, fy := muellerBrown(big.Coords[2*c], big.Coords[2*c+1], 0.1)
		if math.Abs(e-big.Energy[c]) > 1e-12 || math.Abs(fy-big.Forces[2*c+1]) > 1e-10 {
			t.Errorf("large batch, configuration %d: %g, Go %g", c, big.Energy[c], e)
		}
	}
	if !strings.Contains(log.String(), "[plugin flowmd-mueller-brown] configured Mueller-Brown scale=0.1") {
		t.Errorf("plugin log not forwarded:\n%s", log.String())
	}
	if _, err := h.ForceField(context.Background(), spec, map[string]string{"scale": "-1"}); err == nil || !strings.Contains(err.Error(), "option scale must be positive") {
		t.Errorf("bad option: %v", err)
	}
}
