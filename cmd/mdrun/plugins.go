package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/plugins/builtin"
)

// pluginDirs are where `mdrun plugins list` looks without --dir: the
// folder of the mdrun binary and ./plugins.
func pluginDirs() []string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	return append(dirs, "plugins")
}

func newPluginsCmd(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "Inspect plugins",
	}
	list := &cobra.Command{
		Use:   "list [PATH...]",
		Short: "List plugins with their kind, protocol version, path and checksum",
		Long: `list finds plugins (executables named flowmd-*) in --dir (default: the
folder of the mdrun binary, and ./plugins) and in the paths given, starts
each one, asks what it is, and stops it. A plugin that cannot start, or
speaks another protocol version, is listed with the reason.`,
		Example: `  mdrun plugins list --dir bin/
  mdrun plugins list examples/plugins/python-forcefield/flowmd-mueller-brown`,
	}
	list.Flags().StringSlice("dir", nil, "folders to search for flowmd-* plugins")
	list.Flags().Bool("json", false, "print JSON")
	v := bindViper(list)
	list.RunE = func(cmd *cobra.Command, args []string) error {
		dirs := v.GetStringSlice("dir")
		if len(dirs) == 0 && len(args) == 0 {
			dirs = pluginDirs()
		}
		var specs []plugins.Spec
		for _, d := range dirs {
			found, err := plugins.Discover(d)
			if err != nil {
				return err
			}
			specs = append(specs, found...)
		}
		for _, p := range args {
			specs = append(specs, plugins.Spec{Path: p})
		}
		type row struct {
			Name     string `json:"name,omitempty"`
			Kind     string `json:"kind,omitempty"`
			Protocol uint32 `json:"protocol,omitempty"`
			Version  string `json:"version,omitempty"`
			Path     string `json:"path"`
			SHA256   string `json:"sha256"`
			Error    string `json:"error,omitempty"`
		}
		host := &plugins.Host{}
		defer host.Close()
		var rows []row
		for _, s := range specs {
			r := row{Path: s.Path}
			r.SHA256, _ = plugins.FileSHA256(s.Path)
			info, err := host.Describe(cmd.Context(), s)
			if err != nil {
				r.Error = err.Error()
			} else {
				r.Name, r.Kind, r.Protocol, r.Version = info.GetName(), info.GetKind(), info.GetProtocol(), info.GetVersion()
			}
			rows = append(rows, r)
		}
		if v.GetBool("json") {
			return printJSON(out, rows)
		}
		if len(rows) == 0 {
			fmt.Fprintf(out, "no plugins found in %v\n", dirs)
			return nil
		}
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "name\tkind\tprotocol\tpath\tsha256\n")
		for _, r := range rows {
			if r.Error != "" {
				fmt.Fprintf(w, "-\t-\t-\t%s\t%s\n\t(%s)\n", r.Path, r.SHA256, oneLine(r.Error))
				continue
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", r.Name, r.Kind, r.Protocol, r.Path, r.SHA256)
		}
		return w.Flush()
	}
	cmd.AddCommand(list)
	return cmd
}

// oneLine joins the lines of a message (a plugin error quotes the
// plugin's last lines) into one row of the table.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " | ")
}

// builtins maps the names of the built-in plugins to their servers.
var builtins = map[string]func(){
	"analytic": builtin.ServeAnalytic,
	"charmm":   builtin.ServeCharmm,
	"flow":     builtin.ServeFlow,
	"loss":     builtin.ServeLoss,
	"trainer":  builtin.ServeTrainer,
}

// builtinPlugin is engine.BuiltinPlugin for mdrun: the built-in plugins are
// mdrun itself, started as "mdrun plugin-serve NAME".
func builtinPlugin(name string) (plugins.Spec, bool) {
	if _, ok := builtins[name]; !ok {
		return plugins.Spec{}, false
	}
	exe, err := os.Executable()
	if err != nil {
		return plugins.Spec{}, false
	}
	return plugins.Spec{Name: "flowmd-" + name, Path: exe, Args: []string{"plugin-serve", name}}, true
}

// newPluginServeCmd serves a built-in plugin; mdrun starts itself this way.
func newPluginServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "plugin-serve NAME",
		Short:  "Serve a built-in plugin (mdrun runs this itself)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			serve, ok := builtins[args[0]]
			if !ok {
				return usageError{fmt.Errorf("no built-in plugin %q", args[0])}
			}
			serve()
			return nil
		},
	}
}
