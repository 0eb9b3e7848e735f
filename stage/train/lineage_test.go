package train

import (
	"slices"
	"testing"
)

func TestLineagePaths(t *testing.T) {
	for _, tc := range []struct{ out, ckpt, lrBase string }{
		{"d/lm.arrow", "d/lm.ckpt.arrow", "d/lm.lrfind"},
		{"clf", "clf.ckpt.arrow", "clf.lrfind"},
		{"x.lm", "x.lm.ckpt.arrow", "x.lm.lrfind"},
		{"", ".ckpt.arrow", "lrfind"},
	} {
		if got := CheckpointPath(tc.out); got != tc.ckpt {
			t.Errorf("CheckpointPath(%q) = %q, want %q", tc.out, got, tc.ckpt)
		}
		base, files := LRFindPaths(tc.out)
		if base != tc.lrBase || !slices.Equal(files, []string{tc.lrBase + ".csv", tc.lrBase + ".png"}) {
			t.Errorf("LRFindPaths(%q) = %q, %q", tc.out, base, files)
		}
	}
}
