package plugins

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// FlowModel is what a flow plugin serves: a normalizing flow G from latent
// rows z to configurations x, its inverse F, and its training hooks.
// *flows.Generator implements it.
type FlowModel interface {
	LatentDim() int
	Dim() int
	// GeneratedAtoms lists the atoms the flow generates (the others are
	// placed deterministically), nil for a flow on plain coordinates.
	GeneratedAtoms() []int
	Parameters() int
	// BaseSigma is the standard deviation of the Gaussian base of z.
	BaseSigma() float64
	Sample(n int, rng *rand.Rand, keep bool) (z, x, logp []float64)
	Forward(n int, z, x, ld []float64, keep bool)
	Inverse(n int, x, z, ld []float64, keep bool)
	// Complete re-places the atoms the flow does not generate, in place;
	// a VJP after a kept Complete reaches the placer's parameters and the
	// generated atoms (through the placer), not the flow's.
	Complete(n int, x []float64, keep bool)
	VJP(dout, dld, din []float64) error
	SaveFile(path string) error
	LoadFile(path string) error
	Step(lr, clip float64) float64
}

// InputVJPModel is a FlowModel that can skip the parameters' gradient
// when a VJP's caller needs the inputs' cotangents only (the forces of an
// energy with placed atoms). Its InputVJP gives VJP's input cotangents.
type InputVJPModel interface {
	InputVJP(dout, dld, din []float64) error
}

// FlowProvider is what a flow plugin implements: given the options from
// the host's config, the flow to serve.
type FlowProvider interface {
	Configure(options map[string]string) (FlowModel, error)
}

// FlowPlugin is the go-plugin glue of the flow kind.
type FlowPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Provider FlowProvider
	Info     *pluginpb.PluginInfo
}

func (p *FlowPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterFlowServer(s, &flowServer{provider: p.Provider, info: p.Info})
	return nil
}

func (p *FlowPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginpb.NewFlowClient(c), nil
}

// ServeFlow runs a flow plugin; call it from the plugin's main.
func ServeFlow(info *pluginpb.PluginInfo, p FlowProvider) {
	info.Kind = KindFlow
	info.Protocol = ProtocolVersion
	serve(info, plugin.PluginSet{KindFlow: &FlowPlugin{Provider: p, Info: info}})
}

// flowServer serves a configured flow, one call at a time: a pass kept
// for a VJP is state.
type flowServer struct {
	pluginpb.UnimplementedFlowServer
	provider FlowProvider
	info     *pluginpb.PluginInfo

	mu       sync.Mutex
	model    FlowModel
	keptN    int
	keptInv  bool
	keptDims [2]int // input and output widths of the kept pass
}

func (s *flowServer) describe() (*pluginpb.FlowInfo, error) {
	if s.model == nil {
		return nil, status.Error(codes.FailedPrecondition, "the flow is not configured: call Configure first")
	}
	m := s.model
	info := &pluginpb.FlowInfo{Plugin: s.info, LatentDim: int64(m.LatentDim()), Dim: int64(m.Dim()), Parameters: int64(m.Parameters()), BaseSigma: m.BaseSigma()}
	for _, a := range m.GeneratedAtoms() {
		info.GeneratedAtoms = append(info.GeneratedAtoms, int64(a))
	}
	return info, nil
}

func (s *flowServer) Describe(context.Context, *pluginpb.Empty) (*pluginpb.FlowInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.describe()
}

func (s *flowServer) Configure(_ context.Context, req *pluginpb.ConfigureRequest) (*pluginpb.FlowInfo, error) {
	m, err := s.provider.Configure(req.GetOptions())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.model, s.keptN = m, 0
	return s.describe()
}

// configured locks the server and returns the model, or an error.
func (s *flowServer) configured() (FlowModel, error) {
	s.mu.Lock()
	if s.model == nil {
		s.mu.Unlock()
		return nil, status.Error(codes.FailedPrecondition, "the flow is not configured: call Configure first")
	}
	return s.model, nil
}

