package plugins

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// InfoPlugin is the go-plugin glue of the Info service every plugin serves.
type InfoPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Info *pluginpb.PluginInfo
}

func (p *InfoPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterInfoServer(s, &infoServer{info: p.Info})
	return nil
}

func (p *InfoPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginpb.NewInfoClient(c), nil
}

type infoServer struct {
	pluginpb.UnimplementedInfoServer
	info *pluginpb.PluginInfo
}

func (s *infoServer) Describe(context.Context, *pluginpb.Empty) (*pluginpb.PluginInfo, error) {
	return s.info, nil
}
