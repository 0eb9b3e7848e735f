package cli

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Interval is the value of --checkpoint-every: a Go duration ("10m", "90s",
// "1h30m"; "0" turns it off) or, as scripts written for the float-minutes
// form pass, a bare number of minutes ("10", "0.5").
type Interval time.Duration

// Set parses a duration or a bare number of minutes; negative values are
// refused.
func (d *Interval) Set(s string) error {
	s = strings.TrimSpace(s)
	var v time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > float64(math.MaxInt64)/float64(time.Minute) {
			return fmt.Errorf("%q: want a duration >= 0 such as 10m or 90s (a bare number is minutes)", s)
		}
		v = time.Duration(f * float64(time.Minute))
	} else {
		p, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q: want a duration such as 10m, 90s or 0 (off), or a bare number of minutes", s)
		}
		if p < 0 {
			return errors.New("want a duration >= 0 (0: off)")
		}
		v = p
	}
	*d = Interval(v)
	return nil
}

// String is the duration in Go's form ("10m0s").
func (d *Interval) String() string { return time.Duration(*d).String() }

// Type names the value in --help.
func (d *Interval) Type() string { return "duration" }

// Checkpointing holds the flags that say when a training stage writes a
// checkpoint besides epoch ends and interrupts. They are operational: they
// do not change the artifact a run writes (RunOnlyFlags lists them).
type Checkpointing struct {
	Every Interval // --checkpoint-every: wall-clock interval, 0 = off
	Steps int      // --checkpoint-steps: every N optimizer steps, 0 = off
}

// Register adds --checkpoint-every (default def) and --checkpoint-steps to fs,
// with the same names, forms and help in every training stage.
func (c *Checkpointing) Register(fs *pflag.FlagSet, def time.Duration) {
	c.Every = Interval(def)
	fs.Var(&c.Every, "checkpoint-every", "also write a checkpoint this often: a `duration` such as 10m or 90s, or a bare number of minutes (0: off)")
	fs.IntVar(&c.Steps, "checkpoint-steps", 0, "also write a checkpoint every `N` optimizer steps (global steps: a resumed run keeps counting; 0: off; the same steps on every run, unlike --checkpoint-every)")
}

// Validate rejects a negative --checkpoint-steps.
func (c *Checkpointing) Validate() error {
	if c.Steps < 0 {
		return Usage("--checkpoint-steps %d: want N >= 0 (0: off)", c.Steps)
	}
	return nil
}

// Duration is --checkpoint-every as a time.Duration.
func (c *Checkpointing) Duration() time.Duration { return time.Duration(c.Every) }
