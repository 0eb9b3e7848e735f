package cli

import (
	"slices"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts"
)

// RunOnlyFlags is the one list of the flags that change how or where a run
// happens but not what it computes: Params leaves them out of an artifact's
// params, and SkipIf never compares them. A resumed run, a run with another
// thread count, log or memory limit, and an uninterrupted one write the same
// bytes.
func RunOnlyFlags() []string {
	return []string{"help", "out", "threads", "quiet", "log", "log-every", "checkpoint", "checkpoint-every", "checkpoint-steps", "resume", "force", "max-memory"}
}

// Params returns the params of the artifact a run writes: every flag of fs
// (after Parse, so with the values used) as its value's String, except
// RunOnlyFlags and the hidden old flags of AliasElement (their value is in
// the flag they set). Old spellings made with Alias are never visited.
func Params(fs *pflag.FlagSet) map[string]any {
	params := map[string]any{}
	runOnly := RunOnlyFlags()
	fs.VisitAll(func(fl *pflag.Flag) {
		if slices.Contains(runOnly, fl.Name) || fl.Annotations[elementAnnotation] != nil {
			return
		}
		if fl.Name == "arch" && fl.Value.String() == "" {
			// --arch not given: the preset's layers, as every run before the
			// flag existed; recording it would change those runs' bytes and
			// make every earlier artifact look out of date.
			return
		}
		if fl.Name == "precision" {
			PrecisionParam(params, fl.Value.String())
			return
		}
		params[fl.Name] = fl.Value.String()
	})
	return params
}

// PrecisionParam records --precision's value in params when it is bf16.
// fp32 is what every run before the flag did, so it is left out (the same
// bytes, earlier artifacts still current); stages resolve auto first, and an
// unresolved auto runs fp32.
func PrecisionParam(params map[string]any, value string) {
	if value == PrecisionBF16 {
		params["precision"] = value
	}
}

// Inputs returns the lineage inputs of the files a run reads (their sha256,
// artifacts.InputOf), in the order given; "" (an optional input not given)
// is skipped. A path given twice is recorded twice: a stage that reads the
// same file twice (the same tokens twice in a training set) computes
// something else than one that reads it once. The first file that cannot
// be read is the error.
func Inputs(paths ...string) ([]artifacts.Input, error) {
	return inputs(false, paths)
}

// DistinctInputs is Inputs with each path once, where it first appears: for
// inputs named by flags that may name one file twice (clftune's --valid and
// --test) and read it in two roles.
func DistinctInputs(paths ...string) ([]artifacts.Input, error) {
	return inputs(true, paths)
}

func inputs(distinct bool, paths []string) ([]artifacts.Input, error) {
	var out []artifacts.Input
	for _, p := range paths {
		if p == "" || distinct && slices.ContainsFunc(out, func(in artifacts.Input) bool { return in.Path == p }) {
			continue
		}
		in, err := artifacts.InputOf(p)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}
