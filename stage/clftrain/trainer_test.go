package clftrain

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/train"
	"github.com/ulmfit-go/ulmfit/stage/train/progresstest"
)

// synth makes a learnable 3-class task: random tokens from [4,V), and the
// class c's marker token 4+c appears a few times.
func synth(n int, seed uint64, v int) []Example {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]Example, n)
	for i := range out {
		c := int32(rng.IntN(3))
		l := 5 + rng.IntN(25)
		toks := make([]int32, l)
		toks[0] = 2 // xxbos
		for k := 1; k < l; k++ {
			toks[k] = int32(7 + rng.IntN(v-7))
		}
		for k := 0; k < 3; k++ {
			toks[1+rng.IntN(l-1)] = 4 + c
		}
		out[i] = Example{Tokens: toks, Label: c}
	}
	return out
}

func tinyClassifier(t testing.TB, v, nc int, multi bool) *nn.Classifier {
	t.Helper()
	return tinyClassifierOn(t, cpu.New(1), v, nc, multi)
}

func tinyClassifierOn(t testing.TB, be nn.Backend, v, nc int, multi bool) *nn.Classifier {
	t.Helper()
	enc, err := nn.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	enc.VocabSize, enc.PadID = v, 1
	cfg := nn.DefaultClassifierConfig(enc, nc)
	cfg.MultiLabel = multi
	cfg.BPTT, cfg.MaxLen = 10, 40
	m, err := nn.NewClassifier(cfg, be)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	return m
}

func newTrainer(t testing.TB, m *nn.Classifier, mode string, epochs int, tr, va []Example) *Trainer {
	t.Helper()
	md, err := ModeByName(mode)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := md.Plan(PlanConfig{Groups: m.NumGroups(), Epochs: epochs})
	if err != nil {
		t.Fatal(err)
	}
	return &Trainer{
		Cfg:   Config{Phases: ph, Schedule: DefaultSchedule(), BS: 16, Beta1: 0.7, Seed: 3},
		Model: m, Opt: nn.NewAdam(m.Backend(), m.Params(), 0.7, 0.99, 1e-5, 0),
		Train: tr, Valid: va,
	}
}

func TestTrainerLearns(t *testing.T) {
	const v = 40
	tr, va := synth(240, 1, v), synth(90, 2, v)
	m := tinyClassifier(t, v, 3, false)
	tn := newTrainer(t, m, "ulmfit", 8, tr, va)
	tn.Cfg.Phases[len(tn.Cfg.Phases)-1].LR = discrLRs(m.NumGroups(), 0.03, 2.6)
	res, err := tn.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.Epochs[0], res.Epochs[len(res.Epochs)-1]
	t.Logf("train error %.3f -> %.3f, best valid error %.3f (epoch %d)", first.TrainError, last.TrainError, *res.BestValidError, res.BestEpoch)
	if !(last.TrainError < first.TrainError) {
		t.Errorf("train error did not fall: %.3f -> %.3f", first.TrainError, last.TrainError)
	}
	if *res.BestValidError > 0.35 { // majority baseline is ~0.67
		t.Errorf("best valid error %.3f, want well under the 0.67 chance level", *res.BestValidError)
	}
	// The model holds the best epoch's weights.
	ev, err := Evaluate(context.Background(), m, va, 32)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.Error-*res.BestValidError) > 1e-12 {
		t.Errorf("final model valid error %.4f, best epoch's %.4f", ev.Error, *res.BestValidError)
	}
	for _, p := range m.Params() {
		if p.Frozen {
			t.Fatalf("%s still frozen after training", p.Name)
		}
	}
}

func TestEveryModeRuns(t *testing.T) {
	const v = 30
	tr, va := synth(40, 3, v), synth(12, 4, v)
	for _, md := range Modes() {
		m := tinyClassifier(t, v, 3, false)
		// Only the trainable groups may change in the first phase.
		tn := newTrainer(t, m, md.Name, 1, tr, va)
		ph := tn.Cfg.Phases[0]
		before := map[string][]float32{}
		for _, p := range m.Params() {
			before[p.Name] = slices.Clone(p.Data)
		}
		tn.Cfg.Phases = tn.Cfg.Phases[:1]
		tn.Cfg.Phases[0].Epochs = 1
		if _, err := tn.Run(context.Background()); err != nil {
			t.Fatalf("%s: %v", md.Name, err)
		}
		for _, p := range m.Params() {
			changed := !slices.Equal(before[p.Name], p.Data)
			if changed != ph.Train[p.Group] {
				t.Errorf("%s phase %q: %s (group %d) changed=%v, trainable=%v", md.Name, ph.Name, p.Name, p.Group, changed, ph.Train[p.Group])
			}
		}
	}
}

