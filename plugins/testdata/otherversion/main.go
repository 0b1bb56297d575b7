// Command otherversion is a plugin built against protocol version 2, which
// this host does not speak: the handshake must refuse it, naming both
// versions.
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/flowmd/flowmd/plugins"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

func main() {
	hs := plugins.Handshake
	hs.ProtocolVersion = 2
	info := &pluginpb.PluginInfo{Name: "otherversion", Kind: plugins.KindForceField, Protocol: 2}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: map[int]plugin.PluginSet{2: {"info": &plugins.InfoPlugin{Info: info}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
