package plugins

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// ServeHostEnergy offers the host's energy model to a plugin through the
// go-plugin broker and returns the id the plugin dials (DialHostEnergy).
// The service stops when the plugin's connection closes.
func ServeHostEnergy(broker *plugin.GRPCBroker, m forcefields.Model, masses []float64, units string) uint32 {
	id := broker.NextId()
	info := &pluginpb.ForceFieldInfo{Plugin: &pluginpb.PluginInfo{Name: "host", Kind: KindForceField, Protocol: ProtocolVersion},
		Dim: int64(m.Dim()), Terms: m.Terms(), Masses: masses, Units: units}
	go broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))...)
		pluginpb.RegisterHostEnergyServer(s, &hostEnergyServer{model: m, info: info})
		return s
	})
	return id
}

type hostEnergyServer struct {
	pluginpb.UnimplementedHostEnergyServer
	model forcefields.Model
	info  *pluginpb.ForceFieldInfo
}

func (s *hostEnergyServer) Describe(context.Context, *pluginpb.Empty) (*pluginpb.ForceFieldInfo, error) {
	return s.info, nil
}

func (s *hostEnergyServer) Evaluate(ctx context.Context, req *pluginpb.EvaluateRequest) (*pluginpb.EvaluateResponse, error) {
	return evaluateModel(ctx, s.model, req)
}

// DialHostEnergy connects a plugin to the host's energy model offered under
// id: the result is a forcefields.Model like any other.
func DialHostEnergy(ctx context.Context, broker *plugin.GRPCBroker, id uint32) (forcefields.Model, error) {
	conn, err := broker.Dial(id)
	if err != nil {
		return nil, fmt.Errorf("dialing the host's energy service: %w", err)
	}
	client := pluginpb.NewHostEnergyClient(conn)
	info, err := client.Describe(ctx, &pluginpb.Empty{}, grpc.MaxCallRecvMsgSize(maxMessage))
	if err != nil {
		return nil, fmt.Errorf("the host's energy service: %w", err)
	}
	return &remoteModel{client: hostEnergyClient{client}, info: info, wrap: func(call string, err error) error {
		return fmt.Errorf("host energy service, %s: %w", call, err)
	}}, nil
}

// hostEnergyClient lifts the message size limit on every call.
type hostEnergyClient struct{ c pluginpb.HostEnergyClient }

func (h hostEnergyClient) Evaluate(ctx context.Context, in *pluginpb.EvaluateRequest, opts ...grpc.CallOption) (*pluginpb.EvaluateResponse, error) {
	return h.c.Evaluate(ctx, in, append(opts, grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage))...)
}
