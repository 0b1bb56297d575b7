package plugins

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/flowmd/flowmd/internal/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// pluginPath returns the path of a built plugin: a command under cmd/ or a
// test plugin under plugins/testdata/.
func pluginPath(t testing.TB, name string) string {
	t.Helper()
	switch name {
	case "misbehave", "otherversion":
		return testbin.Build(t, "plugins/testdata/"+name)
	}
	return testbin.Build(t, "cmd/"+name)
}

const dataDir = "../data"

func charmmSpec(t testing.TB) (Spec, map[string]string) {
	return Spec{Path: pluginPath(t, "flowmd-charmm")}, map[string]string{
		"psf":    filepath.Join(dataDir, "systems/dialanine/dialanine.psf"),
		"params": filepath.Join(dataDir, "toppar/par_all36m_prot.prm"),
	}
}

var logBuf syncBuffer

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	_           = context.Background
	execCommand = exec.Command
)
