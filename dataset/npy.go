package dataset

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Dtypes of the arrays the package writes.
const (
	Float64 = "<f8"
	Int64   = "<i8"
)

// npyHeader returns the NPY 1.0 header of an array of dtype and shape, padded
// so that the data starts at a multiple of 64 bytes, as numpy.save does.
func npyHeader(dtype string, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = fmt.Sprint(s)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", dtype, tuple)
	dict += strings.Repeat(" ", (64-(10+len(dict)+1)%64)%64) + "\n"
	out := []byte("\x93NUMPY\x01\x00")
	out = binary.LittleEndian.AppendUint16(out, uint16(len(dict)))
	return append(out, dict...)
}

// WriteFloat64 writes a float64 array of the given shape as a .npy stream.
func WriteFloat64(w io.Writer, shape []int, data []float64) error {
	if n := size(shape); n != len(data) {
		return fmt.Errorf("npy: shape %v holds %d values, got %d", shape, n, len(data))
	}
	if _, err := w.Write(npyHeader(Float64, shape)); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, data)
}

// WriteStrings writes a one-dimensional array of unicode strings, whose
// dtype is as wide as the longest one ('<U<width>', UTF-32 code points).
func WriteStrings(w io.Writer, values []string) error {
	width := 1
	for _, s := range values {
		width = max(width, utf8.RuneCountInString(s))
	}
	if _, err := w.Write(npyHeader(fmt.Sprintf("<U%d", width), []int{len(values)})); err != nil {
		return err
	}
	buf := make([]byte, 0, 4*width*len(values))
	for _, s := range values {
		n := 0
		for _, r := range s {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(r))
			n++
		}
		for ; n < width; n++ {
			buf = binary.LittleEndian.AppendUint32(buf, 0)
		}
	}
	_, err := w.Write(buf)
	return err
}

func size(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}
