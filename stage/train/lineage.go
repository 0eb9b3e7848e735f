package train

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// This file is the lineage of a training stage's files in one place: where
// its checkpoint and LR finder outputs go, and which checkpoints are its
// own. (The flags that do not change the output and the hashing of inputs
// are artifacts/cli's RunOnlyFlags, Params and Inputs, which every stage
// uses.)

// CheckpointPath is a training stage's default checkpoint path for the
// output out: out without its .arrow, plus .ckpt.arrow (lm.arrow ->
// lm.ckpt.arrow), so that a checkpoint is itself an artifact by its name.
func CheckpointPath(out string) string {
	return strings.TrimSuffix(out, ".arrow") + ".ckpt.arrow"
}

// LRFindPaths returns where --lr-find writes its curve for the output out:
// the base that LRFinder.WriteFiles takes (out without its .arrow, plus
// .lrfind; "lrfind" without an out) and the files written there
// (base.csv, base.png).
func LRFindPaths(out string) (base string, files []string) {
	base = "lrfind"
	if out != "" {
		base = strings.TrimSuffix(out, ".arrow") + ".lrfind"
	}
	return base, []string{base + ".csv", base + ".png"}
}

// CheckpointOwner says which checkpoints belong to one run of a stage.
type CheckpointOwner struct {
	Stage   string            // the stage name in the training state ("pretrain", "lmtune", "clftune")
	Lineage artifacts.Lineage // the lineage of the run's output
	// Ignore lists the params not compared: the flags that name input files
	// (the inputs are compared by their hashes, so the same bytes under
	// another name match) and run-only flags.
	Ignore []string
	// Settings, if set, also checks the run settings kept in the training
	// state (the LM stages' resume key).
	Settings func(*TrainState) bool
}

// Owns reports whether path is a checkpoint of this run: an unfinished
// training state of the stage (a finished run's artifact is no checkpoint)
// with the run's settings and lineage. Only the schema metadata is read.
func (c CheckpointOwner) Owns(path string) bool {
	in, err := artifacts.Stat(path)
	if err != nil || in.Metadata[artifacts.MetaTrainState] == "" {
		return false
	}
	st, err := ParseTrainState(json.RawMessage(in.Metadata[artifacts.MetaTrainState]))
	if err != nil || st.Finished || st.Stage != c.Stage {
		return false
	}
	if c.Settings != nil && !c.Settings(st) {
		return false
	}
	return artifacts.LineageMismatch(in.Lineage, c.Lineage, c.Ignore...) == ""
}

// RemoveStaleCheckpoints removes the checkpoints of a run whose output out
// is already complete and current (a run killed between writing out and
// removing its checkpoint leaves both), and says so on w unless quiet.
// paths are the run's checkpoint and the one it was resumed from (either
// may be "" or the same); only those that c.Owns are removed, anything
// else is left alone.
func (c CheckpointOwner) RemoveStaleCheckpoints(w io.Writer, quiet bool, out string, paths ...string) {
	var seen []string
	for _, p := range paths {
		if p == "" || slices.Contains(seen, p) {
			continue
		}
		seen = append(seen, p)
		if !c.Owns(p) {
			continue
		}
		if err := os.Remove(p); err != nil {
			if !quiet {
				fmt.Fprintf(w, "%s: note: could not remove the stale checkpoint %s: %v\n", c.Stage, p, err)
			}
			continue
		}
		if !quiet {
			fmt.Fprintf(w, "%s: %s is complete; removed the stale checkpoint %s\n", c.Stage, out, p)
		}
	}
}
