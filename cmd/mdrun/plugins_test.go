package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowmd/flowmd/internal/testbin"
)

func TestMain(m *testing.M) {
	// The built-in plugins are mdrun itself started as "mdrun plugin-serve
	// NAME": in the tests, the test binary is mdrun.
	if len(os.Args) > 2 && os.Args[1] == "plugin-serve" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

func TestPluginsList(t *testing.T) {
	dir := t.TempDir()
	bin := testbin.Build(t, "cmd/flowmd-analytic")
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flowmd-analytic"), raw, 0o755); err != nil {
		t.Fatal(err)
	}
	// An executable that is not a plugin is listed with the reason.
	if err := os.WriteFile(filepath.Join(dir, "flowmd-broken"), []byte("#!/bin/sh\necho not a plugin >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errs := mdrun(t, "plugins", "list", "--dir", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "flowmd-analytic  forcefield  1") || !strings.Contains(out, "flowmd-broken") || !strings.Contains(out, "not a plugin") {
		t.Errorf("output:\n%s", out)
	}
}

// pluginProcesses returns the pids of processes running the executable.
func pluginProcesses(t *testing.T, exe string) []int {
	t.Helper()
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.HasPrefix(string(cmdline), exe) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err == nil && strings.Contains(string(stat), ") Z ") {
			continue // a zombie is already dead
		}
		var pid int
		fmt.Sscan(e.Name(), &pid)
		pids = append(pids, pid)
	}
	return pids
}

// TestSIGINTWithPlugin interrupts a run whose energy comes from a plugin:
// mdrun writes its checkpoint and exits with status 130, and the plugin
// process is gone.
func TestSIGINTWithPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs mdrun and a plugin")
	}
	mdrunBin := buildMdrun(t)
	plugin := testbin.Build(t, "cmd/flowmd-analytic")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "run.yaml")
	yaml := fmt.Sprintf("system: {plugin: {path: %s, options: {model: double_well_medium, dim: '2'}}}\nwalkers: 4\nsteps: 100000000\nmoves: [{type: random_walk}]\noutput: {dataset: 100}\n", plugin)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mdrunBin, "run", "-c", cfg, "--quiet")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(pluginProcesses(t, plugin)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the plugin never started; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d; stderr:\n%s", err, exitInterrupted, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "run.checkpoint.json")); err != nil {
		t.Errorf("no checkpoint: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); len(pluginProcesses(t, plugin)) > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("plugin processes left after the interruption: %v", pluginProcesses(t, plugin))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBuiltinPluginByName runs a config that names the analytic plugin
// without a path or a plugin folder: mdrun serves it itself.
func TestBuiltinPluginByName(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "run.yaml")
	yaml := "system: {plugin: {name: analytic, options: {model: double_well_medium, dim: \"2\"}}}\nmoves: [{type: random_walk}]\nsteps: 200\noutput: {dir: " + dir + ", dataset: 10}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := mdrun(t, "run", "-c", cfg, "--quiet"); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "run.npz")); err != nil {
		t.Error(err)
	}
	bad := strings.Replace(yaml, "name: analytic", "name: analytik", 1)
	if err := os.WriteFile(cfg, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := mdrun(t, "run", "-c", cfg, "--quiet"); code != exitError || !strings.Contains(errs, `no built-in plugin is called "analytik"`) {
		t.Errorf("a misspelt plugin: exit %d: %s", code, errs)
	}
}
