package clftrain

import (
	"context"
	"testing"

	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
)

// BenchmarkTrainEpoch measures classifier fine-tuning throughput (one epoch
// of 256 synthetic documents of 5-30 tokens, batch 64, all groups trainable)
// for the tiny and small presets on the CPU backend with 2 threads.
func BenchmarkTrainEpoch(b *testing.B) {
	for _, preset := range []string{"tiny", "small"} {
		b.Run(preset, func(b *testing.B) {
			const v = 1000
			enc, err := nn.Preset(preset)
			if err != nil {
				b.Fatal(err)
			}
			enc.VocabSize, enc.PadID = v, 1
			m, err := nn.NewClassifier(nn.DefaultClassifierConfig(enc, 3), cpu.New(2))
			if err != nil {
				b.Fatal(err)
			}
			m.Init(1)
			data := synth(256, 1, v)
			var toks int
			for _, d := range data {
				toks += len(d.Tokens)
			}
			md, _ := ModeByName("full")
			ph, _ := md.Plan(PlanConfig{Groups: m.NumGroups(), Epochs: 1})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tn := &Trainer{Cfg: Config{Phases: ph, Schedule: DefaultSchedule(), BS: 64, Beta1: 0.7, Seed: uint64(i)},
					Model: m, Opt: nn.NewAdam(m.Backend(), m.Params(), 0.7, 0.99, 1e-5, 0), Train: data}
				if _, err := tn.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(data))/b.Elapsed().Seconds(), "docs/s")
			b.ReportMetric(float64(b.N*toks)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
