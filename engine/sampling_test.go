package engine

import (
	"path/filepath"
	"testing"

	"github.com/flowmd/flowmd/forcefields/analytic"
)

// TestDatasetSampling checks the sampling report of a Monte Carlo run of
// Double Well Medium 2D against the dataset itself: the switches are the
// changes of side of the barrier between consecutive frames of each
// walker, the evaluations one per walker and step, and the moves are the
// run's.
func TestDatasetSampling(t *testing.T) {
	dir := t.TempDir()
	execute(t, runConfig(t, dir, `system: {analytic: double_well_medium, analytic_params: {dim: 2}}
walkers: 4
moves: [{type: random_walk, step_size: 0.8}]
steps: 4000
equilibration: 500
output: {dataset: 10}
`), false, 0)
	path := filepath.Join(dir, "run.npz")
	m, err := analytic.New("double_well_medium", map[string]float64{"dim": 2})
	if err != nil {
		t.Fatal(err)
	}
	set, err := ModeSetFor("auto", nil, m)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := DatasetSampling(path, set)
	if err != nil {
		t.Fatal(err)
	}
	d := openData(t, path)
	x, _, _ := d.Float64("coordinates")
	slot, _, _ := d.Int64("slot")
	step, _, _ := d.Int64("step")
	last := map[int64]int{}
	var switches int64
	for f, s := range slot {
		side := 0
		if set.Classify([]float64{x[2*f]}) == 1 {
			side = 1
		}
		if prev, ok := last[s]; ok && prev != side {
			switches++
		}
		last[s] = side
	}
	frames := int64(len(slot))
	wantEvals := 4 * (step[frames-1] - step[0])
	t.Logf("%+v", rep)
	if rep.Switches != switches || rep.Switches == 0 {
		t.Errorf("%d switches reported, %d in the dataset", rep.Switches, switches)
	}
	if rep.Evaluations != wantEvals {
		t.Errorf("%d evaluations over the frames, want %d (4 walkers, one per step)", rep.Evaluations, wantEvals)
	}
	if want := float64(switches) / float64(wantEvals) * 1e6; rep.SwitchesPerMillion != want {
		t.Errorf("%.6g switches per million, want %.6g", rep.SwitchesPerMillion, want)
	}
	if rep.Chains != 4 || !(rep.IACTFrames >= 1) || rep.IACTSteps != rep.IACTFrames*10 || rep.CV != "x0" {
		t.Errorf("report %+v", rep)
	}
	if len(rep.Moves) != 1 || rep.Moves[0].Name != "random_walk" || rep.Moves[0].Attempted != 4*4000 {
		t.Errorf("moves %+v", rep.Moves)
	}
}
