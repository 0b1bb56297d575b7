package plugins

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// ForceFieldProvider is what a forcefield plugin implements: given the
// options from the host's config, the energy model to serve.
type ForceFieldProvider interface {
	// Configure returns the model for the options, with its masses per
	// coordinate (nil if it has none) and its units ("md" or "reduced").
	Configure(options map[string]string) (m forcefields.Model, masses []float64, units string, err error)
}

// ForceFieldPlugin is the go-plugin glue of the forcefield kind: in a
// plugin it serves Provider, in the host it dispenses a client.
type ForceFieldPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Provider ForceFieldProvider
	Info     *pluginpb.PluginInfo
}

// GRPCServer registers the forcefield service.
func (p *ForceFieldPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterForceFieldServer(s, &forceFieldServer{provider: p.Provider, info: p.Info})
	return nil
}

// GRPCClient returns the raw generated client; Host wraps it.
func (p *ForceFieldPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &forceFieldConn{client: pluginpb.NewForceFieldClient(c), broker: broker}, nil
}

type forceFieldConn struct {
	client pluginpb.ForceFieldClient
	broker *plugin.GRPCBroker
}

// forceFieldServer serves a configured model.
type forceFieldServer struct {
	pluginpb.UnimplementedForceFieldServer
	provider ForceFieldProvider
	info     *pluginpb.PluginInfo

	mu     sync.Mutex
	model  forcefields.Model
	masses []float64
	units  string
	shared *sharedRegion // the host's region, after Attach
}

// Attach maps the host's shared region in place of the previous one.
func (s *forceFieldServer) Attach(_ context.Context, req *pluginpb.AttachRequest) (*pluginpb.Empty, error) {
	r, err := openSharedRegion(req.GetPath(), int(req.GetSize()))
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	s.mu.Lock()
	old := s.shared
	s.shared = r
	s.mu.Unlock()
	old.close()
	return &pluginpb.Empty{}, nil
}

func (s *forceFieldServer) describe() (*pluginpb.ForceFieldInfo, error) {
	if s.model == nil {
		return nil, status.Error(codes.FailedPrecondition, "the force field is not configured: call Configure first")
	}
	return &pluginpb.ForceFieldInfo{Plugin: s.info, Dim: int64(s.model.Dim()), Terms: s.model.Terms(), Masses: s.masses, Units: s.units}, nil
}

func (s *forceFieldServer) Describe(context.Context, *pluginpb.Empty) (*pluginpb.ForceFieldInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.describe()
}

func (s *forceFieldServer) Configure(_ context.Context, req *pluginpb.ConfigureRequest) (*pluginpb.ForceFieldInfo, error) {
	m, masses, units, err := s.provider.Configure(req.GetOptions())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if masses != nil && len(masses) != m.Dim() {
		return nil, status.Errorf(codes.Internal, "the plugin gives %d masses for dimension %d", len(masses), m.Dim())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.model, s.masses, s.units = m, masses, units
	return s.describe()
}

func (s *forceFieldServer) Evaluate(ctx context.Context, req *pluginpb.EvaluateRequest) (*pluginpb.EvaluateResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.model == nil {
		return nil, status.Error(codes.FailedPrecondition, "the force field is not configured: call Configure first")
	}
	if sb := req.GetShared(); sb != nil {
		return evaluateShared(ctx, s.model, s.shared, sb, req.GetForces(), req.GetTerms())
	}
	return evaluateModel(ctx, s.model, req)
}

// evaluateShared evaluates a batch that lies in the shared region, writing
// the answer there: the model reads and writes the mapped memory directly.
func evaluateShared(ctx context.Context, m forcefields.Model, r *sharedRegion, sb *pluginpb.SharedBatch, forces, terms bool) (*pluginpb.EvaluateResponse, error) {
	if r == nil {
		return nil, status.Error(codes.FailedPrecondition, "no shared region: call Attach first")
	}
	n, dim, nt := int(sb.GetBatch()), m.Dim(), len(m.Terms())
	out := int(sb.GetOutputOffset())
	b := &forcefields.Batch{Coords: r.floats(int(sb.GetCoordsOffset()), n*dim), Energy: r.floats(out, n)}
	out += 8 * n
	if forces {
		b.Forces = r.floats(out, n*dim)
		out += 8 * n * dim
		if b.Forces == nil {
			return nil, status.Error(codes.InvalidArgument, "the forces do not fit in the shared region")
		}
	}
	if terms {
		b.Terms = r.floats(out, n*nt)
		if b.Terms == nil {
			return nil, status.Error(codes.InvalidArgument, "the per-term energies do not fit in the shared region")
		}
	}
	if n < 0 || b.Coords == nil || b.Energy == nil {
		return nil, status.Errorf(codes.InvalidArgument, "a batch of %d does not fit in the shared region of %d bytes", n, r.size())
	}
	if err := m.Evaluate(ctx, b); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &pluginpb.EvaluateResponse{Shared: true}, nil
}

// evaluateModel answers an EvaluateRequest with a Go model; the host's
// energy service uses it too.
func evaluateModel(ctx context.Context, m forcefields.Model, req *pluginpb.EvaluateRequest) (*pluginpb.EvaluateResponse, error) {
	dim, nt := m.Dim(), len(m.Terms())
	x, err := ArrayValues(req.GetCoords(), []int{-1, dim}, nil)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "coords: %v", err)
	}
	n := len(x) / dim
	b := &forcefields.Batch{Coords: x, Energy: make([]float64, n)}
	if req.GetForces() {
		b.Forces = make([]float64, n*dim)
	}
	if req.GetTerms() {
		b.Terms = make([]float64, n*nt)
	}
	if err := m.Evaluate(ctx, b); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp := &pluginpb.EvaluateResponse{Energy: NewArray([]int{n}, b.Energy)}
	if b.Forces != nil {
		resp.Forces = NewArray([]int{n, dim}, b.Forces)
	}
	if b.Terms != nil {
		resp.Terms = NewArray([]int{n, nt}, b.Terms)
	}
	return resp, nil
}

