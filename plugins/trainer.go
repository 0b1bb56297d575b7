package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/losses"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// Services are what the host offers a trainer for one training: the flow
// to train, the loss and the host's energy, each dialed through the
// broker.
type Services struct {
	Flow *RemoteFlow
	// Losses are the terms of the training's loss, a weighted sum (one
	// term of weight 1 for a single loss; none when the host gives none).
	Losses []losses.Scaled
	Energy forcefields.Model
}

// WeightedLoss is a term of a training's loss, on the host's side.
type WeightedLoss struct {
	Weight float64
	Loss   *RemoteLoss
}

// TrainerProvider is what a trainer plugin implements: run the training
// the options describe over the host's services, reporting progress
// through send, until done or ctx ends.
type TrainerProvider interface {
	Train(ctx context.Context, options map[string]string, s Services, send func(*pluginpb.TrainEvent) error) error
}

// TrainerPlugin is the go-plugin glue of the trainer kind.
type TrainerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Provider TrainerProvider
	Info     *pluginpb.PluginInfo
}

func (p *TrainerPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterTrainerServer(s, &trainerServer{provider: p.Provider, info: p.Info, broker: broker})
	return nil
}

func (p *TrainerPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &trainerConn{client: pluginpb.NewTrainerClient(c), broker: broker}, nil
}

type trainerConn struct {
	client pluginpb.TrainerClient
	broker *plugin.GRPCBroker
}

// ServeTrainer runs a trainer plugin; call it from the plugin's main.
func ServeTrainer(info *pluginpb.PluginInfo, p TrainerProvider) {
	info.Kind = KindTrainer
	info.Protocol = ProtocolVersion
	serve(info, plugin.PluginSet{KindTrainer: &TrainerPlugin{Provider: p, Info: info}})
}

type trainerServer struct {
	pluginpb.UnimplementedTrainerServer
	provider TrainerProvider
	info     *pluginpb.PluginInfo
	broker   *plugin.GRPCBroker
}

func (s *trainerServer) Describe(context.Context, *pluginpb.Empty) (*pluginpb.PluginInfo, error) {
	return s.info, nil
}

func (s *trainerServer) Train(req *pluginpb.TrainRequest, stream pluginpb.Trainer_TrainServer) error {
	ctx := stream.Context()
	var svc Services
	fail := func(what string, err error) error { return fmt.Errorf("dialing the host's %s: %w", what, err) }
	conn, err := s.broker.Dial(req.GetFlowBrokerId())
	if err != nil {
		return fail("flow", err)
	}
	defer conn.Close()
	flowClient := pluginpb.NewFlowClient(conn)
	info, err := flowClient.Describe(ctx, &pluginpb.Empty{}, bigMessages()...)
	if err != nil {
		return fail("flow", err)
	}
	svc.Flow = &RemoteFlow{client: sizedFlowClient{flowClient}, info: info, wrap: hostCall("flow")}
	ids, weights := req.GetLossBrokerIds(), req.GetLossWeights()
	if len(ids) == 0 && req.GetLossBrokerId() != 0 {
		ids, weights = []uint32{req.GetLossBrokerId()}, []float64{1}
	}
	if len(weights) != len(ids) {
		return fmt.Errorf("the host gave %d losses and %d weights", len(ids), len(weights))
	}
	for k, id := range ids {
		lc, err := s.broker.Dial(id)
		if err != nil {
			return fail("loss", err)
		}
		defer lc.Close()
		client := pluginpb.NewLossClient(lc)
		li, err := client.Describe(ctx, &pluginpb.Empty{})
		if err != nil {
			return fail("loss", err)
		}
		l := &RemoteLoss{client: client, wrap: hostCall("loss"), Context: ctx, info: lossInfoFrom(li)}
		svc.Losses = append(svc.Losses, losses.Scaled{Weight: weights[k], Loss: l})
	}
	if id := req.GetHostEnergyBrokerId(); id != 0 {
		if svc.Energy, err = DialHostEnergy(ctx, s.broker, id); err != nil {
			return err
		}
	}
	return s.provider.Train(ctx, req.GetOptions(), svc, stream.Send)
}