func TestMultiLabelAndClassWeights(t *testing.T) {
	const v = 30
	data := synth(60, 5, v)
	for i := range data {
		c := data[i].Label
		data[i].Labels = []int32{c}
		if c == 2 {
			data[i].Labels = []int32{0, 2}
		}
		data[i].Label = -1
	}
	m := tinyClassifier(t, v, 3, true)
	w, err := ClassWeights("auto", data, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	m.ClassWeights = w
	tn := newTrainer(t, m, "full", 2, data[:48], data[48:])
	res, err := tn.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Epochs) != 2 || res.Epochs[1].ValidLoss == nil {
		t.Fatalf("epochs %+v", res.Epochs)
	}
	if _, err := ClassWeights("1,2", data, 3, false); err == nil {
		t.Error("2 weights for 3 classes accepted")
	}
	if w, _ := ClassWeights("1,2,0.5", data, 3, false); !slices.Equal(w, []float32{1, 2, 0.5}) {
		t.Errorf("weights %v", w)
	}
}

func TestResumeIsExact(t *testing.T) {
	const v = 30
	tr, va := synth(64, 6, v), synth(16, 7, v)
	dir := t.TempDir()
	tmpl := artifacts.Model{Lineage: artifacts.Lineage{Kind: artifacts.KindClassifier, Producer: "test"},
		Config: []byte(`{}`), Vocab: vocabOf(v), Direction: artifacts.DirForward, LabelNames: []string{"a", "b", "c"}}

	// Uninterrupted run.
	m1 := tinyClassifier(t, v, 3, false)
	t1 := newTrainer(t, m1, "ulmfit", 4, tr, va)
	r1, err := t1.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	// Cancelled mid-epoch 2, then resumed from the checkpoint.
	m2 := tinyClassifier(t, v, 3, false)
	t2 := newTrainer(t, m2, "ulmfit", 4, tr, va)
	t2.Template, t2.CheckpointPath = tmpl, filepath.Join(dir, "ck.arrow")
	ctx, cancel := context.WithCancel(context.Background())
	t2.OnStep = func(st *train.TrainState) {
		if st.Epoch == 1 && st.StepInEpoch == 2 {
			cancel()
		}
	}
	if _, err := t2.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancellation error, got %v", err)
	}
	ck, err := artifacts.ReadModel(t2.CheckpointPath, artifacts.KindClassifier)
	if err != nil {
		t.Fatal(err)
	}
	m3 := tinyClassifier(t, v, 3, false)
	t3 := newTrainer(t, m3, "ulmfit", 4, tr, va)
	if err := t3.ResumeFrom(ck, t2.CheckpointPath); err != nil {
		t.Fatal(err)
	}
	r3, err := t3.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r1.BestEpoch != r3.BestEpoch || *r1.BestValidError != *r3.BestValidError || len(r3.Epochs) != len(r1.Epochs) {
		t.Fatalf("resumed run differs: best %d %.4f vs %d %.4f", r1.BestEpoch, *r1.BestValidError, r3.BestEpoch, *r3.BestValidError)
	}
	for i, p := range m1.Params() {
		if !slices.Equal(p.Data, m3.Params()[i].Data) {
			t.Fatalf("%s differs after resume", p.Name)
		}
	}
	for i := range r1.Epochs {
		if r1.Epochs[i].TrainLoss != r3.Epochs[i].TrainLoss {
			t.Fatalf("epoch %d train loss %v vs %v", i+1, r1.Epochs[i].TrainLoss, r3.Epochs[i].TrainLoss)
		}
	}
}

