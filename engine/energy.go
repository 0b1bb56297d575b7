package engine

import (
	"context"
	"fmt"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/topology"
)

// EnergyJob evaluates the CHARMM energy of configurations of a system.
type EnergyJob struct {
	System SystemFiles
	// Coords names a PDB, CRD or .npy file; "" means the embedded default
	// structure, which requires the default system.
	Coords  string
	Options charmm.Options
	Kernel  string
	Forces  bool
}

// EnergyResult holds the energies of a batch.
type EnergyResult struct {
	Model     *charmm.Model
	AtomNames []string
	Batch     *forcefields.Batch
	Source    string
	Renamed   int
}

// ConfigEnergy is one configuration's energies as `mdrun energy --json`
// writes them.
type ConfigEnergy struct {
	Configuration int                `json:"configuration"`
	EnergyTerms   map[string]float64 `json:"energy_terms"`
	TotalEnergy   float64            `json:"total_energy"`
	Forces        [][3]float64       `json:"forces,omitempty"`
}

// LoadJobSystem reads the system and the configurations of a job.
func LoadJobSystem(sf SystemFiles, coords string) (*topology.System, *Configurations, error) {
	sys, err := LoadSystem(sf)
	if err != nil {
		return nil, nil, err
	}
	var confs *Configurations
	switch {
	case coords != "":
		confs, err = LoadConfigurations(coords, sys.PSF)
	case sf.IsDefault():
		var s *topology.Structure
		if s, err = DefaultCoordinates(); err == nil {
			confs, err = FromStructure(s, sys.PSF)
		}
	default:
		err = fmt.Errorf("no coordinates: give a PDB, CRD or .npy file")
	}
	if err != nil {
		return nil, nil, err
	}
	return sys, confs, nil
}

// Run evaluates the energies.
func (j *EnergyJob) Run(ctx context.Context) (*EnergyResult, error) {
	sys, confs, err := LoadJobSystem(j.System, j.Coords)
	if err != nil {
		return nil, err
	}
	m, err := charmm.New(sys, j.Options, j.Kernel)
	if err != nil {
		return nil, err
	}
	b := forcefields.NewBatch(m, confs.Count, j.Forces, true)
	copy(b.Coords, confs.X)
	if err := m.Evaluate(ctx, b); err != nil {
		return nil, fmt.Errorf("%s: %w", confs.Source, err)
	}
	names := make([]string, len(sys.Atoms))
	for i, a := range sys.Atoms {
		names[i] = a.Name
	}
	return &EnergyResult{Model: m, AtomNames: names, Batch: b, Source: confs.Source, Renamed: confs.Renamed}, nil
}

// Configurations returns the result one configuration at a time.
func (r *EnergyResult) Configurations() []ConfigEnergy {
	terms := r.Model.Terms()
	dim := r.Model.Dim()
	out := make([]ConfigEnergy, r.Batch.Size())
	for c := range out {
		ce := ConfigEnergy{Configuration: c, EnergyTerms: map[string]float64{}, TotalEnergy: r.Batch.Energy[c]}
		for k, name := range terms {
			ce.EnergyTerms[name] = r.Batch.Terms[c*len(terms)+k]
		}
		if r.Batch.Forces != nil {
			f := r.Batch.Forces[c*dim : (c+1)*dim]
			ce.Forces = make([][3]float64, dim/3)
			for i := range ce.Forces {
				ce.Forces[i] = [3]float64{f[3*i], f[3*i+1], f[3*i+2]}
			}
		}
		out[c] = ce
	}
	return out
}
