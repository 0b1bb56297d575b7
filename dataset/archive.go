package dataset

import (
	"archive/zip"
	"fmt"
	"os"
)

// Array is one named array of an archive written at once: float64 numbers
// of a shape, or a one-dimensional array of strings.
type Array struct {
	Name    string
	Shape   []int
	Data    []float64
	Strings []string
}

// WriteArchive writes arrays as an .npz that numpy.load reads, atomically:
// to a temporary file, synced, then renamed over path, so that a crash
// leaves the previous file whole.
func WriteArchive(path string, arrays []Array) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	zw := zip.NewWriter(f)
	seen := map[string]bool{}
	for _, a := range arrays {
		if seen[a.Name] {
			return fail(fmt.Errorf("array %q given twice", a.Name))
		}
		seen[a.Name] = true
		entry, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name + ".npy", Method: zip.Store})
		if err != nil {
			return fail(err)
		}
		if a.Strings != nil {
			err = WriteStrings(entry, a.Strings)
		} else {
			err = WriteFloat64(entry, a.Shape, a.Data)
		}
		if err != nil {
			return fail(fmt.Errorf("array %s: %w", a.Name, err))
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
	return os.Rename(tmp, path)
}
