package train

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestTrainStateRoundTrip(t *testing.T) {
	best := 4.25
	s := &TrainState{Stage: "pretrain", Seed: 1<<63 + 5, Epochs: 3, Epoch: 1, StepInEpoch: 17, Step: 40, DataPos: 1190,
		SchedulePos: 0.4123456789012345, Tokens: 123456, BestMetric: &best}
	for _, l := range []float64{5.1, 4.9, 4.7} {
		s.Smooth(l)
	}
	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseTrainState(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seed != s.Seed || got.SmoothLoss != s.SmoothLoss || got.SchedulePos != s.SchedulePos || *got.BestMetric != best || got.RNG != RNGScheme {
		t.Errorf("round trip changed the state: %+v vs %+v", got, s)
	}
	if _, err := ParseTrainState(nil); err == nil {
		t.Errorf("empty state parsed without error")
	}
	if _, err := ParseTrainState([]byte(`{"version":99}`)); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("wrong version: err = %v", err)
	}
}

func TestSmoothBiasCorrected(t *testing.T) {
	var s TrainState
	if v := s.Smooth(3); math.Abs(v-3) > 1e-12 {
		t.Errorf("first smoothed value %v, want 3", v)
	}
	if v := s.Smooth(3); math.Abs(v-3) > 1e-12 {
		t.Errorf("constant loss smoothed to %v", v)
	}
}

func TestCheckFinite(t *testing.T) {
	if err := CheckFinite(2.3, 0, 5); err != nil {
		t.Errorf("finite loss: %v", err)
	}
	err := CheckFinite(math.NaN(), 1, 77)
	if !IsNonFinite(err) || !strings.Contains(err.Error(), "epoch 2, step 77") {
		t.Errorf("NaN loss: %v", err)
	}
	if err := CheckFinite(math.Inf(1), 0, 1); !IsNonFinite(err) {
		t.Errorf("Inf loss: %v", err)
	}
}

func TestTicker(t *testing.T) {
	now := time.Unix(0, 0)
	tk := &Ticker{Every: time.Minute, Now: func() time.Time { return now }}
	tk.Reset()
	now = now.Add(30 * time.Second)
	if tk.Due() {
		t.Errorf("due too early")
	}
	now = now.Add(31 * time.Second)
	if !tk.Due() {
		t.Errorf("not due after the interval")
	}
	tk.Reset()
	if tk.Due() {
		t.Errorf("due right after reset")
	}
	if (&Ticker{Now: time.Now}).Due() {
		t.Errorf("zero interval should never be due")
	}
}
