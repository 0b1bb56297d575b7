package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowmd/flowmd/analysis"
	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/integrators"
)

// SamplingReport says how fast a run explored: how long its slow
// coordinate stays correlated, and how often its chains change mode per
// unit of cost (energy evaluations), which compares samplers of different
// kinds (dynamics, Monte Carlo, replica exchange, flow proposals) fairly.
type SamplingReport struct {
	// CV is the slow coordinate: the first collective variable of the mode
	// set (dialanine's phi, butane's dihedral, a double well's x0).
	CV string `json:"cv"`
	// IACTFrames is the integrated autocorrelation time of the CV in
	// frames, the mean over the dataset's chains (slots); IACTSteps is the
	// same in steps of the run.
	IACTFrames float64 `json:"iact_frames"`
	IACTSteps  float64 `json:"iact_steps,omitempty"`
	// IACTTooShort counts the chains too short for a reliable estimate
	// (their estimate is a lower bound).
	IACTTooShort int `json:"iact_too_short,omitempty"`
	Chains       int `json:"chains"`
	// Switches counts changes of mode between consecutive frames of a chain
	// (frames in no mode keep the last one).
	Switches int64 `json:"mode_switches"`
	// Evaluations is the number of energy evaluations over the frames'
	// span (all walkers, including replica-exchange rungs not recorded); 0
	// for datasets that do not record it.
	Evaluations        int64   `json:"energy_evaluations,omitempty"`
	SwitchesPerMillion float64 `json:"switches_per_million_evaluations,omitempty"`
	// Moves are the run's moves with their acceptance, from the dataset's
	// provenance file when it is next to it.
	Moves []integrators.MoveStats `json:"moves,omitempty"`
}

// DatasetSampling computes the sampling report of a dataset for a mode set.
func DatasetSampling(path string, set *analysis.ModeSet) (*SamplingReport, error) {
	if set == nil || len(set.CVs) == 0 {
		return nil, fmt.Errorf("%s: no slow coordinate known for this system (give --modes)", path)
	}
	d, err := dataset.Open(path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	x, shape, err := d.Float64("coordinates")
	if err != nil {
		return nil, err
	}
	if len(shape) < 2 || shape[0] < 2 {
		return nil, fmt.Errorf("%s: fewer than two frames", path)
	}
	n := shape[0]
	frameSize := len(x) / n
	column := func(name string) ([]int64, error) {
		if !d.Has(name) {
			return nil, nil
		}
		v, _, err := d.Int64(name)
		if err == nil && len(v) != n {
			err = fmt.Errorf("%s: %s has %d entries for %d frames", path, name, len(v), n)
		}
		return v, err
	}
	slots, err := column("slot")
	if err != nil {
		return nil, err
	}
	steps, err := column("step")
	if err != nil {
		return nil, err
	}
	evals, err := column("energy_evaluations")
	if err != nil {
		return nil, err
	}
	values := make([][]float64, len(set.CVs))
	for k, cv := range set.CVs {
		if values[k], err = analysis.EvalCV(x, frameSize, cv); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	rep := &SamplingReport{CV: set.CVs[0].Name}
	order, bySlot := chains(slots, n)
	var stepSpacing float64
	cvs := make([]float64, len(set.CVs))
	for _, s := range order {
		frames := bySlot[s]
		series := make([]float64, len(frames))
		mode := -1
		for i, f := range frames {
			series[i] = values[0][f]
			for k := range cvs {
				cvs[k] = values[k][f]
			}
			if m := set.Classify(cvs); m >= 0 {
				if mode >= 0 && m != mode {
					rep.Switches++
				}
				mode = m
			}
		}
		if len(series) < 2 {
			continue
		}
		tau, err := analysis.IntegratedAutocorrelationTime(series)
		if errors.Is(err, analysis.ErrTooShort) {
			rep.IACTTooShort++
		} else if err != nil {
			return nil, fmt.Errorf("%s, chain %d: %w", path, s, err)
		}
		rep.IACTFrames += tau
		rep.Chains++
		if steps != nil && stepSpacing == 0 {
			stepSpacing = float64(steps[frames[len(frames)-1]]-steps[frames[0]]) / float64(len(frames)-1)
		}
	}
	if rep.Chains == 0 {
		return nil, fmt.Errorf("%s: no chain has two frames", path)
	}
	rep.IACTFrames /= float64(rep.Chains)
	rep.IACTSteps = rep.IACTFrames * stepSpacing
	if evals != nil {
		lo, hi := evals[0], evals[0]
		for _, e := range evals {
			lo, hi = min(lo, e), max(hi, e)
		}
		rep.Evaluations = hi - lo
		if rep.Evaluations > 0 {
			rep.SwitchesPerMillion = float64(rep.Switches) / float64(rep.Evaluations) * 1e6
		}
	}
	rep.Moves = provenanceMoves(path)
	return rep, nil
}

// provenanceMoves reads the move statistics from the provenance file a
// run writes next to its dataset (PREFIX.provenance.json for PREFIX.npz);
// nil when there is none.
func provenanceMoves(path string) []integrators.MoveStats {
	raw, err := os.ReadFile(strings.TrimSuffix(path, filepath.Ext(path)) + ".provenance.json")
	if err != nil {
		return nil
	}
	var prov struct {
		Summary struct {
			Moves []integrators.MoveStats `json:"moves"`
		} `json:"summary"`
	}
	if json.Unmarshal(raw, &prov) != nil {
		return nil
	}
	return prov.Summary.Moves
}
