package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flowmd/flowmd/losses"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// LossProvider is what a loss plugin implements: given the options from
// the host's config, the loss to serve.
type LossProvider interface {
	Configure(options map[string]string) (losses.Loss, error)
}

// LossPlugin is the go-plugin glue of the loss kind.
type LossPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Provider LossProvider
	Info     *pluginpb.PluginInfo
}

func (p *LossPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterLossServer(s, &lossServer{provider: p.Provider, info: p.Info})
	return nil
}

func (p *LossPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginpb.NewLossClient(c), nil
}

// ServeLoss runs a loss plugin; call it from the plugin's main.
func ServeLoss(info *pluginpb.PluginInfo, p LossProvider) {
	info.Kind = KindLoss
	info.Protocol = ProtocolVersion
	serve(info, plugin.PluginSet{KindLoss: &LossPlugin{Provider: p, Info: info}})
}

// lossServer serves a configured loss, one call at a time (a loss may
// keep state between calls).
type lossServer struct {
	pluginpb.UnimplementedLossServer
	provider LossProvider
	info     *pluginpb.PluginInfo

	mu   sync.Mutex
	loss losses.Loss
}

func lossInfo(plugin *pluginpb.PluginInfo, i losses.Info) *pluginpb.LossInfo {
	return &pluginpb.LossInfo{Plugin: plugin, Name: i.Name, Inputs: i.Inputs, Samples: i.Samples, NeedsForces: i.NeedsForces,
		NeedsCoordinates: i.NeedsCoordinates, Stateful: i.Stateful, Cache: i.Cache}
}

// configured locks the server and returns nil when a loss is configured
// (the caller unlocks), or the error to answer with, unlocked.
func (s *lossServer) configured() error {
	s.mu.Lock()
	if s.loss == nil {
		s.mu.Unlock()
		return status.Error(codes.FailedPrecondition, "the loss is not configured: call Configure first")
	}
	return nil
}

func (s *lossServer) Describe(context.Context, *pluginpb.Empty) (*pluginpb.LossInfo, error) {
	if err := s.configured(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return lossInfo(s.info, s.loss.Info()), nil
}

func (s *lossServer) Configure(_ context.Context, req *pluginpb.ConfigureRequest) (*pluginpb.LossInfo, error) {
	l, err := s.provider.Configure(req.GetOptions())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loss = l
	return lossInfo(s.info, l.Info()), nil
}

func (s *lossServer) Evaluate(_ context.Context, req *pluginpb.LossRequest) (*pluginpb.LossResponse, error) {
	if err := s.configured(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	in := losses.Inputs{}
	shapes := map[string][]int{}
	for name, a := range req.GetInputs() {
		v, err := ArrayValues(a, nil, nil)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "input %s: %v", name, err)
		}
		in[name] = v
		for _, d := range a.GetShape() {
			shapes[name] = append(shapes[name], int(d))
		}
	}
	res, err := s.loss.Evaluate(in)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp := &pluginpb.LossResponse{Value: res.Value, Gradients: map[string]*pluginpb.Array{}, Metrics: res.Metrics}
	for name, g := range res.Grad {
		shape, ok := shapes[name]
		if !ok || len(g) != len(in[name]) {
			return nil, status.Errorf(codes.Internal, "the loss returned a gradient of %d values for input %q of %d", len(g), name, len(in[name]))
		}
		resp.Gradients[name] = NewArray(shape, g)
	}
	return resp, nil
}

