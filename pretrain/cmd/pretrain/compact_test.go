package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage"
	"github.com/ulmfit-go/ulmfit/stage/train"
)

// TestCompactedLMLoads: a pretrained LM compacted for shipping (bf16
// weights, no optimizer or training state; artifacts compact) loads with
// train.LoadLM and scores the validation text as the original does, to
// bf16 precision.
func TestCompactedLMLoads(t *testing.T) {
	c := corpus(t)
	dir := t.TempDir()
	out, ckpt := filepath.Join(dir, "lm.arrow"), filepath.Join(dir, "lm.ckpt.arrow")
	if code, _, stderr := runCmd(t, context.Background(), stage.Options{}, append([]string{"--epochs", "1", "-o", out, c.TrainPath}, tinyFlags...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A checkpoint-like file: the final LM with optimizer and training state.
	m, err := artifacts.ReadModel(out, artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Tensors {
		m.OptState = append(m.OptState, artifacts.Tensor{Name: "adam.m/" + p.Name, Shape: p.Shape, Data: p.Data})
	}
	m.TrainState = []byte(`{"step":3}`)
	if err := artifacts.WriteModel(ckpt, m); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.arrow")
	if _, err := artifacts.Compact(ckpt, small, artifacts.CompactOptions{BF16: true, DropOpt: true, DropTrainState: true}); err != nil {
		t.Fatal(err)
	}
	be := cpu.New(1)
	lm, _, err := train.LoadLM(out, be)
	if err != nil {
		t.Fatal(err)
	}
	lm16, am, err := train.LoadLM(small, be)
	if err != nil {
		t.Fatalf("compacted LM does not load: %v", err)
	}
	if len(am.OptState) != 0 || len(am.TrainState) != 0 || am.Vocab.Hash() != m.Vocab.Hash() || lm16.Cfg != lm.Cfg {
		t.Errorf("compacted: %d opt tensors, train state %q, config %+v vs %+v", len(am.OptState), am.TrainState, lm16.Cfg, lm.Cfg)
	}
	valid := &train.LMData{Docs: c.Valid}
	ctx := context.Background()
	l32, err := train.EvaluateLM(ctx, lm, valid, 8, 16, false, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	l16, err := train.EvaluateLM(ctx, lm16, valid, 8, 16, false, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	sCkpt, sOut, sSmall := fileSize(t, ckpt), fileSize(t, out), fileSize(t, small)
	t.Logf("valid loss %.5f float32, %.5f bf16; file %d bytes with states, %d without, %d compacted", l32, l16, sCkpt, sOut, sSmall)
	if math.Abs(l16-l32) > 0.01*l32 {
		t.Errorf("bf16 valid loss %.5f, float32 %.5f: more than 1%% apart", l16, l32)
	}
	if !(sSmall < sOut*8/10) {
		t.Errorf("compacted file %d bytes, the float32 LM without states %d: want 20%% smaller at least", sSmall, sOut)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
