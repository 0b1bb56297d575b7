package engine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/flowmd/flowmd/dataset"
	"github.com/flowmd/flowmd/integrators"
	"github.com/flowmd/flowmd/trajectory"
)

// outputs are the files of a run: DCD trajectories (one per recorded slot),
// the .npz dataset, the CSV log, the checkpoint and the provenance file.
//
// The recorded walkers ("slots") are every walker, or with Record "lowest"
// the walker holding the lowest temperature in each ladder, which changes
// with the swaps: slot k is then the temperature-sorted trajectory of ladder
// k. Frames are recorded only after equilibration.
type outputs struct {
	dir, prefix string
	cfg         OutputConfig
	equil       int64
	slots       int
	rungs       int // ladder size, 1 without a ladder

	dcd       []*trajectory.DCDWriter
	dcdFrames []int
	data      *dataset.Writer
	log       *os.File
	logBuf    *bufio.Writer
	logSize   int64
	header    []string
	natoms    int
	dim       int
	nterms    int
	temps     []float64 // ladder in config units, or nil
	kunits    float64   // divides kT to give the reported temperature

	tmpTerms []float64
}

func (o *outputs) path(suffix string) string {
	return filepath.Join(o.dir, o.prefix+suffix)
}

func (o *outputs) checkpointPath() string { return o.path(".checkpoint.json") }

func (o *outputs) dcdPath(slot int) string {
	if o.slots == 1 {
		return o.path(".dcd")
	}
	return o.path(fmt.Sprintf(".s%d.dcd", slot))
}

// outputPositions record how much of each file a checkpoint covers.
type outputPositions struct {
	DCDFrames     []int `json:"dcd_frames"`
	DatasetFrames int   `json:"dataset_frames"`
	LogBytes      int64 `json:"log_bytes"`
}

// openOutputs opens the run's files: new ones, or with resume (the
// positions of a checkpoint) the existing ones cut back to those positions,
// so that a resumed run writes exactly what an uninterrupted one would have.
func openOutputs(r *Run, resume *outputPositions) (*outputs, error) {
	c := r.Config
	o := &outputs{dir: c.Output.Dir, prefix: c.Output.Prefix, cfg: c.Output, equil: c.Equilibration,
		dim: r.Model.Dim(), nterms: len(r.Model.Terms()), rungs: 1, kunits: 1}
	if !c.IsAnalytic() {
		o.natoms = r.Model.Dim() / 3
		o.kunits = integrators.Boltzmann
	}
	if c.Ladder.Enabled() {
		o.rungs = len(c.Ladder.Temperatures)
		o.temps = c.Ladder.Temperatures
	}
	o.slots = r.State.Walkers
	if c.Output.Record == "lowest" {
		o.slots = r.State.Walkers / o.rungs
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return nil, err
	}
	if c.Output.Trajectory > 0 {
		for k := 0; k < o.slots; k++ {
			var w *trajectory.DCDWriter
			var err error
			if resume != nil {
				if k >= len(resume.DCDFrames) {
					err = fmt.Errorf("the checkpoint records %d trajectories, the run writes %d", len(resume.DCDFrames), o.slots)
				} else if err = trajectory.TruncateDCD(o.dcdPath(k), resume.DCDFrames[k]); err == nil {
					w, err = trajectory.OpenDCDAppend(o.dcdPath(k), o.natoms)
				}
				if err == nil {
					o.dcdFrames = append(o.dcdFrames, resume.DCDFrames[k])
				}
			} else {
				o.dcdFrames = append(o.dcdFrames, 0)
				dt := 0.0
				for _, m := range c.Moves {
					if m.Type == MoveLangevin || m.Type == MoveVelocityVerlet {
						dt = m.Timestep / 1000
						break
					}
				}
				w, err = trajectory.CreateDCD(o.dcdPath(k), o.natoms, trajectory.DCDOptions{
					TimestepPS: dt, FirstStep: int(c.Equilibration), StepInterval: int(c.Output.Trajectory),
					Title: []string{fmt.Sprintf("flowmd run %s, slot %d", c.Output.Prefix, k)},
				})
			}
			if err != nil {
				o.abandon()
				return nil, err
			}
			o.dcd = append(o.dcd, w)
		}
	}
	if c.Output.Dataset > 0 {
		w, err := dataset.Create(o.path(".npz"), resume != nil)
		if err != nil {
			o.abandon()
			return nil, err
		}
		o.data = w
		frame := []int{o.dim}
		if o.natoms > 0 {
			frame = []int{o.natoms, 3}
		}
		for _, d := range []struct {
			name, dtype string
			shape       []int
		}{
			{"coordinates", dataset.Float64, frame},
			{"energy", dataset.Float64, nil},
			{"energy_terms", dataset.Float64, []int{o.nterms}},
			{"temperature", dataset.Float64, nil},
			{"kinetic_temperature", dataset.Float64, nil},
			{"rung", dataset.Int64, nil},
			{"walker", dataset.Int64, nil},
			{"slot", dataset.Int64, nil},
			{"step", dataset.Int64, nil},
			{"time_ps", dataset.Float64, nil},
			{"energy_evaluations", dataset.Int64, nil},
		} {
			if err := w.Define(d.name, d.dtype, d.shape...); err != nil {
				o.abandon()
				return nil, err
			}
		}
		w.Strings("term_names", r.Model.Terms())
		if resume != nil {
			if err := w.Truncate(resume.DatasetFrames); err != nil {
				o.abandon()
				return nil, err
			}
		}
	}
	if c.Output.Log > 0 {
		o.header = []string{"step", "time_ps", "potential_mean", "potential_min", "kinetic_temperature"}
		for i, st := range r.Driver.Stats() {
			if st.Name == "langevin" || st.Name == "velocity_verlet" {
				continue
			}
			o.header = append(o.header, fmt.Sprintf("acceptance_%s_%d", st.Name, i))
		}
		flags := os.O_RDWR | os.O_CREATE
		if resume == nil {
			flags |= os.O_TRUNC
		}
		f, err := os.OpenFile(o.path(".log.csv"), flags, 0o644)
		if err != nil {
			o.abandon()
			return nil, err
		}
		o.log = f
		o.logBuf = bufio.NewWriter(f)
		if resume != nil {
			if err := f.Truncate(resume.LogBytes); err != nil {
				o.abandon()
				return nil, err
			}
			if _, err := f.Seek(resume.LogBytes, io.SeekStart); err != nil {
				o.abandon()
				return nil, err
			}
		} else {
			fmt.Fprintf(o.logBuf, "# flowmd run %s: energies in kcal/mol (reduced units for analytic models), temperatures in K (kT for analytic models)\n", c.Output.Prefix)
			fmt.Fprintln(o.logBuf, strings.Join(o.header, ","))
		}
	}
	return o, nil
}