func (s *lossServer) SaveState(context.Context, *pluginpb.Empty) (*pluginpb.LossState, error) {
	if err := s.configured(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	saver, ok := s.loss.(losses.StateSaver)
	if !ok {
		return &pluginpb.LossState{}, nil
	}
	b, err := saver.SaveState()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pluginpb.LossState{State: b}, nil
}

func (s *lossServer) LoadState(_ context.Context, st *pluginpb.LossState) (*pluginpb.Empty, error) {
	if err := s.configured(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	saver, ok := s.loss.(losses.StateSaver)
	switch {
	case ok:
		if err := saver.LoadState(st.GetState()); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	case len(st.GetState()) > 0:
		return nil, status.Error(codes.InvalidArgument, "the loss keeps no state")
	}
	return &pluginpb.Empty{}, nil
}

// RemoteLoss is a loss plugin seen as a losses.Loss: a trainer uses it
// exactly as a built-in loss.
type RemoteLoss struct {
	client pluginpb.LossClient
	info   losses.Info
	wrap   func(call string, err error) error
	Spec   Spec
	// Context bounds calls made through the losses.Loss interface, which
	// has none of its own.
	Context context.Context
}

var _ losses.Loss = (*RemoteLoss)(nil)

// Loss starts a loss plugin and configures it with options.
func (h *Host) Loss(ctx context.Context, spec Spec, options map[string]string) (*RemoteLoss, error) {
	r, err := h.start(spec)
	if err != nil {
		return nil, err
	}
	raw, err := r.rpc.Dispense(KindLoss)
	if err != nil {
		return nil, r.explain("dispense loss", err)
	}
	client, ok := raw.(pluginpb.LossClient)
	if !ok {
		return nil, r.explain("dispense loss", fmt.Errorf("unexpected client %T", raw))
	}
	info, err := client.Configure(ctx, &pluginpb.ConfigureRequest{Options: options})
	if err != nil {
		return nil, r.explain("Configure", err)
	}
	if len(info.GetInputs()) == 0 {
		return nil, r.explain("Configure", fmt.Errorf("the loss reads no inputs"))
	}
	return &RemoteLoss{client: client, wrap: r.explain, Spec: spec, Context: context.Background(), info: lossInfoFrom(info)}, nil
}

func (l *RemoteLoss) Info() losses.Info { return l.info }

// ErrNoState is returned by RemoteLoss.SaveState when the plugin does not
// implement saving its state (Python plugins by default).
var ErrNoState = errors.New("the loss plugin cannot save its state")

// SaveState asks the plugin for its state (losses.StateSaver).
func (l *RemoteLoss) SaveState() ([]byte, error) {
	st, err := l.client.SaveState(l.Context, &pluginpb.Empty{})
	if status.Code(err) == codes.Unimplemented {
		return nil, ErrNoState
	}
	if err != nil {
		return nil, l.wrap("SaveState", err)
	}
	return st.GetState(), nil
}

// LoadState gives the plugin back a state from SaveState.
func (l *RemoteLoss) LoadState(b []byte) error {
	_, err := l.client.LoadState(l.Context, &pluginpb.LossState{State: b})
	if status.Code(err) == codes.Unimplemented {
		return ErrNoState
	}
	if err != nil {
		return l.wrap("LoadState", err)
	}
	return nil
}

// Evaluate sends the batch's inputs (one-dimensional arrays, coordinates
// as rows of the batch) and returns the loss's answer.
func (l *RemoteLoss) Evaluate(in losses.Inputs) (losses.Result, error) {
	req := &pluginpb.LossRequest{Inputs: map[string]*pluginpb.Array{}}
	for name, v := range in {
		req.Inputs[name] = NewArray([]int{len(v)}, v)
	}
	resp, err := l.client.Evaluate(l.Context, req)
	if err != nil {
		return losses.Result{}, l.wrap("Evaluate", err)
	}
	res := losses.Result{Value: resp.GetValue(), Grad: map[string][]float64{}, Metrics: resp.GetMetrics()}
	for name, a := range resp.GetGradients() {
		g, err := ArrayValues(a, []int{len(in[name])}, nil)
		if err != nil {
			return losses.Result{}, l.wrap("Evaluate", fmt.Errorf("gradient of %s: %w", name, err))
		}
		res.Grad[name] = g
	}
	return res, nil
}
