package stage

import (
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/stage/clftrain"
)

// recipe is the part of the classifier stage's training recipe that a
// preset sets when its flags are not given. The values are the best measured for the preset on
// validation data (docs/results.md, "Classifier recipe"); flags on the
// command line always win.
type recipe struct {
	epochs   int     // --epochs
	dropMult float32 // --drop-mult
	ulmfitLR float64 // --lr of the ulmfit mode (other modes keep their own default)
}

// presetRecipe returns the classifier recipe of a preset. The paper preset
// is the paper's recipe (15 epochs, its dropouts, eta 0.01); tiny (tests)
// keeps it too.
func presetRecipe(preset string) recipe {
	switch preset {
	case "small":
		return recipe{epochs: 8, dropMult: 0.5, ulmfitLR: 0.04}
	default:
		return recipe{epochs: 15, dropMult: 1, ulmfitLR: 0}
	}
}

// recipeHelp describes the presets' recipes for --help.
func recipeHelp() string {
	p, s := presetRecipe("paper"), presetRecipe("small")
	return fmt.Sprintf("paper %d epochs, drop-mult %g; small %d epochs, drop-mult %g, ulmfit lr %g", p.epochs, p.dropMult, s.epochs, s.dropMult, s.ulmfitLR)
}

// applyRecipe sets the preset's recipe on the flags the command line left
// unset, through the flag set, so that the lineage records the values used.
func applyRecipe(fs *pflag.FlagSet, o *clfFlags, mode clftrain.Mode) error {
	r := presetRecipe(o.com.Preset)
	set := func(name, value string) error {
		if fs.Changed(name) {
			return nil
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("%s: preset %s: --%s %s: %w", Classifier, o.com.Preset, name, value, err)
		}
		return nil
	}
	if err := set("epochs", strconv.Itoa(r.epochs)); err != nil {
		return err
	}
	if err := set("drop-mult", strconv.FormatFloat(float64(r.dropMult), 'g', -1, 32)); err != nil {
		return err
	}
	if mode.Name == "ulmfit" && r.ulmfitLR > 0 {
		return set("lr", strconv.FormatFloat(r.ulmfitLR, 'g', -1, 64))
	}
	return nil
}
