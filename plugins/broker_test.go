package plugins

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

// doubled is a model whose energies and forces are twice another's.
type doubled struct{ forcefields.Model }

func (d doubled) Evaluate(ctx context.Context, b *forcefields.Batch) error {
	if err := d.Model.Evaluate(ctx, b); err != nil {
		return err
	}
	for i := range b.Energy {
		b.Energy[i] *= 2
	}
	for i := range b.Forces {
		b.Forces[i] *= 2
	}
	for i := range b.Terms {
		b.Terms[i] *= 2
	}
	return nil
}

// probeProvider dials the host's energy through the broker when configured
// and serves twice that energy: a plugin built on the host's kernel, as a
// trainer is.
type probeProvider struct{ broker *plugin.GRPCBroker }

func (p *probeProvider) Configure(opts map[string]string) (forcefields.Model, []float64, string, error) {
	id, err := strconv.ParseUint(opts["host_energy"], 10, 32)
	if err != nil {
		return nil, nil, "", fmt.Errorf("option host_energy: %v", err)
	}
	m, err := DialHostEnergy(context.Background(), p.broker, uint32(id))
	if err != nil {
		return nil, nil, "", err
	}
	return doubled{m}, nil, "reduced", nil
}

type probePlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (probePlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterForceFieldServer(s, &forceFieldServer{provider: &probeProvider{broker}, info: &pluginpb.PluginInfo{Name: "probe"}})
	return nil
}

func (probePlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &forceFieldConn{client: pluginpb.NewForceFieldClient(c), broker: broker}, nil
}

// TestHostEnergyThroughBroker offers the host's energy model to a plugin
// through go-plugin's broker (in one process, with go-plugin's test
// connection): the plugin dials it and evaluates it.
func TestHostEnergyThroughBroker(t *testing.T) {
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{"probe": probePlugin{}})
	defer client.Close()
	raw, err := client.Dispense("probe")
	if err != nil {
		t.Fatal(err)
	}
	conn := raw.(*forceFieldConn)
	host, err := analytic.New("double_well_medium", map[string]float64{"dim": 2})
	if err != nil {
		t.Fatal(err)
	}
	id := ServeHostEnergy(conn.broker, host, nil, "reduced")
	info, err := conn.client.Configure(context.Background(), &pluginpb.ConfigureRequest{Options: map[string]string{"host_energy": fmt.Sprint(id)}})
	if err != nil {
		t.Fatal(err)
	}
	probe := &remoteModel{client: conn.client, info: info, wrap: func(_ string, err error) error { return err }}
	a, b := forcefields.NewBatch(host, 3, true, true), forcefields.NewBatch(probe, 3, true, true)
	copy(a.Coords, []float64{-1.4, 0.3, 0.05, -2, 1.38, 1})
	copy(b.Coords, a.Coords)
	if err := host.Evaluate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := probe.Evaluate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for i := range a.Energy {
		if b.Energy[i] != 2*a.Energy[i] {
			t.Errorf("energy %d: plugin %g, twice the host's %g", i, b.Energy[i], 2*a.Energy[i])
		}
	}
	for i := range a.Forces {
		if b.Forces[i] != 2*a.Forces[i] {
			t.Errorf("force %d: plugin %g, twice the host's %g", i, b.Forces[i], 2*a.Forces[i])
		}
	}
}
