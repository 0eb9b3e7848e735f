package tokcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/tokenize"
)

// tok runs the command in-process and returns its exit code, stdout and stderr.
func tok(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), "tokenize", args, &errb, func(ctx context.Context, a []string) error {
		return Run(ctx, "", "", a, Options{Stdout: &out, Stderr: &errb})
	})
	return code, out.String(), errb.String()
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func texts(t *testing.T, path string) (*artifacts.TokensHeader, []artifacts.Doc, []string) {
	t.Helper()
	h, docs, err := artifacts.ReadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range docs {
		var ws []string
		for _, id := range d.Tokens {
			ws = append(ws, h.Vocab.Tokens[id])
		}
		out = append(out, strings.Join(ws, " "))
	}
	return h, docs, out
}

// TestRoundTrip tokenizes a CSV into an artifact, reads it back, and checks that the
// stored settings tokenize raw text to the same ids.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := write(t, dir, "train.csv", "label,text\npos,Great movie!!!\nneg,\"Awful, AWFUL film.\"\npos,Great fun\n,unlabelled great\n")
	out := filepath.Join(dir, "train.tokens.arrow")
	code, stdout, stderr := tok(t, in, "--out", out, "--min-freq", "1", "--vocab-out", filepath.Join(dir, "vocab.arrow"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "4 docs") || !strings.Contains(stdout, "2 labels") {
		t.Errorf("summary %q", stdout)
	}
	h, docs, txt := texts(t, out)
	want := []string{
		"xxbos xxmaj great movie xxrep 3 !",
		"xxbos xxmaj awful , xxup awful film .",
		"xxbos xxmaj great fun",
		"xxbos unlabelled great",
	}
	if !reflect.DeepEqual(txt, want) {
		t.Errorf("docs:\n%q\nwant\n%q", txt, want)
	}
	if !reflect.DeepEqual(h.LabelNames, []string{"neg", "pos"}) {
		t.Errorf("labels %q", h.LabelNames)
	}
	labels := []int32{docs[0].Label, docs[1].Label, docs[2].Label, docs[3].Label}
	if !reflect.DeepEqual(labels, []int32{1, 0, 1, -1}) {
		t.Errorf("labels %v", labels)
	}
	if h.Stats["docs"] != 4 || h.Stats["unlabeled"] != 1 || h.Kind != artifacts.KindTokens || h.Producer != Version {
		t.Errorf("header %+v", h)
	}
	for i, sp := range tokenize.DefaultSpecials() {
		if h.Vocab.Tokens[i] != sp {
			t.Errorf("vocab[%d] = %q, want %q", i, h.Vocab.Tokens[i], sp)
		}
	}
	// "great" (3) is the most frequent word after xxbos (4) and xxmaj (3): ties by string
	if got := h.Vocab.Tokens[len(tokenize.DefaultSpecials()):][:1]; got[0] != "great" {
		t.Errorf("first word %q", got)
	}
	if len(h.Inputs) != 1 || h.Inputs[0].SHA256 == "" || h.Params["min-freq"] != "1" {
		t.Errorf("lineage %+v %v", h.Inputs, h.Params)
	}
	// the stored settings reproduce the ids
	s, err := tokenize.ParseSettings(h.Tokenizer)
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := tokenize.New(s)
	ids, unk := tk.Encode(nil, h.Vocab, "Awful, AWFUL film.")
	if !reflect.DeepEqual(ids, docs[1].Tokens) || unk != 0 {
		t.Errorf("Encode = %v (%d unk), artifact has %v", ids, unk, docs[1].Tokens)
	}
	v, _, err := artifacts.ReadVocab(filepath.Join(dir, "vocab.arrow"))
	if err != nil || v.Hash() != h.Vocab.Hash() {
		t.Errorf("vocab artifact: %v", err)
	}
	// deterministic: the same run gives the same bytes, with any thread count
	out2 := filepath.Join(dir, "again.tokens.arrow")
	if code, _, stderr := tok(t, in, "--out", out2, "--min-freq", "1", "--threads", "1", "--vocab-out", filepath.Join(dir, "v2.arrow")); code != 0 {
		t.Fatal(stderr)
	}
	b1, _ := os.ReadFile(out)
	b2, _ := os.ReadFile(out2)
	if !bytes.Equal(b1, b2) {
		t.Error("a second run (other output path, 1 thread) gives other bytes")
	}
}

