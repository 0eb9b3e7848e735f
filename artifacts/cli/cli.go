// Package cli is the command-line plumbing shared by every ulmfit-go binary:
// signal handling, one-line errors with conventional exit codes, pflag flag
// sets whose --help prints defaults, the common flags, and small helpers.
//
// A stage's main is one line:
//
//	func main() { cli.Main("tokenize", run) }
//
//	func run(ctx context.Context, args []string) error {
//		fs := cli.NewFlags("tokenize", "[flags] CSV...", "Tokenize raw text into a tokens artifact.")
//		var c cli.Common
//		c.Register(fs, "out", "seed", "quiet")
//		if err := cli.Parse(fs, args); err != nil {
//			return err
//		}
//		...
//	}
//
// Exit codes: 0 on success (and for --help), 2 for bad usage or bad input
// (Usage, BadInput, any *artifacts.Error, a missing file), 1 otherwise. A
// write that fails for lack of room or a broken device (ENOSPC, EFBIG,
// EDQUOT, EIO) is a runtime failure (1) even inside an *artifacts.Error.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // a runtime failure
	ExitUsage   = 2 // bad usage or bad input
)

// Main runs run with a context that is cancelled on SIGINT or SIGTERM (a
// second signal kills the process), prints a returned error as one line
// "name: msg" on stderr and exits with ExitCode(err).
func Main(name string, run func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // restore default handling: a second Ctrl-C kills at once
	}()
	code := Run(ctx, name, os.Args[1:], os.Stderr, run)
	stop()
	os.Exit(code)
}

// Run is Main without the process plumbing: it calls run, reports its error
// on stderr and returns the exit code. Tests use it to run commands in-process.
func Run(ctx context.Context, name string, args []string, stderr io.Writer, run func(ctx context.Context, args []string) error) int {
	err := run(ctx, args)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "%s: interrupted\n", name)
		return ExitFailure
	}
	code := ExitCode(err)
	if err != nil && code != ExitOK {
		fmt.Fprintf(stderr, "%s: %s\n", name, Message(name, err))
	}
	return code
}

// Message is err as one line: newlines become "; ", and usage errors point
// to --help.
func Message(name string, err error) string {
	msg := strings.TrimSpace(err.Error())
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	msg = strings.ReplaceAll(msg, "\n", "; ")
	var u *usageError
	if errors.As(err, &u) {
		if u.cmd != "" {
			name = u.cmd
		}
		msg += fmt.Sprintf(" (see '%s --help')", name)
	}
	return msg
}

// ExitCode maps an error to the process exit code: 0 for nil and for
// pflag.ErrHelp, 2 for usage and input errors, 1 for anything else. An error
// that wraps a device failure (full disk, file size limit, quota, I/O error)
// is 1 even when it names the user's file: the input was fine, the system
// failed.
func ExitCode(err error) int {
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return ExitOK
	}
	if deviceFailure(err) {
		return ExitFailure
	}
	var u *usageError
	var b *badInputError
	var a *artifacts.Error
	if errors.As(err, &u) || errors.As(err, &b) || errors.As(err, &a) || errors.Is(err, fs.ErrNotExist) {
		return ExitUsage
	}
	return ExitFailure
}

type usageError struct{ msg, cmd string }

func (e *usageError) Error() string { return e.msg }

// Usage returns an error for bad flags or arguments (exit 2, with a pointer
// to --help).
func Usage(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// UsageOf is Usage for the command that owns fs (e.g. a subcommand): the
// message points to that command's --help.
func UsageOf(fs *pflag.FlagSet, format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...), cmd: fs.Name()}
}

type badInputError struct{ err error }

func (e *badInputError) Error() string { return e.err.Error() }
func (e *badInputError) Unwrap() error { return e.err }

// BadInput marks err as a problem with the user's input (exit 2). nil stays
// nil. *artifacts.Error needs no wrapping.
func BadInput(err error) error {
	if err == nil {
		return nil
	}
	return &badInputError{err: err}
}

// IsUsage reports whether err is (or wraps) a Usage error.
func IsUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// NewFlags returns a GNU-style flag set for a command. Its --help (or -h)
// prints "Usage: name synopsis", the description and every flag with its
// default to stdout; Parse then returns pflag.ErrHelp, which Main turns into
// exit 0. Use fs.SetOutput to redirect the help in tests.
func NewFlags(name, synopsis, description string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(os.Stdout)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s %s\n", name, synopsis)
		if description != "" {
			fmt.Fprintf(w, "\n%s\n", strings.TrimRight(description, "\n"))
		}
		if fs.HasAvailableFlags() {
			fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
		}
		writeAliases(w, fs)
	}
	return fs
}

// ParseOption adjusts Parse.
type ParseOption func(*parseOptions)

type parseOptions struct {
	versionInfo []func() string
}

// WithVersionInfo adds a line to the --version output, e.g. the compute
// backend a training stage would use (nn/cpu.Info).
func WithVersionInfo(f func() string) ParseOption {
	return func(o *parseOptions) { o.versionInfo = append(o.versionInfo, f) }
}

// Parse parses args into fs. --help returns pflag.ErrHelp (after printing
// the usage), and so does --version (after printing Version and the
// WithVersionInfo lines); any other flag error becomes a Usage error.
func Parse(fs *pflag.FlagSet, args []string, opts ...ParseOption) error {
	var o parseOptions
	for _, f := range opts {
		f(&o)
	}
	if fs.Lookup("help") == nil {
		if fs.ShorthandLookup("h") == nil {
			fs.BoolP("help", "h", false, "show this help and exit")
		} else {
			fs.Bool("help", false, "show this help and exit")
		}
	}
	if fs.Lookup("version") == nil {
		what := "print the build and Go version"
		if len(o.versionInfo) > 0 {
			what += " and the compute backend"
		}
		fs.Bool("version", false, what+", and exit")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return UsageOf(fs, "%v", err)
	}
	if h, _ := fs.GetBool("help"); h {
		fs.Usage()
		return pflag.ErrHelp
	}
	if v, _ := fs.GetBool("version"); v {
		w := fs.Output()
		fmt.Fprintln(w, Version(fs.Name()))
		for _, f := range o.versionInfo {
			fmt.Fprintln(w, f())
		}
		return pflag.ErrHelp
	}
	return nil
}

// revision is the source revision, stamped by the Makefile's builds
// (-ldflags "-X github.com/ulmfit-go/ulmfit/artifacts/cli.revision=...")
// because builds in a go.work workspace carry no VCS information.
var revision string

// Version describes the running binary as "name ulmfit-go REVISION (GOVERSION
// OS/ARCH)", REVISION being the commit it was built from (git describe, with
// "-dirty" for uncommitted changes) or, without that, the module version.
func Version(name string) string {
	rev := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" {
			rev = v
		}
		var commit, dirty string
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				commit = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "+dirty"
			}
		}
		if commit != "" {
			rev = commit[:min(12, len(commit))] + dirty
		}
	}
	if revision != "" {
		rev = revision
	}
	return fmt.Sprintf("%s ulmfit-go %s (%s %s/%s)", name, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