// positions returns how far the outputs go, flushing buffers so that the
// files hold what the positions say.
func (o *outputs) positions() (outputPositions, error) {
	var p outputPositions
	p.DCDFrames = append(p.DCDFrames, o.dcdFrames...)
	if o.data != nil {
		p.DatasetFrames = o.data.Frames()
	}
	if o.log != nil {
		if err := o.logBuf.Flush(); err != nil {
			return p, err
		}
		off, err := o.log.Seek(0, io.SeekCurrent)
		if err != nil {
			return p, err
		}
		p.LogBytes = off
	}
	return p, nil
}

// slotWalkers returns the walker recorded in each slot.
func (o *outputs) slotWalkers(s *integrators.State) []int {
	out := make([]int, o.slots)
	for k := range out {
		out[k] = k
	}
	if o.slots == s.Walkers {
		return out
	}
	for w, t := range s.TempIndex {
		if t == 0 {
			out[w/o.rungs] = w
		}
	}
	return out
}

func due(step, every, equil int64) bool {
	return every > 0 && step > equil && step%every == 0
}

// observe records what is due at the state's step.
func (o *outputs) observe(r *Run) error {
	s := r.State
	k := s.Step
	traj, data, log := due(k, o.cfg.Trajectory, o.equil) && o.dcd != nil, due(k, o.cfg.Dataset, o.equil) && o.data != nil, due(k, o.cfg.Log, o.equil) && o.log != nil
	if traj || data || log {
		slots := o.slotWalkers(s)
		if traj {
			for i, w := range slots {
				if err := o.dcd[i].WriteFrame(s.Walker(w)); err != nil {
					return err
				}
				o.dcdFrames[i]++
			}
		}
		if data {
			if err := o.record(s, slots); err != nil {
				return err
			}
		}
		if log {
			o.logLine(r, slots)
		}
	}
	if o.cfg.Checkpoint > 0 && k%o.cfg.Checkpoint == 0 && k < r.Config.Steps {
		return r.writeCheckpoint()
	}
	return nil
}