func hostCall(what string) func(string, error) error {
	return func(call string, err error) error { return fmt.Errorf("host's %s, %s: %w", what, call, err) }
}

func bigMessages() []grpc.CallOption {
	return []grpc.CallOption{grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)}
}

func lossInfoFrom(li *pluginpb.LossInfo) losses.Info {
	name := li.GetName()
	if name == "" {
		name = li.GetPlugin().GetName()
	}
	return losses.Info{Name: name, Inputs: li.GetInputs(), Samples: li.GetSamples(),
		NeedsForces: li.GetNeedsForces(), NeedsCoordinates: li.GetNeedsCoordinates(), Stateful: li.GetStateful(), Cache: li.GetCache()}
}

// sizedFlowClient lifts the message size limits on every call of a flow
// client dialed through the broker.
type sizedFlowClient struct{ pluginpb.FlowClient }

func (c sizedFlowClient) Sample(ctx context.Context, in *pluginpb.SampleRequest, opts ...grpc.CallOption) (*pluginpb.SampleResponse, error) {
	return c.FlowClient.Sample(ctx, in, append(opts, bigMessages()...)...)
}
func (c sizedFlowClient) Forward(ctx context.Context, in *pluginpb.TransformRequest, opts ...grpc.CallOption) (*pluginpb.TransformResponse, error) {
	return c.FlowClient.Forward(ctx, in, append(opts, bigMessages()...)...)
}
func (c sizedFlowClient) Inverse(ctx context.Context, in *pluginpb.TransformRequest, opts ...grpc.CallOption) (*pluginpb.TransformResponse, error) {
	return c.FlowClient.Inverse(ctx, in, append(opts, bigMessages()...)...)
}
func (c sizedFlowClient) Complete(ctx context.Context, in *pluginpb.TransformRequest, opts ...grpc.CallOption) (*pluginpb.TransformResponse, error) {
	return c.FlowClient.Complete(ctx, in, append(opts, bigMessages()...)...)
}
func (c sizedFlowClient) VJP(ctx context.Context, in *pluginpb.VJPRequest, opts ...grpc.CallOption) (*pluginpb.VJPResponse, error) {
	return c.FlowClient.VJP(ctx, in, append(opts, bigMessages()...)...)
}

// RemoteTrainer is a trainer plugin seen from the host.
type RemoteTrainer struct {
	conn *trainerConn
	wrap func(string, error) error
	Spec Spec
}

// Trainer starts a trainer plugin.
func (h *Host) Trainer(spec Spec) (*RemoteTrainer, error) {
	r, err := h.start(spec)
	if err != nil {
		return nil, err
	}
	raw, err := r.rpc.Dispense(KindTrainer)
	if err != nil {
		return nil, r.explain("dispense trainer", err)
	}
	conn, ok := raw.(*trainerConn)
	if !ok {
		return nil, r.explain("dispense trainer", fmt.Errorf("unexpected client %T", raw))
	}
	return &RemoteTrainer{conn: conn, wrap: r.explain, Spec: spec}, nil
}

