// Command pretrain trains an AWD-LSTM language model from scratch on tokens
// artifacts (ULMFiT step 1), and imports/exports fastai weights:
//
//	pretrain [flags] -o LM.arrow TRAIN.arrow...
//	pretrain import [flags] ARCHIVE.tgz ...
//	pretrain export [flags] LM.arrow ...
package main

import (
	"context"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/pretrain/fastai"
	"github.com/ulmfit-go/ulmfit/stage"
)

const synopsis = "[flags] -o LM.arrow TRAIN.arrow... | import ... | export ..."

const help = `Train an AWD-LSTM (or, --arch qrnn, a QRNN) language model from scratch
(ULMFiT step 1: general-domain LM pretraining) on one or more tokens
artifacts, forward or (--backward) backward, and write it as an lm artifact
with its vocab, config, direction, tokenizer settings and final metrics.

Documents are shuffled every epoch and concatenated into one stream cut into
--bs rows; windows follow AWD-LSTM's variable BPTT and the hidden state is
carried across windows. Each epoch ends with the validation loss and
perplexity (--valid FILE or --valid-frac). Checkpoints (weights, Adam moments,
hidden state, data and schedule position) are written at epoch ends, every
--checkpoint-every (a duration, 30m; a bare number is minutes), every
--checkpoint-steps N optimizer steps and on Ctrl-C; --resume continues a run
and, with the same flags, ends with the same bytes as an uninterrupted run.
A NaN/Inf gradient, Adam moment, weight or loss stops the run at the step
where it appears (exit 1), and no checkpoint ever holds one.

Presets: paper (emb 400, hidden 1150, 3 layers, bs 64, bptt 70), small
(200/512/3, bs 32; CPU-friendly), tiny (16/24/2; tests), multifit (MultiFiT's
QRNN, 400/1550/4). Every value can be overridden. Where fastai differs from the paper: fastai's awd_lstm_lm_config
dropouts are 0.1/0.15/0.25/0.02/0.2 (paper 0.4/0.3/0.4/0.05/0.5), its released
scripts use Adam betas 0.8,0.99 (paper 0.7,0.99), and its WT103 pretraining
script used fit_one_cycle with lr 1e-2, drop_mult 0.1, wd 0.1, bs 256, bptt 80
for 12 epochs on a GPU; fastai v2 uses fixed-length windows (--no-var-bptt).

The first line names the backend (matrix products: the native GEMM, OpenBLAS
or gonum; ULMFIT_BLAS, ULMFIT_ISA and ULMFIT_GEMM_BF16=emulate choose, see
nn/cpu/README.md).

Subcommands:
  import   read a fastai pretrained LM (wt103-fwd.tgz, .pth + itos.pkl) into an lm artifact
  export   write an lm/classifier artifact as fastai .pth + itos.pkl
  ('pretrain import --help', 'pretrain export --help')`

func main() { cli.Main("pretrain", run) }

func run(ctx context.Context, args []string) error { return runWith(ctx, args, stage.Options{}) }

func runWith(ctx context.Context, args []string, o stage.Options) error {
	if len(args) > 0 {
		switch args[0] {
		case "import":
			return fastai.ImportCommand(ctx, args[1:])
		case "export":
			return fastai.ExportCommand(ctx, args[1:])
		}
	}
	return stage.RunLM(ctx, stage.Pretrain, synopsis, help, args, o)
}
