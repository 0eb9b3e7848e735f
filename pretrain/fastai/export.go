package fastai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn"
)

// ExportLayout is the fastai key layout Export writes.
type ExportLayout string

// Export layouts.
const (
	ExportV2 ExportLayout = "v2" // fastai >= 2.0 (Learner.load / load_pretrained)
	ExportV1 ExportLayout = "v1" // fastai 1.x
)

// Exported is a model converted to fastai's files.
type Exported struct {
	Pth   []byte   // torch.save zip checkpoint of the state dict
	Itos  []byte   // pickled token list
	Keys  []string // state dict keys, in order
	Notes []string // caveats for the user (e.g. a head bias fastai v2 has no place for)
}

// Export converts an lm or classifier artifact model to a fastai state dict
// (torch zip format, written in Go) and an itos pickle. LM keys (fastai v2):
// 0.encoder.weight, 0.encoder_dp.emb.weight, 0.rnns.{l}.weight_hh_l0_raw,
// 0.rnns.{l}.module.weight_ih_l0|bias_ih_l0|bias_hh_l0, 1.decoder.weight,
// 1.decoder.bias, in the order of a fastai model's state_dict (fastai's
// load_pretrained matches by position). v1 adds
// 0.rnns.{l}.module.weight_hh_l0. A QRNN model (nn.ArchQRNN) is written as
// fastai's AWD_QRNN: layer l is 0.rnns.{l}.layers.0.linear.weight_raw
// [3H, W*In] (window W 2 in layer 0, 1 above) then
// 0.rnns.{l}.layers.0.linear.module.bias [3H]; v1 puts
// 0.rnns.{l}.layers.0.linear.module.weight between them (a view of the raw
// weight, as module.weight_hh_l0 for the LSTM). A classifier's encoder keys
// get the prefix 0.module.; its head is 1.layers.{i}.{0: BatchNorm1d,
// 2 (1 without dropout): Linear} in v2, the flat 1.layers.{k} of fastai v1.
// A tied decoder and the embedding-dropout copy share the embedding's
// storage, as in a torch.save of a fastai model.
func Export(m *artifacts.Model, layout ExportLayout, archive string) (*Exported, error) {
	if layout != ExportV1 && layout != ExportV2 {
		return nil, fmt.Errorf("unknown layout %q (want v1 or v2)", layout)
	}
	if m.Vocab == nil || m.Vocab.Len() == 0 {
		return nil, fmt.Errorf("the model has no vocab")
	}
	var lmc nn.LMConfig
	var cc *nn.ClassifierConfig
	switch m.Kind {
	case artifacts.KindLM:
		if err := json.Unmarshal(m.Config, &lmc); err != nil {
			return nil, fmt.Errorf("model config: %w", err)
		}
	case artifacts.KindClassifier:
		cc = new(nn.ClassifierConfig)
		if err := json.Unmarshal(m.Config, cc); err != nil {
			return nil, fmt.Errorf("model config: %w", err)
		}
		lmc = cc.Encoder
	default:
		return nil, fmt.Errorf("kind %q: want lm or classifier", m.Kind)
	}
	if err := lmc.Validate(); err != nil {
		return nil, fmt.Errorf("model config: %w", err)
	}
	x := &exporter{m: m}
	if lmc.IsQRNN() {
		x.notes = append(x.notes, "a QRNN model: the state dict has fastai's AWD_QRNN names; build the fastai model with AWD_QRNN (awd_qrnn_lm_config), not AWD_LSTM")
	}
	pre := "0."
	if cc != nil {
		pre = "0.module."
	}
	enc := x.add(pre+"encoder.weight", "encoder.weight", lmc.VocabSize, lmc.EmbSize)
	x.alias(pre+"encoder_dp.emb.weight", enc)
	for l := 0; l < lmc.Layers; l++ {
		in, h := lmc.LayerSizes(l)
		p := fmt.Sprintf("%srnns.%d.", pre, l)
		o := fmt.Sprintf("rnns.%d.", l)
		if lmc.IsQRNN() {
			// fastai's AWD_QRNN: rnns[l] = QRNN(in, h, window=2 if l == 0
			// else 1) whose layers[0].linear is WeightDropout(Linear,
			// layer_names='weight'): the wrapper's weight_raw first, then
			// the Linear's own parameters.
			q, oq := p+"layers.0.linear.", o+"layers.0.linear."
			w := x.add(q+"weight_raw", oq+"weight", 3*h, qrnnWindow(l)*in)
			if layout == ExportV1 {
				x.alias(q+"module.weight", w)
			}
			x.add(q+"module.bias", oq+"bias", 3*h)
			continue
		}
		hh := x.add(p+"weight_hh_l0_raw", o+"weight_hh", 4*h, h)
		x.add(p+"module.weight_ih_l0", o+"weight_ih", 4*h, in)
		if layout == ExportV1 {
			x.alias(p+"module.weight_hh_l0", hh)
		}
		x.add(p+"module.bias_ih_l0", o+"bias_ih", 4*h)
		x.add(p+"module.bias_hh_l0", o+"bias_hh", 4*h)
	}
	if cc == nil {
		if lmc.TieWeights {
			x.alias("1.decoder.weight", enc)
		} else {
			x.add("1.decoder.weight", "decoder.weight", lmc.VocabSize, lmc.EmbSize)
		}
		if _, ok := m.Tensor("decoder.bias"); ok {
			x.add("1.decoder.bias", "decoder.bias", lmc.VocabSize)
		} else {
			x.zeros("1.decoder.bias", lmc.VocabSize)
			x.notes = append(x.notes, "the model has no decoder bias; 1.decoder.bias is written as zeros (fastai's LinearDecoder has one)")
		}
	} else {
		dims := append([]int{3 * lmc.EmbSize}, cc.Hidden...)
		dims = append(dims, cc.NClasses)
		k := 0 // fastai v1: index in the flat Sequential
		for i := 0; i+1 < len(dims); i++ {
			in, out := dims[i], dims[i+1]
			hasDrop := i < len(cc.HeadDropouts) && cc.HeadDropouts[i] != 0
			var bn, lin string
			if layout == ExportV2 {
				bn = fmt.Sprintf("1.layers.%d.0.", i)
				lin = fmt.Sprintf("1.layers.%d.1.", i)
				if hasDrop {
					lin = fmt.Sprintf("1.layers.%d.2.", i)
				}
			} else {
				bn = fmt.Sprintf("1.layers.%d.", k)
				k++
				if hasDrop {
					k++
				}
				lin = fmt.Sprintf("1.layers.%d.", k)
				k++
				if i+2 < len(dims) {
					k++ // ReLU
				}
			}
			h := fmt.Sprintf("head.%d.", i)
			x.add(bn+"weight", h+"bn.weight", in)
			x.add(bn+"bias", h+"bn.bias", in)
			x.add(bn+"running_mean", h+"bn.running_mean", in)
			x.add(bn+"running_var", h+"bn.running_var", in)
			x.int64(bn+"num_batches_tracked", 0)
			x.add(lin+"weight", h+"linear.weight", out, in)
			_, hasBias := m.Tensor(h + "linear.bias")
			switch {
			case layout == ExportV1 && hasBias:
				x.add(lin+"bias", h+"linear.bias", out)
			case layout == ExportV1:
				x.zeros(lin+"bias", out)
			case hasBias:
				x.add(lin+"bias", h+"linear.bias", out)
				if len(x.notes) == 0 || !strings.Contains(x.notes[len(x.notes)-1], "LinBnDrop") {
					x.notes = append(x.notes, "the head's Linear layers have a bias, which fastai v2's LinBnDrop lacks: "+
						"build the fastai classifier with biased Linears, or use --layout v1 (fastai 1.x), or train without a head bias")
				}
			}
		}
	}
	if x.err != nil {
		return nil, x.err
	}
	if extra := x.unused(); len(extra) > 0 {
		return nil, fmt.Errorf("tensors with no place in a fastai %s: %s", m.Kind, strings.Join(firstN(extra, 6), ", "))
	}
	var buf bytes.Buffer
	if err := writeTorchZip(&buf, archive, x.ts, x.sts); err != nil {
		return nil, err
	}
	keys := make([]string, len(x.ts))
	for i, t := range x.ts {
		keys[i] = t.name
	}
	return &Exported{Pth: buf.Bytes(), Itos: pickleStrings(m.Vocab.Tokens), Keys: keys, Notes: x.notes}, nil
}