func (s *flowServer) Sample(_ context.Context, req *pluginpb.SampleRequest) (*pluginpb.SampleResponse, error) {
	m, err := s.configured()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	n := int(req.GetN())
	if n < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "n = %d", n)
	}
	rng := rand.New(rand.NewPCG(req.GetSeed(), 0x73616d70))
	z, x, logp := m.Sample(n, rng, false)
	s.keptN = 0
	return &pluginpb.SampleResponse{Z: NewArray([]int{n, m.LatentDim()}, z), X: NewArray([]int{n, m.Dim()}, x), LogP: NewArray([]int{n}, logp)}, nil
}

func (s *flowServer) transform(req *pluginpb.TransformRequest, inverse bool) (*pluginpb.TransformResponse, error) {
	m, err := s.configured()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	in, out := m.LatentDim(), m.Dim()
	if inverse {
		in, out = out, in
	}
	x, err := ArrayValues(req.GetInput(), []int{-1, in}, nil)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "input: %v", err)
	}
	n := len(x) / in
	y, ld := make([]float64, n*out), make([]float64, n)
	if inverse {
		m.Inverse(n, x, y, ld, req.GetKeepForVjp())
	} else {
		m.Forward(n, x, y, ld, req.GetKeepForVjp())
	}
	s.keptN, s.keptInv, s.keptDims = 0, inverse, [2]int{in, out}
	if req.GetKeepForVjp() {
		s.keptN = n
	}
	return &pluginpb.TransformResponse{Output: NewArray([]int{n, out}, y), LogDet: NewArray([]int{n}, ld)}, nil
}

func (s *flowServer) Complete(_ context.Context, req *pluginpb.TransformRequest) (*pluginpb.TransformResponse, error) {
	m, err := s.configured()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	d := m.Dim()
	x, err := ArrayValues(req.GetInput(), []int{-1, d}, nil)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "input: %v", err)
	}
	n := len(x) / d
	m.Complete(n, x, req.GetKeepForVjp())
	s.keptN, s.keptDims = 0, [2]int{d, d}
	if req.GetKeepForVjp() {
		s.keptN = n
	}
	return &pluginpb.TransformResponse{Output: NewArray([]int{n, d}, x), LogDet: NewArray([]int{n}, make([]float64, n))}, nil
}

func (s *flowServer) Forward(_ context.Context, req *pluginpb.TransformRequest) (*pluginpb.TransformResponse, error) {
	return s.transform(req, false)
}

func (s *flowServer) Inverse(_ context.Context, req *pluginpb.TransformRequest) (*pluginpb.TransformResponse, error) {
	return s.transform(req, true)
}

func (s *flowServer) VJP(_ context.Context, req *pluginpb.VJPRequest) (*pluginpb.VJPResponse, error) {
	m, err := s.configured()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	n := s.keptN
	if n == 0 {
		return nil, status.Error(codes.FailedPrecondition, "no pass was kept for a VJP: call Forward or Inverse with keep_for_vjp first")
	}
	in, out := s.keptDims[0], s.keptDims[1]
	dout, err := ArrayValues(req.GetOutputCotangent(), []int{n, out}, nil)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "output_cotangent: %v", err)
	}
	dld := make([]float64, n)
	if req.GetLogDetCotangent() != nil {
		if dld, err = ArrayValues(req.GetLogDetCotangent(), []int{n}, dld); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "log_det_cotangent: %v", err)
		}
	}
	din := make([]float64, n*in)
	vjp := m.VJP
	if im, ok := m.(InputVJPModel); ok && req.GetInputsOnly() {
		vjp = im.InputVJP
	}
	if err := vjp(dout, dld, din); err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return &pluginpb.VJPResponse{InputCotangent: NewArray([]int{n, in}, din)}, nil
}

func (s *flowServer) Save(_ context.Context, req *pluginpb.SaveRequest) (*pluginpb.Empty, error) {
	m, err := s.configured()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if err := m.SaveFile(req.GetPath()); err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &pluginpb.Empty{}, nil
}

