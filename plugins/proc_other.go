//go:build !linux

package plugins

import "os/exec"

// dieWithParent does nothing outside Linux; Host.Close and go-plugin's
// managed clients end the plugins when mdrun ends normally.
func dieWithParent(*exec.Cmd) {}
