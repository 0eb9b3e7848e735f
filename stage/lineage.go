package stage

import (
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// The lineage of a stage's files, shared by RunLM and RunClassifier. The
// pieces live where every user can reach them: the flags that do not
// change the output, the params and the input hashes in artifacts/cli
// (RunOnlyFlags, Params, Inputs, DistinctInputs: tokenize and evaluate can
// use them too); the checkpoint and LR finder paths and the checkpoints a
// run owns in stage/train (CheckpointPath, LRFindPaths, CheckpointOwner:
// the LM stage's runner needs them). This file holds the checkpoint flags
// of the training stages and the lineage comparison's ignore list.

// resumeAuto is the value of --resume given alone: the run's checkpoint
// (--checkpoint, or by default train.CheckpointPath(--out)).
const resumeAuto = "OUT.ckpt.arrow"

// checkpointFlags are a training stage's checkpoint flags, with the same
// names, forms and help in every stage.
type checkpointFlags struct {
	cli.Checkpointing        // --checkpoint-every, --checkpoint-steps
	Path              string // --checkpoint ("": train.CheckpointPath(--out))
	Resume            string // --resume (resumeAuto: the run's checkpoint)
}

// register adds --checkpoint-every (default every), --checkpoint-steps,
// --checkpoint and --resume to fs.
func (c *checkpointFlags) register(fs *pflag.FlagSet, every time.Duration) {
	c.Checkpointing.Register(fs, every)
	fs.StringVar(&c.Path, "checkpoint", "", "write resumable checkpoints to this `path` (default: --out without .arrow, plus .ckpt.arrow; removed when the run finishes)")
	fs.StringVar(&c.Resume, "resume", "", "continue an interrupted run from the checkpoint at `path` (--resume=PATH; --resume alone: the run's checkpoint, --checkpoint or its default); pass the same flags and data")
	fs.Lookup("resume").NoOptDefVal = resumeAuto
}

// joinResume returns args with "--resume PATH" written "--resume=PATH", for
// a stage that takes no positional arguments (clftune): there the word after
// --resume, unless it is a flag, can only be its value, as it was before
// --resume alone meant the run's checkpoint. (The LM stages take tokens
// artifacts as arguments, so there a path goes after "--resume=".)
func joinResume(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if a == "--resume" && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			a = "--resume=" + args[i+1]
			i++
		}
		out = append(out, a)
	}
	return out
}

// path returns the run's checkpoint path for the output out.
func (c *checkpointFlags) path(out string) string {
	if c.Path != "" {
		return c.Path
	}
	return train.CheckpointPath(out)
}

// resume returns the checkpoint to resume ("" = a fresh run) for the output
// out.
func (c *checkpointFlags) resume(out string) string {
	if c.Resume == resumeAuto {
		return c.path(out)
	}
	return c.Resume
}

// lineageIgnore lists the params left out when a checkpoint's lineage is
// compared with the run's (--resume, stale checkpoints): the run-only flags
// and the stage's pathFlags, the flags that name input files (a resumed run
// may find them under other names; the inputs are compared by their
// hashes).
func lineageIgnore(pathFlags ...string) []string {
	return append(cli.RunOnlyFlags(), pathFlags...)
}
