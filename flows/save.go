package flows

import (
	"encoding/json"
	"fmt"

	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/nn"
)

// formatTag names the layout of a saved generator; it changes when the
// layout does.
const formatTag = "flowmd-flow 1"

// Save writes the generator as an .npz that NumPy reads: its spec as JSON
// (array "spec"), every parameter under its own name with its shape (e.g.
// "block0.0.0.weight", in x out), and with optimizer the Adam moments and
// step count, so that training resumes exactly.
func (g *Generator) Save(path string, optimizer bool) error {
	spec, err := json.Marshal(g.Spec)
	if err != nil {
		return err
	}
	arrays := []dataset.Array{{Name: "format", Strings: []string{formatTag}}, {Name: "spec", Strings: []string{string(spec)}}}
	ps := g.Flow.Params
	for _, p := range ps.Params() {
		arrays = append(arrays, dataset.Array{Name: p.Name, Shape: p.Shape, Data: p.Of(ps.Values)})
	}
	if opt := g.Flow.Optimizer(); optimizer && opt != nil {
		arrays = append(arrays,
			dataset.Array{Name: "optimizer.m", Shape: []int{len(opt.M)}, Data: opt.M},
			dataset.Array{Name: "optimizer.v", Shape: []int{len(opt.V)}, Data: opt.V},
			dataset.Array{Name: "optimizer.step", Shape: []int{len(opt.T)}, Data: int64s(opt.T)})
	}
	return dataset.WriteArchive(path, arrays)
}

// Load reads a generator written by Save: it rebuilds it from the spec and
// sets every parameter, checking names and shapes.
func Load(path string) (*Generator, error) {
	d, err := dataset.Open(path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	format, err := d.Strings("format")
	if err != nil || len(format) != 1 || format[0] != formatTag {
		return nil, fmt.Errorf("%s: not a flowmd flow (no format %q)", path, formatTag)
	}
	spec, err := d.Strings("spec")
	if err != nil || len(spec) != 1 {
		return nil, fmt.Errorf("%s: no spec array", path)
	}
	var gs GeneratorSpec
	if err := json.Unmarshal([]byte(spec[0]), &gs); err != nil {
		return nil, fmt.Errorf("%s: spec: %w", path, err)
	}
	g, err := NewGenerator(gs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := g.LoadParams(d, path); err != nil {
		return nil, err
	}
	if d.Has("optimizer.m") {
		m, _, err1 := d.Float64("optimizer.m")
		v, _, err2 := d.Float64("optimizer.v")
		t, _, err3 := d.Float64("optimizer.step")
		if err1 != nil || err2 != nil || err3 != nil || len(m) != g.Flow.Params.Len() || len(v) != len(m) || len(t) != len(g.Flow.groups)+1 {
			return nil, fmt.Errorf("%s: the optimizer state does not fit the flow", path)
		}
		opt := nn.NewAdam(len(m), g.Flow.groups...)
		opt.M, opt.V = m, v
		for i, s := range t {
			opt.T[i] = int64(s)
		}
		if err := g.Flow.SetOptimizer(opt); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return g, nil
}

// LoadParams sets the generator's parameters from the arrays of an open
// archive of the same architecture.
func (g *Generator) LoadParams(d *dataset.Dataset, path string) error {
	ps := g.Flow.Params
	for _, p := range ps.Params() {
		vals, shape, err := d.Float64(p.Name)
		if err != nil {
			return fmt.Errorf("%s: parameter %s: %w", path, p.Name, err)
		}
		if fmt.Sprint(shape) != fmt.Sprint(p.Shape) {
			return fmt.Errorf("%s: parameter %s has shape %v, the flow needs %v", path, p.Name, shape, p.Shape)
		}
		copy(p.Of(ps.Values), vals)
	}
	return nil
}

func int64s(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
