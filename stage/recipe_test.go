package stage

import (
	"testing"

	"github.com/ulmfit-go/ulmfit/stage/clftrain"
)

func TestApplyRecipe(t *testing.T) {
	small := presetRecipe("small")
	for _, tc := range []struct {
		name       string
		args       []string
		mode       string
		wantEpochs int
		wantDrop   float32
		wantLR     float64
	}{
		{"paper preset: the paper's recipe", []string{"--preset", "paper"}, "ulmfit", 15, 1, 0},
		{"small preset fills what is unset", []string{"--preset", "small"}, "ulmfit", small.epochs, small.dropMult, small.ulmfitLR},
		{"flags win over the preset", []string{"--preset", "small", "--epochs", "3", "--drop-mult", "0.7", "--lr", "0.005"}, "ulmfit", 3, 0.7, 0.005},
		{"an explicit value equal to the paper default still wins", []string{"--preset", "small", "--drop-mult", "1"}, "ulmfit", small.epochs, 1, small.ulmfitLR},
		{"other modes keep their own LR", []string{"--preset", "small"}, "scratch", small.epochs, small.dropMult, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o clfFlags
			fs := o.register("", "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			mode, err := clftrain.ModeByName(tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			if err := applyRecipe(fs, &o, mode); err != nil {
				t.Fatal(err)
			}
			if o.epochs != tc.wantEpochs || o.dropMult != tc.wantDrop || o.lr != tc.wantLR {
				t.Errorf("epochs %d, drop-mult %g, lr %g; want %d, %g, %g", o.epochs, o.dropMult, o.lr, tc.wantEpochs, tc.wantDrop, tc.wantLR)
			}
		})
	}
}
