package nn

import "testing"

// TestNoSteadyStateAllocations checks that a training step (forward,
// backward, optimizer) allocates nothing once the buffers exist.
func TestNoSteadyStateAllocations(t *testing.T) {
	for _, arch := range ArchNames() {
		t.Run(arch, func(t *testing.T) { testNoSteadyStateAllocations(t, arch) })
	}
}

func testNoSteadyStateAllocations(t *testing.T, arch string) {
	be := Reference()
	cfg := tinyLMConfig(19)
	cfg.Arch = arch
	m, _ := NewLM(cfg, be)
	m.Init(1)
	opt := NewAdam(be, m.Params(), 0.7, 0.99, 1e-5, 0.01)
	lrs := GroupLRs(1e-3, 2.6, m.NumGroups())
	rng := NewRNG(4)
	x, y := randTokens(rng, 12, 19), randTokens(rng, 12, 19)
	step := func() {
		m.ZeroGrad()
		if _, err := m.Forward(x, y, 3, 4, true, rng); err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
		ClipGradNorm(be, m.Params(), 0.25)
		if err := opt.Step(lrs); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := testing.AllocsPerRun(5, step); n != 0 {
		t.Errorf("LM training step: %v allocations", n)
	}

	c := tinyClassifier(t, func(cc *ClassifierConfig) { cc.MaxLen, cc.Encoder.Arch = 4, arch })
	tokens, tt := padLeft(testDocs, 1)
	yc := &ClassTargets{Labels: []int32{0, 1, 2, 1}}
	copt := NewAdam(be, c.Params(), 0.7, 0.99, 1e-5, 0.01)
	clrs := GroupLRs(1e-3, 2.6, c.NumGroups())
	cstep := func() {
		c.ZeroGrad()
		if _, err := c.Forward(tokens, 4, tt, yc, true, rng); err != nil {
			t.Fatal(err)
		}
		if err := c.Backward(); err != nil {
			t.Fatal(err)
		}
		if err := copt.Step(clrs); err != nil {
			t.Fatal(err)
		}
	}
	cstep()
	if n := testing.AllocsPerRun(5, cstep); n != 0 {
		t.Errorf("classifier training step: %v allocations", n)
	}
}
