package cli

import "os"

// StderrIsTerminal reports whether stderr is a terminal: show progress bars
// there, plain periodic lines otherwise.
func StderrIsTerminal() bool { return IsTerminal(os.Stderr) }