// TestVocabAndLabelsReuse: a test split takes the train split's vocab and label order.
func TestVocabAndLabelsReuse(t *testing.T) {
	dir := t.TempDir()
	train := write(t, dir, "train.csv", "label,text\nb,known words here\na,known words\n")
	test := write(t, dir, "test.csv", "label,text\nb,known unseen words\n")
	bad := write(t, dir, "bad.csv", "label,text\nb,x\nc,y\n")
	trainOut := filepath.Join(dir, "train.arrow")
	if code, _, stderr := tok(t, train, "-o", trainOut, "--min-freq", "1"); code != 0 {
		t.Fatal(stderr)
	}
	testOut := filepath.Join(dir, "test.arrow")
	code, stdout, stderr := tok(t, test, "-o", testOut, "--vocab", trainOut, "--labels-from", trainOut)
	if code != 0 {
		t.Fatal(stderr)
	}
	h, docs, txt := texts(t, testOut)
	if txt[0] != "xxbos known xxunk words" || docs[0].Label != 1 || !reflect.DeepEqual(h.LabelNames, []string{"a", "b"}) {
		t.Errorf("%q label %d names %q", txt, docs[0].Label, h.LabelNames)
	}
	if !strings.Contains(stdout, "unk 25.00%") {
		t.Errorf("summary %q", stdout)
	}
	htrain, _, _ := texts(t, trainOut)
	if h.Vocab.Hash() != htrain.Vocab.Hash() {
		t.Error("vocab not reused")
	}
	code, _, stderr = tok(t, bad, "-o", filepath.Join(dir, "bad.arrow"), "--labels-from", trainOut)
	if code != 2 || !strings.Contains(stderr, "bad.csv:3") || !strings.Contains(stderr, `"c"`) || !strings.Contains(stderr, "train.arrow") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.arrow")); !os.IsNotExist(err) {
		t.Error("an output was left behind after an error")
	}
}

func TestMultiLabelAndFields(t *testing.T) {
	dir := t.TempDir()
	in := write(t, dir, "reuters.csv", "label,newid,title,text\ngrain;wheat,1,Grain up,Wheat rose\n,2,No topic,x\ncorn,3,Corn,\n")
	out := filepath.Join(dir, "r.arrow")
	if code, _, stderr := tok(t, in, "-o", out, "--text-col", "title,text", "--label-sep", ";", "--min-freq", "1"); code != 0 {
		t.Fatal(stderr)
	}
	h, docs, txt := texts(t, out)
	if !h.MultiLabel || !reflect.DeepEqual(h.LabelNames, []string{"corn", "grain", "wheat"}) {
		t.Fatalf("header %+v", h)
	}
	if !reflect.DeepEqual(docs[0].Labels, []int32{1, 2}) || len(docs[1].Labels) != 0 || docs[0].Label != -1 {
		t.Errorf("labels %v %v", docs[0].Labels, docs[1].Labels)
	}
	if txt[0] != "xxbos xxfld 1 xxmaj grain up xxfld 2 xxmaj wheat rose" {
		t.Errorf("fields %q", txt[0])
	}
}

func TestEmptyAndInvalid(t *testing.T) {
	dir := t.TempDir()
	in := write(t, dir, "e.csv", "label,text\na,ok text\na,\"  \"\nb,bad \xff byte\n")
	out := filepath.Join(dir, "e.arrow")
	code, stdout, stderr := tok(t, in, "-o", out, "--min-freq", "1")
	if code != 0 {
		t.Fatal(stderr)
	}
	if !strings.Contains(stdout, "2 docs") || !strings.Contains(stdout, "skipped 1 empty, 1 invalid UTF-8") {
		t.Errorf("summary %q", stdout)
	}
	_, docs, txt := texts(t, out)
	if txt[1] != "xxbos bad \ufffd byte" || docs[1].ID != 2 {
		t.Errorf("docs %q, id %d (ids count skipped rows)", txt, docs[1].ID)
	}
	if code, stdout, _ := tok(t, in, "-o", out, "--keep-empty", "--min-freq", "1"); code != 0 || !strings.Contains(stdout, "3 docs") {
		t.Errorf("--keep-empty: %q", stdout)
	}
	code, _, stderr = tok(t, in, "-o", filepath.Join(dir, "s.arrow"), "--strict")
	if code != 2 || !strings.Contains(stderr, "e.csv:4") || !strings.Contains(stderr, "UTF-8") {
		t.Errorf("--strict: exit %d %q", code, stderr)
	}
	allEmpty := write(t, dir, "ae.csv", "text\n\"\"\n")
	code, _, stderr = tok(t, allEmpty, "-o", filepath.Join(dir, "ae.arrow"))
	if code != 2 || !strings.Contains(stderr, "empty") {
		t.Errorf("all empty: exit %d %q", code, stderr)
	}
}

func TestBadInputExit2(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		args    []string
		content string
		want    string
	}{
		{"ragged", nil, "label,text\na,b\nc,d,e\n", "in.csv:3"},
		{"quote", nil, "label,text\na,\"b\nc,d\n", "malformed CSV"},
		{"missing column", []string{"--text-col", "body"}, "label,text\na,b\n", `"label", "text"`},
		{"empty file", nil, "", "empty"},
		{"no input", []string{"--format", "csv"}, "-", "no input"},
		{"bad flag", []string{"--max-vocab", "x"}, "label,text\na,b\n", "max-vocab"},
		{"missing file", []string{filepath.Join(dir, "nope.csv")}, "label,text\na,b\n", "nope.csv"},
		{"bad format", []string{"--format", "xml"}, "label,text\na,b\n", "--format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{}, tc.args...)
			if tc.content != "-" {
				args = append(args, write(t, dir, "in.csv", tc.content))
			}
			out := filepath.Join(dir, tc.name+".arrow")
			code, _, stderr := tok(t, append(args, "-o", out)...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (%s)", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("stderr %q: want one line mentioning %q", stderr, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Error("output written despite the error")
			}
		})
	}
}

