package plugins

import (
	"github.com/flowmd/flowmd/data"
	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/topology"
)

// flowsDefaultDialanine builds in process what flowmd-flow builds for
// {system: default, blocks: 2, hidden: 16, placer_hidden: 32, seed}.
func flowsDefaultDialanine(seed int) (*flows.Generator, error) {
	f, err := data.FS().Open(data.DefaultPSF)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	psf, err := topology.ReadPSF(f, data.DefaultPSF)
	if err != nil {
		return nil, err
	}
	p, err := data.FS().Open(data.DefaultPDB)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	s, err := topology.ReadPDB(p, data.DefaultPDB)
	if err != nil {
		return nil, err
	}
	gs, err := flows.MoleculeSpec(psf, s.Models[0], true, flows.Spec{Blocks: 2, Hidden: 16, Layers: 1, Sigma: 1, Seed: uint64(seed)})
	if err != nil {
		return nil, err
	}
	gs.PlacerHidden = 32
	return flows.NewGenerator(gs)
}
