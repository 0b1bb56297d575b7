package engine

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteNPY writes data as a little-endian float64 NumPy array of the given
// shape, in format 1.0 exactly as numpy.save does (npyio writes only one- and
// two-dimensional arrays from Go slices; configurations are [B, N, 3]).
func WriteNPY(w io.Writer, shape []int, data []float64) error {
	n := 1
	dims := make([]string, len(shape))
	for i, s := range shape {
		n *= s
		dims[i] = fmt.Sprint(s)
	}
	if n != len(data) {
		return fmt.Errorf("npy: shape %v holds %d values, data has %d", shape, n, len(data))
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }", tuple)
	// Magic (6) + version (2) + length (2) + header + newline: a multiple of 64.
	header += strings.Repeat(" ", (64-(10+len(header)+1)%64)%64) + "\n"
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	var b [8]byte
	for _, v := range data {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}
