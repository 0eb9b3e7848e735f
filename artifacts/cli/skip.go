package cli

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// SkipCheck describes the outputs of a run for SkipIf.
type SkipCheck struct {
	Out     string            // the main output artifact, whose lineage is compared
	Lineage artifacts.Lineage // the lineage this run would write to Out
	Ignore  []string          // params not compared, besides RunOnlyFlags
	Also    []string          // other files the same run writes (e.g. a metrics JSON): all must exist to skip
}

// SkipIfCurrent is SkipIf for a stage with one output: it reports whether
// out already is what this run would make (artifacts.Current with lineage
// lin, params in ignore and RunOnlyFlags not compared). A stage calls it
// after parsing its flags and hashing its inputs, before loading or
// training, and returns at once when it is true.
func (c *Common) SkipIfCurrent(name, out string, lin artifacts.Lineage, ignore ...string) bool {
	return c.SkipIf(name, SkipCheck{Out: out, Lineage: lin, Ignore: ignore})
}

// SkipIf reports whether the run described by chk can be skipped: unless
// --force was given, chk.Out is current (see artifacts.Current) and every
// file in chk.Also exists. Then, unless --quiet, it prints
//
//	name: OUT is up to date (same inputs, same params); nothing to do (--force to redo)
//
// and sets the modification time of OUT and the chk.Also files to now, so
// that make sees them newer than their prerequisites and later stages
// re-check cheaply instead of redoing their work. When OUT exists but is not
// current, it says why before the stage redoes it.
func (c *Common) SkipIf(name string, chk SkipCheck) bool {
	if c.Force || chk.Out == "" {
		return false
	}
	w := c.Stderr
	if w == nil {
		w = os.Stderr
	}
	ignore := append(RunOnlyFlags(), chk.Ignore...)
	ok, reason, err := artifacts.Current(chk.Out, chk.Lineage, ignore...)
	if err != nil {
		if !c.Quiet {
			fmt.Fprintf(w, "%s: cannot compare with %s (%v); redoing it\n", name, chk.Out, err)
		}
		return false
	}
	if !ok {
		if !c.Quiet && reason != "no such file" {
			fmt.Fprintf(w, "%s: %s is out of date (%s); redoing it\n", name, chk.Out, reason)
		}
		return false
	}
	for _, p := range chk.Also {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			if !c.Quiet {
				fmt.Fprintf(w, "%s: %s is missing; redoing %s\n", name, p, chk.Out)
			}
			return false
		}
	}
	now := time.Now()
	for _, p := range slices.Concat(chk.Also, []string{chk.Out}) {
		// A failed touch only costs the next run another cheap check.
		_ = os.Chtimes(p, now, now)
	}
	if !c.Quiet {
		fmt.Fprintf(w, "%s: %s is up to date (same inputs, same params); nothing to do (--force to redo)\n", name, chk.Out)
	}
	return true
}
