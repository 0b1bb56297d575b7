package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/flowmd/flowmd/integrators"
	"github.com/flowmd/flowmd/plugins"
)

// checkpointVersion changes when the checkpoint format does.
const checkpointVersion = 1

// checkpoint is what a run saves to continue later, bit for bit.
type checkpoint struct {
	Version    int                   `json:"version"`
	ConfigHash string                `json:"config_hash"`
	Written    time.Time             `json:"written"`
	State      *integrators.Snapshot `json:"state"`
	Moves      []json.RawMessage     `json:"moves"`
	Outputs    outputPositions       `json:"outputs"`
	Inputs     map[string]string     `json:"inputs"`
}

// writeCheckpoint saves the run. The outputs are flushed first, so that
// the files hold everything the checkpoint says they hold.
func (r *Run) writeCheckpoint() error {
	pos, err := r.out.positions()
	if err != nil {
		return err
	}
	snap, err := r.State.Snapshot()
	if err != nil {
		return err
	}
	cp := checkpoint{Version: checkpointVersion, ConfigHash: r.Config.Hash(), Written: time.Now().UTC(),
		State: snap, Outputs: pos, Inputs: r.inputs}
	for i, mv := range r.Moves {
		st, ok := mv.(integrators.Stateful)
		if !ok {
			return fmt.Errorf("move %d (%s) cannot be checkpointed", i, mv.Name())
		}
		b, err := st.MarshalState()
		if err != nil {
			return err
		}
		cp.Moves = append(cp.Moves, b)
	}
	return writeJSONAtomic(r.out.checkpointPath(), cp)
}

// resume restores the state, the moves and the outputs from the run's
// checkpoint.
func (r *Run) resume(ctx context.Context) error {
	path := (&outputs{dir: r.Config.Output.Dir, prefix: r.Config.Output.Prefix}).checkpointPath()
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	var cp checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		return fmt.Errorf("resume: %s is not a flowmd checkpoint: %w", path, err)
	}
	if cp.Version != checkpointVersion {
		return fmt.Errorf("resume: %s has checkpoint format %d, this mdrun reads %d", path, cp.Version, checkpointVersion)
	}
	if cp.ConfigHash != r.Config.Hash() {
		return fmt.Errorf("resume: the config differs from the one the checkpoint %s was written with (only steps and output.checkpoint may change)", path)
	}
	for name, sum := range cp.Inputs {
		if r.inputs[name] != sum {
			return fmt.Errorf("resume: input %s changed since the checkpoint was written", name)
		}
	}
	if cp.State == nil || len(cp.Moves) != len(r.Moves) {
		return fmt.Errorf("resume: %s holds %d move states, the run has %d moves", path, len(cp.Moves), len(r.Moves))
	}
	if err := r.State.Restore(ctx, cp.State); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	for i, mv := range r.Moves {
		st, ok := mv.(integrators.Stateful)
		if !ok {
			return fmt.Errorf("resume: move %d (%s) cannot be restored", i, mv.Name())
		}
		if err := st.UnmarshalState(cp.Moves[i]); err != nil {
			return fmt.Errorf("resume: move %d (%s): %w", i, mv.Name(), err)
		}
	}
	if r.State.Step > r.Config.Steps {
		return fmt.Errorf("resume: the checkpoint is at step %d, beyond the %d steps of the config", r.State.Step, r.Config.Steps)
	}
	out, err := openOutputs(r, &cp.Outputs)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	r.out = out
	return nil
}

// inputChecksums returns the SHA-256 of every input file of the config.
func inputChecksums(c *Config) (map[string]string, error) {
	out := map[string]string{}
	files := append([]string{c.System.PSF, c.System.Coords, c.ForceField.Align.Reference}, c.System.Params...)
	// Trained flows are inputs too: the placer's and the flow moves'.
	files = append(files, c.ForceField.Placer.Flow.Options["load"])
	for _, m := range c.Moves {
		files = append(files, m.Flow.Options["load"])
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		sum, err := plugins.FileSHA256(f)
		if err != nil {
			return nil, err
		}
		out[f] = sum
	}
	return out, nil
}

// provenance is the JSON record of how a run's outputs came about.
type provenance struct {
	Program   string            `json:"program"`
	Version   string            `json:"version"`
	Revision  string            `json:"vcs_revision,omitempty"`
	Modified  bool              `json:"vcs_modified,omitempty"`
	GoVersion string            `json:"go_version"`
	Host      string            `json:"host"`
	CPU       string            `json:"cpu"`
	Threads   int               `json:"threads"`
	Started   time.Time         `json:"started"`
	Finished  time.Time         `json:"finished"`
	Config    *Config           `json:"config"`
	Seed      uint64            `json:"seed"`
	Inputs    map[string]string `json:"input_sha256"`
	Summary   *Summary          `json:"summary"`
}

// BuildVersion returns the module version and VCS revision mdrun was built
// from, as far as the binary knows them.
func BuildVersion() (version, revision string, modified bool) {
	version = "(devel)"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, "", false
	}
	if info.Main.Version != "" {
		version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return version, revision, modified
}

func writeProvenance(r *Run, sum *Summary) error {
	host, _ := os.Hostname()
	v, rev, mod := BuildVersion()
	p := provenance{
		Program: "flowmd mdrun", Version: v, Revision: rev, Modified: mod,
		GoVersion: runtime.Version(), Host: host, CPU: cpuName(), Threads: runtime.GOMAXPROCS(0),
		Started: r.start.UTC(), Finished: time.Now().UTC(), Config: r.Config, Seed: r.Config.Seed,
		Inputs: r.inputs, Summary: sum,
	}
	return writeJSONAtomic(r.out.path(".provenance.json"), p)
}