// Train offers the flow, the loss's terms (may be none) and the host's
// energy to the trainer through the broker, starts the training with
// options, and passes every event to onEvent until the trainer is done.
// The training is a streaming call, which the host's per-call time-out
// does not bound; ctx ends it.
func (t *RemoteTrainer) Train(ctx context.Context, options map[string]string, flow *RemoteFlow, terms []WeightedLoss,
	energy forcefields.Model, masses []float64, units string, onEvent func(*pluginpb.TrainEvent) error) error {
	broker := t.conn.broker
	req := &pluginpb.TrainRequest{Options: options, FlowBrokerId: serveProxy(broker, func(s *grpc.Server) {
		pluginpb.RegisterFlowServer(s, &flowProxy{to: flow.client})
	})}
	for _, term := range terms {
		client := term.Loss.client
		req.LossBrokerIds = append(req.LossBrokerIds, serveProxy(broker, func(s *grpc.Server) {
			pluginpb.RegisterLossServer(s, &lossProxy{to: client})
		}))
		req.LossWeights = append(req.LossWeights, term.Weight)
	}
	if energy != nil {
		req.HostEnergyBrokerId = ServeHostEnergy(broker, energy, masses, units)
	}
	stream, err := t.conn.client.Train(ctx, req)
	if err != nil {
		return t.wrap("Train", err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return t.wrap("Train", err)
		}
		if err := onEvent(ev); err != nil {
			return err
		}
		if ev.GetDone() {
			return nil
		}
	}
}

// serveProxy serves a service on the broker and returns its id.
func serveProxy(broker *plugin.GRPCBroker, register func(*grpc.Server)) uint32 {
	id := broker.NextId()
	go broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))...)
		register(s)
		return s
	})
	return id
}

// flowProxy forwards a trainer's flow calls to the flow plugin.
type flowProxy struct {
	pluginpb.UnimplementedFlowServer
	to pluginpb.FlowClient
}

func (p *flowProxy) Describe(ctx context.Context, in *pluginpb.Empty) (*pluginpb.FlowInfo, error) {
	return p.to.Describe(ctx, in)
}
func (p *flowProxy) Sample(ctx context.Context, in *pluginpb.SampleRequest) (*pluginpb.SampleResponse, error) {
	return p.to.Sample(ctx, in, bigMessages()...)
}
func (p *flowProxy) Forward(ctx context.Context, in *pluginpb.TransformRequest) (*pluginpb.TransformResponse, error) {
	return p.to.Forward(ctx, in, bigMessages()...)
}
func (p *flowProxy) Inverse(ctx context.Context, in *pluginpb.TransformRequest) (*pluginpb.TransformResponse, error) {
	return p.to.Inverse(ctx, in, bigMessages()...)
}
func (p *flowProxy) Complete(ctx context.Context, in *pluginpb.TransformRequest) (*pluginpb.TransformResponse, error) {
	return p.to.Complete(ctx, in, bigMessages()...)
}
func (p *flowProxy) VJP(ctx context.Context, in *pluginpb.VJPRequest) (*pluginpb.VJPResponse, error) {
	return p.to.VJP(ctx, in, bigMessages()...)
}
func (p *flowProxy) Save(ctx context.Context, in *pluginpb.SaveRequest) (*pluginpb.Empty, error) {
	return p.to.Save(ctx, in)
}
func (p *flowProxy) Load(ctx context.Context, in *pluginpb.LoadRequest) (*pluginpb.Empty, error) {
	return p.to.Load(ctx, in)
}
func (p *flowProxy) Step(ctx context.Context, in *pluginpb.StepRequest) (*pluginpb.StepResponse, error) {
	return p.to.Step(ctx, in)
}

// lossProxy forwards a trainer's loss calls to the loss plugin.
type lossProxy struct {
	pluginpb.UnimplementedLossServer
	to pluginpb.LossClient
}

func (p *lossProxy) Describe(ctx context.Context, in *pluginpb.Empty) (*pluginpb.LossInfo, error) {
	return p.to.Describe(ctx, in)
}
func (p *lossProxy) Evaluate(ctx context.Context, in *pluginpb.LossRequest) (*pluginpb.LossResponse, error) {
	return p.to.Evaluate(ctx, in, bigMessages()...)
}
func (p *lossProxy) SaveState(ctx context.Context, in *pluginpb.Empty) (*pluginpb.LossState, error) {
	return p.to.SaveState(ctx, in)
}
func (p *lossProxy) LoadState(ctx context.Context, in *pluginpb.LossState) (*pluginpb.Empty, error) {
	return p.to.LoadState(ctx, in)
}
