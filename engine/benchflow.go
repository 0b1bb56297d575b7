package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/flowmd/flowmd/flows"
	"github.com/flowmd/flowmd/nn"
)

// FlowBenchJob measures a flow: training steps per second (sample,
// forward with log-determinant, backward, Adam), and the throughput of
// sampling and of density evaluation (the inverse pass).
type FlowBenchJob struct {
	Spec     flows.Spec    // the flow; Dim is the number of coordinates
	Batch    int           // training batch
	Sample   int           // batch of the sampling and density measurements
	Duration time.Duration // per measurement; 0 means 3 s
}

// FlowBench is what `mdrun bench flow` reports.
type FlowBench struct {
	Dim                int     `json:"dim"`
	Blocks             int     `json:"blocks"`
	Hidden             int     `json:"hidden"`
	Transform          string  `json:"transform"`
	Precision          string  `json:"precision"`
	Parameters         int     `json:"parameters"`
	Batch              int     `json:"batch"`
	TrainingSteps      int     `json:"training_steps"`
	TrainingStepsPerS  float64 `json:"training_steps_per_second"`
	SampleBatch        int     `json:"sample_batch"`
	SamplesPerSecond   float64 `json:"samples_per_second"`
	DensitiesPerSecond float64 `json:"densities_per_second"`
	BLAS               string  `json:"blas"`
	BLASNote           string  `json:"blas_note,omitempty"`
	Threads            int     `json:"threads"`
	CPU                string  `json:"cpu"`
	GoVersion          string  `json:"go_version"`
	OpenBLASCoretype   string  `json:"openblas_coretype,omitempty"`
	OpenBLASL2Size     string  `json:"openblas_l2_size,omitempty"`
}

// Run performs the measurements.
func (j *FlowBenchJob) Run(ctx context.Context) (*FlowBench, error) {
	if j.Batch < 1 || j.Sample < 1 {
		return nil, fmt.Errorf("bench flow: batch %d and sample batch %d must be at least 1", j.Batch, j.Sample)
	}
	dur := j.Duration
	if dur == 0 {
		dur = 3 * time.Second
	}
	f, err := flows.Build(j.Spec)
	if err != nil {
		return nil, err
	}
	sp := f.Spec
	dim := f.Dim()
	rng := rand.New(rand.NewPCG(1, 2))
	// A training step as a data-free loss takes it: the cotangent of x
	// stands in for the energy's gradient, which this does not measure.
	n := j.Batch
	dx, dld, dz := make([]float64, n*dim), make([]float64, n), make([]float64, n*dim)
	for i := range dld {
		dld[i] = -1 / float64(n)
	}
	step := func() error {
		_, x, _ := f.Sample(n, rng, true)
		for i := range dx {
			dx[i] = 1e-3 * x[i] / float64(n)
		}
		if err := f.VJP(dx, dld, dz); err != nil {
			return err
		}
		f.Step(1e-5, 0)
		return nil
	}
	steps, el, err := timeLoop(ctx, dur, step)
	if err != nil {
		return nil, err
	}
	res := &FlowBench{Dim: dim, Blocks: sp.Blocks, Hidden: sp.Hidden, Transform: sp.Transform, Precision: sp.Precision,
		Parameters: f.Params.Trainable(), Batch: n, TrainingSteps: steps, TrainingStepsPerS: float64(steps) / el,
		SampleBatch: j.Sample, Threads: runtime.GOMAXPROCS(0), CPU: cpuName(), GoVersion: runtime.Version(),
		OpenBLASCoretype: os.Getenv("OPENBLAS_CORETYPE"), OpenBLASL2Size: os.Getenv("OPENBLAS_L2_SIZE")}
	res.BLAS, res.BLASNote = nn.Backend()

	m := j.Sample
	var xs []float64
	calls, el, err := timeLoop(ctx, dur, func() error {
		_, xs, _ = f.Sample(m, rng, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.SamplesPerSecond = float64(calls*m) / el
	calls, el, err = timeLoop(ctx, dur, func() error {
		f.LogProb(m, xs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.DensitiesPerSecond = float64(calls*m) / el
	return res, nil
}

// timeLoop calls fn once to warm up, then repeatedly for about dur, and
// returns the number of timed calls and the seconds they took.
func timeLoop(ctx context.Context, dur time.Duration, fn func() error) (int, float64, error) {
	if err := fn(); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	calls := 0
	for calls == 0 || time.Since(start) < dur {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		if err := fn(); err != nil {
			return 0, 0, err
		}
		calls++
	}
	return calls, time.Since(start).Seconds(), nil
}
