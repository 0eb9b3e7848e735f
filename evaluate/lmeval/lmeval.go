// Package lmeval measures a language model on a tokens artifact: the mean
// cross-entropy per token and the perplexity, computed by the validation
// pass of the LM stages (stage/train.EvaluateLM: eval mode, the documents
// concatenated in file order into one stream cut into bs rows, fixed bptt
// windows, the hidden state carried from window to window, backward models
// reading every document back to front). The data's vocabulary is mapped
// onto the model's by token string; tokens the model does not know become
// xxunk, and are counted.
package lmeval

import (
	"context"
	"fmt"
	"math"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/train"
	"github.com/ulmfit-go/ulmfit/tokenize"
)

// Options of Evaluate.
type Options struct {
	BS   int // rows of the stream (halved while a row would hold < 2 tokens, as in validation)
	BPTT int // window length
	// Progress, if non-nil, shows the pass.
	Progress *train.Progress
}

// Result is what Evaluate measured.
type Result struct {
	Model     string  `json:"model"`
	Data      string  `json:"data"`
	Direction string  `json:"direction"`
	Loss      float64 `json:"loss"` // mean cross-entropy per predicted token (nats)
	PPL       float64 `json:"perplexity"`
	// Tokens is the data's token count (non-empty documents), Docs its
	// document count, Scored the tokens predicted (bs rows of
	// floor(Tokens/bs) tokens, each predicting all but its first).
	Tokens int64 `json:"tokens"`
	Docs   int   `json:"docs"`
	Scored int64 `json:"scored_tokens"`
	BS     int   `json:"bs"` // after halving
	BPTT   int   `json:"bptt"`
	// UnkData counts the tokens that already were xxunk in the data (not in
	// the data's own vocabulary), UnkModel those whose string the model's
	// vocabulary lacks (mapped to xxunk); Unk is their sum, UnkPct its
	// share of Tokens in percent.
	UnkData  int64   `json:"unk_in_data"`
	UnkModel int64   `json:"unk_not_in_model"`
	Unk      int64   `json:"unk"`
	UnkPct   float64 `json:"unk_pct"`
	// SameVocab: the data was tokenized with the model's vocabulary.
	SameVocab bool `json:"same_vocab"`
	// Checkpoint: the model artifact carries a training state (e.g. a
	// pretrain/lmtune checkpoint, OUT.ckpt.arrow, or a finished run's artifact).
	TrainState bool `json:"has_train_state"`
}

// Evaluate loads the lm artifact modelPath on backend be and measures it on
// the tokens artifact dataPath.
func Evaluate(ctx context.Context, modelPath, dataPath string, be nn.Backend, opt Options) (*Result, error) {
	if opt.BS < 1 || opt.BPTT < 1 {
		return nil, fmt.Errorf("lmeval: bs %d, bptt %d: want >= 1", opt.BS, opt.BPTT)
	}
	lm, am, err := train.LoadLM(modelPath, be)
	if err != nil {
		return nil, err
	}
	h, docs, err := artifacts.ReadTokens(dataPath)
	if err != nil {
		return nil, err
	}
	res := &Result{Model: modelPath, Data: dataPath, Direction: am.Direction, BPTT: opt.BPTT,
		SameVocab: h.Vocab.Hash() == am.Vocab.Hash(), TrainState: len(am.TrainState) > 0}
	if res.Direction == "" {
		res.Direction = artifacts.DirForward
	}
	ids, err := remap(h.Vocab, am.Vocab, modelPath, dataPath)
	if err != nil {
		return nil, err
	}
	dataUnk, hasDataUnk := h.Vocab.ID(tokenize.UNK)
	var stream [][]int32
	for _, d := range docs {
		if len(d.Tokens) == 0 {
			continue
		}
		out := make([]int32, len(d.Tokens))
		for i, t := range d.Tokens {
			if t < 0 || int(t) >= len(ids) {
				return nil, &artifacts.Error{Path: dataPath, Field: "tokens", Err: artifacts.ErrCorrupt,
					Msg: fmt.Sprintf("document %d: token id %d outside the vocabulary (%d tokens)", d.ID, t, len(ids))}
			}
			switch {
			case hasDataUnk && t == dataUnk:
				res.UnkData++
			case ids[t].unknown:
				res.UnkModel++
			}
			out[i] = ids[t].id
		}
		stream = append(stream, out)
		res.Tokens += int64(len(out))
	}
	res.Docs = len(stream)
	res.Unk = res.UnkData + res.UnkModel
	if res.Tokens > 0 {
		res.UnkPct = 100 * float64(res.Unk) / float64(res.Tokens)
	}
	if res.Tokens < 2 {
		return nil, &artifacts.Error{Path: dataPath, Err: train.ErrCorpusTooSmall,
			Msg: fmt.Sprintf("%d tokens in non-empty documents: a language model needs at least 2", res.Tokens)}
	}
	// The batch size EvaluateLM ends up with (it halves it for a small
	// corpus), for the scored-token count.
	bs := opt.BS
	for bs > 1 && res.Tokens/int64(bs) < 2 {
		bs /= 2
	}
	res.BS = bs
	res.Scored = int64(bs) * (res.Tokens/int64(bs) - 1)
	loss, err := train.EvaluateLM(ctx, lm, &train.LMData{Docs: stream}, opt.BS, opt.BPTT, artifacts.IsBackward(res.Direction), opt.Progress, "eval")
	if err != nil {
		return nil, err
	}
	res.Loss, res.PPL = loss, math.Exp(loss)
	return res, nil
}

type mapped struct {
	id      int32
	unknown bool // the model's vocabulary lacks the token
}

// remap maps every data id onto the model's vocabulary by token string
// (the identity for the same vocabulary); unknown tokens go to the model's
// xxunk.
func remap(data, model *artifacts.Vocab, modelPath, dataPath string) ([]mapped, error) {
	ids := make([]mapped, data.Len())
	if data.Hash() == model.Hash() {
		for i := range ids {
			ids[i].id = int32(i)
		}
		return ids, nil
	}
	unk, ok := model.ID(tokenize.UNK)
	if !ok {
		return nil, &artifacts.Error{Path: modelPath, Field: artifacts.MetaVocab, Err: artifacts.ErrCorrupt,
			Msg: fmt.Sprintf("the vocabulary has no %s token, so the tokens of %s it lacks have nowhere to go: tokenize the data with the model's vocabulary (tokenize --vocab %s)",
				tokenize.UNK, dataPath, modelPath)}
	}
	for i, tok := range data.Tokens {
		if id, ok := model.ID(tok); ok {
			ids[i].id = id
		} else {
			ids[i] = mapped{id: unk, unknown: true}
		}
	}
	return ids, nil
}
