package cli

import (
	"io"
	"os"
)

// StderrIsTerminal reports whether stderr is a terminal: show progress bars
// there, plain periodic lines otherwise.
func StderrIsTerminal() bool { return IsTerminal(os.Stderr) }

// StdStreams returns stdout and stderr, each replaced by the process's own
// when nil: what a command's Run does with the streams its caller (a test)
// may have left unset.
func StdStreams(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	return stdout, stderr
}
