package builtin

// The loss plugin serves every loss of package losses, chosen and shaped by
// options, through the protocol as a user's loss plugin would be.
//
// Options (all strings):
//
//	name         ml, klx, klz_df, klx_bw, renyi, pl2_gb, pl2_cb, l2plus, sinkhorn,
//	             force_matching
//	weights      klz_df: softmax (default), standardized, clamped or none
//	temperature  klz_df with standardized weights (default 1)
//	mask, importance   pl2_gb: true/false (default both true)
//	epsilon, iterations, data_free   sinkhorn (defaults 0.01, 256, false)
//	klx_bw: the modes whose fractions the weights steer:
//	  cv         dihedral (atoms a,b,c,d, 0-based; degrees in [0, 360)) or
//	             coordinate (index i)
//	  atoms, index   as above
//	  edges      the mode boundaries, e.g. "120,240" (the thesis' butane)
//	  targets    the target fraction of each mode, e.g. "0.145,0.71,0.145"
//	  adaptive   true for the multiplicative weights of eq. 30

import (
	"fmt"
	"math"
	"strings"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/losses"
	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

type lossProvider struct{}

func (lossProvider) Configure(o map[string]string) (losses.Loss, error) { return Loss(o) }

// known lists each loss's options.
var lossOptions = map[string][]string{
	"ml": nil, "klx": nil, "renyi": nil, "l2plus": nil, "force_matching": nil,
	"klz_df":   {"weights", "temperature"},
	"pl2_gb":   {"mask", "importance"},
	"pl2_cb":   nil,
	"sinkhorn": {"epsilon", "iterations", "data_free"},
	"klx_bw":   {"cv", "atoms", "index", "edges", "targets", "adaptive"},
}

// Loss builds the loss the options describe.
func Loss(o map[string]string) (losses.Loss, error) {
	name := o["name"]
	opts, ok := lossOptions[name]
	if !ok {
		return nil, fmt.Errorf("option name=%q: expected ml, klx, klz_df, klx_bw, renyi, pl2_gb, pl2_cb, l2plus, sinkhorn or force_matching", name)
	}
	for k := range o {
		if k != "name" && !contains(opts, k) {
			return nil, fmt.Errorf("option %q does not apply to loss %s (it takes %s)", k, name, strings.Join(append([]string{"name"}, opts...), ", "))
		}
	}
	p := parser{o: o}
	var l losses.Loss
	switch name {
	case "ml":
		l = losses.MaximumLikelihood{}
	case "klx":
		l = losses.ReverseKL{}
	case "renyi":
		l = losses.Renyi{}
	case "l2plus":
		l = losses.L2Plus{}
	case "force_matching":
		l = losses.ForceMatching{}
	case "pl2_cb":
		l = losses.PairCB{}
	case "klz_df":
		l = losses.DataFreeKLz{Weights: o["weights"], Temperature: p.float("temperature", 1)}
		if err := losses.CheckWeights(o["weights"]); err != nil {
			return nil, fmt.Errorf("option weights: %w", err)
		}
	case "pl2_gb":
		l = losses.PairGB{Mask: p.boolDefault("mask", true), Weights: p.boolDefault("importance", true)}
	case "sinkhorn":
		l = losses.Sinkhorn{Epsilon: p.float("epsilon", 0), Iterations: p.int("iterations", 0), DataFree: p.boolDefault("data_free", false)}
	case "klx_bw":
		mode, err := modeFunction(o, &p)
		if err != nil {
			return nil, err
		}
		targets := p.floats("targets")
		if p.err == nil && len(targets) != len(p.floats("edges"))+1 {
			return nil, fmt.Errorf("option targets: %d edges make %d modes, got %d targets", len(p.floats("edges")), len(p.floats("edges"))+1, len(targets))
		}
		l = &losses.ReweightedKLx{Mode: mode, Targets: targets, Adaptive: p.boolDefault("adaptive", false)}
	}
	if p.err != nil {
		return nil, p.err
	}
	return l, nil
}

// modeFunction classifies configurations by a collective variable cut at
// the edges.
func modeFunction(o map[string]string, p *parser) (func([]float64) int, error) {
	edges := p.floats("edges")
	if p.err != nil {
		return nil, p.err
	}
	if len(edges) == 0 {
		return nil, fmt.Errorf("option edges: the mode boundaries are needed")
	}
	var cv func([]float64) float64
	switch o["cv"] {
	case "dihedral":
		a := p.ints("atoms")
		if p.err != nil || len(a) != 4 {
			return nil, fmt.Errorf("option atoms=%q: expected four 0-based atom indices", o["atoms"])
		}
		cv = func(x []float64) float64 {
			d := analysis.Dihedral(x, a[0], a[1], a[2], a[3]) * 180 / math.Pi
			if d < 0 {
				d += 360
			}
			return d
		}
	case "coordinate":
		i := p.int("index", -1)
		if p.err != nil || i < 0 {
			return nil, fmt.Errorf("option index=%q: expected a coordinate index", o["index"])
		}
		cv = func(x []float64) float64 { return x[i] }
	default:
		return nil, fmt.Errorf("option cv=%q: expected dihedral or coordinate", o["cv"])
	}
	return func(x []float64) int {
		v := cv(x)
		if math.IsNaN(v) {
			return -1
		}
		m := 0
		for m < len(edges) && v >= edges[m] {
			m++
		}
		return m
	}, nil
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// ServeLoss runs the loss plugin.
func ServeLoss() {
	plugins.ServeLoss(&pluginpb.PluginInfo{
		Name:        "flowmd-loss",
		Version:     Version,
		Description: "the thesis' losses (ml, klx, klz_df, klx_bw, renyi, pl2_gb, l2plus, sinkhorn)",
	}, lossProvider{})
}
