//go:build unix

package artifacts

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with this id exists (signal 0
// probes without sending anything; EPERM means it exists but is another
// user's). When unsure it answers true, so nothing of a live writer is removed.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || !errors.Is(err, syscall.ESRCH)
}
