package fastai

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn"
)

// Producer is the producer string of the artifacts this package writes.
const Producer = "pretrain import (fastai) v0.1.0"

const importSynopsis = "[flags] ARCHIVE.tgz | DIR | WEIGHTS.pth ITOS.pkl"

const importHelp = `Import a pretrained fastai AWD-LSTM (or AWD_QRNN) language model as an lm
artifact.

Inputs: fastai's model-zoo archive (wt103-fwd.tgz / wt103-bwd.tgz, holding
lstm_fwd.pth + itos_wt103.pkl), the folder fastai's untar_data extracts it to,
or a weights file and its itos pickle (e.g. the 2018 fastai 0.7 release's
fwd_wt103.h5 + itos_wt103.pkl). Both torch checkpoint formats (zip, torch >=
1.6, and legacy) and the fastai v2, v1 and 0.7 key layouts are read; a
{'model': ..., 'opt': ...} file from Learner.save works too. A fastai v1/v2
AWD_QRNN (0.rnns.N.layers.0.linear.*) imports as a QRNN model (arch qrnn).

Sizes (vocab, emb, hidden, layers), weight tying and the decoder bias come
from the checkpoint (fastai v1/v2's WT103 model is 400/1152/3 with a decoder
bias; the 2018 0.7 one is 400/1150/3 without). --emb/--hidden/--layers make
the import fail unless the checkpoint has those sizes. Special tokens are
renamed to ulmfit's (_unk_ -> xxunk, xbos -> xxbos, t_up -> xxup, ...) and
moved to the first ids in the order xxunk xxpad xxbos xxeos xxfld xxmaj xxup
xxrep xxwrep, with the weight rows permuted to match; fastai's xxfake
padding entries are dropped. Dropouts and AR/TAR (not stored in fastai
files) come from --preset; fastai's awd_lstm_lm_config uses smaller ones.`

// ImportCommand implements "pretrain import ARGS": read a fastai
// checkpoint and write an lm artifact. Errors in the user's input are
// marked for exit code 2 (cli.BadInput / cli.Usage).
func ImportCommand(ctx context.Context, args []string) error {
	return runImport(ctx, args, os.Stdout)
}

func runImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := cli.NewFlags("pretrain import", importSynopsis, importHelp)
	var c cli.Common
	c.Register(fs, "out", "preset", "backward", "quiet")
	fs.Lookup("out").Usage = "output lm artifact `path` (required)"
	fs.Lookup("preset").Usage = "dropouts and AR/TAR for the imported model's config: paper, small or tiny (sizes always come from the checkpoint)"
	fs.Lookup("backward").Usage = "mark the model as backward (right-to-left); default: backward when a file name contains \"bwd\""
	var want Require
	fs.IntVar(&want.Emb, "emb", 0, "require this embedding size (0: any)")
	fs.IntVar(&want.Hidden, "hidden", 0, "require this hidden size for every LSTM layer but the last (0: any)")
	fs.IntVar(&want.Layers, "layers", 0, "require this many LSTM layers (0: any)")
	fs.IntVar(&want.Vocab, "vocab-size", 0, "require this many vocab entries in the checkpoint (0: any)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Out == "" {
		return cli.Usage("--out is required")
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return cli.Usage("want ARCHIVE.tgz, DIR, or WEIGHTS.pth ITOS.pkl; got %d arguments", fs.NArg())
	}
	if want.Emb < 0 || want.Hidden < 0 || want.Layers < 0 || want.Vocab < 0 {
		return cli.Usage("--emb, --hidden, --layers and --vocab-size must be >= 0")
	}
	base, err := nn.Preset(c.Preset)
	if err != nil {
		return cli.Usage("%v", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	src, err := openSource(fs.Args())
	if err != nil {
		return cli.BadInput(err)
	}
	dir := guessDirection(append(append([]string(nil), src.files...), src.weightsName)...)
	if fs.Changed("backward") {
		dir = c.Direction()
	}
	opt := ImportOptions{Want: want, Base: &base, Direction: dir, WeightsName: src.weightsName, ItosName: src.itosName}
	imp, err := Import(src.weights, src.itos, opt)
	if err != nil {
		return cli.BadInput(err)
	}
	m := imp.Model
	m.Producer = Producer
	m.Params = map[string]any{
		"preset": c.Preset, "direction": dir, "layout": string(imp.Layout),
		"weights": src.weightsName, "itos": src.itosName,
		"source_vocab": imp.SourceVocab, "source_decoder_bias": imp.SourceBias,
		"dropped_tokens": len(imp.Dropped), "translated_specials": imp.Translated,
	}
	for _, f := range src.files {
		in, err := artifacts.InputOf(f)
		if err != nil {
			return err
		}
		m.Inputs = append(m.Inputs, in)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeModel(c.Out, m); err != nil {
		return err
	}
	if !c.Quiet {
		layout := string(imp.Layout)
		if imp.Config.IsQRNN() {
			layout += ", qrnn"
		}
		fmt.Fprintf(stdout, "pretrain import: %s -> %s: %s, %s, vocab %d, emb %d, hidden %d, %d layers, %s, %s\n",
			filepath.Base(src.weightsName), c.Out, layout, dir, imp.Config.VocabSize, imp.Config.EmbSize,
			imp.Config.HiddenSize, imp.Config.Layers, tiedWord(imp.Tied), biasWord(imp.SourceBias)+dropWord(imp.Dropped))
	}
	return nil
}

func tiedWord(t bool) string {
	if t {
		return "tied"
	}
	return "untied"
}

func biasWord(b bool) string {
	if b {
		return "decoder bias"
	}
	return "no decoder bias (zeros written)"
}

func dropWord(d []string) string {
	if len(d) == 0 {
		return ""
	}
	n := 0
	for _, t := range d {
		if t == fakeToken {
			n++
		}
	}
	s := fmt.Sprintf("; dropped %d xxfake", n)
	if len(d) > n {
		s += fmt.Sprintf(" and %d tokens with newlines", len(d)-n)
	}
	return s
}

// writeModel writes m atomically; an error says which file.
func writeModel(path string, m *artifacts.Model) error {
	if err := artifacts.WriteModel(path, m); err != nil {
		if strings.Contains(err.Error(), path) {
			return err
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
