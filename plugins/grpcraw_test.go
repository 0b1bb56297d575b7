package plugins

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/flowmd/flowmd/forcefields"
	"github.com/flowmd/flowmd/forcefields/analytic"
	"github.com/flowmd/flowmd/plugins/pluginpb"
)

type staticProvider struct{ m forcefields.Model }

func (p staticProvider) Configure(map[string]string) (forcefields.Model, []float64, string, error) {
	return p.m, nil, "reduced", nil
}

func BenchmarkRawGRPC(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "s")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	m, _ := analytic.New("harmonic", map[string]float64{"dim": 66})
	srv := grpcServer(nil)
	pluginpb.RegisterForceFieldServer(srv, &forceFieldServer{provider: staticProvider{m}, info: &pluginpb.PluginInfo{}})
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
		grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(window),
		grpc.WithWriteBufferSize(1<<20), grpc.WithReadBufferSize(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	client := pluginpb.NewForceFieldClient(conn)
	info, err := client.Configure(context.Background(), &pluginpb.ConfigureRequest{})
	if err != nil {
		b.Fatal(err)
	}
	rm := &remoteModel{client: client, info: info, wrap: func(_ string, err error) error { return err }}
	bt := forcefields.NewBatch(rm, 1024, true, false)
	ctx := context.Background()
	for b.Loop() {
		if err := rm.Evaluate(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
}
