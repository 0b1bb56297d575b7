package plugins

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowmd/flowmd/forcefields"
)

// childPIDs returns the processes whose parent is this test process.
func childPIDs(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: the command may hold spaces, so
		// split after its closing parenthesis.
		rest := string(raw[strings.LastIndexByte(string(raw), ')')+2:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[0] != "Z" {
			if ppid, _ := strconv.Atoi(f[1]); ppid == self {
				out = append(out, pid)
			}
		}
	}
	return out
}

// noChildrenLeft waits briefly for plugin processes to be gone.
func noChildrenLeft(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(childPIDs(t)) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("plugin processes left: %v", childPIDs(t))
}

func misbehaving(t *testing.T, h *Host) forcefields.Model {
	t.Helper()
	ff, err := h.ForceField(context.Background(), Spec{Name: "misbehave", Path: pluginPath(t, "misbehave")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := forcefields.NewBatch(ff, 2, true, false)
	if err := ff.Evaluate(context.Background(), b); err != nil {
		t.Fatalf("a healthy call failed: %v", err)
	}
	return ff
}

func TestPluginCrashIsAClearError(t *testing.T) {
	h := &Host{}
	ff := misbehaving(t, h)
	b := forcefields.NewBatch(ff, 1, true, false)
	b.Coords[0] = 666
	err := ff.Evaluate(context.Background(), b)
	var pe *Error
	if !errors.As(err, &pe) || pe.Plugin != "misbehave" || pe.Call != "Evaluate" {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"plugin misbehave", "Evaluate", "exited", "panic: simulated crash in the plugin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	h.Close()
	noChildrenLeft(t)
}

func TestPluginHangTimesOut(t *testing.T) {
	h := &Host{Timeout: 500 * time.Millisecond}
	ff := misbehaving(t, h)
	b := forcefields.NewBatch(ff, 1, true, false)
	b.Coords[0] = 777
	start := time.Now()
	err := ff.Evaluate(context.Background(), b)
	if err == nil || !strings.Contains(err.Error(), "did not answer in time") || !strings.Contains(err.Error(), "sleeping forever") {
		t.Fatalf("got %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("the time-out took %v", el)
	}
	h.Close()
	noChildrenLeft(t)
}

func TestPluginOtherProtocolVersionRefused(t *testing.T) {
	h := &Host{}
	defer h.Close()
	_, err := h.Describe(context.Background(), Spec{Path: pluginPath(t, "otherversion")})
	if err == nil || !strings.Contains(err.Error(), "Plugin version: 2") || !strings.Contains(err.Error(), "this mdrun speaks version 1") {
		t.Fatalf("got %v", err)
	}
	noChildrenLeft(t)
}

func TestPluginChecksum(t *testing.T) {
	h := &Host{}
	defer h.Close()
	path := pluginPath(t, "flowmd-analytic")
	sum, err := FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Describe(context.Background(), Spec{Path: path, SHA256: sum}); err != nil {
		t.Errorf("the right checksum was refused: %v", err)
	}
	wrong := strings.Repeat("0", 64)
	if _, err := h.Describe(context.Background(), Spec{Path: path, SHA256: wrong}); err == nil || !strings.Contains(err.Error(), "SHA-256 differs") {
		t.Errorf("a wrong checksum: %v", err)
	}
	if _, err := h.Describe(context.Background(), Spec{Path: path, SHA256: "abc"}); err == nil || !strings.Contains(err.Error(), "64 hexadecimal digits") {
		t.Errorf("a malformed checksum: %v", err)
	}
	noChildrenLeft(t)
}

// TestPluginsDieWithHost kills a process that started plugins with SIGKILL,
// which runs no cleanup: the kernel must still end its plugins.
func TestPluginsDieWithHost(t *testing.T) {
	if os.Getenv("FLOWMD_TEST_HOLDER") == "1" {
		// The child: start a plugin, report its pid, wait to be killed.
		h := &Host{}
		ff, err := h.ForceField(context.Background(), Spec{Path: os.Getenv("FLOWMD_TEST_PLUGIN")}, nil)
		if err != nil {
			os.Exit(2)
		}
		_ = ff
		for _, r := range h.running {
			os.Stdout.WriteString(strconv.Itoa(r.client.ReattachConfig().Pid) + "\n")
		}
		time.Sleep(time.Hour)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := execCommand(exe, "-test.run=^TestPluginsDieWithHost$")
	cmd.Env = append(os.Environ(), "FLOWMD_TEST_HOLDER=1", "FLOWMD_TEST_PLUGIN="+pluginPath(t, "misbehave"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		t.Fatalf("the holder reported %q", buf[:n])
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatalf("plugin %d is not running", pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin %d outlived its host", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
