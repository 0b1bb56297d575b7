package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"codeberg.org/sbinet/npyio"

	"github.com/flowmd/flowmd/topology"
)

// Configurations are B configurations of one system, stored flat as the
// energy interface wants them: B*N*3 coordinates in angstrom.
type Configurations struct {
	Source string
	X      []float64
	Count  int
	// Renamed counts the atoms whose names in a PDB or CRD differ from the
	// PSF's (PDB versus CHARMM naming) but whose elements agree.
	Renamed int
}

// LoadConfigurations reads configurations for psf from a PDB (one or several
// models), a CHARMM CRD, or a NumPy .npy array of shape [B, N, 3], [N, 3] or
// [B, 3N] in angstrom (float64 or float32).
func LoadConfigurations(path string, psf *topology.PSF) (*Configurations, error) {
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ReadNPYConfigurations(f, path, len(psf.Atoms))
	}
	s, err := topology.ReadCoordinates(path)
	if err != nil {
		return nil, err
	}
	return FromStructure(s, psf)
}

// FromStructure matches a structure read from a coordinate file to psf and
// flattens its models.
func FromStructure(s *topology.Structure, psf *topology.PSF) (*Configurations, error) {
	renamed, err := s.Match(psf)
	if err != nil {
		return nil, err
	}
	c := &Configurations{Source: s.File, Count: len(s.Models), Renamed: renamed}
	for _, m := range s.Models {
		c.X = append(c.X, m...)
	}
	return c, nil
}

// ReadNPYConfigurations reads a NumPy array of configurations of natoms
// atoms.
func ReadNPYConfigurations(r io.Reader, name string, natoms int) (*Configurations, error) {
	rd, err := npyio.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not a NumPy .npy file: %w", name, err)
	}
	h := rd.Header.Descr
	if h.Fortran {
		return nil, fmt.Errorf("%s: the array is in Fortran order; save it with numpy.ascontiguousarray", name)
	}
	count := 0
	switch shape := h.Shape; {
	case len(shape) == 3 && shape[1] == natoms && shape[2] == 3:
		count = shape[0]
	case len(shape) == 2 && shape[0] == natoms && shape[1] == 3:
		count = 1
	case len(shape) == 2 && shape[1] == 3*natoms:
		count = shape[0]
	default:
		return nil, fmt.Errorf("%s: array of shape %v, expected [B, %d, 3], [%d, 3] or [B, %d] for the %d atoms of the PSF", name, shape, natoms, natoms, 3*natoms, natoms)
	}
	c := &Configurations{Source: name, Count: count}
	// npyio keeps the quotes of the header's descr string.
	switch strings.Trim(h.Type, `'"`) {
	case "<f8", "f8", "float64":
		c.X = make([]float64, count*3*natoms)
		err = rd.Read(&c.X)
	case "<f4", "f4", "float32":
		x := make([]float32, count*3*natoms)
		err = rd.Read(&x)
		c.X = make([]float64, len(x))
		for i, v := range x {
			c.X[i] = float64(v)
		}
	default:
		return nil, fmt.Errorf("%s: array of type %s, expected little-endian float64 (<f8) or float32 (<f4)", name, h.Type)
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: file ends before the %d values its header announces", name, count*3*natoms)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// ReadNPYFile reads configurations of dimension dim from a .npy file of
// shape [B, dim] or [dim] (float64 or float32), for analytic models.
func ReadNPYFile(path string, dim int) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := npyio.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a NumPy .npy file: %w", path, err)
	}
	shape := rd.Header.Descr.Shape
	n := 1
	for _, s := range shape {
		n *= s
	}
	if len(shape) == 0 || shape[len(shape)-1] != dim || len(shape) > 2 || rd.Header.Descr.Fortran {
		return nil, fmt.Errorf("%s: array of shape %v, expected [B, %d] or [%d] in C order", path, shape, dim, dim)
	}
	var x []float64
	switch strings.Trim(rd.Header.Descr.Type, `'"`) {
	case "<f8", "f8":
		x = make([]float64, n)
		err = rd.Read(&x)
	case "<f4", "f4":
		y := make([]float32, n)
		err = rd.Read(&y)
		x = make([]float64, n)
		for i, v := range y {
			x[i] = float64(v)
		}
	default:
		return nil, fmt.Errorf("%s: array of type %s, expected float64 or float32", path, rd.Header.Descr.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}
