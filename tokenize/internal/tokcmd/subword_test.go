package tokcmd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/sentencepiece"
)

const trecTrain = "../../../data/trec/train.csv.zst"

// TestSubword trains a unigram model on TREC-6 questions, and checks what the artifact
// holds, that the same model given back with --model (and brought along by --vocab)
// tokenizes the same way, and that the run is deterministic.
func TestSubword(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "sw.tokens.arrow")
	model := filepath.Join(dir, "sw.model")
	code, stdout, stderr := tok(t, trecTrain, "-o", out, "--subword", "unigram", "--vocab-size", "600", "--model-out", model, "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "vocab ") {
		t.Errorf("summary %q", stdout)
	}
	h, docs, txt := texts(t, out)
	s, err := tokenize.ParseSettings(h.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	if s.Tokenizer != tokenize.TokSentencePiece {
		t.Fatalf("tokenizer %q", s.Tokenizer)
	}
	mb, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mb, s.SPModel) {
		t.Errorf("--model-out differs from the embedded model")
	}
	m, err := sentencepiece.Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pieces) != 600 {
		t.Errorf("%d pieces, want 600", len(m.Pieces))
	}
	for i, sp := range tokenize.DefaultSpecials() {
		if h.Vocab.Tokens[i] != sp {
			t.Fatalf("vocab[%d] = %q, want %q", i, h.Vocab.Tokens[i], sp)
		}
	}
	if h.Vocab.Tokens[len(tokenize.DefaultSpecials())] != tokenize.NL {
		t.Errorf("vocab[9] = %q, want %s", h.Vocab.Tokens[9], tokenize.NL)
	}
	if len(docs) != 5452 {
		t.Errorf("%d docs", len(docs))
	}
	// The first question, "How did serfdom develop in and then leave Russia ?"
	if !strings.HasPrefix(txt[0], "xxbos xxmaj ▁how ▁did ") {
		t.Errorf("doc 0: %q", txt[0])
	}

	// --model with the written model: the same ids and vocabulary
	out2 := filepath.Join(dir, "m.tokens.arrow")
	if code, _, stderr := tok(t, trecTrain, "-o", out2, "--model", model); code != 0 {
		t.Fatalf("--model: exit %d: %s", code, stderr)
	}
	h2, docs2, _ := texts(t, out2)
	if !reflect.DeepEqual(h2.Vocab.Tokens, h.Vocab.Tokens) || !reflect.DeepEqual(docs2, docs) {
		t.Errorf("--model tokenizes differently from --subword")
	}
	// --vocab of a subword artifact brings its model
	test := write(t, dir, "test.csv", "label,text\nDESC,What is a QRNN ?\nNUM,How many pieces are there in 2026 ?\n")
	out3 := filepath.Join(dir, "test.tokens.arrow")
	if code, _, stderr := tok(t, test, "-o", out3, "--vocab", out); code != 0 {
		t.Fatalf("--vocab: exit %d: %s", code, stderr)
	}
	h3, _, txt3 := texts(t, out3)
	s3, _ := tokenize.ParseSettings(h3.Tokenizer)
	if s3.SPModelSHA256 != s.SPModelSHA256 {
		t.Errorf("--vocab did not bring the model along")
	}
	if !strings.HasPrefix(txt3[0], "xxbos xxmaj ▁what ▁is ▁a xxup ") {
		t.Errorf("test doc 0: %q", txt3[0])
	}

	// deterministic, whatever the thread count
	out4 := filepath.Join(dir, "sw1.tokens.arrow")
	if code, _, stderr := tok(t, trecTrain, "-o", out4, "--subword", "unigram", "--vocab-size", "600", "--threads", "1"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !sameData(t, out, out4) {
		t.Errorf("--threads 1 and 2 give different artifacts")
	}
}

// sameData compares two tokens artifacts' vocabularies, settings and documents.
func sameData(t *testing.T, a, b string) bool {
	t.Helper()
	ha, da, err := artifacts.ReadTokens(a)
	if err != nil {
		t.Fatal(err)
	}
	hb, db, err := artifacts.ReadTokens(b)
	if err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(ha.Vocab.Tokens, hb.Vocab.Tokens) && bytes.Equal(ha.Tokenizer, hb.Tokenizer) && reflect.DeepEqual(da, db)
}

