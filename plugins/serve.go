package plugins

import (
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// maxMessage bounds a gRPC message: batches of configurations, forces and
// per-term energies are far larger than gRPC's 4 MB default.
const maxMessage = 1 << 30

// window is the HTTP/2 flow-control window of plugin connections. gRPC's
// 64 KB default makes a megabyte-sized batch wait for many window updates;
// plugins run on the same machine, where a large window costs nothing.
const window = 1 << 26

// grpcServer is the plugins' gRPC server, with the message size limits
// lifted and large flow-control windows.
func grpcServer(opts []grpc.ServerOption) *grpc.Server {
	return plugin.DefaultGRPCServer(append(opts, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage),
		grpc.InitialWindowSize(window), grpc.InitialConnWindowSize(window),
		grpc.WriteBufferSize(1<<20), grpc.ReadBufferSize(1<<20)))
}

// ServeForceField runs a forcefield plugin; call it from the plugin's main.
// It returns when the host ends the plugin. Logs written with the returned
// logger (JSON on stderr) reach mdrun's log under the plugin's name.
func ServeForceField(info *pluginpb.PluginInfo, p ForceFieldProvider) {
	info.Kind = KindForceField
	info.Protocol = ProtocolVersion
	serve(info, plugin.PluginSet{KindForceField: &ForceFieldPlugin{Provider: p, Info: info}})
}

func serve(info *pluginpb.PluginInfo, set plugin.PluginSet) {
	set[kindInfo] = &InfoPlugin{Info: info}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: set},
		GRPCServer:       grpcServer,
		// go-plugin's own messages ("configuring server automatic mTLS")
		// only when they are warnings.
		Logger: hclog.New(&hclog.LoggerOptions{Name: info.Name, Output: processStderr, JSONFormat: true, Level: hclog.Warn}),
	})
}

// processStderr is the plugin process's own standard error. go-plugin's
// Serve replaces os.Stderr with a pipe streamed to the host over gRPC,
// whose last lines are lost when a plugin crashes; lines written to the
// process's stderr reach the host even then.
var processStderr = os.Stderr

// Logger returns the logger plugins write with: JSON lines on the process's
// stderr, which the host forwards to its log with the plugin's name and
// quotes when the plugin fails.
func Logger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: processStderr, JSONFormat: true, Level: hclog.Info})
}