func (s *flowServer) Load(_ context.Context, req *pluginpb.LoadRequest) (*pluginpb.Empty, error) {
	m, err := s.configured()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if err := m.LoadFile(req.GetPath()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.keptN = 0
	return &pluginpb.Empty{}, nil
}

func (s *flowServer) Step(_ context.Context, req *pluginpb.StepRequest) (*pluginpb.StepResponse, error) {
	m, err := s.configured()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if lr := req.GetLearningRate(); !(lr > 0) {
		return nil, status.Errorf(codes.InvalidArgument, "learning rate %g", lr)
	}
	return &pluginpb.StepResponse{GradientNorm: m.Step(req.GetLearningRate(), req.GetClipNorm())}, nil
}

// RemoteFlow is a flow plugin seen from the host.
type RemoteFlow struct {
	client pluginpb.FlowClient
	info   *pluginpb.FlowInfo
	wrap   func(call string, err error) error
	Spec   Spec
}

// Flow starts a flow plugin and configures it with options.
func (h *Host) Flow(ctx context.Context, spec Spec, options map[string]string) (*RemoteFlow, error) {
	r, err := h.start(spec)
	if err != nil {
		return nil, err
	}
	raw, err := r.rpc.Dispense(KindFlow)
	if err != nil {
		return nil, r.explain("dispense flow", err)
	}
	client, ok := raw.(pluginpb.FlowClient)
	if !ok {
		return nil, r.explain("dispense flow", fmt.Errorf("unexpected client %T", raw))
	}
	info, err := client.Configure(ctx, &pluginpb.ConfigureRequest{Options: options})
	if err != nil {
		return nil, r.explain("Configure", err)
	}
	if info.GetLatentDim() < 1 || info.GetDim() < 1 || !(info.GetBaseSigma() > 0) {
		return nil, r.explain("Configure", fmt.Errorf("the plugin reports dimensions %d and %d and base sigma %g", info.GetLatentDim(), info.GetDim(), info.GetBaseSigma()))
	}
	return &RemoteFlow{client: client, info: info, wrap: r.explain, Spec: spec}, nil
}

// Info is what the plugin said of its flow.
func (f *RemoteFlow) Info() *pluginpb.FlowInfo { return f.info }
func (f *RemoteFlow) LatentDim() int           { return int(f.info.GetLatentDim()) }
func (f *RemoteFlow) Dim() int                 { return int(f.info.GetDim()) }
func (f *RemoteFlow) BaseSigma() float64       { return f.info.GetBaseSigma() }

// Sample draws n configurations with their latent rows and log p_G.
func (f *RemoteFlow) Sample(ctx context.Context, n int, seed uint64) (z, x, logp []float64, err error) {
	resp, err := f.client.Sample(ctx, &pluginpb.SampleRequest{N: int64(n), Seed: seed})
	if err != nil {
		return nil, nil, nil, f.wrap("Sample", err)
	}
	if z, err = ArrayValues(resp.GetZ(), []int{n, f.LatentDim()}, nil); err == nil {
		if x, err = ArrayValues(resp.GetX(), []int{n, f.Dim()}, nil); err == nil {
			logp, err = ArrayValues(resp.GetLogP(), []int{n}, nil)
		}
	}
	if err != nil {
		return nil, nil, nil, f.wrap("Sample", err)
	}
	return z, x, logp, nil
}

// Forward maps latent rows to configurations, with log |det dG/dz|.
func (f *RemoteFlow) Forward(ctx context.Context, z []float64, keep bool) (x, ld []float64, err error) {
	return f.transform(ctx, "Forward", f.client.Forward, z, f.LatentDim(), f.Dim(), keep)
}

// Complete re-places the atoms the flow does not generate in
// configurations; with keep, a VJP then trains the placer and gives the
// configurations' cotangents (the forces of the energy with placed atoms).
func (f *RemoteFlow) Complete(ctx context.Context, x []float64, keep bool) ([]float64, error) {
	out, _, err := f.transform(ctx, "Complete", f.client.Complete, x, f.Dim(), f.Dim(), keep)
	return out, err
}

// Inverse maps configurations to latent rows, with log |det dF/dx|.
func (f *RemoteFlow) Inverse(ctx context.Context, x []float64, keep bool) (z, ld []float64, err error) {
	return f.transform(ctx, "Inverse", f.client.Inverse, x, f.Dim(), f.LatentDim(), keep)
}

type transformCall func(context.Context, *pluginpb.TransformRequest, ...grpc.CallOption) (*pluginpb.TransformResponse, error)

func (f *RemoteFlow) transform(ctx context.Context, name string, call transformCall, in []float64, inDim, outDim int, keep bool) ([]float64, []float64, error) {
	if len(in)%inDim != 0 {
		return nil, nil, fmt.Errorf("%s: %d numbers are not rows of %d", name, len(in), inDim)
	}
	n := len(in) / inDim
	resp, err := call(ctx, &pluginpb.TransformRequest{Input: NewArray([]int{n, inDim}, in), KeepForVjp: keep})
	if err != nil {
		return nil, nil, f.wrap(name, err)
	}
	out, err := ArrayValues(resp.GetOutput(), []int{n, outDim}, nil)
	if err != nil {
		return nil, nil, f.wrap(name, err)
	}
	ld, err := ArrayValues(resp.GetLogDet(), []int{n}, nil)
	if err != nil {
		return nil, nil, f.wrap(name, err)
	}
	return out, ld, nil
}

// VJP backpropagates through the last kept pass: given the cotangents of
// its outputs and log-determinants, the cotangents of its inputs; the
// parameters' gradients accumulate in the plugin.
func (f *RemoteFlow) VJP(ctx context.Context, dout, dld []float64) ([]float64, error) {
	return f.vjp(ctx, dout, dld, false)
}

// InputVJP is VJP for forces: the plugin may skip the parameters'
// gradient, which the built-in flow does after a kept Complete.
func (f *RemoteFlow) InputVJP(ctx context.Context, dout, dld []float64) ([]float64, error) {
	return f.vjp(ctx, dout, dld, true)
}

func (f *RemoteFlow) vjp(ctx context.Context, dout, dld []float64, inputsOnly bool) ([]float64, error) {
	n := len(dld)
	outDim := len(dout) / max(n, 1)
	resp, err := f.client.VJP(ctx, &pluginpb.VJPRequest{OutputCotangent: NewArray([]int{n, outDim}, dout), LogDetCotangent: NewArray([]int{n}, dld), InputsOnly: inputsOnly})
	if err != nil {
		return nil, f.wrap("VJP", err)
	}
	din, err := ArrayValues(resp.GetInputCotangent(), []int{n, -1}, nil)
	if err != nil {
		return nil, f.wrap("VJP", err)
	}
	return din, nil
}

// Step applies the plugin's optimizer to the accumulated gradient and
// returns the gradient's norm before clipping.
func (f *RemoteFlow) Step(ctx context.Context, lr, clip float64) (float64, error) {
	resp, err := f.client.Step(ctx, &pluginpb.StepRequest{LearningRate: lr, ClipNorm: clip})
	if err != nil {
		return 0, f.wrap("Step", err)
	}
	return resp.GetGradientNorm(), nil
}

// Save has the plugin write its parameters to path.
func (f *RemoteFlow) Save(ctx context.Context, path string) error {
	if _, err := f.client.Save(ctx, &pluginpb.SaveRequest{Path: path}); err != nil {
		return f.wrap("Save", err)
	}
	return nil
}

// Load has the plugin read its parameters from path.
func (f *RemoteFlow) Load(ctx context.Context, path string) error {
	if _, err := f.client.Load(ctx, &pluginpb.LoadRequest{Path: path}); err != nil {
		return f.wrap("Load", err)
	}
	return nil
}