// TestResumeProgress: resumed in the middle of an epoch, the progress lines'
// ETA and tokens/s count this process's steps only (they once counted the
// resumed ones as if done in no time).
func TestResumeProgress(t *testing.T) {
	const v = 30
	tr, va := synth(256, 6, v), synth(16, 7, v)
	ck := filepath.Join(t.TempDir(), "ck.arrow")
	tmpl := artifacts.Model{Lineage: artifacts.Lineage{Kind: artifacts.KindClassifier, Producer: "test"},
		Config: []byte(`{}`), Vocab: vocabOf(v), Direction: artifacts.DirForward, LabelNames: []string{"a", "b", "c"}}
	a := newTrainer(t, tinyClassifier(t, v, 3, false), "ulmfit", 2, tr, va)
	a.Template, a.CheckpointPath = tmpl, ck
	ctx, cancel := context.WithCancel(context.Background())
	a.OnStep = func(st *train.TrainState) {
		if st.Epoch == 0 && st.StepInEpoch == 8 {
			cancel()
		}
	}
	if _, err := a.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancellation error, got %v", err)
	}
	m, err := artifacts.ReadModel(ck, artifacts.KindClassifier)
	if err != nil {
		t.Fatal(err)
	}
	b := newTrainer(t, tinyClassifier(t, v, 3, false), "ulmfit", 2, tr, va)
	if err := b.ResumeFrom(m, ck); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	no := false
	b.Progress = train.NewProgress(&out, train.ProgressOptions{Terminal: &no, Interval: time.Second, Now: (&progresstest.TickClock{}).Now})
	if _, err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := progresstest.CheckETA(t, out.String()); n < 10 {
		t.Fatalf("%d progress lines with an ETA, want 10 or more:\n%s", n, out.String())
	}
	// A step takes a second of the clock and a batch holds at most 16 x 29
	// tokens.
	for _, m := range regexp.MustCompile(`(?m)^epoch .* (\d+) tok/s$`).FindAllStringSubmatch(out.String(), -1) {
		if r, _ := strconv.Atoi(m[1]); r > 16*29 {
			t.Errorf("%s: more tokens/s than one batch per second can give", m[0])
		}
	}
}

func vocabOf(v int) *artifacts.Vocab {
	voc := &artifacts.Vocab{}
	for i := 0; i < v; i++ {
		voc.Tokens = append(voc.Tokens, "t"+string(rune('A'+i%26))+string(rune('a'+i/26)))
		voc.Counts = append(voc.Counts, 1)
	}
	return voc
}

// TestBPT3CBoundedMemory trains on a batch holding a 100k-token document:
// the memory allocated must not grow with the document length, only with
// MaxLen (the kept chunks), and the prediction must depend only on the
// state carried through the document.
func TestBPT3CBoundedMemory(t *testing.T) {
	const v = 30
	m := tinyClassifierOn(t, allocFreeBackend(t), v, 3, false)
	opt := nn.NewAdam(m.Backend(), m.Params(), 0.7, 0.99, 1e-5, 0)
	rng := rand.New(rand.NewPCG(9, 9))
	doc := func(n int) []int32 {
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(4 + rng.IntN(v-4))
		}
		return d
	}
	step := func(n int) uint64 {
		data := []Example{{Tokens: doc(n), Label: 0}, {Tokens: doc(n / 2), Label: 1}}
		bt := &Batcher{Data: data, PadID: 1, NClasses: 3}
		b := bt.Make([]int{0, 1})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m.ZeroGrad()
		if _, err := m.Forward(b.Tokens, b.B, b.T, &nn.ClassTargets{Labels: b.Labels}, true, nn.NewRNG(1)); err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		if err := opt.Step(flatLRs(m.NumGroups(), 1e-3)); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	step(1000) // warm up the buffers
	small := step(1000)
	big := step(100_000)
	// The batch itself (ids, time-major copy) is 2 x 100k x 2 x 4 bytes;
	// activations for all 100k steps would be ~100 MB.
	limit := small + 8<<20
	t.Logf("allocated: 1k-token doc %d KiB, 100k-token doc %d KiB", small>>10, big>>10)
	if big > limit {
		t.Fatalf("a 100k-token document allocated %d MiB (1k: %d KiB): BPT3C memory is not bounded", big>>20, small>>10)
	}
}