func (o *outputs) temperature(s *integrators.State, w int) float64 {
	return s.KT[w] / o.kunits
}

func (o *outputs) record(s *integrators.State, slots []int) error {
	nt := o.nterms
	for k, w := range slots {
		d := o.data
		errs := []error{
			d.Append("coordinates", s.Walker(w)),
			d.Append("energy", []float64{s.U[w]}),
			d.Append("energy_terms", s.Terms[w*nt:(w+1)*nt]),
			d.Append("temperature", []float64{o.temperature(s, w)}),
			d.Append("kinetic_temperature", []float64{s.Temperature(w) / o.kunits}),
			d.AppendInt("rung", []int64{int64(s.TempIndex[w])}),
			d.AppendInt("walker", []int64{int64(w)}),
			d.AppendInt("slot", []int64{int64(k)}),
			d.AppendInt("step", []int64{s.Step}),
			d.Append("time_ps", []float64{s.Time}),
			d.AppendInt("energy_evaluations", []int64{s.Evaluations}),
		}
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (o *outputs) logLine(r *Run, slots []int) {
	s := r.State
	var umean, tmean float64
	umin := s.U[slots[0]]
	for _, w := range slots {
		umean += s.U[w]
		umin = min(umin, s.U[w])
		tmean += s.Temperature(w) / o.kunits
	}
	n := float64(len(slots))
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	fields := []string{strconv.FormatInt(s.Step, 10), f(s.Time), f(umean / n), f(umin), f(tmean / n)}
	for _, st := range r.Driver.Stats() {
		if st.Name == "langevin" || st.Name == "velocity_verlet" {
			continue
		}
		fields = append(fields, strconv.FormatFloat(st.Acceptance(), 'f', 4, 64))
	}
	fmt.Fprintln(o.logBuf, strings.Join(fields, ","))
}

// flush makes every file hold what was recorded: the dataset archive is
// assembled, trajectories and log are on disk.
func (o *outputs) flush() error {
	if o.data != nil {
		if err := o.data.Flush(); err != nil {
			return err
		}
	}
	if o.log != nil {
		if err := o.logBuf.Flush(); err != nil {
			return err
		}
		return o.log.Sync()
	}
	return nil
}

// abandon closes the files, keeping what a resumed run needs (the dataset's
// part files).
func (o *outputs) abandon() error { return o.close(false) }

// finish closes every file of a completed run, the dataset archived and its
// parts removed, and writes the provenance with the summary.
func (o *outputs) finish(r *Run, sum *Summary) error {
	if o.log != nil {
		fmt.Fprintf(o.logBuf, "# completed at step %d\n", r.State.Step)
	}
	err := o.close(true)
	if perr := writeProvenance(r, sum); err == nil {
		err = perr
	}
	return err
}

// close closes the trajectories, the dataset (archived and its parts
// removed when complete, else its parts kept) and the log, returning the
// first error.
func (o *outputs) close(complete bool) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, w := range o.dcd {
		keep(w.Close())
	}
	o.dcd = nil
	if o.data != nil {
		if complete {
			keep(o.data.Close())
		} else {
			keep(o.data.Abandon())
		}
		o.data = nil
	}
	if o.log != nil {
		keep(o.logBuf.Flush())
		keep(o.log.Close())
		o.log = nil
	}
	return first
}

func (o *outputs) frames() int {
	if o.data != nil {
		return o.data.Frames()
	}
	n := 0
	for _, f := range o.dcdFrames {
		n += f
	}
	if n > 0 {
		return n
	}
	return 0
}

func (o *outputs) files() map[string]string {
	out := map[string]string{}
	if o.cfg.Trajectory > 0 {
		for k := 0; k < o.slots; k++ {
			out[fmt.Sprintf("trajectory_%d", k)] = o.dcdPath(k)
		}
	}
	if o.cfg.Dataset > 0 {
		out["dataset"] = o.path(".npz")
	}
	if o.cfg.Log > 0 {
		out["log"] = o.path(".log.csv")
	}
	out["checkpoint"] = o.checkpointPath()
	out["provenance"] = o.path(".provenance.json")
	return out
}

// writeJSONAtomic writes v as indented JSON to path through a temporary
// file, synced and renamed: readers see the old file or the new one, never a
// truncated one.
func writeJSONAtomic(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
