package artifacts

import (
	"fmt"
	"math"
)

// CompactProducer is the producer recorded by Compact.
const CompactProducer = "artifacts compact"

// CompactResult is what Compact wrote and dropped.
type CompactResult struct {
	Model             *Model // as written to out
	OptDropped        int    // optimizer state tensors dropped
	TrainStateDropped bool   // a training state was dropped
}

// CompactOptions says what Compact does to a model.
type CompactOptions struct {
	BF16           bool // round every tensor value to bfloat16 precision (kept as float32)
	DropOpt        bool // drop the optimizer state (section "opt")
	DropTrainState bool // drop the training (resume) state
}

// Params returns the options as lineage params, keyed by the flag names.
func (o CompactOptions) Params() map[string]any {
	return map[string]any{"bf16": o.BF16, "drop-opt": o.DropOpt, "drop-train-state": o.DropTrainState}
}

// Compact reads the lm or classifier artifact in and writes a smaller copy
// for shipping to out: without the optimizer state and the training state
// when asked, and with BF16 every float32 value rounded to the nearest
// bfloat16 (RoundBF16). The values stay float32 columns, so every reader
// reads the result unchanged, but their low 16 bits are zero, which zstd
// compresses away (the weights take about half the space).
//
// The result keeps the model's config, vocabulary, tokenizer settings,
// labels, direction and metrics. Its lineage says what was done: producer
// "artifacts compact", params {bf16, drop-opt, drop-train-state, source}
// where source is the lineage of in (producer, params, inputs), and one
// input, in with its hash. out may be in: in is read in full first.
func Compact(in, out string, opt CompactOptions) (*CompactResult, error) {
	m, err := ReadModel(in, "")
	if err != nil {
		return nil, err
	}
	src, err := InputOf(in)
	if err != nil {
		return nil, err
	}
	params := opt.Params()
	params["source"] = map[string]any{"producer": m.Producer, "params": m.Params, "inputs": m.Inputs}
	m.Lineage = Lineage{Kind: m.Kind, Producer: CompactProducer, Params: params, Inputs: []Input{src}}
	res := &CompactResult{Model: m}
	if opt.DropOpt {
		res.OptDropped = len(m.OptState)
		m.OptState = nil
	}
	if opt.DropTrainState {
		res.TrainStateDropped = len(m.TrainState) > 0
		m.TrainState = nil
	}
	if opt.BF16 {
		for _, ts := range [][]Tensor{m.Tensors, m.OptState} {
			for i := range ts {
				for j, v := range ts[i].Data {
					ts[i].Data[j] = RoundBF16(v)
				}
			}
		}
	}
	if err := WriteModel(out, m); err != nil {
		return nil, fmt.Errorf("compact: %w", err)
	}
	return res, nil
}

// RoundBF16 rounds f to the nearest value representable in bfloat16 (8
// exponent bits, 7 mantissa bits: float32's upper 16 bits), ties to even,
// as PyTorch's float32 -> bfloat16 conversion does. The relative error is
// at most 2^-8 for normal values; values beyond bfloat16's largest finite
// value become ±Inf; NaN stays NaN, Inf stays Inf.
func RoundBF16(f float32) float32 {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0x7f800000 { // Inf or NaN
		if b&0x007fffff != 0 {
			b |= 0x00400000 // keep a NaN a NaN once its low bits are cut
		}
		return math.Float32frombits(b & 0xffff0000)
	}
	b += 0x7fff + (b>>16)&1
	return math.Float32frombits(b & 0xffff0000)
}
