package dataset

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Writer builds an .npz dataset frame by frame.
type Writer struct {
	path   string // the .npz
	parts  string // folder of the raw part files
	arrays map[string]*array
	order  []string
	static map[string][]string
}

type array struct {
	dtype string
	frame []int // shape of one frame; the array is [frames, frame...]
	file  *os.File
	buf   *bufio.Writer
	n     int // frames written
	tmp   []byte
}

// Create starts a dataset at path (an .npz). Its part files live in the
// folder path+".parts" until Close removes them. With resume, existing part
// files are kept and later cut to a frame count by Truncate; otherwise any
// previous parts are discarded.
func Create(path string, resume bool) (*Writer, error) {
	w := &Writer{path: path, parts: path + ".parts", arrays: map[string]*array{}, static: map[string][]string{}}
	if !resume {
		if err := os.RemoveAll(w.parts); err != nil {
			return nil, err
		}
	}
	_, partsErr := os.Stat(w.parts)
	if err := os.MkdirAll(w.parts, 0o755); err != nil {
		return nil, err
	}
	if resume && os.IsNotExist(partsErr) {
		// A finished run removed its parts; extending it starts from
		// the archive's arrays.
		if err := w.partsFromArchive(); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// partsFromArchive writes the numeric arrays of the existing archive back
// to part files.
func (w *Writer) partsFromArchive() error {
	d, err := Open(w.path)
	if err != nil {
		if os.IsNotExist(errors.Unwrap(err)) {
			return nil
		}
		return err
	}
	defer d.Close()
	for _, name := range d.Names() {
		if _, dtype, err := d.Shape(name); err != nil || (dtype != Float64 && dtype != Int64) {
			continue
		}
		raw, err := d.raw(name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(w.parts, name+".raw"), raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Define declares an array whose frames have shape frame, of dtype Float64
// or Int64.
func (w *Writer) Define(name, dtype string, frame ...int) error {
	if _, dup := w.arrays[name]; dup {
		return fmt.Errorf("dataset: array %q defined twice", name)
	}
	if dtype != Float64 && dtype != Int64 {
		return fmt.Errorf("dataset: array %q: unsupported dtype %s", name, dtype)
	}
	f, err := os.OpenFile(filepath.Join(w.parts, name+".raw"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	a := &array{dtype: dtype, frame: frame, file: f}
	a.n = int(st.Size() / int64(8*size(frame)))
	if _, err := f.Seek(int64(a.n*8*size(frame)), io.SeekStart); err != nil {
		f.Close()
		return err
	}
	a.buf = bufio.NewWriterSize(f, 1<<16)
	w.arrays[name] = a
	w.order = append(w.order, name)
	return nil
}

// Strings sets a one-dimensional string array written as it is, such as the
// names of the energy terms.
func (w *Writer) Strings(name string, values []string) {
	w.static[name] = append([]string(nil), values...)
}

// Append adds one frame of a Float64 array.
func (w *Writer) Append(name string, frame []float64) error {
	a, err := w.get(name, Float64, len(frame))
	if err != nil {
		return err
	}
	a.tmp = a.tmp[:0]
	for _, v := range frame {
		a.tmp = binary.LittleEndian.AppendUint64(a.tmp, math.Float64bits(v))
	}
	if _, err := a.buf.Write(a.tmp); err != nil {
		return err
	}
	a.n++
	return nil
}

// AppendInt adds one frame of an Int64 array.
func (w *Writer) AppendInt(name string, frame []int64) error {
	a, err := w.get(name, Int64, len(frame))
	if err != nil {
		return err
	}
	a.tmp = a.tmp[:0]
	for _, v := range frame {
		a.tmp = binary.LittleEndian.AppendUint64(a.tmp, uint64(v))
	}
	if _, err := a.buf.Write(a.tmp); err != nil {
		return err
	}
	a.n++
	return nil
}

func (w *Writer) get(name, dtype string, n int) (*array, error) {
	a, ok := w.arrays[name]
	if !ok {
		return nil, fmt.Errorf("dataset: no array %q", name)
	}
	if a.dtype != dtype || n != size(a.frame) {
		return nil, fmt.Errorf("dataset: array %q holds %s frames of %d values, got %s with %d", name, a.dtype, size(a.frame), dtype, n)
	}
	return a, nil
}

// Frames returns the number of frames of the arrays (the smallest, if they
// differ).
func (w *Writer) Frames() int {
	n := -1
	for _, a := range w.arrays {
		if n < 0 || a.n < n {
			n = a.n
		}
	}
	return max(n, 0)
}

// Truncate cuts every array back to its first frames frames.
func (w *Writer) Truncate(frames int) error {
	for name, a := range w.arrays {
		if err := a.buf.Flush(); err != nil {
			return err
		}
		if frames > a.n {
			return fmt.Errorf("dataset: array %q has %d frames, cannot keep %d", name, a.n, frames)
		}
		end := int64(frames * 8 * size(a.frame))
		if err := a.file.Truncate(end); err != nil {
			return err
		}
		if _, err := a.file.Seek(end, io.SeekStart); err != nil {
			return err
		}
		a.n = frames
	}
	return nil
}

// Flush writes the .npz with every frame appended so far: to a temporary
// file first, synced, then renamed over the previous archive.
func (w *Writer) Flush() error {
	frames := w.Frames()
	tmp := w.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	zw := zip.NewWriter(f)
	for _, name := range w.order {
		a := w.arrays[name]
		if err := a.buf.Flush(); err != nil {
			return fail(err)
		}
		entry, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		if err != nil {
			return fail(err)
		}
		if _, err := entry.Write(npyHeader(a.dtype, append([]int{frames}, a.frame...))); err != nil {
			return fail(err)
		}
		if _, err := io.Copy(entry, io.NewSectionReader(a.file, 0, int64(frames*8*size(a.frame)))); err != nil {
			return fail(err)
		}
	}
	names := make([]string, 0, len(w.static))
	for name := range w.static {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		entry, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		if err != nil {
			return fail(err)
		}
		if err := WriteStrings(entry, w.static[name]); err != nil {
			return fail(err)
		}
	}
	if err := zw.Close(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, w.path)
}

// Close flushes the dataset and removes the part files.
func (w *Writer) Close() error {
	if err := w.Flush(); err != nil {
		return err
	}
	return w.discardParts()
}

// Abandon closes the part files without writing the archive, keeping them
// for a resumed run.
func (w *Writer) Abandon() error {
	var first error
	for _, a := range w.arrays {
		if err := a.buf.Flush(); err != nil && first == nil {
			first = err
		}
		if err := a.file.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (w *Writer) discardParts() error {
	for _, a := range w.arrays {
		a.file.Close()
	}
	return os.RemoveAll(w.parts)
}
