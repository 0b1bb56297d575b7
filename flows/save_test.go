package flows

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	g := toyMolecule(t, "")
	perturb(g, 7)
	// One optimizer step, so that there is an Adam state to save.
	_, x, _ := g.Sample(8, rand.New(rand.NewPCG(1, 1)), true)
	if err := g.VJP(x, make([]float64, 8), make([]float64, 8*9)); err != nil {
		t.Fatal(err)
	}
	g.Flow.Step(1e-3, 0)
	path := filepath.Join(t.TempDir(), "flow.npz")
	if err := g.Save(path, true); err != nil {
		t.Fatal(err)
	}
	h, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range g.Flow.Params.Values {
		if h.Flow.Params.Values[i] != v {
			t.Fatalf("parameter %d: saved %g, loaded %g", i, v, h.Flow.Params.Values[i])
		}
	}
	if h.Flow.Optimizer() == nil || h.Flow.Optimizer().T[0] != 1 || h.Flow.Optimizer().M[5] != g.Flow.Optimizer().M[5] {
		t.Error("the optimizer state did not survive")
	}
	z := randRows(rand.New(rand.NewPCG(2, 2)), 3, 9, 1)
	a, b := make([]float64, 45), make([]float64, 45)
	g.Forward(3, z, a, make([]float64, 3), false)
	h.Forward(3, z, b, make([]float64, 3), false)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("the loaded flow maps differently at %d", i)
		}
	}
	// NumPy reads the archive with the names and shapes of the layers.
	if _, err := exec.LookPath("python3"); err == nil {
		out, err := exec.Command("python3", "-c", `import numpy, sys, json
d = numpy.load(sys.argv[1])
print(d["block0.0.0.weight"].shape, json.loads(str(d["spec"][0]))["Atoms"])`, path).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "No module named") {
			t.Fatalf("numpy: %v\n%s", err, out)
		}
		if err == nil && strings.TrimSpace(string(out)) != "(3, 8) 5" {
			t.Errorf("numpy sees %q", out)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.npz")
	os.WriteFile(bad, []byte("not a zip"), 0o644)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.npz")); err == nil {
		t.Error("a missing file loaded")
	}
}
