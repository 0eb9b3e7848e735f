package train

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
)

// Tensors returns the params as artifact tensors (sharing their Data, so
// write them before changing the params).
func Tensors(ps []*nn.Param) []artifacts.Tensor {
	out := make([]artifacts.Tensor, len(ps))
	for i, p := range ps {
		out[i] = artifacts.Tensor{Name: p.Name, Shape: slices.Clone(p.Shape), Data: p.Data}
	}
	return out
}

// LoadTensors copies the artifact's tensors into the params by name. Every
// param must be present with the same shape; the error names the file and
// the tensor. Extra tensors in the artifact are ignored unless strict.
func LoadTensors(ps []*nn.Param, ts []artifacts.Tensor, path string, strict bool) error {
	byName := make(map[string]*artifacts.Tensor, len(ts))
	for i := range ts {
		byName[ts[i].Name] = &ts[i]
	}
	used := 0
	for _, p := range ps {
		t, ok := byName[p.Name]
		if !ok {
			return &artifacts.Error{Path: path, Field: "tensor " + p.Name, Err: artifacts.ErrCorrupt,
				Msg: "missing: the model file does not match its config (was it written by another program?)"}
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return &artifacts.Error{Path: path, Field: "tensor " + p.Name, Err: artifacts.ErrCorrupt,
				Msg: fmt.Sprintf("shape %v, the config needs %v", t.Shape, p.Shape)}
		}
		copy(p.Data, t.Data)
		used++
	}
	if strict && used != len(ts) {
		var extra []string
		for _, t := range ts {
			if !slices.ContainsFunc(ps, func(p *nn.Param) bool { return p.Name == t.Name }) {
				extra = append(extra, t.Name)
			}
		}
		return &artifacts.Error{Path: path, Field: "tensors", Err: artifacts.ErrCorrupt,
			Msg: fmt.Sprintf("unexpected tensors %v for this config", extra)}
	}
	return nil
}

// LMConfigOf decodes the nn.LMConfig stored in an lm artifact.
func LMConfigOf(m *artifacts.Model, path string) (nn.LMConfig, error) {
	var cfg nn.LMConfig
	if len(m.Config) == 0 {
		return cfg, &artifacts.Error{Path: path, Field: artifacts.MetaConfig, Err: artifacts.ErrCorrupt, Msg: "missing model config"}
	}
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		return cfg, &artifacts.Error{Path: path, Field: artifacts.MetaConfig, Err: artifacts.ErrCorrupt, Msg: "bad model config: " + err.Error()}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, &artifacts.Error{Path: path, Field: artifacts.MetaConfig, Err: artifacts.ErrCorrupt, Msg: err.Error()}
	}
	if m.Vocab != nil && m.Vocab.Len() != cfg.VocabSize {
		return cfg, &artifacts.Error{Path: path, Field: artifacts.MetaConfig, Err: artifacts.ErrCorrupt,
			Msg: fmt.Sprintf("vocab_size %d but the embedded vocab has %d tokens", cfg.VocabSize, m.Vocab.Len())}
	}
	return cfg, nil
}

// LoadLM reads an lm artifact into a new nn.LM on backend be. It returns the
// artifact too (vocab, tokenizer, direction, training state).
func LoadLM(path string, be nn.Backend) (*nn.LM, *artifacts.Model, error) {
	am, err := artifacts.ReadModel(path, artifacts.KindLM)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := LMConfigOf(am, path)
	if err != nil {
		return nil, nil, err
	}
	lm, err := nn.NewLM(cfg, be)
	if err != nil {
		return nil, nil, &artifacts.Error{Path: path, Field: artifacts.MetaConfig, Err: artifacts.ErrCorrupt, Msg: err.Error()}
	}
	if err := LoadTensors(lm.Params(), am.Tensors, path, false); err != nil {
		return nil, nil, err
	}
	return lm, am, nil
}

// HiddenTensors returns the carried state of the encoder's recurrent layers
// as tensors "hidden.{l}.{name}" (copies; h and c for an LSTM, c and x for
// a QRNN), for checkpoints taken in the middle of an epoch.
func HiddenTensors(enc *nn.Encoder) []artifacts.Tensor {
	var out []artifacts.Tensor
	for l, r := range enc.RNNs {
		for _, st := range r.State() {
			if len(st.Data) == 0 {
				continue
			}
			out = append(out, artifacts.Tensor{Name: fmt.Sprintf("hidden.%d.%s", l, st.Name),
				Shape: []int{len(st.Data) / st.Width, st.Width}, Data: slices.Clone(st.Data)})
		}
	}
	return out
}

// isHiddenTensor reports whether name is that of a tensor HiddenTensors
// writes ("hidden.<...>"): checkpoint state that is the LM trainer's, not
// the optimizer's.
func isHiddenTensor(name string) bool {
	return len(name) > len("hidden.") && name[:len("hidden.")] == "hidden."
}

// RestoreHidden sets the encoder's carried state for batch size b from
// tensors written by HiddenTensors (zeros where absent).
func RestoreHidden(be nn.Backend, enc *nn.Encoder, b int, ts []artifacts.Tensor, path string) error {
	enc.ResetState(be, b)
	byName := map[string]*artifacts.Tensor{}
	for i := range ts {
		byName[ts[i].Name] = &ts[i]
	}
	for l, r := range enc.RNNs {
		for _, st := range r.State() {
			name := fmt.Sprintf("hidden.%d.%s", l, st.Name)
			t, ok := byName[name]
			if !ok {
				continue
			}
			if len(t.Data) != len(st.Data) {
				return &artifacts.Error{Path: path, Field: "opt tensor " + name, Err: artifacts.ErrCorrupt,
					Msg: fmt.Sprintf("%d values, want %d (batch size %d x %d): resume with the same --bs", len(t.Data), len(st.Data), b, st.Width)}
			}
			copy(st.Data, t.Data)
		}
	}
	return nil
}