// allocFreeBackend returns the default backend, or gonum's GEMM where the
// default's allocates per call (OpenBLAS through purego in a CGO_ENABLED=0
// build: a few hundred bytes of garbage per product, which over a 100k-token
// document's per-step products would swamp what the BPT3C test measures).
func allocFreeBackend(t *testing.T) nn.Backend {
	t.Helper()
	be := cpu.New(1)
	a, b, c := make([]float32, 4*8), make([]float32, 8*4), make([]float32, 4*4)
	if n := testing.AllocsPerRun(10, func() { be.Gemm(false, false, 4, 4, 8, 1, a, 8, b, 4, 0, c, 4) }); n == 0 {
		return be
	}
	g, err := cpu.NewWithOptions(cpu.Options{Threads: 1, BLAS: "gonum"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s allocates per GEMM call: measured on %s", be.Name(), g.Name())
	return g
}

func TestLRFind(t *testing.T) {
	const v = 30
	m := tinyClassifier(t, v, 3, false)
	tn := newTrainer(t, m, "ulmfit", 4, synth(200, 8, v), nil)
	f, err := tn.LRFind(context.Background(), train.LRFindConfig{Start: 1e-5, End: 10, Iters: 60, StopDiv: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.LRs) < 10 || f.LRs[1] <= f.LRs[0] {
		t.Fatalf("sweep of %d steps: %v", len(f.LRs), f.LRs)
	}
	s, ok := f.Valley()
	if !ok || !(s.LR > 1e-5 && s.LR < 10) {
		t.Fatalf("valley %+v %v", s, ok)
	}
	for _, p := range m.Params() {
		if p.Frozen {
			t.Fatalf("%s left frozen", p.Name)
		}
	}
}

// TestNonFiniteStateStops: a BatchNorm running statistic that becomes +Inf
// while the loss stays finite (as a huge LR does) stops training at the next
// step with an error that names the tensor, the epoch and step and the kept
// checkpoint; the checkpoint on disk is the last good one. A NaN weight stops
// it through the loss; without a checkpoint yet, the error says so.
func TestNonFiniteStateStops(t *testing.T) {
	const v = 30
	tr := synth(64, 6, v)
	dir := t.TempDir()
	tmpl := artifacts.Model{Lineage: artifacts.Lineage{Kind: artifacts.KindClassifier, Producer: "test"},
		Config: []byte(`{}`), Vocab: vocabOf(v), Direction: artifacts.DirForward, LabelNames: []string{"a", "b", "c"}}
	for _, c := range []struct {
		name     string
		tensor   string
		val      float32
		epoch    int // 0-based epoch of the injection, at its step 2
		want     []string
		wantCkpt bool
	}{
		{"running_var inf", "head.0.bn.running_var", float32(math.Inf(1)), 1,
			[]string{"head.0.bn.running_var is not finite (head.0.bn.running_var[0] = +Inf) at epoch 2, step 7:", "the last good checkpoint, ", "is kept (--resume continues from it)"}, true},
		{"nan weight", "head.1.linear.weight", float32(math.NaN()), 1,
			[]string{"loss is not finite", "at epoch 2, step ", "the last good checkpoint, "}, true},
		{"before any checkpoint", "head.0.bn.running_mean", float32(math.Inf(-1)), 0,
			[]string{"running_mean[0] = -Inf) at epoch 1, step 3:", "no checkpoint had been written yet"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := tinyClassifier(t, v, 3, false)
			tn := newTrainer(t, m, "full", 3, tr, nil)
			tn.Template, tn.CheckpointPath = tmpl, filepath.Join(dir, c.name+".ckpt.arrow")
			var target *nn.Param
			for _, p := range append(m.Params(), m.Buffers()...) {
				if p.Name == c.tensor {
					target = p
				}
			}
			if target == nil {
				t.Fatalf("no tensor %s", c.tensor)
			}
			tn.OnStep = func(st *train.TrainState) {
				if st.Epoch == c.epoch && st.StepInEpoch == 2 {
					for i := range target.Data {
						target.Data[i] = c.val
					}
				}
			}
			_, err := tn.Run(context.Background())
			if !train.IsNonFinite(err) {
				t.Fatalf("want an error wrapping train.ErrNonFinite, got %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			ck, rerr := artifacts.ReadModel(tn.CheckpointPath, artifacts.KindClassifier)
			if !c.wantCkpt {
				if rerr == nil {
					t.Fatal("a checkpoint was written")
				}
				return
			}
			if rerr != nil {
				t.Fatal(rerr)
			}
			if !strings.Contains(err.Error(), tn.CheckpointPath) {
				t.Errorf("error %q does not name %s", err, tn.CheckpointPath)
			}
			if err := artifacts.CheckFinite(ck.Tensors, ck.OptState); err != nil {
				t.Errorf("the kept checkpoint: %v", err)
			}
		})
	}
}

// TestCheckpointRefusesNonFiniteMoments: an optimizer moment that is +Inf
// (weights still finite) stops training at the next optimizer step, naming
// the moment, and is not checkpointed.
func TestCheckpointRefusesNonFiniteMoments(t *testing.T) {
	const v = 30
	m := tinyClassifier(t, v, 3, false)
	tn := newTrainer(t, m, "full", 2, synth(64, 6, v), nil)
	tn.Template = artifacts.Model{Lineage: artifacts.Lineage{Kind: artifacts.KindClassifier, Producer: "test"},
		Config: []byte(`{}`), Vocab: vocabOf(v), Direction: artifacts.DirForward, LabelNames: []string{"a", "b", "c"}}
	tn.CheckpointPath = filepath.Join(t.TempDir(), "ck.arrow")
	adam := tn.Opt.(*nn.Adam)
	tn.OnStep = func(st *train.TrainState) {
		if st.Epoch == 0 && st.StepInEpoch == 3 {
			ts := adam.State()
			for i := range ts {
				if strings.HasPrefix(ts[i].Name, "adam.v/") {
					ts[i].Data[0] = float32(math.Inf(1))
				}
			}
			if err := adam.SetState(ts, st.Step); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err := tn.Run(context.Background())
	if !train.IsNonFinite(err) || !strings.Contains(err.Error(), " is not finite (adam.v/") || !strings.Contains(err.Error(), "at epoch 1, step 4:") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(tn.CheckpointPath); err == nil {
		t.Error("a checkpoint with an infinite moment was written")
	}
}

// lateCtx is cancelled from the second Err call after arm: the trainer's
// check after the arming step passes, validation's checks fail, as when a
// SIGINT arrives during validation.
type lateCtx struct {
	context.Context
	armed bool
	calls int
}

func (c *lateCtx) Err() error {
	if !c.armed {
		return nil
	}
	c.calls++
	if c.calls >= 2 {
		return context.Canceled
	}
	return nil
}

// TestInterruptDuringValidation: a cancellation that arrives while the
// epoch's validation runs still ends in a checkpoint named in the error
// (validation finishes first), and resuming from it continues normally.
func TestInterruptDuringValidation(t *testing.T) {
	const v = 30
	tr, va := synth(64, 6, v), synth(16, 7, v)
	m := tinyClassifier(t, v, 3, false)
	tn := newTrainer(t, m, "full", 3, tr, va)
	tn.Template = artifacts.Model{Lineage: artifacts.Lineage{Kind: artifacts.KindClassifier, Producer: "test"},
		Config: []byte(`{}`), Vocab: vocabOf(v), Direction: artifacts.DirForward, LabelNames: []string{"a", "b", "c"}}
	tn.CheckpointPath = filepath.Join(t.TempDir(), "ck.arrow")
	ctx := &lateCtx{Context: context.Background()}
	steps := len(tn.order(0))
	tn.OnStep = func(st *train.TrainState) {
		if st.Epoch == 0 && st.StepInEpoch == steps {
			ctx.armed = true
		}
	}
	_, err := tn.Run(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), tn.CheckpointPath) {
		t.Fatalf("want a cancellation naming the checkpoint, got %v", err)
	}
	ck, err := artifacts.ReadModel(tn.CheckpointPath, artifacts.KindClassifier)
	if err != nil {
		t.Fatal(err)
	}
	st, err := train.ParseTrainState(ck.TrainState)
	if err != nil {
		t.Fatal(err)
	}
	if st.Epoch != 1 || st.BestEpoch != 1 {
		t.Errorf("checkpoint at epoch %d (best %d), want after the validated epoch 1", st.Epoch, st.BestEpoch)
	}
}

// recOpt records the learning rates of every step of the optimizer it wraps.
type recOpt struct {
	train.Optimizer
	lrs [][]float64
}

func (r *recOpt) Step(lrs []float64) error {
	r.lrs = append(r.lrs, slices.Clone(lrs))
	return r.Optimizer.Step(lrs)
}

// TestGradualUnfreezingSteps follows the ULMFiT recipe step by step: in
// phase k only the last k groups change (the head first, the embedding
// last), every step gives the head the largest LR and each lower group
// 2.6 times less, and the STLR cycle restarts at each phase (fastai runs one
// fit_one_cycle per unfreezing stage).
func TestGradualUnfreezingSteps(t *testing.T) {
	const v = 30
	tr := synth(96, 5, v)
	m := tinyClassifier(t, v, 3, false)
	g := m.NumGroups()
	tn := newTrainer(t, m, "ulmfit", g+1, tr, nil)
	ro := &recOpt{Optimizer: tn.Opt}
	tn.Opt = ro
	prev := map[string][]float32{}
	snap := func() {
		for _, p := range m.Params() {
			prev[p.Name] = slices.Clone(p.Data)
		}
	}
	snap()
	var phaseOfStep []int
	var phaseStart []int // step index where each phase begins
	tn.OnStep = func(st *train.TrainState) {
		pi, _ := tn.phaseOf(st.Epoch)
		if len(phaseStart) <= pi {
			phaseStart = append(phaseStart, len(phaseOfStep))
		}
		phaseOfStep = append(phaseOfStep, pi)
		ph := tn.Cfg.Phases[pi]
		for _, p := range m.Params() {
			changed := !slices.Equal(prev[p.Name], p.Data)
			if changed != ph.Train[p.Group] {
				t.Fatalf("step %d, phase %q: %s (group %d) changed=%v, trainable=%v", st.Step, ph.Name, p.Name, p.Group, changed, ph.Train[p.Group])
			}
		}
		snap()
	}
	if _, err := tn.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(phaseStart) != g {
		t.Fatalf("%d phases ran, want %d (head, +1 group per epoch, then all)", len(phaseStart), g)
	}
	for k, ph := range tn.Cfg.Phases {
		for gg := range ph.Train {
			if want := gg >= g-1-k; ph.Train[gg] != want {
				t.Errorf("phase %d %q: group %d trainable=%v, want %v", k, ph.Name, gg, ph.Train[gg], want)
			}
		}
	}
	for i, lrs := range ro.lrs {
		if math.Abs(lrs[g-1]/lrs[0]-math.Pow(2.6, float64(g-1))) > 1e-9*lrs[g-1]/lrs[0] {
			t.Fatalf("step %d: lrs %v: the head should get 2.6^%d times the embedding's LR", i, lrs, g-1)
		}
		for gg := 1; gg < g; gg++ {
			if r := lrs[gg] / lrs[gg-1]; math.Abs(r-2.6) > 1e-9 {
				t.Fatalf("step %d: lrs %v: group %d/%d ratio %g, want 2.6", i, lrs, gg, gg-1, r)
			}
		}
	}
	// STLR restarts: each phase's first step is at the bottom of the cycle
	// (peak/32), and each phase reaches the peak 0.01.
	for k, s := range phaseStart {
		if got := ro.lrs[s][g-1]; math.Abs(got-0.01/32) > 1e-12 {
			t.Errorf("phase %d first step: head LR %g, want %g (STLR restarts per phase)", k, got, 0.01/32)
		}
		end := len(ro.lrs)
		if k+1 < len(phaseStart) {
			end = phaseStart[k+1]
		}
		peak := 0.0
		for _, l := range ro.lrs[s:end] {
			peak = max(peak, l[g-1])
		}
		if math.Abs(peak-0.01) > 1e-3 {
			t.Errorf("phase %d: peak head LR %g, want about 0.01", k, peak)
		}
	}
}
