package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/train/progresstest"
)

const testWords = 20

// markovDocs builds documents of xxbos (id 2) followed by words 3..22 where
// each word is followed by one of two successors: the best model has
// entropy ln 2 per token, far below the unigram ln 20.
func markovDocs(n, length int, seed uint64) [][]int32 {
	r := nn.NewRNG(seed)
	docs := make([][]int32, n)
	for i := range docs {
		d := []int32{2}
		w := r.IntN(testWords)
		for j := 0; j < length; j++ {
			d = append(d, int32(3+w))
			w = (w*7 + 1 + r.IntN(2)*5) % testWords
		}
		docs[i] = d
	}
	return docs
}

func tinyLM(t testing.TB, seed uint64) *nn.LM {
	t.Helper()
	cfg, err := nn.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.VocabSize = 3 + testWords
	cfg = cfg.WithDropoutMult(0.2)
	lm, err := nn.NewLM(cfg, nn.Reference())
	if err != nil {
		t.Fatal(err)
	}
	lm.Init(seed)
	return lm
}

func tinyTrainer(t testing.TB, train, valid [][]int32, epochs int, ckpt string) *LMTrainer {
	lm := tinyLM(t, 1)
	sched, err := nn.ScheduleByName("one-cycle")
	if err != nil {
		t.Fatal(err)
	}
	tr := &LMTrainer{
		Cfg: LMTrainConfig{Stage: "test", Epochs: epochs, BS: 4, BPTT: 12, VarBPTT: true, ScaleLR: true,
			LR: 1e-2, Discr: 2.6, Schedule: sched, Clip: 0.5, Seed: 9, LogEvery: 5},
		Model:          lm,
		Opt:            nn.NewAdam(lm.Backend(), lm.Params(), 0.7, 0.99, 1e-5, 0.01),
		Train:          &LMData{Docs: train},
		CheckpointPath: ckpt,
		Template: artifacts.Model{Lineage: artifacts.Lineage{Producer: "train test"}, Config: []byte(`{}`),
			Vocab: &artifacts.Vocab{Tokens: testVocab()}, Direction: artifacts.DirForward},
	}
	if valid != nil {
		tr.Valid = &LMData{Docs: valid}
	}
	return tr
}

func testVocab() []string {
	v := []string{"xxunk", "xxpad", "xxbos"}
	for i := 0; i < testWords; i++ {
		v = append(v, string(rune('a'+i)))
	}
	return v
}

func TestLMTrainerLearns(t *testing.T) {
	train, valid := markovDocs(40, 60, 1), markovDocs(6, 60, 2)
	tr := tinyTrainer(t, train, valid, 3, "")
	before, err := tr.Evaluate(context.Background(), tr.Valid, "valid")
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unigram := math.Log(testWords)
	t.Logf("valid loss %.3f -> %.3f (unigram %.3f, best %.3f), %d steps", before, res.ValidLoss, unigram, math.Log(2), res.Steps)
	if !(res.ValidLoss < before-0.5) || !(res.ValidLoss < unigram-0.3) {
		t.Errorf("valid loss %.3f: did not fall enough from %.3f / below the unigram %.3f", res.ValidLoss, before, unigram)
	}
	if len(res.Epochs) != 3 || !tr.State.Finished || tr.State.Epoch != 3 {
		t.Errorf("epochs %d, state %+v", len(res.Epochs), tr.State)
	}
}

// paramBytes returns the model's weights as bytes.
func paramBytes(lm *nn.LM) []byte {
	var b bytes.Buffer
	for _, p := range lm.Params() {
		for _, v := range p.Data {
			bits := math.Float32bits(v)
			b.Write([]byte{byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24)})
		}
	}
	return b.Bytes()
}

