//go:build unix

package cli

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// PeakRSS returns the peak resident set size of this process in bytes (0 if
// unknown). On Linux it is VmHWM from /proc/self/status: getrusage's
// ru_maxrss survives execve and so also counts the pages the process shared
// with its parent before exec (Go's os/exec starts children with vfork), which
// makes a stage started from a big program report the parent's memory.
func PeakRSS() int64 {
	if runtime.GOOS == "linux" {
		if b, err := os.ReadFile("/proc/self/status"); err == nil {
			if n := vmHWM(string(b)); n > 0 {
				return n
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes
	}
	return int64(ru.Maxrss) * 1024 // KiB elsewhere
}

// vmHWM returns the "VmHWM:   1234 kB" line of a /proc/PID/status text in
// bytes, or 0 if there is none.
func vmHWM(status string) int64 {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		return n * 1024
	}
	return 0
}

// deviceFailure reports whether err wraps an errno that says the system, not
// the user's input, failed: no space left, a file size limit, a disk quota,
// an I/O error.
func deviceFailure(err error) bool {
	for _, e := range []syscall.Errno{syscall.ENOSPC, syscall.EFBIG, syscall.EDQUOT, syscall.EIO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// IsTerminal reports whether f is a terminal (so progress bars make sense).
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	return isatty(f.Fd())
}
