package dataset

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npz"
)

// Dataset is an open .npz file.
type Dataset struct {
	path string
	npz  *npz.Reader
	zip  *zip.ReadCloser
}

// Open opens an .npz for reading.
func Open(path string) (*Dataset, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a NumPy .npz archive: %w", path, err)
	}
	r, err := npz.Open(path)
	if err != nil {
		zr.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Dataset{path: path, npz: r, zip: zr}, nil
}

// Close closes the file.
func (d *Dataset) Close() error {
	err := d.npz.Close()
	if e := d.zip.Close(); err == nil {
		err = e
	}
	return err
}

// Names lists the arrays.
func (d *Dataset) Names() []string {
	var out []string
	for _, k := range d.npz.Keys() {
		out = append(out, strings.TrimSuffix(k, ".npy"))
	}
	return out
}

// Has reports whether the dataset holds an array.
func (d *Dataset) Has(name string) bool {
	for _, n := range d.Names() {
		if n == name {
			return true
		}
	}
	return false
}

// Shape returns an array's shape and dtype.
func (d *Dataset) Shape(name string) ([]int, string, error) {
	h := d.npz.Header(name + ".npy")
	if h == nil {
		return nil, "", fmt.Errorf("%s: no array %q (it holds %s)", d.path, name, strings.Join(d.Names(), ", "))
	}
	if h.Descr.Fortran {
		return nil, "", fmt.Errorf("%s: array %q is in Fortran order; save it with numpy.ascontiguousarray", d.path, name)
	}
	return h.Descr.Shape, strings.Trim(h.Descr.Type, `'"`), nil
}

// Float64 reads a numeric array (float64, float32 or integer) as float64.
func (d *Dataset) Float64(name string) ([]float64, []int, error) {
	shape, dtype, err := d.Shape(name)
	if err != nil {
		return nil, nil, err
	}
	n := size(shape)
	out := make([]float64, n)
	switch dtype {
	case "<f8", "f8":
		err = d.npz.Read(name+".npy", &out)
	case "<f4", "f4":
		x := make([]float32, n)
		err = d.npz.Read(name+".npy", &x)
		for i, v := range x {
			out[i] = float64(v)
		}
	case "<i8", "i8", "<i4", "i4":
		var ints []int64
		ints, _, err = d.Int64(name)
		for i, v := range ints {
			out[i] = float64(v)
		}
	default:
		return nil, nil, fmt.Errorf("%s: array %q has dtype %s, expected a number type", d.path, name, dtype)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: array %q: %w", d.path, name, err)
	}
	return out, shape, nil
}

// Int64 reads an integer array.
func (d *Dataset) Int64(name string) ([]int64, []int, error) {
	shape, dtype, err := d.Shape(name)
	if err != nil {
		return nil, nil, err
	}
	n := size(shape)
	out := make([]int64, n)
	switch dtype {
	case "<i8", "i8":
		err = d.npz.Read(name+".npy", &out)
	case "<i4", "i4":
		x := make([]int32, n)
		err = d.npz.Read(name+".npy", &x)
		for i, v := range x {
			out[i] = int64(v)
		}
	default:
		return nil, nil, fmt.Errorf("%s: array %q has dtype %s, expected integers", d.path, name, dtype)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: array %q: %w", d.path, name, err)
	}
	return out, shape, nil
}

// Strings reads a one-dimensional unicode array ('<U').
func (d *Dataset) Strings(name string) ([]string, error) {
	shape, dtype, err := d.Shape(name)
	if err != nil {
		return nil, err
	}
	width, err := strconv.Atoi(strings.TrimPrefix(dtype, "<U"))
	if !strings.HasPrefix(dtype, "<U") || err != nil || len(shape) != 1 || width < 1 {
		return nil, fmt.Errorf("%s: array %q has dtype %s and shape %v, expected a one-dimensional '<U' string array", d.path, name, dtype, shape)
	}
	raw, err := d.raw(name)
	if err != nil {
		return nil, err
	}
	if len(raw) != 4*width*shape[0] {
		return nil, fmt.Errorf("%s: array %q: %d bytes of data, expected %d", d.path, name, len(raw), 4*width*shape[0])
	}
	out := make([]string, shape[0])
	for i := range out {
		var b strings.Builder
		for k := 0; k < width; k++ {
			r := binary.LittleEndian.Uint32(raw[4*(i*width+k):])
			if r == 0 {
				break
			}
			b.WriteRune(rune(r))
		}
		out[i] = b.String()
	}
	return out, nil
}

// raw returns the data bytes of an array (after its NPY header).
func (d *Dataset) raw(name string) ([]byte, error) {
	for _, f := range d.zip.File {
		if f.Name != name+".npy" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		all, err := io.ReadAll(rc)
		if err != nil {
			return nil, err
		}
		if len(all) < 10 || string(all[:6]) != "\x93NUMPY" {
			return nil, fmt.Errorf("%s: array %q is not in NPY format", d.path, name)
		}
		var hlen, off int
		switch all[6] {
		case 1:
			hlen, off = int(binary.LittleEndian.Uint16(all[8:])), 10
		case 2, 3:
			if len(all) < 12 {
				return nil, errors.New("truncated NPY header")
			}
			hlen, off = int(binary.LittleEndian.Uint32(all[8:])), 12
		default:
			return nil, fmt.Errorf("%s: array %q: NPY version %d not supported", d.path, name, all[6])
		}
		if off+hlen > len(all) {
			return nil, fmt.Errorf("%s: array %q: truncated NPY header", d.path, name)
		}
		return all[off+hlen:], nil
	}
	return nil, fmt.Errorf("%s: no array %q", d.path, name)
}

// Coordinates reads the coordinates of one or more datasets, in order, as
// one set of frames: a system's runs (independent trajectories, replica
// ladders) pooled for training. Every file's frames must have the same
// number of coordinates; the error names the file that differs.
func Coordinates(paths ...string) (x []float64, frames, dim int, err error) {
	if len(paths) == 0 {
		return nil, 0, 0, errors.New("dataset: no files")
	}
	for _, path := range paths {
		d, err := Open(path)
		if err != nil {
			return nil, 0, 0, err
		}
		c, shape, err := d.Float64("coordinates")
		d.Close()
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		if len(shape) == 0 || shape[0] == 0 {
			return nil, 0, 0, fmt.Errorf("%s: coordinates hold no frames (shape %v)", path, shape)
		}
		n := len(c) / shape[0]
		if dim == 0 {
			dim = n
		} else if n != dim {
			return nil, 0, 0, fmt.Errorf("%s: frames of %d coordinates, those of %s have %d", path, n, paths[0], dim)
		}
		x = append(x, c...)
		frames += shape[0]
	}
	return x, frames, dim, nil
}

// EvenlySpaced returns m of the frames (rows of dim numbers) of x, evenly
// spaced through them, so that repeated evaluations see the same ones.
func EvenlySpaced(x []float64, frames, m, dim int) []float64 {
	out := make([]float64, 0, m*dim)
	for j := 0; j < m; j++ {
		f := j * frames / m
		out = append(out, x[f*dim:(f+1)*dim]...)
	}
	return out
}
