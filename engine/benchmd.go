package engine

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/flowmd/flowmd/forcefields/charmm"
	"github.com/flowmd/flowmd/integrators"
)

// MDBenchJob measures Langevin dynamics: steps per second for a number of
// walkers advancing together.
type MDBenchJob struct {
	System      SystemFiles
	Coords      string
	Options     charmm.Options
	Walkers     int
	Steps       int     // timed steps, after a warm-up of max(Steps/10, 1000)
	TimestepFS  float64 // fs; 0 means 1
	Friction    float64 // 1/ps; 0 means 1
	Temperature float64 // K; 0 means 300
}

// MDBench is what `mdrun bench md` reports.
type MDBench struct {
	System             string  `json:"system"`
	Atoms              int     `json:"atoms"`
	Walkers            int     `json:"walkers"`
	Steps              int     `json:"steps"`
	TimestepFS         float64 `json:"timestep_fs"`
	Seconds            float64 `json:"seconds"`
	StepsPerSecond     float64 `json:"steps_per_second"`
	WalkerStepsPerSec  float64 `json:"walker_steps_per_second"`
	NsPerDayPerWalker  float64 `json:"ns_per_day_per_walker"`
	MeanTemperatureK   float64 `json:"mean_kinetic_temperature_k"`
	Threads            int     `json:"threads"`
	CPU                string  `json:"cpu"`
	GoVersion          string  `json:"go_version"`
	OpenBLASCoretype   string  `json:"openblas_coretype,omitempty"`
	OpenBLASL2Size     string  `json:"openblas_l2_size,omitempty"`
	EnergyEvaluations  int64   `json:"energy_evaluations"`
	FinalMeanPotential float64 `json:"final_mean_potential_kcal_mol"`
}

// Run performs the measurement.
func (j *MDBenchJob) Run(ctx context.Context) (*MDBench, error) {
	if j.Walkers < 1 || j.Steps < 1 {
		return nil, fmt.Errorf("bench md: walkers %d and steps %d must be at least 1", j.Walkers, j.Steps)
	}
	dt, gamma, kelvin := j.TimestepFS, j.Friction, j.Temperature
	if dt == 0 {
		dt = 1
	}
	if gamma == 0 {
		gamma = 1
	}
	if kelvin == 0 {
		kelvin = 300
	}
	sys, confs, err := LoadJobSystem(j.System, j.Coords)
	if err != nil {
		return nil, err
	}
	m, err := charmm.New(sys, j.Options, "")
	if err != nil {
		return nil, err
	}
	x := make([]float64, 0, j.Walkers*m.Dim())
	for w := 0; w < j.Walkers; w++ {
		c := w % confs.Count
		x = append(x, confs.X[c*m.Dim():(c+1)*m.Dim()]...)
	}
	s, err := integrators.NewState(ctx, m, x, integrators.AtomMasses(sys.Masses()), integrators.MDUnits, integrators.KT(kelvin), 1)
	if err != nil {
		return nil, err
	}
	s.InitVelocities()
	l, err := integrators.NewLangevin(dt/1000, gamma, false)
	if err != nil {
		return nil, err
	}
	d := &integrators.Driver{Schedule: integrators.Schedule{{Move: l, Count: 1}}}
	warmup := max(1000, j.Steps/10)
	if err := d.Run(ctx, s, int64(warmup)); err != nil {
		return nil, err
	}
	var tsum float64
	var tn int
	d.Observers = []integrators.Observer{func(s *integrators.State) error {
		if s.Step%10 == 0 {
			for w := 0; w < s.Walkers; w++ {
				tsum += s.Temperature(w) / integrators.Boltzmann
				tn++
			}
		}
		return nil
	}}
	start := time.Now()
	if err := d.Run(ctx, s, int64(j.Steps)); err != nil {
		return nil, err
	}
	el := time.Since(start).Seconds()
	var pot float64
	for _, u := range s.U {
		pot += u
	}
	name := j.System.PSF
	if j.System.IsDefault() {
		name = "embedded dialanine"
	}
	sps := float64(j.Steps) / el
	return &MDBench{
		System: name, Atoms: sys.NumAtoms(), Walkers: j.Walkers, Steps: j.Steps, TimestepFS: dt,
		Seconds: el, StepsPerSecond: sps, WalkerStepsPerSec: sps * float64(j.Walkers),
		NsPerDayPerWalker: sps * dt * 1e-6 * 86400, MeanTemperatureK: tsum / math.Max(1, float64(tn)),
		Threads: runtime.GOMAXPROCS(0), CPU: cpuName(), GoVersion: runtime.Version(),
		OpenBLASCoretype: os.Getenv("OPENBLAS_CORETYPE"), OpenBLASL2Size: os.Getenv("OPENBLAS_L2_SIZE"),
		EnergyEvaluations:  int64(j.Steps+warmup) * int64(j.Walkers),
		FinalMeanPotential: pot / float64(len(s.U)),
	}, nil
}