func TestLMTrainerResumeIsExact(t *testing.T) {
	train, valid := markovDocs(20, 40, 3), markovDocs(4, 40, 4)
	full := tinyTrainer(t, train, valid, 2, "")
	full.Cfg.ValidEvery = 4
	if _, err := full.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := paramBytes(full.Model)

	for _, stopAt := range []int64{7, 16} { // mid-epoch 1, and into epoch 2
		ckpt := filepath.Join(t.TempDir(), "ckpt.arrow")
		ctx, cancel := context.WithCancel(context.Background())
		a := tinyTrainer(t, train, valid, 2, ckpt)
		a.Cfg.ValidEvery = 4
		a.OnStep = func(st *TrainState) {
			if st.Step == stopAt {
				cancel()
			}
		}
		_, err := a.Run(ctx)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stop at %d: err = %v, want context.Canceled", stopAt, err)
		}
		m, err := artifacts.ReadModel(ckpt, artifacts.KindLM)
		if err != nil {
			t.Fatal(err)
		}
		b := tinyTrainer(t, train, valid, 2, ckpt)
		b.Cfg.ValidEvery = 4
		b.Model.Init(12345) // must be overwritten by the checkpoint
		if err := b.ResumeFrom(m, ckpt); err != nil {
			t.Fatal(err)
		}
		if b.State.Step != stopAt {
			t.Fatalf("resumed at step %d, want %d", b.State.Step, stopAt)
		}
		if _, err := b.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(paramBytes(b.Model), want) {
			t.Errorf("stop at step %d: resumed weights differ from the uninterrupted run", stopAt)
		}
		if b.State.Step != full.State.Step || b.State.SmoothLoss != full.State.SmoothLoss {
			t.Errorf("stop at step %d: state %+v vs %+v", stopAt, b.State, full.State)
		}
	}
}

// TestLMTrainerResumeETA: after a resume in the middle of an epoch, the ETA
// counts the time of this process's steps only (it once divided it by the
// resumed steps too: a run resumed at step 1,011 of 24,000 promised 6 hours
// where 15 were left).
func TestLMTrainerResumeETA(t *testing.T) {
	train := markovDocs(20, 40, 3)
	ckpt := filepath.Join(t.TempDir(), "ckpt.arrow")
	ctx, cancel := context.WithCancel(context.Background())
	a := tinyTrainer(t, train, nil, 1, ckpt)
	a.OnStep = func(st *TrainState) {
		if st.Step == 10 {
			cancel()
		}
	}
	_, err := a.Run(ctx)
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	m, err := artifacts.ReadModel(ckpt, artifacts.KindLM)
	if err != nil {
		t.Fatal(err)
	}
	b := tinyTrainer(t, train, nil, 1, ckpt)
	if err := b.ResumeFrom(m, ckpt); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	no := false
	b.Progress = NewProgress(&out, ProgressOptions{Terminal: &no, Interval: time.Second, Now: (&progresstest.TickClock{}).Now})
	if _, err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := progresstest.CheckETA(t, out.String()); n < 3 {
		t.Fatalf("%d progress lines with an ETA, want 3 or more:\n%s", n, out.String())
	}
}

func TestLMTrainerNaNKeepsCheckpoint(t *testing.T) {
	train := markovDocs(10, 30, 5)
	ckpt := filepath.Join(t.TempDir(), "ckpt.arrow")
	tr := tinyTrainer(t, train, nil, 1, ckpt)
	tr.Model.Params()[0].Data[100] = float32(math.NaN())
	_, err := tr.Run(context.Background())
	if !IsNonFinite(err) {
		t.Fatalf("err = %v, want ErrNonFinite", err)
	}
	if _, statErr := os.Stat(ckpt); !os.IsNotExist(statErr) {
		t.Errorf("a checkpoint was written after the loss became NaN")
	}
}

