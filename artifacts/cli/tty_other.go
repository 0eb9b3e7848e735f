//go:build unix && !linux

package cli

// isatty falls back to the character-device check done by IsTerminal.
func isatty(fd uintptr) bool { return true }
