package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// aliasAnnotation is the pflag annotation key under which a flag keeps the
// old spellings Alias gave it, for the note at the end of --help.
const aliasAnnotation = "ulmfit/alias"

// Alias makes old, the previous spelling of the flag name, parse as name:
// "--old 0.3" sets --name, fs.Changed(name) reports it, and only name is
// ever visited (so an artifact's params never hold the old spelling). The
// old names are not listed among the flags; --help ends with a line naming
// them. They stay for one release after a rename. Alias panics if name is
// not defined or old is, which is a programming error.
func Alias(fs *pflag.FlagSet, old, name string) {
	fl := fs.Lookup(name)
	if fl == nil {
		panic(fmt.Sprintf("cli: alias %q for undefined flag %q", old, name))
	}
	if fs.Lookup(old) != nil {
		panic(fmt.Sprintf("cli: alias %q is itself a flag", old))
	}
	prev := fs.GetNormalizeFunc()
	fs.SetNormalizeFunc(func(f *pflag.FlagSet, n string) pflag.NormalizedName {
		if n == old {
			n = name
		}
		return prev(f, n)
	})
	if fl.Annotations == nil {
		fl.Annotations = map[string][]string{}
	}
	fl.Annotations[aliasAnnotation] = append(fl.Annotations[aliasAnnotation], old)
}

// writeAliases writes the --help note on old spellings, if fs has any.
func writeAliases(w io.Writer, fs *pflag.FlagSet) {
	var pairs []string
	fs.VisitAll(func(fl *pflag.Flag) {
		for _, old := range fl.Annotations[aliasAnnotation] {
			pairs = append(pairs, "--"+old+" for --"+fl.Name)
		}
	})
	if len(pairs) > 0 {
		fmt.Fprintf(w, "\nOld spellings, accepted until the next release (docs/flags.md): %s.\n", strings.Join(pairs, ", "))
	}
}
