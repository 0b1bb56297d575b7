package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmd/flowmd/topology"
)

func readPDBCoords(t *testing.T) []float64 {
	t.Helper()
	s, err := topology.ReadCoordinates(filepath.Join(dataDir, "systems/dialanine/dialanine.pdb"))
	if err != nil {
		t.Fatal(err)
	}
	return s.Models[0]
}

// writeNPY writes a little-endian float64 array of the given shape exactly
// as numpy.save does (format 1.0, header padded to 64 bytes), independently
// of the npyio library the engine reads it with.
func writeNPY(t *testing.T, path string, shape []int, x []float64) {
	t.Helper()
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = fmt.Sprint(s)
	}
	header := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }", strings.Join(dims, ", "))
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	var buf bytes.Buffer
	buf.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&buf, binary.LittleEndian, uint16(len(header)))
	buf.WriteString(header)
	binary.Write(&buf, binary.LittleEndian, x)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
