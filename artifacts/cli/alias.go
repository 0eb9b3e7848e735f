package cli

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// aliasAnnotation is the pflag annotation key under which a flag keeps the
// old spellings Alias gave it, for the note at the end of --help.
const aliasAnnotation = "ulmfit/alias"

// elementAnnotation marks the hidden old flags of AliasElement with the
// name of the flag they set and the value's position (1-based).
const elementAnnotation = "ulmfit/alias-element"

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

// AliasElement defines old, the previous spelling of one value of the list
// flag name, for two (or more) flags that became one: --beta1 and --beta2
// are --betas BETA1,BETA2. "--old V" sets value i (0-based) of *p, the
// variable behind name, to V and marks name as changed; with name given
// too, the one given last wins. old is a hidden flag: it is not listed
// among the flags, Params leaves it out (its value is in name's), and
// --help ends with a line naming it, as for Alias. AliasElement panics if
// name is not defined or old is, which is a programming error.
func AliasElement(fs *pflag.FlagSet, old, name string, p *[]float64, i int) {
	fl := fs.Lookup(name)
	if fl == nil {
		panic(fmt.Sprintf("cli: alias %q for undefined flag %q", old, name))
	}
	if fs.Lookup(old) != nil {
		panic(fmt.Sprintf("cli: alias %q is itself a flag", old))
	}
	v := &elementValue{p: p, i: i, name: name, target: fl}
	fs.Var(v, old, fmt.Sprintf("old spelling of value %d of --%s", i+1, name))
	ofl := fs.Lookup(old)
	ofl.Hidden = true
	ofl.Annotations = map[string][]string{elementAnnotation: {name, strconv.Itoa(i + 1)}}
}

// elementValue is the value of an AliasElement flag: one value of a
// float64 list flag.
type elementValue struct {
	p      *[]float64
	i      int
	name   string
	target *pflag.Flag
}

func (v *elementValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("want a number (value %d of --%s)", v.i+1, v.name)
	}
	if v.i >= len(*v.p) {
		return fmt.Errorf("--%s has %d values, no value %d to set", v.name, len(*v.p), v.i+1)
	}
	q := slices.Clone(*v.p)
	q[v.i] = f
	*v.p = q
	v.target.Changed = true
	return nil
}

func (v *elementValue) String() string {
	if v.p == nil || v.i >= len(*v.p) {
		return ""
	}
	return strconv.FormatFloat((*v.p)[v.i], 'g', -1, 64)
}

func (v *elementValue) Type() string { return "float" }

// writeAliases writes the --help note on old spellings, if fs has any.
func writeAliases(w io.Writer, fs *pflag.FlagSet) {
	var pairs []string
	fs.VisitAll(func(fl *pflag.Flag) {
		for _, old := range fl.Annotations[aliasAnnotation] {
			pairs = append(pairs, "--"+old+" for --"+fl.Name)
		}
		if e := fl.Annotations[elementAnnotation]; len(e) == 2 {
			pairs = append(pairs, "--"+fl.Name+" for value "+e[1]+" of --"+e[0])
		}
	})
	if len(pairs) > 0 {
		fmt.Fprintf(w, "\nOld spellings, accepted until the next release (docs/flags.md): %s.\n", strings.Join(pairs, ", "))
	}
}
