package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/topology"
)

// EnergyBenchJob measures the energy kernel: configurations per second for
// energies and forces in batches, and the latency of one configuration.
type EnergyBenchJob struct {
	System   SystemFiles
	Coords   string
	Options  charmm.Options
	Kernel   string
	Batch    int
	Duration time.Duration // per measurement; 0 means 2 s
}

// EnergyBench is what `mdrun bench energy` reports.
type EnergyBench struct {
	System           string          `json:"system"`
	Kernel           string          `json:"kernel"`
	Atoms            int             `json:"atoms"`
	Counts           topology.Counts `json:"term_counts"`
	NonbondedPairs   int             `json:"nonbonded_pairs"`
	Cutoff           float64         `json:"cutoff_angstrom"`
	Batch            int             `json:"batch"`
	Workers          int             `json:"workers"`
	ConfigsPerSecond float64         `json:"configs_per_second"`
	BatchSeconds     float64         `json:"batch_seconds"`
	SingleMicros     float64         `json:"single_config_microseconds"`
	SinglePerSecond  float64         `json:"single_configs_per_second"`
	CPU              string          `json:"cpu"`
	GoVersion        string          `json:"go_version"`
}

// Run performs the measurement. The batch holds copies of the given
// configurations perturbed by 0.02 A Gaussian noise, so that no two are the
// same.
func (j *EnergyBenchJob) Run(ctx context.Context) (*EnergyBench, error) {
	if j.Batch < 1 {
		return nil, fmt.Errorf("batch %d: must be at least 1", j.Batch)
	}
	dur := j.Duration
	if dur == 0 {
		dur = 2 * time.Second
	}
	sys, confs, err := LoadJobSystem(j.System, j.Coords)
	if err != nil {
		return nil, err
	}
	m, err := charmm.New(sys, j.Options, j.Kernel)
	if err != nil {
		return nil, err
	}
	dim := m.Dim()
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(b *forcefields.Batch) {
		for c := 0; c < b.Size(); c++ {
			src := confs.X[(c%confs.Count)*dim : (c%confs.Count+1)*dim]
			for i, v := range src {
				b.Coords[c*dim+i] = v + 0.02*rng.NormFloat64()
			}
		}
	}
	big := forcefields.NewBatch(m, j.Batch, true, false)
	fill(big)
	one := forcefields.NewBatch(m, 1, true, false)
	fill(one)

	batchTime, err := timeCalls(ctx, m, big, dur)
	if err != nil {
		return nil, err
	}
	singleTime, err := timeCalls(ctx, m, one, dur)
	if err != nil {
		return nil, err
	}
	name := j.System.PSF
	if j.System.IsDefault() {
		name = "embedded dialanine"
	}
	return &EnergyBench{
		System: name, Kernel: m.Kernel(), Atoms: sys.NumAtoms(), Counts: sys.Counts(),
		NonbondedPairs: m.Plan().NumPairs(), Cutoff: m.Plan().Options.Cutoff,
		Batch: j.Batch, Workers: m.Workers(),
		ConfigsPerSecond: float64(j.Batch) / batchTime.Seconds(), BatchSeconds: batchTime.Seconds(),
		SingleMicros: float64(singleTime.Nanoseconds()) / 1e3, SinglePerSecond: 1 / singleTime.Seconds(),
		CPU: cpuName(), GoVersion: runtime.Version(),
	}, nil
}

// timeCalls evaluates b repeatedly for about d after a short warm-up and
// returns the median time of one call: robust to the occasional pause of a
// shared machine.
func timeCalls(ctx context.Context, m forcefields.Model, b *forcefields.Batch, d time.Duration) (time.Duration, error) {
	warm := time.Now()
	for time.Since(warm) < d/10 {
		if err := m.Evaluate(ctx, b); err != nil {
			return 0, err
		}
	}
	// Calls are timed in groups long enough for the clock's resolution.
	var samples []time.Duration
	start := time.Now()
	group := 1
	for time.Since(start) < d || len(samples) < 5 {
		t0 := time.Now()
		for k := 0; k < group; k++ {
			if err := m.Evaluate(ctx, b); err != nil {
				return 0, err
			}
		}
		el := time.Since(t0)
		if el < 200*time.Microsecond && group < 1<<20 {
			group *= 2
			continue
		}
		samples = append(samples, el/time.Duration(group))
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
	slices.Sort(samples)
	return samples[len(samples)/2], nil
}

// cpuName returns the processor model from /proc/cpuinfo, or GOARCH.
func cpuName() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
