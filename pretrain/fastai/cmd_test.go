package fastai

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

func td(name string) string { return filepath.Join("testdata", name) }

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	// untar_data-style folder
	ud := filepath.Join(dir, "wt103-bwd")
	if err := os.Mkdir(ud, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"v2.pth", "lstm_bwd.pth"}, {"itos_v2.pkl", "itos_wt103.pkl"}} {
		if err := os.WriteFile(filepath.Join(ud, p[1]), readTestdata(t, p[0]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		args    []string
		dir     string
		inputs  int
		summary string
	}{
		{"archive", []string{td("wt103-fwd.tgz")}, "fwd", 1, "lstm_fwd.pth -> "},
		{"folder", []string{ud}, "bwd", 2, "fastai-v2, bwd, vocab 38, emb 8, hidden 12, 3 layers, tied, decoder bias; dropped 2 xxfake"},
		{"pair", []string{td("v07_fwd.h5"), td("itos_v07.pkl")}, "fwd", 2, "fastai-0.7, fwd, vocab 37, emb 8, hidden 10, 3 layers, tied, no decoder bias"},
		{"pair backward", []string{"--backward", td("v1_legacy.pth"), td("itos_v1.pkl")}, "bwd", 2, "fastai-v1"},
		{"required sizes match", []string{"--emb", "8", "--hidden", "12", "--layers", "3", "--vocab-size", "40", td("wt103-fwd.tgz")}, "fwd", 1, "fastai-v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".lm")
			var stdout bytes.Buffer
			if err := runImport(context.Background(), append([]string{"--out", out}, tc.args...), &stdout); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout.String(), tc.summary) {
				t.Errorf("summary %q does not contain %q", stdout.String(), tc.summary)
			}
			m, err := artifacts.ReadModel(out, artifacts.KindLM)
			if err != nil {
				t.Fatal(err)
			}
			if m.Direction != tc.dir {
				t.Errorf("direction %s, want %s", m.Direction, tc.dir)
			}
			if len(m.Inputs) != tc.inputs {
				t.Fatalf("inputs %+v", m.Inputs)
			}
			h, _ := artifacts.HashFile(m.Inputs[0].Path)
			if m.Inputs[0].SHA256 != h || h == "" {
				t.Errorf("input hash %s, file hash %s", m.Inputs[0].SHA256, h)
			}
			if m.Producer != Producer || m.Params["layout"] == nil {
				t.Errorf("lineage %+v", m.Lineage)
			}
		})
	}
}

// brokenCheckpoint writes a torch zip holding the v2 fixture's state dict
// after edit.
func brokenCheckpoint(t *testing.T, edit func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage)) string {
	t.Helper()
	return editCheckpoint(t, "v2.pth", edit)
}

// editCheckpoint writes a torch zip holding a fixture's state dict after edit.
func editCheckpoint(t *testing.T, fixture string, edit func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage)) string {
	t.Helper()
	b := readTestdata(t, fixture)
	obj, err := loadTorch(b)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := stateDict(obj, len(b))
	if err != nil {
		t.Fatal(err)
	}
	var ts []outTensor
	var sts []outStorage
	for _, e := range sd {
		v, err := e.t.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		sts = append(sts, outStorage{f32: v})
		ts = append(ts, outTensor{name: e.name, shape: e.t.Shape, storage: len(sts) - 1})
	}
	ts, sts = edit(ts, sts)
	var buf bytes.Buffer
	if err := writeTorchZip(&buf, "broken", ts, sts); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "broken.pth")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportErrors(t *testing.T) {
	drop := func(key string) func([]outTensor, []outStorage) ([]outTensor, []outStorage) {
		return func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
			var out []outTensor
			for _, x := range ts {
				if x.name != key {
					out = append(out, x)
				}
			}
			return out, sts
		}
	}
	rename := func(from, to string) func([]outTensor, []outStorage) ([]outTensor, []outStorage) {
		return func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
			for i := range ts {
				ts[i].name = strings.Replace(ts[i].name, from, to, 1)
			}
			return ts, sts
		}
	}
	reshape := func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
		for i := range ts {
			if ts[i].name == "0.rnns.1.module.weight_ih_l0" {
				ts[i].shape = []int{48, 6}
				sts[ts[i].storage].f32 = sts[ts[i].storage].f32[:48*6]
			}
		}
		return ts, sts
	}
	// 2,000 names viewing the encoder's storage: the file stays small, the tensors
	// would be 2,000 times the encoder.
	aliases := func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
		for i := range 2000 {
			ts = append(ts, outTensor{name: fmt.Sprintf("alias.%d", i), shape: ts[0].shape, storage: ts[0].storage})
		}
		return ts, sts
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"storage shared by thousands of names", []string{brokenCheckpoint(t, aliases), td("itos_v2.pkl")},
			[]string{"the tensors claim more elements than the file has bytes", "names share storage"}},
		{"hidden forced", []string{"--hidden", "12", td("v07_fwd.h5"), td("itos_v07.pkl")},
			[]string{"v07_fwd.h5 (fastai-0.7): shape mismatch: expected hidden 12 (found 10 in 0.rnns.0)", "hidden [10 10 8]"}},
		{"paper hidden vs fastai v2", []string{"--hidden", "1150", "--emb", "8", td("wt103-fwd.tgz")},
			[]string{"expected hidden 1150 (found 12 in 0.rnns.0)"}},
		{"classifier", []string{td("clas_v2.pth"), td("itos_v2.pkl")},
			[]string{"clas_v2.pth: this is a fastai text classifier (key \"0.module.encoder.weight\"), not a language model"}},
		{"vocab of other weights", []string{td("v2.pth"), td("itos_v1.pkl")},
			[]string{"itos_v1.pkl has 39 tokens but", "v2.pth's embedding has 40 rows"}},
		{"weights only", []string{td("v2.pth")}, []string{"needs its vocab"}},
		{"pickle as weights", []string{td("itos_v2.pkl"), td("v2.pth")}, []string{"pass the weights file first"}},
		{"not a checkpoint", []string{td("refs.json"), td("itos_v2.pkl")}, []string{"refs.json: not a PyTorch checkpoint"}},
		{"missing layer key", []string{brokenCheckpoint(t, drop("0.rnns.1.module.bias_hh_l0")), td("itos_v2.pkl")},
			[]string{"LSTM layer 1: missing 0.rnns.1.module.bias_hh_l0 (found 0.rnns.1.weight_hh_l0_raw"}},
		{"missing decoder", []string{brokenCheckpoint(t, drop("1.decoder.weight")), td("itos_v2.pkl")},
			[]string{"missing key 1.decoder.weight"}},
		{"unknown layout", []string{brokenCheckpoint(t, rename("0.", "body.")), td("itos_v2.pkl")},
			[]string{"missing key 0.encoder.weight (expected a fastai AWD-LSTM LM", "found body.encoder.weight"}},
		{"bad shape", []string{brokenCheckpoint(t, reshape), td("itos_v2.pkl")},
			[]string{"0.rnns.1.module.weight_ih_l0 has shape [48 6], expected [48 12]"}},
		{"extra key", []string{brokenCheckpoint(t, rename("1.decoder.bias", "1.decoder.scale")), td("itos_v2.pkl")},
			[]string{"unexpected keys for a fastai AWD-LSTM LM: 1.decoder.scale"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.lm")
			err := runImport(context.Background(), append([]string{"--out", out}, tc.args...), &bytes.Buffer{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := cli.Message("pretrain", err)
			t.Log(msg)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q\nlacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
			if code := cli.ExitCode(err); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("output written despite the error")
			}
		})
	}
}

func TestCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{td("wt103-fwd.tgz")},                 // no --out
		{"--out", "x", "a", "b", "c"},         // too many
		{"--out", "x", "--layers", "-1", "a"}, // negative
		{"--out", "x", "--preset", "huge", td("wt103-fwd.tgz")},
	} {
		err := runImport(context.Background(), args, &bytes.Buffer{})
		if err == nil || cli.ExitCode(err) != 2 {
			t.Errorf("%v: err %v (exit %d), want a usage error", args, err, cli.ExitCode(err))
		}
	}
	for _, args := range [][]string{
		{"model.lm"},
		{"--out", "x", "--layout", "v3", "model.lm"},
		{"--out", "x"},
	} {
		err := runExport(context.Background(), args, &bytes.Buffer{})
		if err == nil || cli.ExitCode(err) != 2 {
			t.Errorf("export %v: err %v (exit %d), want a usage error", args, err, cli.ExitCode(err))
		}
	}
	// export of a missing file: exit 2 too
	err := runExport(context.Background(), []string{"--out", filepath.Join(t.TempDir(), "x"), "nonexistent.lm"}, &bytes.Buffer{})
	if err == nil || cli.ExitCode(err) != 2 {
		t.Errorf("export of a missing file: %v (exit %d)", err, cli.ExitCode(err))
	}
}

// TestImportDeterministic: same inputs, same artifact bytes.
func TestImportDeterministic(t *testing.T) {
	dir := t.TempDir()
	var outs [2][]byte
	for i := range outs {
		p := filepath.Join(dir, "lm"+string(rune('a'+i)))
		if err := runImport(context.Background(), []string{"-q", "--out", p, td("wt103-fwd.tgz")}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = b
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two imports of the same archive differ")
	}
}

// TestImportEncoderOnly: fastai 0.7's *_enc.h5 (and learn.save_encoder)
// hold the encoder without the "0." prefix and no decoder: the import ties
// the decoder to the embedding with a zero bias; logits then match the
// bias-free 0.7 reference.
func TestImportEncoderOnly(t *testing.T) {
	p := editCheckpoint(t, "v07_fwd.h5", func(ts []outTensor, sts []outStorage) ([]outTensor, []outStorage) {
		var out []outTensor
		for _, x := range ts {
			if strings.HasPrefix(x.name, "0.") {
				x.name = x.name[2:]
				out = append(out, x)
			}
		}
		return out, sts
	})
	w, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := Import(w, readTestdata(t, "itos_v07.pkl"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if imp.Layout != LayoutV07 || !imp.Tied || imp.SourceBias || imp.Config.HiddenSize != 10 {
		t.Errorf("layout %s tied %v bias %v config %+v", imp.Layout, imp.Tied, imp.SourceBias, imp.Config)
	}
	checkLogits(t, imp, loadRefs(t)["v07"])
}
