//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// inGroup runs cmd in its own process group and makes cancellation kill the
// whole group (the reference starts a worker subprocess per config).
func inGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
