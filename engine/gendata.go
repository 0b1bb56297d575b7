package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// GenDataJob makes a reference dataset by replica exchange: Langevin
// dynamics or Monte Carlo on a temperature ladder, equilibration, then the
// lowest-temperature walker of each ladder recorded every Thin moves until
// Samples frames per ladder are in the dataset.
type GenDataJob struct {
	System         SystemConfig
	ForceField     ForceFieldConfig
	Method         string  // "langevin" or "mc"; default langevin for molecules, mc for analytic models
	Temperature    float64 // lowest rung: K, or kT for analytic models; default 300 K or 1
	MaxTemperature float64 // highest rung; default twice Temperature
	Rungs          int     // default 8
	Ladders        int     // independent ladders; default 1
	Samples        int     // frames per ladder
	Thin           int64   // moves between samples; default 100
	Equilibration  int64   // moves; default 10 Thin
	SwapEvery      int     // moves between swap attempts; default 100 (langevin) or 10 (mc)
	Seed           uint64
	Out            string // the .npz to write
	Modes          string // see ModeSetFor; default auto
}

// GenDataResult is what gendata reports.
type GenDataResult struct {
	Summary       *Summary
	ModeFractions []ModeFractionReport
	Frames        int
	Dataset       string
}

// Config returns the run config the job amounts to.
func (j *GenDataJob) Config() (*Config, error) {
	if j.Samples < 1 {
		return nil, fmt.Errorf("gendata: samples %d must be at least 1", j.Samples)
	}
	if !strings.HasSuffix(j.Out, ".npz") {
		return nil, fmt.Errorf("gendata: the output %q must be an .npz file", j.Out)
	}
	analytic := j.System.Analytic != ""
	method := j.Method
	if method == "" {
		method = "langevin"
		if analytic {
			method = "mc"
		}
	}
	t := j.Temperature
	if t == 0 {
		t = 300
		if analytic {
			t = 1
		}
	}
	tmax := j.MaxTemperature
	if tmax == 0 {
		tmax = 2 * t
	}
	rungs, ladders, thin := j.Rungs, j.Ladders, j.Thin
	if rungs == 0 {
		rungs = 8
	}
	if ladders == 0 {
		ladders = 1
	}
	if thin == 0 {
		thin = 100
	}
	equil := j.Equilibration
	if equil == 0 {
		equil = 10 * thin
	}
	equil -= equil % thin // records fall on multiples of thin after it
	swap := j.SwapEvery
	var moves []MoveConfig
	switch method {
	case "langevin":
		if swap == 0 {
			swap = 100
		}
		moves = []MoveConfig{{Type: MoveLangevin, Count: swap, Friction: 5}}
	case "mc":
		if swap == 0 {
			swap = 10
		}
		group := 3
		if analytic {
			group = 0
		}
		moves = []MoveConfig{{Type: MoveRandomWalk, Count: swap, Group: group}}
	default:
		return nil, fmt.Errorf("gendata: method %q: expected langevin or mc", j.Method)
	}
	moves = append(moves, MoveConfig{Type: MoveReplicaExchange})
	dir, file := filepath.Split(j.Out)
	if dir == "" {
		dir = "."
	}
	return &Config{
		System: j.System, ForceField: j.ForceField,
		Ladder:  LadderConfig{Min: t, Max: tmax, Rungs: rungs},
		Walkers: ladders, Seed: j.Seed, Moves: moves,
		Steps: equil + int64(j.Samples)*thin, Equilibration: equil,
		Output: OutputConfig{Dir: filepath.Clean(dir), Prefix: strings.TrimSuffix(file, ".npz"), Dataset: thin,
			Log: thin * int64(max(1, j.Samples/100)), Record: "lowest"},
	}, nil
}

// Run makes the dataset and computes its mode fractions.
func (j *GenDataJob) Run(ctx context.Context, progress func(Progress)) (*GenDataResult, error) {
	cfg, err := j.Config()
	if err != nil {
		return nil, err
	}
	r, err := NewRun(ctx, cfg, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	sum, err := r.Execute(ctx, progress, 250*time.Millisecond)
	if err != nil {
		return nil, err
	}
	res := &GenDataResult{Summary: sum, Dataset: j.Out}
	modes := j.Modes
	if modes == "" {
		modes = "auto"
	}
	set, err := ModeSetFor(modes, r.System, r.Model)
	if err != nil {
		return nil, err
	}
	if set != nil {
		res.ModeFractions, res.Frames, err = DatasetModeFractions(j.Out, set)
		if err != nil {
			return nil, err
		}
		sum.ModeFractions = res.ModeFractions
	}
	return res, nil
}