// TestSubwordSPMEncode checks the artifact against Google's spm_encode: the text the
// rules make (the words and special tokens, joined by spaces: what fastai's
// SentencePieceTokenizer hands to SentencePiece), encoded by spm_encode with the model
// written by --model-out, gives the tokens in the artifact.
func TestSubwordSPMEncode(t *testing.T) {
	spm, err := exec.LookPath("spm_encode")
	if err != nil {
		t.Skip("spm_encode not installed (apt-get install sentencepiece)")
	}
	dir := t.TempDir()
	in := write(t, dir, "in.txt", strings.Join([]string{
		"The Quick brown fox jumps over the LAZY dog!!!",
		"Zürich, Köln and Montréal are cities; naïve café-owners say «bonjour».",
		"Москва — столица России. 東京は日本の首都です。",
		"Emoji 🙂 and digits 12345 and e-mail john@example.org, https://example.org/a#b",
	}, "\n")+"\n"+multilingual(t))
	out := filepath.Join(dir, "o.arrow")
	model := filepath.Join(dir, "o.model")
	if code, _, stderr := tok(t, trecTrain, in, "--no-label", "-o", out, "--subword", "unigram", "--vocab-size", "2000", "--model-out", model); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, docs, txt := texts(t, out)
	wt, err := tokenize.NewWords(tokenize.Default())
	if err != nil {
		t.Fatal(err)
	}
	m, err := sentencepiece.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	// in.txt's documents, by record number (TREC's 5,452 questions come first; tokenize
	// skips lines without pieces, such as blank ones and a lone "▁", which spm removes)
	raw := strings.Split(readFile(t, in), "\n")
	var text strings.Builder // the rule-processed lines, as fastai hands them to spm
	var ours []string
	for i, d := range docs {
		if d.ID >= 5452 {
			text.WriteString(strings.Join(wt.Tokenize(raw[d.ID-5452]), " ") + "\n")
			ours = append(ours, txt[i])
		}
	}
	if len(ours) < 500 {
		t.Fatalf("%d documents from in.txt", len(ours))
	}
	txt = ours
	cmd := exec.Command(spm, "--model", model, "--output_format", "id")
	cmd.Stdin = strings.NewReader(text.String())
	o, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, ids := range strings.Split(strings.TrimSpace(string(o)), "\n") {
		if got := spmTokens(t, m, ids); txt[i] != got {
			t.Errorf("line %d:\n ours %q\n spm  %q", i+1, txt[i], got)
		}
	}
}

// multilingual is the sentencepiece package's test text in six languages.
func multilingual(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, l := range []string{"en", "de", "fr", "ru", "ja", "zh", "extra"} {
		b.WriteString(readFile(t, "../../sentencepiece/testdata/text/"+l+".txt"))
	}
	return b.String()
}

// spmTokens turns a line of spm_encode ids into the tokens the artifact holds: the
// unknown piece is xxunk, a user-defined "▁xxbos" is xxbos.
func spmTokens(t *testing.T, m *sentencepiece.Model, ids string) string {
	t.Helper()
	var toks []string
	for _, f := range strings.Fields(ids) {
		id, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		p := m.Pieces[id]
		sp := strings.TrimPrefix(p.Piece, sentencepiece.Space)
		switch {
		case p.Type == sentencepiece.Unknown:
			toks = append(toks, tokenize.UNK)
		case p.Type == sentencepiece.UserDefined && isSpecialTok(sp):
			toks = append(toks, sp)
		default:
			toks = append(toks, p.Piece)
		}
	}
	return strings.Join(toks, " ")
}

