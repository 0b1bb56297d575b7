package builtin

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flowmd/flowmd/engine"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/integrators"
	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// charmmProvider serves the CHARMM energy of a PSF system: the engine's own
// kernel in another process. It measures what the plugin boundary costs,
// and lets a config run CHARMM through the same path as any plugin.
// Options: psf, params (comma-separated), and optionally cutoff, switch,
// dielectric.
type charmmProvider struct{}

func (charmmProvider) Configure(options map[string]string) (forcefields.Model, []float64, string, error) {
	files := engine.SystemFiles{PSF: options["psf"]}
	if p := options["params"]; p != "" {
		files.Params = strings.Split(p, ",")
	}
	sys, err := engine.LoadSystem(files)
	if err != nil {
		return nil, nil, "", err
	}
	var o charmm.Options
	for key, dst := range map[string]*float64{"cutoff": &o.Cutoff, "switch": &o.SwitchDistance, "dielectric": &o.Dielectric} {
		if s, ok := options[key]; ok {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, nil, "", fmt.Errorf("option %s=%q: expected a number", key, s)
			}
			*dst = v
		}
	}
	m, err := charmm.New(sys, o, "")
	if err != nil {
		return nil, nil, "", err
	}
	return m, integrators.AtomMasses(sys.Masses()), "md", nil
}

// ServeCharmm runs the CHARMM force-field plugin.
func ServeCharmm() {
	plugins.ServeForceField(&pluginpb.PluginInfo{
		Name:        "flowmd-charmm",
		Version:     Version,
		Description: "the CHARMM36 energy of a PSF system (options psf, params, cutoff, switch, dielectric)",
	}, charmmProvider{})
}