// exporter accumulates the state dict of an Export.
type exporter struct {
	m     *artifacts.Model
	ts    []outTensor
	sts   []outStorage
	used  map[string]bool
	notes []string
	err   error
}

// add appends key with the data of our tensor name, checking its shape;
// it returns the storage index.
func (x *exporter) add(key, name string, shape ...int) int {
	if x.err != nil {
		return 0
	}
	t, ok := x.m.Tensor(name)
	if !ok {
		x.err = fmt.Errorf("tensor %s is missing (needed for %s)", name, key)
		return 0
	}
	if !equalInts(t.Shape, shape) {
		x.err = fmt.Errorf("tensor %s has shape %v, the config implies %v", name, t.Shape, shape)
		return 0
	}
	if x.used == nil {
		x.used = map[string]bool{}
	}
	x.used[name] = true
	x.sts = append(x.sts, outStorage{f32: t.Data})
	x.ts = append(x.ts, outTensor{name: key, shape: shape, storage: len(x.sts) - 1})
	return len(x.sts) - 1
}

// alias appends key viewing the same storage as an earlier entry.
func (x *exporter) alias(key string, storage int) {
	if x.err != nil {
		return
	}
	var shape []int
	for _, t := range x.ts {
		if t.storage == storage {
			shape = t.shape
			break
		}
	}
	x.ts = append(x.ts, outTensor{name: key, shape: shape, storage: storage})
}

