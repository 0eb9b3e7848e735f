package train

import (
	"encoding/json"

	"github.com/ulmfit-go/ulmfit/tokenize"
)

// CheckTokenizer fails when text tokenized as data says is fed to a model whose
// tokenizer settings say otherwise in a way that changes what the ids mean: pieces of one
// SentencePiece model read by a model of another, or pieces read by a word-level model,
// or words by a subword one. (Words of one rule set read by a model of another, such as a
// WikiText LM fine-tuned on raw text, are ULMFiT's normal case and pass.) Settings that
// are absent or do not parse are not judged here.
func CheckTokenizer(dataPath string, data json.RawMessage, modelPath string, model json.RawMessage) error {
	if len(data) == 0 || len(model) == 0 {
		return nil
	}
	d, err1 := tokenize.ParseSettings(data)
	m, err2 := tokenize.ParseSettings(model)
	if err1 != nil || err2 != nil {
		return nil
	}
	dsp, msp := d.Tokenizer == tokenize.TokSentencePiece, m.Tokenizer == tokenize.TokSentencePiece
	if !dsp && !msp || dsp && msp && d.SPModelSHA256 == m.SPModelSHA256 {
		return nil
	}
	return badInput("%s holds %s, but %s was trained on %s: tokenize the text with --tokenizer-from %s",
		dataPath, describeTokenizer(d), modelPath, describeTokenizer(m), modelPath)
}

func describeTokenizer(s tokenize.Settings) string {
	if s.Tokenizer == tokenize.TokSentencePiece {
		return "the pieces of SentencePiece model " + s.SPModelSHA256[:12]
	}
	return "words"
}
