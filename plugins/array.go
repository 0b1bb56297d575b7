package plugins

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// littleEndian is true where float64s are laid out in memory as the
// protocol sends them, so that arrays cross as one memory copy.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// asBytes views a []float64 as its bytes (little-endian machines only).
func asBytes(v []float64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v))
}

// NewArray packs values of the given shape into an Array.
func NewArray(shape []int, values []float64) *pluginpb.Array {
	a := &pluginpb.Array{Shape: make([]int64, len(shape)), Data: make([]byte, 8*len(values))}
	for i, s := range shape {
		a.Shape[i] = int64(s)
	}
	if littleEndian {
		copy(a.Data, asBytes(values))
		return a
	}
	for i, v := range values {
		binary.LittleEndian.PutUint64(a.Data[8*i:], math.Float64bits(v))
	}
	return a
}

// ArrayValues unpacks an Array into dst (allocated when nil or too short),
// checking its size against the shape and, when want is not nil, the shape
// against want (-1 matches any extent).
func ArrayValues(a *pluginpb.Array, want []int, dst []float64) ([]float64, error) {
	if a == nil {
		return nil, fmt.Errorf("array missing")
	}
	n := 1
	for _, s := range a.Shape {
		if s < 0 {
			return nil, fmt.Errorf("array of shape %v", a.Shape)
		}
		n *= int(s)
	}
	if len(a.Data) != 8*n {
		return nil, fmt.Errorf("array of shape %v holds %d bytes, expected %d", a.Shape, len(a.Data), 8*n)
	}
	if want != nil {
		ok := len(want) == len(a.Shape)
		for i := 0; ok && i < len(want); i++ {
			ok = want[i] < 0 || int64(want[i]) == a.Shape[i]
		}
		if !ok {
			return nil, fmt.Errorf("array of shape %v, expected %v", a.Shape, want)
		}
	}
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	if littleEndian {
		copy(asBytes(dst), a.Data)
		return dst, nil
	}
	for i := range dst {
		dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(a.Data[8*i:]))
	}
	return dst, nil
}