func (x *exporter) zeros(key string, n int) {
	x.sts = append(x.sts, outStorage{f32: make([]float32, n)})
	x.ts = append(x.ts, outTensor{name: key, shape: []int{n}, storage: len(x.sts) - 1})
}

func (x *exporter) int64(key string, v int64) {
	x.sts = append(x.sts, outStorage{ints: []int64{v}})
	x.ts = append(x.ts, outTensor{name: key, shape: []int{}, storage: len(x.sts) - 1})
}

// unused lists model tensors the export did not place.
func (x *exporter) unused() []string {
	var out []string
	for _, t := range x.m.Tensors {
		if !x.used[t.Name] {
			out = append(out, t.Name)
		}
	}
	return out
}

const exportSynopsis = "[flags] MODEL --out PREFIX"

const exportHelp = `Export an lm or classifier artifact as fastai files: PREFIX.pth (a torch.save
state dict in torch's zip format, loadable with torch.load) and PREFIX_itos.pkl
(the vocab as a pickled list of strings), with fastai v2 key names by default.

A language model loads in fastai v2 with
  learn = language_model_learner(dls, AWD_LSTM, pretrained=False, config=...)
  learn.load_pretrained('PREFIX.pth', 'PREFIX_itos.pkl')
(awd_lstm_lm_config with emb_sz, n_hid, n_layers as the export prints) or
with model.load_state_dict(torch.load('PREFIX.pth')). A QRNN model (--arch
qrnn) gets fastai's AWD_QRNN names: load it with AWD_QRNN and
awd_qrnn_lm_config instead. A classifier's state dict matches
get_text_classifier's module names; fastai v2's head Linears have no bias,
so a model trained with a head bias needs --layout v1 or a fastai head built
with biased Linears (the export says so).`

// ExportCommand implements "pretrain export ARGS": write a fastai .pth and
// itos .pkl from an lm or classifier artifact.
func ExportCommand(ctx context.Context, args []string) error {
	return runExport(ctx, args, os.Stdout)
}

func runExport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := cli.NewFlags("pretrain export", exportSynopsis, exportHelp)
	var c cli.Common
	c.Register(fs, "out", "quiet")
	fs.Lookup("out").Usage = "output `prefix`: writes PREFIX.pth and PREFIX_itos.pkl (required)"
	layout := fs.String("layout", "v2", "fastai key layout: v2 (fastai >= 2.0) or v1 (fastai 1.x)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if c.Out == "" {
		return cli.Usage("--out is required")
	}
	if fs.NArg() != 1 {
		return cli.Usage("want one model artifact, got %d arguments", fs.NArg())
	}
	if *layout != string(ExportV1) && *layout != string(ExportV2) {
		return cli.Usage("--layout %q: want v1 or v2", *layout)
	}
	in := fs.Arg(0)
	m, err := artifacts.ReadModel(in, "")
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	prefix := strings.TrimSuffix(c.Out, ".pth")
	archive := archiveName(prefix)
	ex, err := Export(m, ExportLayout(*layout), archive)
	if err != nil {
		return cli.BadInput(fmt.Errorf("%s: %w", in, err))
	}
	pth, itos := prefix+".pth", prefix+"_itos.pkl"
	for _, f := range []struct {
		path string
		data []byte
	}{{pth, ex.Pth}, {itos, ex.Itos}} {
		if err := artifacts.WriteFileAtomic(f.path, func(w io.Writer) error {
			_, err := w.Write(f.data)
			return err
		}); err != nil {
			return fmt.Errorf("writing %s: %w", f.path, err)
		}
	}
	if !c.Quiet {
		fmt.Fprintf(stdout, "pretrain export: %s (%s) -> %s + %s: fastai %s layout, %d tensors, vocab %d\n",
			in, m.Kind, pth, itos, *layout, len(ex.Keys), m.Vocab.Len())
		for _, n := range ex.Notes {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
	}
	return nil
}

// archiveName is the record prefix inside the zip: torch uses the file's
// base name without extension; keep it to safe characters.
func archiveName(prefix string) string {
	b := filepath.Base(prefix)
	var sb strings.Builder
	for _, r := range b {
		if r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			sb.WriteRune(r)
		}
	}
	if sb.Len() == 0 {
		return "archive"
	}
	return sb.String()
}
