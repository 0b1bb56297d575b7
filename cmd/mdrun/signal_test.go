package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildMdrun compiles the command once for tests that run it as a process.
func buildMdrun(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mdrun")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSIGINTWritesCheckpointAndResumes interrupts a real mdrun process with
// SIGINT: it must exit with status 130 after writing a checkpoint and
// flushing its outputs, and --resume must then finish the run.
func TestSIGINTWritesCheckpointAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs mdrun")
	}
	bin := buildMdrun(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "run.yaml")
	// Long enough that the signal arrives mid-run (about 2 s uninterrupted).
	if err := os.WriteFile(cfg, []byte("steps: 400000\nmoves: [{type: langevin}]\noutput: {dataset: 1000, log: 1000, trajectory: 1000}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-c", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want status %d; stderr:\n%s", err, exitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "checkpoint written") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	for _, f := range []string{"run.checkpoint.json", "run.npz", "run.log.csv", "run.dcd"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s after the interruption: %v", f, err)
		}
	}
	// Continue to the end.
	out, err := exec.Command(bin, "run", "-c", cfg, "--resume", "--quiet").CombinedOutput()
	if err == nil {
		t.Logf("resumed to the end:\n%s", out)
	} else {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "steps                400000") {
		t.Errorf("resumed run summary:\n%s", out)
	}
}
