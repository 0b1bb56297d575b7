package builtin

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// analyticProvider serves the analytic benchmark energies of
// forcefields/analytic (double wells, DW4, LJ13, Gaussian mixtures, phi^4)
// with exact gradients. Options: model (a name from analytic.Names()), and
// the model's numeric parameters, such as dim=12.
type analyticProvider struct{}

func (analyticProvider) Configure(options map[string]string) (forcefields.Model, []float64, string, error) {
	name := options["model"]
	if name == "" {
		return nil, nil, "", fmt.Errorf("option model is required: one of %v", analytic.Names())
	}
	params := map[string]float64{}
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "model" {
			continue
		}
		v, err := strconv.ParseFloat(options[k], 64)
		if err != nil {
			return nil, nil, "", fmt.Errorf("option %s=%q: expected a number", k, options[k])
		}
		params[k] = v
	}
	m, err := analytic.New(name, params)
	if err != nil {
		return nil, nil, "", err
	}
	plugins.Logger("flowmd-analytic").Info("configured", "model", name, "dim", m.Dim())
	return m, nil, "reduced", nil
}

// ServeAnalytic runs the analytic force-field plugin.
func ServeAnalytic() {
	plugins.ServeForceField(&pluginpb.PluginInfo{
		Name:        "flowmd-analytic",
		Version:     Version,
		Description: "analytic benchmark energies: double wells, DW4, LJ13, Gaussian mixtures, phi^4",
	}, analyticProvider{})
}