func isSpecialTok(w string) bool {
	if w == tokenize.NL {
		return true
	}
	for _, s := range tokenize.DefaultSpecials() {
		if s == w {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSubwordBadUsage: flags that cannot go together, and bad models, exit 2.
func TestSubwordBadUsage(t *testing.T) {
	dir := t.TempDir()
	in := write(t, dir, "in.txt", "some text\nmore text\n")
	notModel := write(t, dir, "x.model", "this is not a protobuf")
	out := filepath.Join(dir, "o.arrow")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--subword", "bpe"}, "--subword \"bpe\""},
		{[]string{"--subword", "unigram", "--max-vocab", "100"}, "--max-vocab does not apply"},
		{[]string{"--vocab-size", "100"}, "--vocab-size needs --subword"},
		{[]string{"--subword", "unigram", "--model", notModel}, "give one of them"},
		{[]string{"--model", notModel}, "x.model"},
		{[]string{"--subword", "unigram", "--vocab-size", "3"}, "--vocab-size 3 is smaller"},
		{[]string{"--subword", "unigram", "--pretokenized", "yes"}, "raw text"},
	} {
		code, _, stderr := tok(t, append([]string{in, "-o", out}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: %s was written", tc.args, out)
		}
	}
}

// TestSubwordFastaiModel: a model trained by spm_train the way fastai's
// SentencePieceTokenizer trains one (the special tokens as user-defined "▁xxbos"
// symbols, <unk> after them, no <s>/</s>/<pad>) works with --model: its "▁xx" pieces
// are the special tokens, and the artifact's pieces are spm_encode's for the
// rule-processed text.
func TestSubwordFastaiModel(t *testing.T) {
	spmTrain, err := exec.LookPath("spm_train")
	if err != nil {
		t.Skip("spm_train not installed (apt-get install sentencepiece)")
	}
	spmEncode, err := exec.LookPath("spm_encode")
	if err != nil {
		t.Skip("spm_encode not installed")
	}
	dir := t.TempDir()
	wt, err := tokenize.NewWords(tokenize.Default())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(multilingual(t)), "\n")
	var text strings.Builder
	for _, l := range lines {
		if ws := wt.Tokenize(l); len(ws) > 1 {
			text.WriteString(strings.Join(ws, " ") + "\n")
		}
	}
	raw := write(t, dir, "texts.out", text.String())
	var user []string
	for _, s := range tokenize.DefaultSpecials() {
		user = append(user, sentencepiece.Space+s)
	}
	prefix := filepath.Join(dir, "spm")
	cmd := exec.Command(spmTrain, "--input="+raw, "--vocab_size=1500", "--model_prefix="+prefix,
		"--character_coverage=0.99999", "--model_type=unigram", "--unk_id="+strconv.Itoa(len(user)),
		"--pad_id=-1", "--bos_id=-1", "--eos_id=-1", "--minloglevel=2",
		"--user_defined_symbols="+strings.Join(user, ","), "--hard_vocab_limit=false")
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("spm_train: %v\n%s", err, o)
	}
	in := write(t, dir, "in.txt", multilingual(t))
	out := filepath.Join(dir, "o.arrow")
	if code, _, stderr := tok(t, in, "-o", out, "--model", prefix+".model"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	h, _, txt := texts(t, out)
	for i, sp := range tokenize.DefaultSpecials() {
		if h.Vocab.Tokens[i] != sp {
			t.Fatalf("vocab[%d] = %q", i, h.Vocab.Tokens[i])
		}
	}
	for _, tok := range h.Vocab.Tokens {
		if strings.HasPrefix(tok, sentencepiece.Space+"xx") && isSpecialTok(strings.TrimPrefix(tok, sentencepiece.Space)) {
			t.Errorf("vocabulary holds %q besides the special token", tok)
		}
	}
	m, err := sentencepiece.Load(prefix + ".model")
	if err != nil {
		t.Fatal(err)
	}
	enc := exec.Command(spmEncode, "--model", prefix+".model", "--output_format", "id")
	enc.Stdin = strings.NewReader(text.String())
	o, err := enc.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(o)), "\n") {
		if w := spmTokens(t, m, line); strings.Contains(w, " ") { // tokenize skips a document of xxbos alone (a line of a lone "▁")
			want = append(want, w)
		}
	}
	if len(want) != len(txt) {
		t.Fatalf("%d documents, spm_encode %d lines", len(txt), len(want))
	}
	unk := 0
	for i := range want {
		if txt[i] != want[i] {
			t.Errorf("line %d:\n ours %q\n spm  %q", i+1, txt[i], want[i])
		}
		unk += strings.Count(want[i], tokenize.UNK)
	}
	if unk == 0 {
		t.Errorf("no unknown pieces: the test does not cover them")
	}
}
