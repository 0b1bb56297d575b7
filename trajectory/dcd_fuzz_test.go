package trajectory

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadDCD feeds arbitrary bytes to the reader. It must not panic, must
// not allocate beyond what the input can justify, and every error must
// name the file.
func FuzzReadDCD(f *testing.F) {
	rng := rand.New(rand.NewPCG(31, 32))
	frames := randomFrames(rng, 3, 4)

	path := filepath.Join(f.TempDir(), "seed.dcd")
	w, err := CreateDCD(path, 4, DCDOptions{TimestepPS: 0.002, StepInterval: 10, Title: []string{"fuzz seed"}, Date: testDate})
	if err != nil {
		f.Fatal(err)
	}
	for _, x := range frames {
		if err := w.WriteFrame(x); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	written, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{
		written,
		buildDCD(dcdSpec{order: binary.BigEndian, natoms: 4, frames: frames}),
		buildDCD(dcdSpec{natoms: 4, cells: [][6]float64{{10, 0, 10, 0, 0, 10}, {10, 90, 10, 90, 90, 10}, {1, 2, 3, 4, 5, 6}}, frames: frames}),
		buildDCD(dcdSpec{natoms: 4, xplor: true, delta: 1, frames: frames}),
		buildDCD(dcdSpec{natoms: 4, dim4: true, frames: frames}),
		buildDCD(dcdSpec{natoms: 4, nset: 100, frames: frames}),
		buildDCD(dcdSpec{natoms: maxAtoms}),
	}
	for _, s := range seeds {
		f.Add(s)
		// Truncations: inside the header, at record boundaries and inside
		// frames, which is what crashes and partial copies produce.
		for _, n := range []int{0, 3, 4, 8, 50, 91, 92, 100, 180, 195, 196, 200, len(s) - 1, len(s) - 60, len(s) / 2} {
			if n >= 0 && n < len(s) {
				f.Add(s[:n])
			}
		}
	}

	const name = "fuzz.dcd"
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewDCDReader(namedReader{bytes.NewReader(data), name})
		if err != nil {
			if !strings.HasPrefix(err.Error(), name+": ") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		natoms, nframes := r.NAtoms(), r.NFrames()
		if natoms <= 0 || natoms > maxAtoms || nframes < 0 {
			t.Fatalf("NAtoms %d, NFrames %d", natoms, nframes)
		}
		// The frames counted must be in the input: this is what bounds the
		// reader's allocations (one frame buffer, ReadAll's result).
		if nframes > 0 && int64(nframes)*(12*int64(natoms)+24) > int64(len(data)) {
			t.Fatalf("%d frames of %d atoms claimed from %d bytes", nframes, natoms, len(data))
		}
		h := r.Header()
		if len(h.Titles)*80 > len(data) {
			t.Fatalf("%d titles from %d bytes", len(h.Titles), len(data))
		}

		all, err := r.ReadAll()
		if err != nil && !strings.HasPrefix(err.Error(), name+": ") {
			t.Fatalf("ReadAll error without file name: %v", err)
		}
		if len(all) > nframes {
			t.Fatalf("ReadAll returned %d frames of %d", len(all), nframes)
		}
		if err != nil {
			return
		}
		if len(all) != nframes {
			t.Fatalf("ReadAll returned %d frames, NFrames %d", len(all), nframes)
		}

		// Frame by frame from a seek must agree with ReadAll.
		if nframes == 0 {
			return
		}
		if err := r.SeekFrame(nframes - 1); err != nil {
			t.Fatal(err)
		}
		x := make([]float64, 3*natoms)
		if err := r.ReadFrame(x); err != nil {
			t.Fatal(err)
		}
		for i, want := range all[nframes-1] {
			if math.Float64bits(x[i]) != math.Float64bits(want) {
				t.Fatalf("value %d: ReadFrame %v, ReadAll %v", i, x[i], want)
			}
		}
		if err := r.ReadFrame(x); !errors.Is(err, io.EOF) {
			t.Fatalf("ReadFrame after the last frame: %v", err)
		}
	})
}
