package builtin

// The flow plugin serves the thesis' coupling flows (or rational-quadratic
// spline flows) with, for molecules, the deterministic hydrogen placer. A
// flow configured here is trained by the trainer and proposes moves in the
// sampler through the same protocol as any user's flow.
//
// Options (all strings):
//
//	load          a flow saved by Save (.npz): every other option is ignored
//	dim           coordinates of a flow on plain numbers (the double wells)
//	psf           a molecule's PSF instead of dim; with it:
//	coords        its reference structure (PDB or CRD): where hydrogens start
//	              and where a fresh flow is centred
//	system        "default": the embedded dialanine and its structure
//	hydrogens     place (default: the flow generates the heavy atoms and a
//	              network places the hydrogens) or generate (all atoms)
//	data          a dataset (.npz with "coordinates") whose mean and
//	              standard deviation standardize the generated coordinates
//	blocks        groups of four coupling blocks (default 8)
//	hidden        width of the coupling networks (default 64)
//	layers        hidden layers of the coupling networks (default 1)
//	transform     affine (default) or spline; bins, bound, periodic (a
//	              comma-separated list of coordinate indices) shape splines
//	householder   reflections after each group (default 0)
//	scale         true adds a trainable diagonal scaling and bias
//	sigma         standard deviation of the Gaussian base (default 1)
//	precision     float64 (default) or float32 networks
//	seed          of the initial parameters (default 1)
//	placer_hidden, placer_layers   shape of the hydrogen placer (512, 2)

import (
	"fmt"

	"github.com/flowmd/flowmd/engine"
	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/plugins/pluginpb"
	"github.com/flowmd/flowmd/topology"
)

type flowProvider struct{}

func (flowProvider) Configure(o map[string]string) (plugins.FlowModel, error) {
	if path := o["load"]; path != "" {
		return flows.Load(path)
	}
	gs, err := FlowSpec(o)
	if err != nil {
		return nil, err
	}
	return flows.NewGenerator(gs)
}

// known lists the options, so that a misspelt one is an error, not a
// silently ignored setting.
var flowOptions = map[string]bool{"load": true, "system": true, "dim": true, "psf": true, "coords": true, "hydrogens": true, "data": true,
	"blocks": true, "hidden": true, "layers": true, "transform": true, "bins": true, "bound": true, "periodic": true,
	"householder": true, "scale": true, "sigma": true, "precision": true, "seed": true, "placer_hidden": true, "placer_layers": true}

// FlowSpec turns the flow plugin's options into a generator spec.
func FlowSpec(o map[string]string) (flows.GeneratorSpec, error) {
	for k := range o {
		if !flowOptions[k] {
			return flows.GeneratorSpec{}, fmt.Errorf("unknown option %q", k)
		}
	}
	p := parser{o: o}
	sp := flows.Spec{
		Dim: p.int("dim", 0), Blocks: p.int("blocks", 8), Hidden: p.int("hidden", 64), Layers: p.int("layers", 1),
		Transform: o["transform"], Bins: p.int("bins", 0), Bound: p.float("bound", 0), Periodic: p.ints("periodic"),
		Householder: p.int("householder", 0), Scale: p.boolDefault("scale", false), Sigma: p.float("sigma", 1),
		Precision: o["precision"], Seed: uint64(p.int("seed", 1)),
	}
	placerHidden, placerLayers := p.int("placer_hidden", 0), p.int("placer_layers", 0)
	if p.err != nil {
		return flows.GeneratorSpec{}, p.err
	}
	var gs flows.GeneratorSpec
	switch {
	case o["psf"] != "" || o["coords"] != "" || o["system"] == "default":
		if sp.Dim != 0 {
			return gs, fmt.Errorf("give dim or psf, not both")
		}
		// The topology only: which atoms are hydrogens and where they bond.
		var psf *topology.PSF
		var err error
		if o["psf"] == "" {
			psf, _, err = engine.LoadTopology(engine.SystemFiles{})
		} else {
			psf, err = topology.ReadPSFFile(o["psf"])
		}
		if err != nil {
			return gs, err
		}
		var confs *engine.Configurations
		switch {
		case o["coords"] != "":
			confs, err = engine.LoadConfigurations(o["coords"], psf)
		case o["psf"] == "":
			// The embedded dialanine and its minimized structure.
			if s, e := engine.DefaultCoordinates(); e != nil {
				err = e
			} else {
				confs, err = engine.FromStructure(s, psf)
			}
		default:
			err = fmt.Errorf("option coords: the reference structure of %s (PDB or CRD) is needed", o["psf"])
		}
		if err != nil {
			return gs, err
		}
		place, sample := true, false
		switch o["hydrogens"] {
		case "", "place":
		case "sample":
			sample = true
		case "generate":
			place = false
		default:
			return gs, fmt.Errorf("option hydrogens=%q: expected place, sample or generate", o["hydrogens"])
		}
		if gs, err = flows.MoleculeSpec(psf, confs.X[:3*len(psf.Atoms)], place, sp); err != nil {
			return gs, err
		}
		gs.Stochastic = sample && len(gs.Placed) > 0
	case sp.Dim > 0:
		gs = flows.GeneratorSpec{Flow: sp}
	default:
		return gs, fmt.Errorf("give dim (a flow on plain coordinates), psf and coords (a molecule) or system=default (dialanine)")
	}
	gs.PlacerHidden, gs.PlacerLayers = placerHidden, placerLayers
	if paths := o["data"]; paths != "" {
		x, frames, err := readCoordinates("data", paths)
		if err != nil {
			return gs, err
		}
		if err := gs.FitStandardization(x, frames, 1e-3); err != nil {
			return gs, fmt.Errorf("option data: %s: %w", paths, err)
		}
	}
	return gs, nil
}

// ServeFlow runs the flow plugin.
func ServeFlow() {
	plugins.ServeFlow(&pluginpb.PluginInfo{
		Name:        "flowmd-flow",
		Version:     Version,
		Description: "the thesis' coupling flows and spline flows, with the hydrogen placer for molecules",
	}, flowProvider{})
}
