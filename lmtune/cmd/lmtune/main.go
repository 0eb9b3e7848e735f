// Command lmtune fine-tunes a pretrained AWD-LSTM language model on the
// target task's text (ULMFiT step 2):
//
//	lmtune [flags] --from LM.arrow -o TUNED.arrow TRAIN.arrow [MORE.arrow...]
package main

import (
	"context"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/stage"
)

const synopsis = "[flags] --from LM.arrow -o TUNED.arrow TRAIN.arrow [MORE.arrow...]"

const help = `Fine-tune a pretrained language model (an lm artifact from 'pretrain' or
'pretrain import') on the target task's text: ULMFiT step 2. Give the
training set's tokens artifact and, as in the paper's semi-supervised
setting, any unlabeled or test text as more tokens artifacts (labels are not
used). All inputs must share one vocabulary; it may differ from the
model's: rows of tokens the model knows are copied by token string, new
tokens get the mean embedding row and the mean decoder bias (fastai's
match_embeds). The result is the lm artifact that clftune starts from.

Defaults follow the paper: discriminative fine-tuning (each lower layer group
gets the LR of the one above / 2.6; --discr, --no-discr) and slanted
triangular learning rates (cut_frac 0.1, ratio 32, eta_max 0.004; --schedule
one-cycle|cosine|constant). fastai's gradual approach for LM fine-tuning
(fine_tune: first only the embeddings+decoder, then everything) is
--freeze-epochs N. Validation loss and perplexity each epoch with --valid or
--valid-frac; checkpoints and --resume as in pretrain. Dropouts and AR/TAR
come from --preset (fastai's awd_lstm_lm_config is 0.1/0.15/0.25/0.02/0.2,
and its tutorial fine-tunes with drop_mult 0.3, lr 2e-2 frozen then 2e-3);
sizes come from the model.`

func main() { cli.Main("lmtune", run) }

func run(ctx context.Context, args []string) error { return runWith(ctx, args, stage.Options{}) }

func runWith(ctx context.Context, args []string, o stage.Options) error {
	return stage.RunLM(ctx, stage.LMTune, synopsis, help, args, o)
}
