package plugins

import (
	"os/exec"
	"syscall"
)

// dieWithParent asks the kernel to kill the plugin when mdrun dies, even by
// SIGKILL, so that no plugin process outlives the engine.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
