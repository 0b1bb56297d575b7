package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flowmd/flowmd/engine"
)

func newTrainCmd(out, errOut io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a normalizing flow described by a YAML config",
		Long: `train runs the thesis' protocol on a system: pre-training by maximum
likelihood on a dataset (from mdrun gendata), then training with a loss
(KLx, KLz^df, L^2_+, pair and optimal-transport losses, or a loss plugin of
your own) over the engine's energy, with evaluation (log Z, reverse and
forward ESS, KL estimates, mode fractions) and checkpoints. The flow, the
loss and the trainer are plugins; by default mdrun's built-in ones. It
writes the trained flow (.npz), a CSV of metrics and PNG plots.`,
		Example: `  mdrun train -c examples/double-well-train.yaml
  mdrun train -c examples/dialanine-train.yaml --resume`,
		Args: noArgs,
	}
	f := cmd.Flags()
	f.StringP("config", "c", "", "the training's YAML config (required)")
	f.Bool("resume", false, "continue from the training's checkpoint")
	f.Bool("quiet", false, "no progress display")
	f.Bool("json", false, "print the report as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path, _ := f.GetString("config")
		if path == "" {
			return usageError{fmt.Errorf("mdrun train: give the config with -c")}
		}
		cfg, err := engine.LoadTrainConfig(path)
		if err != nil {
			return err
		}
		resume, _ := f.GetBool("resume")
		quiet, _ := f.GetBool("quiet")
		total := int64(cfg.Placer.Steps + cfg.Pretrain.Steps + cfg.Train.Steps)
		d := newProgressDisplay(errOut, total, 0, quiet)
		var last map[string]float64
		rep, err := engine.Train(cmd.Context(), cfg, resume, func(ev engine.TrainEvent) {
			if ev.Message != "" {
				d.message(fmt.Sprintf("step %d: %s", ev.Step, ev.Message))
			}
			if len(ev.Metrics) > 0 {
				last = ev.Metrics
			}
			d.show(int64(ev.Step), int64(ev.Steps), trainLine(last))
		})
		d.close(err == nil)
		if err != nil {
			return err
		}
		if asJSON, _ := f.GetBool("json"); asJSON {
			return printJSON(out, rep)
		}
		return printTrainReport(out, rep)
	}
	return cmd
}

// trainLine shows the loss, the gradient norm and the latest evaluation.
func trainLine(m map[string]float64) string {
	if m == nil {
		return ""
	}
	parts := []string{fmt.Sprintf("loss %.4g", m["loss"]), fmt.Sprintf("|grad| %.3g", m["grad_norm"])}
	if v, ok := m["eval_reverse_ess"]; ok {
		parts = append(parts, fmt.Sprintf("ESS %.3f", v))
	}
	if v, ok := m["eval_log_z"]; ok {
		parts = append(parts, fmt.Sprintf("log Z %.3f", v))
	}
	return strings.Join(parts, ", ")
}

func printTrainReport(out io.Writer, r *engine.TrainReport) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "steps\t%d in %.1f s\n", r.Steps, r.Seconds)
	fmt.Fprintf(w, "flow\t%s\n", r.Flow)
	fmt.Fprintf(w, "metrics\t%s\n", r.Metrics)
	for _, p := range r.Plots {
		fmt.Fprintf(w, "plot\t%s\n", p)
	}
	keys := make([]string, 0, len(r.Final))
	for k := range r.Final {
		if strings.HasPrefix(k, "eval_") || strings.Contains(k, ".") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s\t%.4g\n", strings.TrimPrefix(k, "eval_"), r.Final[k])
	}
	return w.Flush()
}
