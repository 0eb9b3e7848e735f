// Command clftune fine-tunes a ULMFiT text classifier on a labeled tokens
// artifact (ULMFiT step 3): the AWD-LSTM encoder of a (fine-tuned) language
// model plus a concat-pooling head, trained with gradual unfreezing,
// discriminative learning rates and slanted triangular learning rates (or
// any variant of the paper's Table 7, or fastai v2's one-cycle recipe),
// BPT3C for long documents. It writes a self-contained classifier artifact.
// The stage itself is stage.RunClassifier.
package main

import (
	"context"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/stage"
)

const synopsis = "--data TRAIN.tokens.arrow (--from LM.arrow | --from-scratch) --out CLF.arrow [flags]"

const help = `Fine-tunes a text classifier (ULMFiT step 3) on a labeled tokens artifact,
starting from the encoder of an lm artifact (--from), or from random weights
(--from-scratch, sizes from --preset). Writes a classifier artifact holding
the weights, config, vocabulary, tokenizer settings, label names, direction
and training metrics, so that 'evaluate' needs nothing else.

Token ids must agree with the LM's vocabulary: when the tokens artifact has
the same vocabulary (same hash) its ids are used as they are; otherwise they
are remapped by token string, tokens the LM does not know become xxunk, and
the remap is reported.

Validation: --valid FILE, or a stratified, seeded holdout of --valid-frac of
the training data (the paper holds out 10%). The epoch with the lowest
validation error is kept. --test FILE reports the test error at the end.

Modes (--mode; --lr overrides the peak LR of the last layer group; layer
groups are [embedding] [rnn 0] ... [rnn L-1] [head], discriminative LRs
divide by --discr per group going down):
{{MODES}}
Paper defaults: Adam betas 0.7,0.99, batch 64, BPTT 70, STLR cut_frac 0.1
ratio 32, classifier eta_max 0.01, head hidden 50, dropouts 0.4 (output)
0.3 (hidden) 0.4 (input) 0.05 (embedding) 0.5 (weight), head dropouts
[0.4, 0.1]. fastai differs: its ULMFiT notebooks use --drop-mult 0.5,
Adam beta1 0.9 (0.95..0.85 in one-cycle), weight decay 0.01, and
max_len 72*20 = 1440 with bptt 72.

Checkpoints go to --checkpoint (default: --out without .arrow, plus
.ckpt.arrow) at epoch ends, every --checkpoint-every, every
--checkpoint-steps N steps and on Ctrl-C; --resume (alone: that
checkpoint) continues the run to the bytes an uninterrupted one writes.

Examples:
  clftune --from trec.lm.arrow --data trec.train.tokens.arrow --test trec.test.tokens.arrow --out trec.clf.arrow
  clftune --from trec.bwd.lm.arrow --backward --data trec.train.tokens.arrow --out trec.bwd.clf.arrow
  clftune --from-scratch --preset small --data trec.train.tokens.arrow --out trec.scratch.clf.arrow`

func main() { cli.Main("clftune", run) }

func run(ctx context.Context, args []string) error {
	return stage.RunClassifier(ctx, synopsis, help, args, stage.Options{})
}