// energyClient is what the forcefield and host-energy clients share.
type energyClient interface {
	Evaluate(ctx context.Context, in *pluginpb.EvaluateRequest, opts ...grpc.CallOption) (*pluginpb.EvaluateResponse, error)
}

// attacher is a client that can share memory (the forcefield client).
type attacher interface {
	Attach(ctx context.Context, in *pluginpb.AttachRequest, opts ...grpc.CallOption) (*pluginpb.Empty, error)
}

// remoteModel is a forcefields.Model whose energies come over gRPC: a
// forcefield plugin in the host, or the host's energy in a plugin.
type remoteModel struct {
	client energyClient
	info   *pluginpb.ForceFieldInfo
	// wrap turns a failed call into the error the caller sees (the host
	// adds the plugin's name and last lines).
	wrap func(call string, err error) error

	// Shared memory, when the plugin takes it: one region, used by one
	// call at a time (a concurrent call goes inline).
	sharedMu sync.Mutex
	shared   *sharedRegion
	noShared bool // the plugin does not implement Attach
}

var _ forcefields.Model = (*remoteModel)(nil)

func (r *remoteModel) Dim() int        { return int(r.info.GetDim()) }
func (r *remoteModel) Terms() []string { return r.info.GetTerms() }

// Evaluate sends the batch and copies the answer into the caller's slices:
// through the shared region when the plugin takes one, else inline.
func (r *remoteModel) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	dim, nt := r.Dim(), len(r.Terms())
	if err := b.Check(dim, nt); err != nil {
		return err
	}
	if done, err := r.evaluateShared(ctx, b); done || err != nil {
		return err
	}
	n := b.Size()
	resp, err := r.client.Evaluate(ctx, &pluginpb.EvaluateRequest{
		Coords: NewArray([]int{n, dim}, b.Coords), Forces: b.Forces != nil, Terms: b.Terms != nil,
	})
	if err != nil {
		return r.wrap("Evaluate", err)
	}
	if _, err := ArrayValues(resp.GetEnergy(), []int{n}, b.Energy); err != nil {
		return r.wrap("Evaluate", fmt.Errorf("energy: %w", err))
	}
	if b.Forces != nil {
		if _, err := ArrayValues(resp.GetForces(), []int{n, dim}, b.Forces); err != nil {
			return r.wrap("Evaluate", fmt.Errorf("forces: %w", err))
		}
	}
	if b.Terms != nil {
		if _, err := ArrayValues(resp.GetTerms(), []int{n, nt}, b.Terms); err != nil {
			return r.wrap("Evaluate", fmt.Errorf("per-term energies: %w", err))
		}
	}
	return nil
}

// Masses returns the masses per coordinate the plugin gave, or nil.
func (r *remoteModel) Masses() []float64 { return r.info.GetMasses() }

// Units returns "md" or "reduced".
func (r *remoteModel) Units() string { return r.info.GetUnits() }

// evaluateShared sends the batch through the shared region; done is false
// when the region cannot be used and the batch must go inline.
func (r *remoteModel) evaluateShared(ctx context.Context, b *forcefields.Batch) (done bool, err error) {
	att, ok := r.client.(attacher)
	if !ok || !sharedSupported || !r.sharedMu.TryLock() {
		return false, nil
	}
	defer r.sharedMu.Unlock()
	if r.noShared {
		return false, nil
	}
	n, dim, nt := b.Size(), r.Dim(), len(r.Terms())
	need := 8 * (2*n*dim + n + n*nt)
	if r.shared == nil || r.shared.size() < need {
		region, err := newSharedRegion(need + need/2)
		if err != nil {
			r.noShared = true
			return false, nil
		}
		_, err = att.Attach(ctx, &pluginpb.AttachRequest{Path: region.path, Size: int64(region.size())})
		region.unlink() // both sides have it mapped, or the plugin failed
		if err != nil {
			region.close()
			if status.Code(err) == codes.Unimplemented || status.Code(err) == codes.Unavailable {
				r.noShared = true // the plugin cannot map it: send inline
				return false, nil
			}
			return true, r.wrap("Attach", err)
		}
		r.shared.close()
		r.shared = region
	}
	copy(r.shared.floats(0, n*dim), b.Coords)
	out := 8 * n * dim
	resp, err := r.client.Evaluate(ctx, &pluginpb.EvaluateRequest{
		Forces: b.Forces != nil, Terms: b.Terms != nil,
		Shared: &pluginpb.SharedBatch{Batch: int64(n), CoordsOffset: 0, OutputOffset: int64(out)},
	})
	if err != nil {
		return true, r.wrap("Evaluate", err)
	}
	if !resp.GetShared() {
		return true, r.wrap("Evaluate", fmt.Errorf("the plugin did not answer through the shared region"))
	}
	copy(b.Energy, r.shared.floats(out, n))
	out += 8 * n
	if b.Forces != nil {
		copy(b.Forces, r.shared.floats(out, n*dim))
		out += 8 * n * dim
	}
	if b.Terms != nil {
		copy(b.Terms, r.shared.floats(out, n*nt))
	}
	return true, nil
}
