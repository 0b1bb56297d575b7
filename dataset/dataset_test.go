package dataset

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func fill(w *Writer, t *testing.T, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		x := make([]float64, 6)
		for k := range x {
			x[k] = float64(i) + float64(k)/10
		}
		if err := w.Append("coordinates", x); err != nil {
			t.Fatal(err)
		}
		if err := w.Append("energy", []float64{-float64(i) / 3}); err != nil {
			t.Fatal(err)
		}
		if err := w.AppendInt("step", []int64{int64(100 * i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func define(t *testing.T, w *Writer) {
	t.Helper()
	for _, err := range []error{w.Define("coordinates", Float64, 2, 3), w.Define("energy", Float64), w.Define("step", Int64)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	w.Strings("term_names", []string{"bond", "lennard_jones", "φ"})
}

func check(t *testing.T, path string, frames int) {
	t.Helper()
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	x, shape, err := d.Float64("coordinates")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shape, []int{frames, 2, 3}) || x[len(x)-1] != float64(frames-1)+0.5 {
		t.Errorf("coordinates shape %v, last %v", shape, x[len(x)-1])
	}
	steps, _, err := d.Int64("step")
	if err != nil || len(steps) != frames || steps[frames-1] != int64(100*(frames-1)) {
		t.Errorf("steps %v %v", steps, err)
	}
	names, err := d.Strings("term_names")
	if err != nil || !reflect.DeepEqual(names, []string{"bond", "lennard_jones", "φ"}) {
		t.Errorf("names %q %v", names, err)
	}
}

func TestWriteReadResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.npz")
	w, err := Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	define(t, w)
	fill(w, t, 0, 10)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	check(t, path, 10)
	// More frames than the checkpoint knew of, then an interruption.
	fill(w, t, 10, 13)
	if err := w.Abandon(); err != nil {
		t.Fatal(err)
	}
	// Resume at frame 10: the extra frames go.
	w, err = Create(path, true)
	if err != nil {
		t.Fatal(err)
	}
	define(t, w)
	if err := w.Truncate(10); err != nil {
		t.Fatal(err)
	}
	fill(w, t, 10, 20)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check(t, path, 20)
	if _, err := os.Stat(path + ".parts"); !os.IsNotExist(err) {
		t.Errorf("parts left after Close: %v", err)
	}
	// Extending a finished run rebuilds the parts from the archive.
	w, err = Create(path, true)
	if err != nil {
		t.Fatal(err)
	}
	define(t, w)
	if w.Frames() != 20 {
		t.Fatalf("restored %d frames, want 20", w.Frames())
	}
	fill(w, t, 20, 25)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check(t, path, 25)
}

// TestNumPyReads loads a written dataset with NumPy itself. Without NumPy
// the test is skipped, except in CI, where scripts/test.sh installs it.
func TestNumPyReads(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import numpy").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("NumPy missing in CI")
		}
		t.Skip("NumPy (Debian python3-numpy) not available")
	}
	path := filepath.Join(t.TempDir(), "data.npz")
	w, err := Create(path, false)
	if err != nil {
		t.Fatal(err)
	}
	define(t, w)
	fill(w, t, 0, 4)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	script := `import numpy as np, sys
d = np.load(sys.argv[1])
print(d["coordinates"].shape, d["coordinates"].dtype, d["coordinates"][3, 1, 2])
print(d["energy"].tolist(), d["step"].dtype, d["step"].tolist())
print(list(d["term_names"]))`
	out, err := exec.Command("/usr/bin/python3", "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "(4, 2, 3) float64 3.5\n[-0.0, -0.3333333333333333, -0.6666666666666666, -1.0] int64 [0, 100, 200, 300]\n['bond', 'lennard_jones', 'φ']\n"
	if string(out) != want {
		t.Errorf("NumPy read:\n%s\nwant:\n%s", out, want)
	}
}

// TestCoordinatesPoolsFiles reads two datasets' coordinates as one set of
// frames, in order, and names the file whose frames do not fit.
func TestCoordinatesPoolsFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, shape []int, start float64) string {
		path := filepath.Join(dir, name)
		n := 1
		for _, s := range shape {
			n *= s
		}
		x := make([]float64, n)
		for i := range x {
			x[i] = start + float64(i)
		}
		if err := WriteArchive(path, []Array{{Name: "coordinates", Shape: shape, Data: x}}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a, b := write("a.npz", []int{2, 2, 3}, 0), write("b.npz", []int{3, 2, 3}, 100)
	x, frames, dim, err := Coordinates(a, b)
	if err != nil || frames != 5 || dim != 6 || len(x) != 30 || x[11] != 11 || x[12] != 100 || x[29] != 117 {
		t.Fatalf("frames %d dim %d, x %v, %v", frames, dim, x, err)
	}
	odd := write("odd.npz", []int{2, 3, 3}, 0)
	if _, _, _, err := Coordinates(a, odd); err == nil || !strings.Contains(err.Error(), "odd.npz: frames of 9 coordinates") {
		t.Errorf("frames of another size: %v", err)
	}
	if _, _, _, err := Coordinates(a, filepath.Join(dir, "missing.npz")); err == nil || !strings.Contains(err.Error(), "missing.npz") {
		t.Errorf("a missing file: %v", err)
	}
}
