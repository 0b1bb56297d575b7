package engine

import (
	"fmt"
	"io"

	"github.com/flowmd/flowmd/data"
	"github.com/flowmd/flowmd/topology"
)

// SystemFiles name the inputs of a molecular system. With no PSF, the
// embedded default system is used: alanine dipeptide with the CHARMM36
// protein parameters.
type SystemFiles struct {
	PSF    string   // CHARMM PSF
	Params []string // PRM, RTF and STR files, read in order
}

// IsDefault reports whether the files name the embedded default system.
func (f SystemFiles) IsDefault() bool { return f.PSF == "" }

// embeddedPrefix marks the names of embedded files in messages.
const embeddedPrefix = "embedded:"

// LoadTopology reads the PSF and the parameter files.
func LoadTopology(f SystemFiles) (*topology.PSF, *topology.Parameters, error) {
	if f.IsDefault() {
		if len(f.Params) > 0 {
			return nil, nil, fmt.Errorf("parameter files given without a PSF: give --psf too, or neither for the embedded dialanine")
		}
		return loadEmbedded()
	}
	if len(f.Params) == 0 {
		return nil, nil, fmt.Errorf("no parameter files for %s: give at least one PRM or STR file", f.PSF)
	}
	psf, err := topology.ReadPSFFile(f.PSF)
	if err != nil {
		return nil, nil, err
	}
	params, err := topology.ReadParameterFiles(f.Params...)
	if err != nil {
		return nil, nil, err
	}
	return psf, params, nil
}

func loadEmbedded() (*topology.PSF, *topology.Parameters, error) {
	psf, err := readFS(data.DefaultPSF, func(r io.Reader, name string) (*topology.PSF, error) { return topology.ReadPSF(r, name) })
	if err != nil {
		return nil, nil, err
	}
	params := topology.NewParameters()
	_, err = readFS(data.DefaultParams, func(r io.Reader, name string) (struct{}, error) {
		return struct{}{}, topology.ReadParameters(r, name, params)
	})
	if err != nil {
		return nil, nil, err
	}
	params.Files = append(params.Files, embeddedPrefix+data.DefaultParams)
	return psf, params, nil
}

func readFS[T any](name string, read func(io.Reader, string) (T, error)) (T, error) {
	var zero T
	f, err := data.FS().Open(name)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	return read(f, embeddedPrefix+name)
}

// LoadSystem reads and parameterizes a system.
func LoadSystem(f SystemFiles) (*topology.System, error) {
	psf, params, err := LoadTopology(f)
	if err != nil {
		return nil, err
	}
	name := f.PSF
	if f.IsDefault() {
		name = embeddedPrefix + data.DefaultPSF
	}
	sys, err := topology.Assign(psf, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return sys, nil
}

// DefaultCoordinates returns the coordinates of the embedded default system
// (its energy-minimized structure).
func DefaultCoordinates() (*topology.Structure, error) {
	return readFS(data.DefaultPDB, topology.ReadPDB)
}
