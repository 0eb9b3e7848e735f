//go:build !unix

package cli

import "os"

// PeakRSS returns 0: not available on this system.
func PeakRSS() int64 { return 0 }

// deviceFailure reports false: errno values are not portable here.
func deviceFailure(err error) bool { return false }

// IsTerminal reports false: not detectable on this system.
func IsTerminal(f *os.File) bool { return false }