func TestLMTrainerFreezePhase(t *testing.T) {
	train := markovDocs(10, 30, 6)
	tr := tinyTrainer(t, train, nil, 1, "")
	tr.Cfg.FreezeEpochs = 1
	before := map[string][]float32{}
	for _, p := range tr.Model.Params() {
		before[p.Name] = append([]float32(nil), p.Data...)
	}
	var frozenChecked bool
	tr.OnStep = func(st *TrainState) {
		if st.Epoch == 0 && st.StepInEpoch == 2 {
			frozenChecked = true
			for _, p := range tr.Model.Params() {
				changed := !bytes.Equal(f32bytes(p.Data), f32bytes(before[p.Name]))
				last := p.Group == tr.Model.NumGroups()-1
				if changed != last {
					t.Errorf("frozen phase: %s (group %d) changed=%v", p.Name, p.Group, changed)
				}
			}
		}
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !frozenChecked {
		t.Fatal("frozen phase not observed")
	}
	for _, p := range tr.Model.Params() {
		if p.Frozen {
			t.Errorf("%s still frozen after training", p.Name)
		}
	}
}

func f32bytes(x []float32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		u := math.Float32bits(v)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

func TestLMTrainerLRFind(t *testing.T) {
	train := markovDocs(20, 40, 7)
	tr := tinyTrainer(t, train, nil, 1, "")
	f, err := tr.LRFind(context.Background(), LRFindConfig{Start: 1e-5, End: 10, Iters: 60, StopDiv: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.LRs) < 20 {
		t.Fatalf("only %d lr-find steps", len(f.LRs))
	}
	v, ok := f.Valley()
	if !ok || v.LR <= 1e-5 || v.LR >= 10 {
		t.Errorf("valley %+v", v)
	}
}

func TestLMTrainerMomentumSchedule(t *testing.T) {
	tr := tinyTrainer(t, markovDocs(10, 30, 8), nil, 1, "")
	tr.Cfg.Momentum = nn.OneCycleMomentum(0.25, 0.8, 0.7)
	adam := tr.Opt.(*nn.Adam)
	var seen []float64
	tr.OnStep = func(st *TrainState) { seen = append(seen, adam.Beta1) }
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	lo, hi := 1.0, 0.0
	for _, b := range seen {
		lo, hi = math.Min(lo, b), math.Max(hi, b)
	}
	if seen[0] < 0.79 || lo > 0.71 || hi > 0.8+1e-12 || seen[len(seen)-1] < 0.78 {
		t.Errorf("beta1 over the epoch: first %g, min %g, max %g, last %g", seen[0], lo, hi, seen[len(seen)-1])
	}
}

func TestLMTrainerEarlyStopping(t *testing.T) {
	tr := tinyTrainer(t, markovDocs(10, 30, 9), markovDocs(3, 30, 10), 5, "")
	tr.Cfg.LR = 0 // the weights never change: no epoch improves on the first
	tr.Cfg.Patience = 2
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.StoppedEarly || len(res.Epochs) != 3 || len(tr.State.History) != 3 || tr.State.BestEpoch != 1 {
		t.Errorf("stopped early %v after %d epochs (history %d, best epoch %d), want after 3 with best 1",
			res.StoppedEarly, len(res.Epochs), len(tr.State.History), tr.State.BestEpoch)
	}
}

// ckptStep returns the global step of the checkpoint at path, or -1.
func ckptStep(t *testing.T, path string) int64 {
	t.Helper()
	m, err := artifacts.ReadModel(path, artifacts.KindLM)
	if err != nil {
		return -1
	}
	st, err := ParseTrainState(m.TrainState)
	if err != nil {
		t.Fatal(err)
	}
	if err := artifacts.CheckFinite(m.Tensors, m.OptState); err != nil {
		t.Errorf("checkpoint at step %d: %v", st.Step, err)
	}
	return st.Step
}

// TestLMTrainerCheckpointSteps: --checkpoint-steps N writes a checkpoint after
// every global step that is a multiple of N (and at epoch ends), whatever the
// clock says.
func TestLMTrainerCheckpointSteps(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "ckpt.arrow")
	tr := tinyTrainer(t, markovDocs(10, 30, 5), nil, 2, ckpt)
	tr.Cfg.CheckpointSteps = 4
	var seen []int64
	tr.OnStep = func(st *TrainState) {
		// Called before this step's checkpoint: the file is the previous one.
		if s := ckptStep(t, ckpt); len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perEpoch := res.Steps / 2
	for i, s := range seen[1:] {
		if s%4 != 0 && s != perEpoch {
			t.Errorf("checkpoint %d at step %d: not a multiple of 4 nor the epoch end (%d)", i, s, perEpoch)
		}
	}
	if want := int(res.Steps-1) / 4; len(seen)-1 < want {
		t.Errorf("%d checkpoints over %d steps (%v), want at least %d", len(seen)-1, res.Steps, seen, want)
	}
}

// TestLMTrainerNonFiniteState: a divergence that starts in the optimizer
// state or the hidden state, while the loss is still finite, stops training
// at a fixed step with an error naming the tensor, epoch and step; the last
// good checkpoint stays and holds only finite values.
func TestLMTrainerNonFiniteState(t *testing.T) {
	tests := []struct {
		name     string
		at       int64 // poisoned after this step's optimizer step
		poison   func(t *testing.T, tr *LMTrainer)
		want     string
		wantCkpt int64
	}{
		{"adam.v +Inf", 4, func(t *testing.T, tr *LMTrainer) {
			adam := tr.Opt.(*nn.Adam)
			ts := adam.State()
			for i := range ts {
				if ts[i].Name == "adam.v/"+tr.Model.Params()[0].Name {
					ts[i].Data[7] = float32(math.Inf(1))
				}
			}
			if err := adam.SetState(ts, tr.State.Step); err != nil {
				t.Fatal(err)
			}
		}, "adam.v/" + "encoder.weight is not finite (adam.v/encoder.weight[7] = +Inf) at epoch 1, step 5:", 3},
		// At a checkpoint step: only the checkpoint's own check can see it.
		{"hidden NaN", 6, func(t *testing.T, tr *LMTrainer) {
			hs := HiddenTensors(tr.Model.Enc)
			hs[0].Data[1] = float32(math.NaN())
			if err := RestoreHidden(tr.Model.Backend(), tr.Model.Enc, tr.Cfg.BS, hs, ""); err != nil {
				t.Fatal(err)
			}
		}, "hidden.0.h is not finite (hidden.0.h[1] = NaN) at epoch 1, step 6:", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ckpt := filepath.Join(t.TempDir(), "ckpt.arrow")
			tr := tinyTrainer(t, markovDocs(10, 30, 5), nil, 2, ckpt)
			tr.Cfg.CheckpointSteps = 3
			tr.OnStep = func(st *TrainState) {
				if st.Step == tt.at {
					tt.poison(t, tr)
				}
			}
			_, err := tr.Run(context.Background())
			if !IsNonFinite(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrNonFinite and %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "the last good checkpoint, "+ckpt+", is kept") {
				t.Errorf("err = %v: does not name the kept checkpoint", err)
			}
			if s := ckptStep(t, ckpt); s != tt.wantCkpt {
				t.Errorf("kept checkpoint is of step %d, want %d", s, tt.wantCkpt)
			}
		})
	}
}

// TestCheckGradNorm: a non-finite gradient is found and named before clipping
// can hide it.
func TestCheckGradNorm(t *testing.T) {
	lm := tinyLM(t, 1)
	ps := lm.Params()
	be := lm.Backend()
	if err := nn.CheckGradNorm(ps, nn.GradNorm(be, ps)); err != nil {
		t.Fatalf("zero gradients: %v", err)
	}
	ps[2].Grad[3] = float32(math.Inf(-1))
	err := nn.CheckGradNorm(ps, nn.GradNorm(be, ps))
	if !IsNonFinite(err) || !strings.Contains(err.Error(), "grad/"+ps[2].Name+"[3] = -Inf") {
		t.Fatalf("err = %v", err)
	}
}
