// Package plugins is flowmd's plugin system: the gRPC protocol (pluginpb,
// generated from proto/flowmd/plugin/v1/plugin.proto), the glue between it
// and flowmd's Go interfaces, and the host that starts and talks to plugin
// processes with hashicorp/go-plugin.
//
// A plugin is a separate program. mdrun starts it, go-plugin checks a magic
// cookie and the protocol version in the handshake, negotiates mutual TLS
// automatically, and forwards the plugin's stderr into mdrun's log under the
// plugin's name. Because the protocol is plain gRPC, plugins can be written
// in any language; plugins/python holds the helper Python plugins use and
// examples/plugins a force field written in Python.
//
// Plugins sit behind the same interfaces as built-in parts: a forcefield
// plugin is a forcefields.Model (RemoteForceField), so every integrator runs
// on it unchanged. The host offers its own energy kernel to plugins as the
// HostEnergy service through the go-plugin broker.
//
// Failures are errors, never hangs: every call has a deadline (Host.Timeout),
// and an error names the plugin, the call and the last lines the plugin
// printed. Host.Close kills every plugin process; on Linux the processes
// also die with mdrun (PR_SET_PDEATHSIG), so none is left behind.
package plugins
