package stage

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"
)

func TestJoinResume(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"--resume", "a.ckpt.arrow", "-q"}, []string{"--resume=a.ckpt.arrow", "-q"}},
		{[]string{"-q", "--resume"}, []string{"-q", "--resume"}},
		{[]string{"--resume", "--seed", "3"}, []string{"--resume", "--seed", "3"}},
		{[]string{"--resume=x", "y"}, []string{"--resume=x", "y"}},
		{[]string{"--", "--resume", "x"}, []string{"--", "--resume", "x"}},
	} {
		if got := joinResume(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("joinResume(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCheckpointFlags: the default checkpoint is --out without .arrow plus
// .ckpt.arrow in every training stage, and --resume alone means the run's
// checkpoint.
func TestCheckpointFlags(t *testing.T) {
	for _, tc := range []struct {
		args               []string
		out, ckpt, resumed string
	}{
		{nil, "d/lm.arrow", "d/lm.ckpt.arrow", ""},
		{[]string{"--resume"}, "d/lm.arrow", "d/lm.ckpt.arrow", "d/lm.ckpt.arrow"},
		{[]string{"--resume"}, "lm.bin", "lm.bin.ckpt.arrow", "lm.bin.ckpt.arrow"},
		{[]string{"--checkpoint", "c.arrow", "--resume"}, "lm.arrow", "c.arrow", "c.arrow"},
		{[]string{"--resume=old.ckpt"}, "lm.arrow", "lm.ckpt.arrow", "old.ckpt"},
	} {
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		var c checkpointFlags
		c.register(fs, 0)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got, res := c.path(tc.out), c.resume(tc.out); got != tc.ckpt || res != tc.resumed {
			t.Errorf("%q -o %s: checkpoint %q, resume %q; want %q, %q", tc.args, tc.out, got, res, tc.ckpt, tc.resumed)
		}
	}
}
