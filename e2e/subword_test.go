package e2e

import (
	"strings"
	"testing"
)

// TestSubwordPipeline runs the chain on SentencePiece pieces as a user does:
// tokenize --subword unigram (the model trained on the LM text), the test split
// with the same model (brought along by --vocab), pretrain, lmtune, clftune,
// evaluate, and predict on raw text, where the classifier splits new text with
// the model embedded in it; then an spm model given with --model.
func TestSubwordPipeline(t *testing.T) {
	dir := caseDir(t, fTrainCSV, fTestCSV)
	steps := [][]string{
		{"tokenize", "-q", "--subword", "unigram", "--vocab-size", "700", "--model-out", "sw.model", "-o", "sw.train.arrow", fTrainCSV},
		{"tokenize", "-q", "--vocab", "sw.train.arrow", "--labels-from", "sw.train.arrow", "-o", "sw.test.arrow", fTestCSV},
		{"tokenize", "-q", "--model", "sw.model", "-o", "sw.train2.arrow", fTrainCSV},
		{"pretrain", "-q", "--preset", "tiny", "--seed", "1", "--threads", "1", "--epochs", "1", "-o", "swlm.arrow", "sw.train.arrow"},
		{"lmtune", "-q", "--preset", "tiny", "--seed", "1", "--threads", "1", "--epochs", "1", "--from", "swlm.arrow", "-o", "swft.arrow", "sw.train.arrow"},
		{"clftune", "-q", "--seed", "1", "--threads", "1", "--epochs", "2", "--bs", "16", "--from", "swft.arrow", "--data", "sw.train.arrow", "-o", "swclf.arrow"},
		{"evaluate", "-q", "--threads", "1", "--model", "swclf.arrow", "--data", "sw.test.arrow", "-o", "swpreds.arrow"},
	}
	for _, s := range steps {
		wantOK(t, run(t, dir, s[0], s[1:]...))
	}
	// --model with the written model gives the same artifact data as --subword did
	wantOK(t, run(t, dir, "artifacts", "diff", "--data-only", "sw.train.arrow", "sw.train2.arrow"))
	// every artifact carries the same model
	var sha string
	for _, a := range []string{"sw.train.arrow", "sw.test.arrow", "swlm.arrow", "swft.arrow", "swclf.arrow"} {
		r := run(t, dir, "artifacts", "show", "--width", "0", a)
		wantOK(t, r)
		i := strings.Index(r.stdout, `"sp_model_sha256":"`)
		if i < 0 {
			t.Fatalf("%s: no SentencePiece model in the tokenizer settings", a)
		}
		s := r.stdout[i : i+19+64]
		if sha == "" {
			sha = s
		} else if s != sha {
			t.Errorf("%s: model %s, want %s", a, s, sha)
		}
	}
	lines := predictLines(t, dir, "swclf.arrow", []string{"How far is the Moon from the Earth ?", "Who wrote Hamlet ?"})
	for _, l := range lines {
		if !strings.Contains(l, `"label"`) {
			t.Errorf("predict: %s", l)
		}
	}
	// text that is not the LM's pieces: one clear line, exit 2
	wantOK(t, run(t, dir, "tokenize", "-q", "-o", "words.arrow", fTrainCSV))
	wantOK(t, run(t, dir, "tokenize", "-q", "--subword", "unigram", "--vocab-size", "600", "-o", "other.arrow", fTrainCSV))
	for _, data := range []string{"words.arrow", "other.arrow"} {
		wantError(t, run(t, dir, "lmtune", "-q", "--preset", "tiny", "--threads", "1", "--epochs", "1", "--from", "swlm.arrow", "-o", "x.arrow", data), exit2, data, "--tokenizer-from swlm.arrow")
		wantError(t, run(t, dir, "clftune", "-q", "--threads", "1", "--epochs", "1", "--from", "swft.arrow", "--data", data, "-o", "x.arrow"), exit2, data, "--tokenizer-from swft.arrow")
	}
}
