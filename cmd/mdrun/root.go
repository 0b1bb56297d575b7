package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/flowmd/flowmd/engine"
)

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1 // the job failed: bad input, missing parameters
	exitUsage    = 2 // the command line is wrong
	exitInternal = 3 // a bug: a panic caught at the top
)

// usageError marks errors of the command line itself.
type usageError struct{ error }

// run executes mdrun with args and returns the exit code. Errors become
// exit codes here and nowhere else; a panic is caught here, so that none
// reaches a user as a Go stack dump without a word of explanation.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "mdrun: internal error: %v\nThis is a bug in flowmd; please report it with the command line and this trace:\n%s", r, debug.Stack())
			code = exitInternal
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "mdrun: %v\n", err)
	var ee exitCodeError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(stderr, "Run 'mdrun help' for usage.\n")
		return exitUsage
	}
	return exitError
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "mdrun",
		Short: "flowmd: CHARMM energies, sampling and normalizing flows for molecules",
		Long: `mdrun reads CHARMM topology (PSF) and parameter (PRM, RTF, STR) files,
computes CHARMM36 energies and forces for batches of configurations, and
(in later versions) samples them and trains normalizing flows on them.

Without --psf, commands use the embedded default system: alanine dipeptide
(CHARMM's ALAD residue) with the CHARMM36m protein parameters.

Every flag can also be set by an environment variable MDRUN_<FLAG>, with
dashes as underscores (MDRUN_PSF, MDRUN_CUTOFF).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%s: %w", c.CommandPath(), err)}
	})
	root.AddCommand(
		newTopologyCmd(stdout),
		newEnergyCmd(stdout),
		newBenchCmd(stdout),
		newRunCmd(stdout, stderr),
		newGenDataCmd(stdout, stderr),
		newAnalyzeCmd(stdout),
		newPluginsCmd(stdout),
		newTrainCmd(stdout, stderr),
		newReweightCmd(stdout),
		newPluginServeCmd(),
	)
	engine.PluginLog = stderr
	engine.BuiltinPlugin = builtinPlugin
	return root
}

// bindViper binds a command's flags to a fresh viper instance with the
// MDRUN_ environment prefix. Values are read back through viper, so that the
// environment (and, for commands that take one, a config file) apply.
func bindViper(cmd *cobra.Command) *viper.Viper {
	v := viper.New()
	v.SetEnvPrefix("MDRUN")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		// BindPFlag only fails for a nil flag.
		_ = v.BindPFlag(f.Name, f)
	})
	return v
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q (use flags such as --psf)", cmd.CommandPath(), args)}
	}
	return nil
}

// printJSON writes v as indented JSON, what every command's --json prints.
func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
