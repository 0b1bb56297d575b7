package trajectory

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testDate = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func randomFrames(rng *rand.Rand, nframes, natoms int) [][]float64 {
	frames := make([][]float64, nframes)
	for i := range frames {
		frames[i] = make([]float64, 3*natoms)
		for j := range frames[i] {
			frames[i][j] = (rng.Float64() - 0.5) * 100
		}
	}
	return frames
}

func writeFrames(t *testing.T, w *DCDWriter, frames [][]float64) {
	t.Helper()
	for i, x := range frames {
		if err := w.WriteFrame(x); err != nil {
			t.Fatalf("WriteFrame %d: %v", i, err)
		}
	}
}

func createDCD(t *testing.T, path string, natoms int, opts DCDOptions, frames [][]float64) {
	t.Helper()
	w, err := CreateDCD(path, natoms, opts)
	if err != nil {
		t.Fatal(err)
	}
	writeFrames(t, w, frames)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readAllFile(t *testing.T, path string) (*DCDReader, [][]float64) {
	t.Helper()
	r, err := OpenDCD(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	frames, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return r, frames
}

// checkFrames compares frames read back with the float64 values written,
// which the file holds as float32.
func checkFrames(t *testing.T, got, want [][]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("frame %d: got %d values, want %d", i, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			if w := float64(float32(want[i][j])); got[i][j] != w {
				t.Fatalf("frame %d value %d: got %v, want %v", i, j, got[i][j], w)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const natoms = 7
	frames := randomFrames(rng, 10, natoms)
	path := filepath.Join(t.TempDir(), "rt.dcd")
	opts := DCDOptions{TimestepPS: 0.002, FirstStep: 100, StepInterval: 50, Title: []string{"round trip"}, Date: testDate}
	createDCD(t, path, natoms, opts, frames)

	r, got := readAllFile(t, path)
	checkFrames(t, got, frames)
	if r.NAtoms() != natoms || r.NFrames() != len(frames) {
		t.Errorf("NAtoms, NFrames = %d, %d; want %d, %d", r.NAtoms(), r.NFrames(), natoms, len(frames))
	}
	h := r.Header()
	if math.Abs(h.TimestepPS-0.002) > 1e-9 {
		t.Errorf("TimestepPS = %v, want 0.002", h.TimestepPS)
	}
	if h.FirstStep != 100 || h.StepInterval != 50 || h.NSet != 10 || h.NStep != 500 {
		t.Errorf("FirstStep, StepInterval, NSet, NStep = %d, %d, %d, %d; want 100, 50, 10, 500", h.FirstStep, h.StepInterval, h.NSet, h.NStep)
	}
	if h.HasUnitCell || h.Has4D || h.BigEndian || h.CharmmVersion != 24 {
		t.Errorf("flags: %+v", h)
	}
	wantTitles := []string{"REMARKS Created by flowmd on 2024-05-06 07:08:09 UTC", "round trip"}
	if strings.Join(h.Titles, "|") != strings.Join(wantTitles, "|") {
		t.Errorf("Titles = %q, want %q", h.Titles, wantTitles)
	}
	if _, ok := r.UnitCell(); ok {
		t.Error("UnitCell reported for a file without one")
	}

	x := make([]float64, 3*natoms)
	if err := r.ReadFrame(x); err != io.EOF {
		t.Errorf("ReadFrame at end = %v, want io.EOF", err)
	}
	if err := r.SeekFrame(4); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadFrame(x); err != nil {
		t.Fatal(err)
	}
	checkFrames(t, [][]float64{x}, frames[4:5])
	rest, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	checkFrames(t, rest, frames[5:])
	if err := r.SeekFrame(11); err == nil {
		t.Error("SeekFrame past the end succeeded")
	}
	if err := r.ReadFrame(x[:3]); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadFrame with short buffer: %v", err)
	}
}

func TestHeaderBytes(t *testing.T) {
	const natoms = 3
	path := filepath.Join(t.TempDir(), "hdr.dcd")
	opts := DCDOptions{TimestepPS: 0.001, FirstStep: 7, StepInterval: 10, Title: []string{"second line"}, Date: testDate}
	w, err := CreateDCD(path, natoms, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	le := binary.LittleEndian
	u32 := func(b []byte, off int) uint32 { return le.Uint32(b[off:]) }

	const headerSize = 116 + 80*2
	b, _ := os.ReadFile(path)
	if len(b) != headerSize {
		t.Fatalf("header-only file is %d bytes, want %d", len(b), headerSize)
	}
	if u32(b, 8) != 0 || u32(b, 20) != 0 {
		t.Errorf("empty file: NSET %d, NSTEP %d; want 0, 0", u32(b, 8), u32(b, 20))
	}

	frames := [][]float64{{1, 2, 3, 4, 5, 6, 7, 8, 9}, {-1, -2, -3, -4, -5, -6, -7, -8, -9}}
	writeFrames(t, w, frames)
	b, _ = os.ReadFile(path)

	checks := []struct {
		off  int
		want uint32
		what string
	}{
		{0, 84, "opening marker of record 1"},
		{8, 2, "ICNTRL[0] NSET"},
		{12, 7, "ICNTRL[1] ISTART"},
		{16, 10, "ICNTRL[2] NSAVC"},
		{20, 20, "ICNTRL[3] NSTEP"},
		{36, 0, "ICNTRL[7] NDEGF"},
		{40, 0, "ICNTRL[8] NAMNF"},
		{44, math.Float32bits(float32(0.001 / 0.04888821)), "ICNTRL[9] DELTA"},
		{48, 0, "ICNTRL[10] unit cell"},
		{52, 0, "ICNTRL[11] 4D"},
		{84, 24, "ICNTRL[19] CHARMM version"},
		{88, 84, "closing marker of record 1"},
		{92, 4 + 80*2, "opening marker of title record"},
		{96, 2, "NTITLE"},
		{100 + 160, 4 + 80*2, "closing marker of title record"},
		{264, 4, "opening marker of NATOM record"},
		{268, natoms, "NATOM"},
		{272, 4, "closing marker of NATOM record"},
		{276, 4 * natoms, "frame 0 X opening marker"},
		{280, math.Float32bits(1), "frame 0 X[0]"},
		{284, math.Float32bits(4), "frame 0 X[1]"},
		{280 + 4*natoms, 4 * natoms, "frame 0 X closing marker"},
		{276 + 12*natoms + 24 - 4, 4 * natoms, "frame 0 Z closing marker"},
		{276 + 12*natoms + 24 + 4 + 4*natoms + 8, math.Float32bits(-2), "frame 1 Y[0]"},
	}
	for _, c := range checks {
		if got := u32(b, c.off); got != c.want {
			t.Errorf("offset %d (%s): %d, want %d", c.off, c.what, got, c.want)
		}
	}
	if string(b[4:8]) != "CORD" {
		t.Errorf("magic %q, want CORD", b[4:8])
	}
	for i := 24; i < 36; i += 4 {
		if u32(b, i) != 0 {
			t.Errorf("unused ICNTRL at offset %d = %d", i, u32(b, i))
		}
	}
	title1 := "REMARKS Created by flowmd on 2024-05-06 07:08:09 UTC"
	if got, want := string(b[100:180]), title1+strings.Repeat(" ", 80-len(title1)); got != want {
		t.Errorf("title 1 %q, want %q", got, want)
	}
	if got, want := string(b[180:260]), "second line"+strings.Repeat(" ", 80-11); got != want {
		t.Errorf("title 2 %q, want %q", got, want)
	}
	if want := headerSize + 2*(12*natoms+24); len(b) != want {
		t.Errorf("file is %d bytes, want %d", len(b), want)
	}
}

// TestCrashSafety checks the file after every frame, then simulates a crash
// in the middle of a frame and resumes with OpenDCDAppend.
func TestCrashSafety(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const natoms, n, m = 5, 4, 3
	frames := randomFrames(rng, n+1+m, natoms)
	path := filepath.Join(t.TempDir(), "crash.dcd")
	opts := DCDOptions{StepInterval: 10, Date: testDate}
	w, err := CreateDCD(path, natoms, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.WriteFrame(frames[i]); err != nil {
			t.Fatal(err)
		}
		// The writer is still open: the file must already be complete.
		r, got := readAllFile(t, path)
		checkFrames(t, got, frames[:i+1])
		if h := r.Header(); h.NSet != i+1 || h.NStep != 10*(i+1) {
			t.Fatalf("after frame %d: NSet %d, NStep %d", i, h.NSet, h.NStep)
		}
		r.Close()
	}
	if w.NFrames() != n {
		t.Errorf("writer NFrames %d, want %d", w.NFrames(), n)
	}
	w.Close()

	// The crash: part of frame n made it to disk (its X record and half of
	// Y), the header was never patched.
	var partial []byte
	le := binary.LittleEndian
	partial = le.AppendUint32(partial, 4*natoms)
	for i := range natoms {
		partial = le.AppendUint32(partial, math.Float32bits(float32(frames[n][3*i])))
	}
	partial = le.AppendUint32(partial, 4*natoms)
	partial = le.AppendUint32(partial, 4*natoms)
	partial = append(partial, 1, 2, 3, 4, 5, 6)
	appendBytes(t, path, partial)
	sizeWithPartial := fileSize(t, path)

	r, got := readAllFile(t, path)
	checkFrames(t, got, frames[:n])
	if r.NFrames() != n || r.Header().NSet != n {
		t.Fatalf("with a partial frame: NFrames %d, NSet %d; want %d", r.NFrames(), r.Header().NSet, n)
	}
	r.Close()

	w, err = OpenDCDAppend(path, natoms)
	if err != nil {
		t.Fatal(err)
	}
	if w.NFrames() != n {
		t.Errorf("OpenDCDAppend: NFrames %d, want %d", w.NFrames(), n)
	}
	if s := fileSize(t, path); s != sizeWithPartial-int64(len(partial)) {
		t.Errorf("OpenDCDAppend left %d bytes, want %d", s, sizeWithPartial-int64(len(partial)))
	}
	resumed := append(append([][]float64{}, frames[:n]...), frames[n+1:]...)
	writeFrames(t, w, frames[n+1:])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, got = readAllFile(t, path)
	checkFrames(t, got, resumed)
	if h := r.Header(); h.NSet != n+m || h.NStep != 10*(n+m) {
		t.Errorf("after append: NSet %d, NStep %d; want %d, %d", h.NSet, h.NStep, n+m, 10*(n+m))
	}
}

// TestCompleteFrameUncounted covers a crash after a frame was written but
// before the header was patched: the file size decides, as in VMD.
func TestCompleteFrameUncounted(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	frames := randomFrames(rng, 3, 4)
	path := filepath.Join(t.TempDir(), "uncounted.dcd")
	createDCD(t, path, 4, DCDOptions{Date: testDate}, frames)
	b, _ := os.ReadFile(path)
	binary.LittleEndian.PutUint32(b[8:], 2)
	os.WriteFile(path, b, 0o644)

	r, got := readAllFile(t, path)
	checkFrames(t, got, frames)
	if r.NFrames() != 3 || r.Header().NSet != 2 {
		t.Errorf("NFrames %d, NSet %d; want 3, 2", r.NFrames(), r.Header().NSet)
	}
	w, err := OpenDCDAppend(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if r, _ := readAllFile(t, path); r.Header().NSet != 3 {
		t.Errorf("OpenDCDAppend did not repair NSET: %d", r.Header().NSet)
	}
}

// TestResumeBitForBit: a run interrupted after 7 frames, with a partial 8th,
// resumed from a checkpoint at frame 4, must produce the same bytes as a
// run that was never interrupted.
func TestResumeBitForBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const natoms = 22
	frames := randomFrames(rng, 10, natoms)
	dir := t.TempDir()
	opts := DCDOptions{TimestepPS: 0.002, StepInterval: 500, Date: testDate, Title: []string{"resume"}}

	whole := filepath.Join(dir, "whole.dcd")
	createDCD(t, whole, natoms, opts, frames)

	resumed := filepath.Join(dir, "resumed.dcd")
	createDCD(t, resumed, natoms, opts, frames[:7])
	appendBytes(t, resumed, make([]byte, 100))
	if err := TruncateDCD(resumed, 4); err != nil {
		t.Fatal(err)
	}
	w, err := OpenDCDAppend(resumed, natoms)
	if err != nil {
		t.Fatal(err)
	}
	writeFrames(t, w, frames[4:])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	a, _ := os.ReadFile(whole)
	b, _ := os.ReadFile(resumed)
	if !bytes.Equal(a, b) {
		t.Fatalf("resumed file differs from the uninterrupted one (%d vs %d bytes)", len(b), len(a))
	}
}

func TestTruncate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	frames := randomFrames(rng, 6, 3)
	path := filepath.Join(t.TempDir(), "trunc.dcd")
	createDCD(t, path, 3, DCDOptions{StepInterval: 2, Date: testDate}, frames)

	if err := TruncateDCD(path, 2); err != nil {
		t.Fatal(err)
	}
	r, got := readAllFile(t, path)
	checkFrames(t, got, frames[:2])
	if h := r.Header(); h.NSet != 2 || h.NStep != 4 {
		t.Errorf("NSet %d, NStep %d; want 2, 4", h.NSet, h.NStep)
	}
	if err := TruncateDCD(path, 2); err != nil {
		t.Errorf("truncating to the current length: %v", err)
	}
	err := TruncateDCD(path, 3)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "2 complete frames") {
		t.Errorf("truncating beyond the end: %v", err)
	}
	if err := TruncateDCD(path, -1); err == nil {
		t.Error("truncating to -1 frames succeeded")
	}
	if err := TruncateDCD(path, 0); err != nil {
		t.Fatal(err)
	}
	r, got = readAllFile(t, path)
	if len(got) != 0 || r.NFrames() != 0 || r.Header().NSet != 0 {
		t.Errorf("after truncating to 0: %d frames, NSet %d", len(got), r.Header().NSet)
	}
	if err := r.ReadFrame(make([]float64, 9)); err != io.EOF {
		t.Errorf("ReadFrame on empty trajectory = %v, want io.EOF", err)
	}
	if err := TruncateDCD(filepath.Join(t.TempDir(), "missing.dcd"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestAppendValidation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.dcd")
	createDCD(t, path, 3, DCDOptions{Date: testDate}, [][]float64{make([]float64, 9)})
	if _, err := OpenDCDAppend(path, 4); err == nil || !strings.Contains(err.Error(), "3 atoms") {
		t.Errorf("wrong atom count: %v", err)
	}

	cell := filepath.Join(dir, "cell.dcd")
	os.WriteFile(cell, buildDCD(dcdSpec{natoms: 3, cells: [][6]float64{{10, 0, 10, 0, 0, 10}}, frames: [][]float64{make([]float64, 9)}}), 0o644)
	if _, err := OpenDCDAppend(cell, 3); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("unit-cell file: %v", err)
	}

	fixed := filepath.Join(dir, "fixed.dcd")
	os.WriteFile(fixed, buildDCD(dcdSpec{natoms: 3, namnf: 1}), 0o644)
	if _, err := OpenDCDAppend(fixed, 3); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("fixed-atom file: %v", err)
	}
	if _, err := OpenDCDAppend(filepath.Join(dir, "missing.dcd"), 3); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}

	// Appending keeps the byte order of the existing file.
	be := filepath.Join(dir, "be.dcd")
	first := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	os.WriteFile(be, buildDCD(dcdSpec{natoms: 3, order: binary.BigEndian, frames: [][]float64{first}}), 0o644)
	w, err := OpenDCDAppend(be, 3)
	if err != nil {
		t.Fatal(err)
	}
	second := []float64{9, 8, 7, 6, 5, 4, 3, 2, 1}
	writeFrames(t, w, [][]float64{second})
	w.Close()
	r, got := readAllFile(t, be)
	checkFrames(t, got, [][]float64{first, second})
	if h := r.Header(); !h.BigEndian || h.NSet != 2 {
		t.Errorf("big-endian append: %+v", h)
	}
}

func TestWriterValidation(t *testing.T) {
	dir := t.TempDir()
	bad := []struct {
		name   string
		natoms int
		opts   DCDOptions
	}{
		{"no atoms", 0, DCDOptions{}},
		{"too many atoms", maxAtoms + 1, DCDOptions{}},
		{"negative step", 1, DCDOptions{FirstStep: -1}},
		{"negative interval", 1, DCDOptions{StepInterval: -1}},
		{"NaN timestep", 1, DCDOptions{TimestepPS: math.NaN()}},
		{"negative timestep", 1, DCDOptions{TimestepPS: -1}},
		{"too many titles", 1, DCDOptions{Title: make([]string, 32)}},
	}
	for _, c := range bad {
		path := filepath.Join(dir, "bad.dcd")
		if _, err := CreateDCD(path, c.natoms, c.opts); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}

	path := filepath.Join(dir, "w.dcd")
	long := strings.Repeat("é", 50) // 100 bytes: truncation must not split a rune
	w, err := CreateDCD(path, 2, DCDOptions{Title: []string{long, "a\nb"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(make([]float64, 5)); err == nil {
		t.Error("short frame accepted")
	}
	if err := w.WriteFrame([]float64{0, 0, 0, 0, math.NaN(), 0}); err == nil || !strings.Contains(err.Error(), "atom 1 y") {
		t.Errorf("NaN coordinate: %v", err)
	}
	if err := w.WriteFrame([]float64{0, 0, 1e39, 0, 0, 0}); err == nil {
		t.Error("coordinate beyond float32 accepted")
	}
	if err := w.WriteFrame(make([]float64, 6)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.WriteFrame(make([]float64, 6)); err == nil {
		t.Error("WriteFrame after Close succeeded")
	}
	r, got := readAllFile(t, path)
	if len(got) != 1 {
		t.Errorf("%d frames, want 1 (rejected frames must not be written)", len(got))
	}
	titles := r.Header().Titles
	if len(titles) != 3 || titles[1] != strings.Repeat("é", 40) || titles[2] != "a b" {
		t.Errorf("titles %q", titles)
	}
	if !strings.HasPrefix(titles[0], "REMARKS Created by flowmd on "+time.Now().UTC().Format("2006-01-02")[:4]) {
		t.Errorf("creation title %q", titles[0])
	}
}

// failingWriter is an io.WriteSeeker backed by memory that fails every
// write after the first budget bytes.
type failingWriter struct {
	data   []byte
	off    int64
	budget int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.budget {
		return 0, errors.New("disk full")
	}
	f.budget -= len(p)
	if need := int(f.off) + len(p); need > len(f.data) {
		f.data = append(f.data, make([]byte, need-len(f.data))...)
	}
	copy(f.data[f.off:], p)
	f.off += int64(len(p))
	return len(p), nil
}

func (f *failingWriter) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += f.off
	case io.SeekEnd:
		off += int64(len(f.data))
	}
	f.off = off
	return off, nil
}

func TestWriteErrorSticky(t *testing.T) {
	fw := &failingWriter{budget: 1000}
	w, err := NewDCDWriter(fw, 10, DCDOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 30)
	var first error
	for i := 0; i < 10 && first == nil; i++ {
		first = w.WriteFrame(x)
	}
	if first == nil || !strings.Contains(first.Error(), "disk full") || !strings.Contains(first.Error(), "dcd:") {
		t.Fatalf("first error: %v", first)
	}
	if err := w.WriteFrame(x); err != first {
		t.Errorf("second error %v, want the first one again", err)
	}
	if err := w.Close(); err != first {
		t.Errorf("Close = %v, want the write error", err)
	}
	// Whatever made it to "disk" is still a valid DCD.
	r, err := NewDCDReader(bytes.NewReader(fw.data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAll(); err != nil {
		t.Fatal(err)
	}
}

// TestWriterAtOffset writes a DCD after some unrelated bytes: the header
// patches must be relative to where the DCD starts.
func TestWriterAtOffset(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "embedded"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("prefix-")
	frames := randomFrames(rand.New(rand.NewPCG(11, 12)), 3, 2)
	w, err := NewDCDWriter(f, 2, DCDOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeFrames(t, w, frames)
	w.Close()
	if _, err := f.Seek(int64(len("prefix-")), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	r, err := NewDCDReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	checkFrames(t, got, frames)
	if r.Header().NSet != 3 {
		t.Errorf("NSet %d, want 3", r.Header().NSet)
	}
}

// dcdSpec describes a DCD for buildDCD, which encodes it independently of
// the writer so that reader tests can produce what the writer never does.
type dcdSpec struct {
	order     byteOrder // nil: little endian
	natoms    int
	version   int32 // ICNTRL[19]; set xplor for 0
	xplor     bool
	delta     float64 // AKMA
	nset      int32   // -1: len(frames)
	namnf     int32
	titles    []string
	cells     [][6]float64 // one per frame; non-nil sets the unit-cell flag
	dim4      bool
	frames    [][]float64
	istart    int32
	nsavc     int32
	cellValue int32 // value of the unit-cell flag when cells is set (default 1)
}

func buildDCD(s dcdSpec) []byte {
	o := s.order
	if o == nil {
		o = binary.LittleEndian
	}
	u32 := func(b []byte, v uint32) []byte { return o.AppendUint32(b, v) }
	var icntrl [20]uint32
	icntrl[0] = uint32(len(s.frames))
	if s.nset != 0 {
		icntrl[0] = uint32(s.nset)
	}
	icntrl[1], icntrl[2] = uint32(s.istart), uint32(s.nsavc)
	icntrl[8] = uint32(s.namnf)
	if s.xplor {
		bits := math.Float64bits(s.delta)
		var d [8]byte
		o.PutUint64(d[:], bits)
		icntrl[9], icntrl[10] = o.Uint32(d[:4]), o.Uint32(d[4:])
	} else {
		icntrl[9] = math.Float32bits(float32(s.delta))
		if s.cells != nil {
			icntrl[10] = 1
			if s.cellValue != 0 {
				icntrl[10] = uint32(s.cellValue)
			}
		}
		if s.dim4 {
			icntrl[11] = 1
		}
		icntrl[19] = 24
		if s.version != 0 {
			icntrl[19] = uint32(s.version)
		}
	}
	b := u32(nil, 84)
	b = append(b, "CORD"...)
	for _, v := range icntrl {
		b = u32(b, v)
	}
	b = u32(b, 84)
	tl := uint32(4 + 80*len(s.titles))
	b = u32(b, tl)
	b = u32(b, uint32(len(s.titles)))
	for _, t := range s.titles {
		b = append(b, (t + strings.Repeat(" ", 80))[:80]...)
	}
	b = u32(b, tl)
	b = u32(b, 4)
	b = u32(b, uint32(s.natoms))
	b = u32(b, 4)
	n := s.natoms
	for i, x := range s.frames {
		if s.cells != nil {
			b = u32(b, 48)
			for _, v := range s.cells[i] {
				b = o.AppendUint64(b, math.Float64bits(v))
			}
			b = u32(b, 48)
		}
		dims := 3
		if s.dim4 {
			dims = 4
		}
		for d := range dims {
			b = u32(b, uint32(4*n))
			for a := range n {
				v := float32(-1) // 4th dimension filler
				if d < 3 {
					v = float32(x[3*a+d])
				}
				b = u32(b, math.Float32bits(v))
			}
			b = u32(b, uint32(4*n))
		}
	}
	return b
}

func openBytes(t *testing.T, b []byte) (*DCDReader, [][]float64) {
	t.Helper()
	r, err := NewDCDReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	frames, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return r, frames
}

func TestReadBigEndian(t *testing.T) {
	frames := randomFrames(rand.New(rand.NewPCG(13, 14)), 3, 4)
	b := buildDCD(dcdSpec{order: binary.BigEndian, natoms: 4, delta: 1 / 48.88821, istart: 5, nsavc: 2, titles: []string{"* big endian"}, frames: frames})
	r, got := openBytes(t, b)
	checkFrames(t, got, frames)
	h := r.Header()
	if !h.BigEndian || h.FirstStep != 5 || h.StepInterval != 2 || h.NSet != 3 || h.Titles[0] != "* big endian" {
		t.Errorf("header %+v", h)
	}
	if math.Abs(h.TimestepPS-0.001) > 1e-9 {
		t.Errorf("TimestepPS %v, want 0.001", h.TimestepPS)
	}
}

func TestReadUnitCell(t *testing.T) {
	frames := randomFrames(rand.New(rand.NewPCG(15, 16)), 2, 3)
	cos := func(deg float64) float64 { return math.Cos(deg * math.Pi / 180) }
	cells := [][6]float64{
		{30, cos(120), 40, cos(90), cos(80), 50}, // cosines, as CHARMM c25+ and NAMD 2.5+ write
		{31, 120, 41, 90, 80, 51},                // degrees, as older writers do
	}
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		r, got := openBytes(t, buildDCD(dcdSpec{order: order, natoms: 3, cells: cells, frames: frames}))
		if !r.Header().HasUnitCell || r.NFrames() != 2 {
			t.Fatalf("%v: HasUnitCell %v, NFrames %d", order, r.Header().HasUnitCell, r.NFrames())
		}
		checkFrames(t, got, frames)

		r.SeekFrame(0)
		x := make([]float64, 9)
		for i, want := range []UnitCell{{30, 40, 50, 80, 90, 120}, {31, 41, 51, 80, 90, 120}} {
			if err := r.ReadFrame(x); err != nil {
				t.Fatal(err)
			}
			c, ok := r.UnitCell()
			if !ok || !cellNear(c, want) {
				t.Errorf("%v frame %d: cell %+v, want %+v", order, i, c, want)
			}
		}
	}
	// Any non-zero flag value means a unit cell (CHARMM writes 1, some
	// tools other values).
	r, got := openBytes(t, buildDCD(dcdSpec{natoms: 3, cells: cells, cellValue: 2, frames: frames}))
	checkFrames(t, got, frames)
	if !r.Header().HasUnitCell {
		t.Error("flag 2 not taken as unit cell")
	}
}

func cellNear(a, b UnitCell) bool {
	d := []float64{a.A - b.A, a.B - b.B, a.C - b.C, a.Alpha - b.Alpha, a.Beta - b.Beta, a.Gamma - b.Gamma}
	for _, v := range d {
		if math.Abs(v) > 1e-9 {
			return false
		}
	}
	return true
}

func TestReadXPLOR(t *testing.T) {
	frames := randomFrames(rand.New(rand.NewPCG(17, 18)), 2, 3)
	// DELTA as a float64 over ICNTRL[9..10]; its high word makes ICNTRL[10]
	// non-zero, which must not be mistaken for a unit-cell flag.
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		r, got := openBytes(t, buildDCD(dcdSpec{order: order, natoms: 3, xplor: true, delta: 0.5 / 48.88821, frames: frames}))
		checkFrames(t, got, frames)
		h := r.Header()
		if h.CharmmVersion != 0 || h.HasUnitCell || math.Abs(h.TimestepPS-0.0005) > 1e-15 {
			t.Errorf("%v: %+v", order, h)
		}
	}
}

func TestRead4D(t *testing.T) {
	frames := randomFrames(rand.New(rand.NewPCG(19, 20)), 3, 2)
	r, got := openBytes(t, buildDCD(dcdSpec{natoms: 2, dim4: true, frames: frames}))
	checkFrames(t, got, frames)
	if !r.Header().Has4D {
		t.Error("Has4D false")
	}
}

func TestNSetLargerThanFile(t *testing.T) {
	frames := randomFrames(rand.New(rand.NewPCG(21, 22)), 3, 2)
	b := buildDCD(dcdSpec{natoms: 2, nset: 10, frames: frames})
	b = b[:len(b)-5] // and the last frame is cut short
	r, got := openBytes(t, b)
	checkFrames(t, got, frames[:2])
	if r.NFrames() != 2 || r.Header().NSet != 10 {
		t.Errorf("NFrames %d, NSet %d; want 2, 10", r.NFrames(), r.Header().NSet)
	}
}

// namedReader gives a bytes.Reader a file name for error messages.
type namedReader struct {
	*bytes.Reader
	name string
}

func (n namedReader) Name() string { return n.name }

func TestReadErrors(t *testing.T) {
	good := buildDCD(dcdSpec{natoms: 22, frames: [][]float64{make([]float64, 66), make([]float64, 66), make([]float64, 66)}})
	const header = 116
	const frame = 12*22 + 24
	patch := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	eightByte := binary.LittleEndian.AppendUint64(nil, 84)
	eightByte = append(eightByte, "CORD"...)
	eightByte = append(eightByte, make([]byte, 200)...)
	veld := bytes.Clone(good)
	copy(veld[4:], "VELD")

	cases := []struct {
		name        string
		data        []byte
		openErr     string // substring of the error from NewDCDReader
		unsupported bool
		readErr     string // substring of the error from ReadAll
	}{
		{"empty", nil, "not a DCD file", false, ""},
		{"text", []byte(strings.Repeat("ATOM      1  N   ALA A   1\n", 10)), "not a DCD file", false, ""},
		{"8-byte markers", eightByte, "8-byte record markers", true, ""},
		{"velocities", veld, "VELD", true, ""},
		{"fixed atoms", patch(40, 3), "3 fixed atoms", true, ""},
		{"bad closing marker", patch(88, 85), "closing record marker 85, expected 84", false, ""},
		{"bad title marker", patch(92, 7), "record marker 7, expected 4+80*NTITLE", false, ""},
		{"huge title record", patch(92, 4+80*1000), "does not fit", false, ""},
		{"NTITLE mismatch", patch(96, 2), "NTITLE 2 does not match", false, ""},
		{"bad NATOM marker", patch(104, 5), "atom-count record", false, ""},
		{"zero atoms", patch(108, 0), "NATOM 0 out of range", false, ""},
		{"negative atoms", patch(108, 0xffffffff), "NATOM -1 out of range", false, ""},
		{"bad X marker", patch(header, 4000), "", false, "frame 0: X record marker 4000, expected 88 for 22 atoms"},
		{"bad Y closing marker", patch(header+frame+(4+88+4)+4+88, 12), "", false, "frame 1: Y record marker 12, expected 88 for 22 atoms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewDCDReader(namedReader{bytes.NewReader(c.data), "case.dcd"})
			if c.openErr != "" {
				if err == nil {
					t.Fatalf("opened; want error containing %q", c.openErr)
				}
				if !strings.Contains(err.Error(), c.openErr) || !strings.HasPrefix(err.Error(), "case.dcd: ") {
					t.Errorf("error %q, want case.dcd: ...%s...", err, c.openErr)
				}
				if errors.Is(err, errors.ErrUnsupported) != c.unsupported {
					t.Errorf("errors.Is(ErrUnsupported) = %v, want %v", !c.unsupported, c.unsupported)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.ReadAll()
			if err == nil || !strings.Contains(err.Error(), c.readErr) || !strings.HasPrefix(err.Error(), "case.dcd: ") {
				t.Errorf("ReadAll error %v, want case.dcd: ...%s", err, c.readErr)
			}
			// Retrying reports the same frame instead of silently skipping it.
			if _, err2 := r.ReadAll(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("retry: %v, want %v", err2, err)
			}
		})
	}
	if _, err := OpenDCD(filepath.Join(t.TempDir(), "missing.dcd")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestHugeNATOMNoAllocation: a header claiming the largest atom count with
// no frames behind it must neither fail nor allocate for that count.
func TestHugeNATOMNoAllocation(t *testing.T) {
	b := buildDCD(dcdSpec{natoms: maxAtoms})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := NewDCDReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	frames, err := r.ReadAll()
	runtime.ReadMemStats(&after)
	if err != nil || len(frames) != 0 || r.NFrames() != 0 || r.NAtoms() != maxAtoms {
		t.Fatalf("frames %d, NFrames %d, NAtoms %d, err %v", len(frames), r.NFrames(), r.NAtoms(), err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("allocated %d bytes for an empty trajectory", d)
	}
}

// TestMDTrajInterop has MDTraj, an independent reader (VMD's dcdplugin),
// read a trajectory of the dialanine system written by DCDWriter.
func TestMDTrajInterop(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import mdtraj").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import mdtraj (%v); CI installs python3-mdtraj", python, err)
		}
		t.Skipf("%s cannot import mdtraj (%v); apt-get install python3-mdtraj to run this test", python, err)
	}
	pdb, err := filepath.Abs("../data/systems/dialanine/dialanine.pdb")
	if err != nil {
		t.Fatal(err)
	}
	ref := readPDBCoords(t, pdb)
	natoms := len(ref) / 3
	if natoms != 22 {
		t.Fatalf("%s: %d atoms, want 22", pdb, natoms)
	}
	rng := rand.New(rand.NewPCG(23, 24))
	frames := make([][]float64, 5)
	for i := range frames {
		frames[i] = make([]float64, len(ref))
		for j, v := range ref {
			frames[i][j] = v + 0.3*rng.NormFloat64()
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dialanine.dcd")
	createDCD(t, path, natoms, DCDOptions{TimestepPS: 0.002, StepInterval: 500, Title: []string{"dialanine interop test"}}, frames)

	got := runCheckDCD(t, python, path, pdb)
	if got.NFrames != len(frames) || got.RawNFrames != len(frames) || got.NAtoms != natoms {
		t.Fatalf("MDTraj sees %d (raw %d) frames of %d atoms, want %d of %d", got.NFrames, got.RawNFrames, got.NAtoms, len(frames), natoms)
	}
	// The raw reader returns the stored float32 angstrom values: exact.
	checkFrames(t, flatten(got.RawXYZ), frames)
	// load_dcd converts to nm in float32; allow for that rounding.
	for i, f := range flatten(got.XYZ) {
		for j, v := range f {
			if w := frames[i][j]; math.Abs(v-w) > 1e-6*math.Max(1, math.Abs(w)) {
				t.Fatalf("frame %d value %d: MDTraj %v, wrote %v", i, j, v, w)
			}
		}
	}
	if got.UnitcellLengths != nil || got.UnitcellAngles != nil {
		t.Errorf("MDTraj found a unit cell in a file without one: %v %v", got.UnitcellLengths, got.UnitcellAngles)
	}
	t.Logf("MDTraj read %d frames of %d atoms; times %v (MDTraj does not read DCD timing)", got.NFrames, got.NAtoms, got.Time)

	// A file with unit-cell records (built by hand: the writer has none)
	// must give MDTraj and this reader the same box.
	cos := func(deg float64) float64 { return math.Cos(deg * math.Pi / 180) }
	cells := make([][6]float64, len(frames))
	for i := range cells {
		a, b, c := 30+float64(i), 31.5, 32.25
		cells[i] = [6]float64{a, cos(60 + float64(i)), b, cos(90), cos(109.47), c}
	}
	cellPath := filepath.Join(dir, "cell.dcd")
	os.WriteFile(cellPath, buildDCD(dcdSpec{natoms: natoms, cells: cells, frames: frames}), 0o644)
	got = runCheckDCD(t, python, cellPath, pdb)
	checkFrames(t, flatten(got.RawXYZ), frames)
	r, err := OpenDCD(cellPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	x := make([]float64, 3*natoms)
	if len(got.UnitcellLengths) != len(frames) || len(got.UnitcellAngles) != len(frames) {
		t.Fatalf("MDTraj unit cells: %v %v", got.UnitcellLengths, got.UnitcellAngles)
	}
	for i := range frames {
		if err := r.ReadFrame(x); err != nil {
			t.Fatal(err)
		}
		c, _ := r.UnitCell()
		mine := []float64{c.A, c.B, c.C, c.Alpha, c.Beta, c.Gamma}
		theirs := append(append([]float64{}, got.UnitcellLengths[i]...), got.UnitcellAngles[i]...)
		for k := range mine {
			// MDTraj's plugin passes the cell through float32.
			if math.Abs(mine[k]-theirs[k]) > 1e-4 {
				t.Errorf("frame %d cell %d: ours %v, MDTraj %v", i, k, mine, theirs)
				break
			}
		}
	}
}

type checkResult struct {
	NFrames         int           `json:"n_frames"`
	NAtoms          int           `json:"n_atoms"`
	RawNFrames      int           `json:"raw_n_frames"`
	XYZ             [][][]float64 `json:"xyz"`
	RawXYZ          [][][]float64 `json:"raw_xyz"`
	UnitcellLengths [][]float64   `json:"unitcell_lengths"`
	UnitcellAngles  [][]float64   `json:"unitcell_angles"`
	Time            []float64     `json:"time"`
}

func runCheckDCD(t *testing.T, python, dcd, pdb string) checkResult {
	t.Helper()
	cmd := exec.Command(python, "testdata/check_dcd.py", dcd, pdb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check_dcd.py %s: %v\n%s", dcd, err, stderr.Bytes())
	}
	var res checkResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("check_dcd.py output: %v\n%s", err, out)
	}
	return res
}

// flatten turns frames x atoms x 3 into frames x 3*atoms.
func flatten(f [][][]float64) [][]float64 {
	out := make([][]float64, len(f))
	for i, atoms := range f {
		for _, xyz := range atoms {
			out[i] = append(out[i], xyz...)
		}
	}
	return out
}

// readPDBCoords returns the ATOM/HETATM coordinates of a PDB file, in
// angstrom, atom by atom.
func readPDBCoords(t *testing.T, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var x []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "ATOM") && !strings.HasPrefix(line, "HETATM") {
			continue
		}
		if len(line) < 54 {
			t.Fatalf("%s: short line %q", path, line)
		}
		for _, field := range []string{line[30:38], line[38:46], line[46:54]} {
			v, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			x = append(x, v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return x
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestSync exercises the fsync path: the file must be the same as without.
func TestSync(t *testing.T) {
	frames := randomFrames(rand.New(rand.NewPCG(25, 26)), 3, 4)
	dir := t.TempDir()
	plain, synced := filepath.Join(dir, "plain.dcd"), filepath.Join(dir, "synced.dcd")
	createDCD(t, plain, 4, DCDOptions{Date: testDate}, frames)
	createDCD(t, synced, 4, DCDOptions{Date: testDate, Sync: true}, frames)
	a, _ := os.ReadFile(plain)
	b, _ := os.ReadFile(synced)
	if !bytes.Equal(a, b) {
		t.Error("Sync changed the file")
	}
}
