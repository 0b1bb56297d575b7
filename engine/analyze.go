package engine

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/topology"
	"github.com/flowmd/flowmd/trajectory"
)

// AnalyzeJob analyzes frames from an .npz dataset or a DCD trajectory:
// mode fractions with error bars, dihedral and energy histograms, and PNG
// plots of them.
type AnalyzeJob struct {
	Input  string       // .npz or .dcd
	System SystemConfig // PSF and parameters (or analytic model) the frames are of; default the embedded dialanine
	Modes  string       // see ModeSetFor; default auto
	Plots  string       // folder for PNG plots; none when empty
}

// AnalyzeResult is what analyze reports.
type AnalyzeResult struct {
	Input         string               `json:"input"`
	Frames        int                  `json:"frames"`
	ModeSet       string               `json:"mode_set,omitempty"`
	ModeFractions []ModeFractionReport `json:"mode_fractions,omitempty"`
	MeanEnergy    float64              `json:"mean_energy,omitempty"`
	// Sampling is how fast the frames explored (autocorrelation time of
	// the slow coordinate, mode switches per energy evaluation, the run's
	// acceptance); nil without a slow coordinate or for a trajectory.
	Sampling *SamplingReport `json:"sampling,omitempty"`
	Plots    []string        `json:"plots,omitempty"`
}

// Run performs the analysis.
func (j *AnalyzeJob) Run() (*AnalyzeResult, error) {
	var sys *topology.System
	var model forcefields.Model
	if j.System.Analytic != "" {
		m, err := analytic.New(j.System.Analytic, j.System.AnalyticParams)
		if err != nil {
			return nil, err
		}
		model = m
	} else {
		s, err := LoadSystem(SystemFiles{PSF: j.System.PSF, Params: j.System.Params})
		if err != nil {
			return nil, err
		}
		sys = s
	}
	dim := 0
	if sys != nil {
		dim = 3 * sys.NumAtoms()
	} else {
		dim = model.Dim()
	}
	res := &AnalyzeResult{Input: j.Input}
	frames, energies, path, err := j.frames(dim)
	if err != nil {
		return nil, err
	}
	res.Frames = len(frames) / dim
	modes := j.Modes
	if modes == "" {
		modes = "auto"
	}
	set, err := ModeSetFor(modes, sys, model)
	if err != nil {
		return nil, err
	}
	if set != nil {
		res.ModeSet = set.Name
		if res.ModeFractions, _, err = DatasetModeFractions(path, set); err != nil {
			return nil, err
		}
		if path == j.Input {
			if res.Sampling, err = DatasetSampling(path, set); err != nil {
				return nil, err
			}
		}
	}
	if len(energies) > 0 {
		for _, e := range energies {
			res.MeanEnergy += e / float64(len(energies))
		}
	}
	if j.Plots != "" {
		if err := os.MkdirAll(j.Plots, 0o755); err != nil {
			return nil, err
		}
		base := strings.TrimSuffix(filepath.Base(j.Input), filepath.Ext(j.Input))
		if res.Plots, err = j.plot(base, sys, set, frames, energies, dim); err != nil {
			return nil, err
		}
	}
	if path != j.Input {
		os.Remove(path)
	}
	return res, nil
}

// frames reads the input; a DCD is converted to a temporary dataset so
// that one code path computes mode fractions.
func (j *AnalyzeJob) frames(dim int) (x, energies []float64, path string, err error) {
	if strings.EqualFold(filepath.Ext(j.Input), ".dcd") {
		r, err := trajectory.OpenDCD(j.Input)
		if err != nil {
			return nil, nil, "", err
		}
		defer r.Close()
		if 3*r.NAtoms() != dim {
			return nil, nil, "", fmt.Errorf("%s has %d atoms, the system %d", j.Input, r.NAtoms(), dim/3)
		}
		all, err := r.ReadAll()
		if err != nil {
			return nil, nil, "", err
		}
		tmp, err := os.CreateTemp("", "flowmd-analyze-*.npz")
		if err != nil {
			return nil, nil, "", err
		}
		tmp.Close()
		w, err := dataset.Create(tmp.Name(), false)
		if err != nil {
			return nil, nil, "", err
		}
		if err := w.Define("coordinates", dataset.Float64, dim/3, 3); err != nil {
			return nil, nil, "", err
		}
		for _, f := range all {
			x = append(x, f...)
			if err := w.Append("coordinates", f); err != nil {
				return nil, nil, "", err
			}
		}
		if err := w.Close(); err != nil {
			return nil, nil, "", err
		}
		return x, nil, tmp.Name(), nil
	}
	d, err := dataset.Open(j.Input)
	if err != nil {
		return nil, nil, "", err
	}
	defer d.Close()
	x, shape, err := d.Float64("coordinates")
	if err != nil {
		return nil, nil, "", err
	}
	if len(shape) < 2 || len(x)/max(1, shape[0]) != dim {
		return nil, nil, "", fmt.Errorf("%s: coordinates of shape %v do not match the system's %d coordinates", j.Input, shape, dim)
	}
	if d.Has("energy") {
		if energies, _, err = d.Float64("energy"); err != nil {
			return nil, nil, "", err
		}
	}
	return x, energies, j.Input, nil
}

func (j *AnalyzeJob) plot(base string, sys *topology.System, set *analysis.ModeSet, x, energies []float64, dim int) ([]string, error) {
	var out []string
	save := func(name string, err error) error {
		if err == nil {
			out = append(out, name)
		}
		return err
	}
	if set != nil {
		series := make([][]float64, len(set.CVs))
		for k, cv := range set.CVs {
			s, err := analysis.EvalCV(x, dim, cv)
			if err != nil {
				return nil, err
			}
			series[k] = s
		}
		if len(set.CVs) == 2 && sys != nil {
			p := filepath.Join(j.Plots, base+".ramachandran.png")
			if err := save(p, analysis.PlotRamachandran(series[0], series[1], nil, "Ramachandran: "+base, p)); err != nil {
				return nil, err
			}
		}
		for k, cv := range set.CVs {
			vals := series[k]
			xlabel := cv.Name
			if cv.Periodic {
				vals = make([]float64, len(series[k]))
				for i, v := range series[k] {
					vals[i] = v * 180 / math.Pi
				}
				xlabel += " (deg)"
			}
			p := filepath.Join(j.Plots, fmt.Sprintf("%s.%s.png", base, sanitize(cv.Name)))
			if err := save(p, analysis.PlotHistogram([]analysis.Series{{Name: base, Values: vals}}, 90, xlabel, cv.Name+" distribution", p)); err != nil {
				return nil, err
			}
		}
	}
	if len(energies) > 0 {
		p := filepath.Join(j.Plots, base+".energy.png")
		if err := save(p, analysis.PlotHistogram([]analysis.Series{{Name: base, Values: energies}}, 60, "potential energy", "energy distribution", p)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' || r == ':' {
			return '_'
		}
		return r
	}, s)
}