// TestFormats runs each input format through the command.
func TestFormats(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		docs int
		want string // first document
	}{
		{[]string{"../../input/testdata/aclimdb", "--unsup"}, 4, "xxbos xxmaj awful ."},
		{[]string{"../../input/testdata/agnews.csv", "--no-header", "--label-col", "1", "--text-col", "2,3"}, 2, "xxbos xxfld 1 xxmaj title one xxfld 2 xxmaj desc one"},
		{[]string{"../../input/testdata/small.jsonl"}, 3, "xxbos first doc"},
		{[]string{"../../input/testdata/small.tsv"}, 2, "xxbos good stuff"},
		{[]string{"../../input/testdata/lines.txt"}, 2, "xxbos first line"},
		{[]string{"../../../data/trec/TREC_10.label.zst"}, 500, "xxbos xxmaj how far is it from xxmaj denver to xxmaj aspen ?"},
		{[]string{"../../../data/wikitext103/valid.tokens.zst"}, 60, "xxbos = xxmaj homarus gammarus = xxnl xxmaj homarus gammarus , known as the xxmaj european lobster"},
	}
	for i, tc := range cases {
		out := filepath.Join(dir, "f.arrow")
		code, _, stderr := tok(t, append(tc.args, "-o", out, "--min-freq", "1")...)
		if code != 0 {
			t.Errorf("%v: exit %d %s", tc.args, code, stderr)
			continue
		}
		_, docs, txt := texts(t, out)
		if len(docs) != tc.docs || !strings.HasPrefix(txt[0], tc.want) {
			t.Errorf("case %d %v: %d docs, first %.100q", i, tc.args, len(docs), txt[0])
		}
	}
}

// TestTokenizerFrom: --tokenizer-from reuses the settings stored in an artifact (here
// WikiText's pretokenized settings, applied to a .txt file).
func TestTokenizerFrom(t *testing.T) {
	dir := t.TempDir()
	wiki := write(t, dir, "w.tokens", " = Title = \n The <unk> game 's end \n")
	wikiOut := filepath.Join(dir, "w.arrow")
	if code, _, stderr := tok(t, wiki, "-o", wikiOut, "--min-freq", "1"); code != 0 {
		t.Fatal(stderr)
	}
	txt := write(t, dir, "t.txt", "The <unk> well-known game's end\n")
	out := filepath.Join(dir, "t.arrow")
	if code, _, stderr := tok(t, txt, "-o", out, "--min-freq", "1", "--tokenizer-from", wikiOut); code != 0 {
		t.Fatal(stderr)
	}
	h, _, got := texts(t, out)
	if got[0] != "xxbos xxmaj the xxunk well-known game's end" {
		t.Errorf("got %q", got[0])
	}
	s, _ := tokenize.ParseSettings(h.Tokenizer)
	if s.Tokenizer != "whitespace" {
		t.Errorf("settings not reused: %s", h.Tokenizer)
	}
	js := write(t, dir, "s.json", `{"version":1,"tokenizer":"words","rules":["lowercase"],"specials":["xxunk","xxpad","xxbos","xxeos","xxfld","xxmaj","xxup","xxrep","xxwrep"],"add_bos":false}`)
	if code, _, stderr := tok(t, txt, "-o", out, "--min-freq", "1", "--tokenizer-from", js); code != 0 {
		t.Fatal(stderr)
	}
	if _, _, got := texts(t, out); got[0] != "the < unk > well-known game 's end" {
		t.Errorf("json settings: %q", got[0])
	}
	bad := write(t, dir, "bad.json", `{"version":7}`)
	if code, _, stderr := tok(t, txt, "-o", out, "--tokenizer-from", bad); code != 2 || !strings.Contains(stderr, "bad.json") {
		t.Errorf("bad settings: exit %d %q", code, stderr)
	}
}

func TestLabelNames(t *testing.T) {
	dir := t.TempDir()
	classes := write(t, dir, "classes.txt", "World\nSports\nBusiness\nSci/Tech\n")
	out := filepath.Join(dir, "ag.arrow")
	code, _, stderr := tok(t, "../../input/testdata/agnews.csv", "--no-header", "--label-col", "1", "--text-col", "2,3",
		"--label-names", classes, "-o", out)
	if code != 0 {
		t.Fatal(stderr)
	}
	h, docs, _ := texts(t, out)
	if !reflect.DeepEqual(h.LabelNames, []string{"Sports", "World"}) || docs[0].Label != 1 || docs[1].Label != 0 {
		t.Errorf("labels %q, docs %d %d", h.LabelNames, docs[0].Label, docs[1].Label)
	}
	short := write(t, dir, "one.txt", "World\n")
	code, _, stderr = tok(t, "../../input/testdata/agnews.csv", "--no-header", "--label-col", "1", "--text-col", "2,3",
		"--label-names", short, "-o", out)
	if code != 2 || !strings.Contains(stderr, `label "2"`) || !strings.Contains(stderr, "one.txt") {
		t.Errorf("exit %d %q", code, stderr)
	}
}
