package engine

import (
	"errors"

	"github.com/flowmd/flowmd/data"
	"github.com/flowmd/flowmd/topology"
)

// TopologyReport summarizes a parameterized system, or lists the parameters
// it lacks.
type TopologyReport struct {
	PSF      string           `json:"psf"`
	Params   []string         `json:"parameter_files"`
	Counts   *topology.Counts `json:"counts,omitempty"`
	Backbone []NamedDihedral  `json:"backbone_dihedrals,omitempty"`
	Missing  []MissingTerm    `json:"missing_parameters,omitempty"`
	PSFTerms map[string]int   `json:"psf_terms"`
}

// NamedDihedral is a dihedral with 1-based atom numbers and names.
type NamedDihedral struct {
	Name  string    `json:"name"`
	Atoms [4]int    `json:"atoms"` // 1-based, as in the PSF
	Names [4]string `json:"atom_names"`
}

// MissingTerm is a term without parameters, with 1-based atom numbers.
type MissingTerm struct {
	Kind  string   `json:"kind"`
	Atoms []int    `json:"atoms"`
	Names []string `json:"atom_names"`
	Types []string `json:"atom_types"`
}

// DescribeTopology reads a system and reports its sizes. Missing parameters
// are not an error here: they are the report. Unreadable files are.
func DescribeTopology(f SystemFiles) (*TopologyReport, error) {
	psf, params, err := LoadTopology(f)
	if err != nil {
		return nil, err
	}
	rep := &TopologyReport{PSF: f.PSF, Params: params.Files}
	if f.IsDefault() {
		rep.PSF = embeddedPrefix + data.DefaultPSF
	}
	rep.PSFTerms = map[string]int{
		"atoms": len(psf.Atoms), "bonds": len(psf.Bonds), "angles": len(psf.Angles),
		"dihedrals": len(psf.Dihedrals), "impropers": len(psf.Impropers), "cmap": len(psf.CrossTerms),
	}
	sys, err := topology.Assign(psf, params)
	var missing *topology.MissingParametersError
	if errors.As(err, &missing) {
		for _, m := range missing.Missing {
			t := MissingTerm{Kind: m.Kind, Names: m.Names, Types: m.Types}
			for _, a := range m.Atoms {
				t.Atoms = append(t.Atoms, a+1)
			}
			rep.Missing = append(rep.Missing, t)
		}
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	c := sys.Counts()
	rep.Counts = &c
	for _, d := range sys.Graph.BackboneDihedrals(sys.PSF) {
		nd := NamedDihedral{Name: d.Name}
		for i, a := range d.Atoms {
			nd.Atoms[i] = a + 1
			nd.Names[i] = sys.Atoms[a].Name
		}
		rep.Backbone = append(rep.Backbone, nd)
	}
	return rep, nil
}
