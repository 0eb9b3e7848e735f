package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// TestTokenizeBadCSV feeds malformed and unusual text files to tokenize. Errors must be
// one line naming the file (and the line where there is one), exit 2, and leave no output.
func TestTokenizeBadCSV(t *testing.T) {
	big := strings.Repeat("word ", 2<<20) // a 10 MB field
	cases := []struct {
		name  string
		file  string
		data  string
		args  []string
		codes []int    // nil: must succeed
		subs  []string // what the error line must mention
		bug   string   // known bug: skip when the error line is longer than 600 bytes
	}{
		{"unbalanced quote", "q.csv", "label,text\npos,\"good\nneg,bad\n", nil, exit2, []string{"q.csv", "quote"}, ""},
		{"bare quote", "bq.csv", "label,text\npos,a \"b\" c\n", nil, exit2, []string{"bq.csv:2"}, ""},
		{"ragged row", "r.csv", "label,text\npos,good\nneg,bad,extra\n", nil, exit2, []string{"r.csv:3", "fields"}, ""},
		{"short row", "s.csv", "label,text\npos,good\nneg\n", nil, exit2, []string{"s.csv:3"}, ""},
		{"10 MB unterminated field", "u.csv", "label,text\npos,\"" + big + "\n", nil, exit2, []string{"u.csv"}, ""},
		{"10 MB header field, no text column", "hb.csv", "label,\"" + big + "\"\npos,good\n", nil, exit2, []string{"hb.csv", "text"},
			"tokenize echoes the whole header (10 MB) in the \"no column\" error"},
		{"missing text column", "m.csv", "label,body\npos,good\n", nil, exit2, []string{"m.csv", "text", "body"}, ""},
		{"wrong --text-col", "w.csv", "label,text\npos,good\n", []string{"--text-col", "review"}, exit2, []string{"w.csv", "review"}, ""},
		{"wrong --label-col", "l.csv", "label,text\npos,good\n", []string{"--label-col", "sentiment"}, exit2, []string{"l.csv", "sentiment"}, ""},
		{"--no-header without columns", "n.csv", "pos,good\n", []string{"--no-header"}, exit2, []string{"n.csv", "--text-col"}, ""},
		{"--no-header column out of range", "n2.csv", "pos,good\n", []string{"--no-header", "--text-col", "5"}, exit2, []string{"n2.csv", "5"}, ""},
		{"empty file", "e.csv", "", nil, exit2, []string{"e.csv", "empty"}, ""},
		{"header only", "h.csv", "label,text\n", nil, exit2, []string{"h.csv", "no documents"}, ""},
		{"only empty and blank documents", "b.csv", "label,text\npos,\nneg,   \t \n", nil, exit2, []string{"b.csv", "empty"}, ""},
		{"invalid UTF-8 --strict", "x.csv", "label,text\npos,good\nneg,bad \xff\xfe bytes\n", []string{"--strict"}, exit2, []string{"x.csv:3", "UTF-8"}, ""},
		{"bad JSON line", "j.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \n", nil, exit2, []string{"j.jsonl:2", "JSON"}, ""},
		{"JSON without text field", "k.jsonl", "{\"body\": \"a\"}\n", nil, exit2, []string{"k.jsonl:1", "text"}, ""},
		{"TREC line without a label", "t.label", "DESC:manner How ?\nwhat is this\n", nil, exit2, []string{"t.label:2"}, ""},
		{"unknown extension", "data.xlsx", "label,text\npos,good\n", nil, exit2, []string{"data.xlsx", "--format"}, ""},
		{"corrupt zstd", "c.csv.zst", "\x28\xb5\x2f\xfd garbage garbage", nil, exit2, []string{"c.csv.zst"}, ""},
		{"corrupt gzip", "c.csv.gz", "\x1f\x8b\x08\x00 garbage", nil, exit2, []string{"c.csv.gz"}, ""},
		{"unknown --labels-from label", "z.csv", "label,text\nZZZ,what is this ?\n", []string{"--labels-from", filepath.Join("..", "fix", fTrain)}, exit2, []string{"z.csv:2", "ZZZ"}, ""},
		{"bad flag", "f.csv", "label,text\npos,good\n", []string{"--no-such-flag"}, exit2, []string{"--help"}, ""},
		{"bad --min-freq", "g.csv", "label,text\npos,good\n", []string{"--min-freq", "-3"}, exit2, []string{"min-freq"}, ""},
		{"bad --format", "g2.csv", "label,text\npos,good\n", []string{"--format", "parquet"}, exit2, []string{"parquet"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := caseDir(t)
			writeFile(t, filepath.Join(dir, c.file), []byte(c.data))
			args := append([]string{"-q", c.file, "-o", "out.arrow"}, c.args...)
			for i, a := range args {
				if strings.HasPrefix(a, "..") {
					args[i] = filepath.Join(fixDir, filepath.Base(a))
				}
			}
			before := listDir(t, dir)
			r := runIn(context.Background(), dir, nil, "tokenize", args...)
			if c.bug != "" && len(r.stderr) > 600 {
				knownBug(t, "%s", c.bug)
			}
			t.Logf("%s", r)
			wantError(t, r, c.codes, c.subs...)
			wantNothingNew(t, dir, before)
		})
	}
}

// TestTokenizeOddButValid: inputs that look odd but are valid must be read as the user
// meant: a BOM and CRLF line ends change nothing, invalid UTF-8 is replaced and counted,
// empty documents are skipped and counted, a 10 MB field is one document.
func TestTokenizeOddButValid(t *testing.T) {
	dir := caseDir(t)
	plain := "label,text\npos,Good stuff here .\nneg,\"Bad, \"\"very\"\" bad\"\nneg,Bad again\n"
	writeFile(t, filepath.Join(dir, "plain.csv"), []byte(plain))
	crlf := "\ufeff" + strings.ReplaceAll(plain, "\n", "\r\n")
	writeFile(t, filepath.Join(dir, "crlf.csv"), []byte(crlf))
	wantOK(t, run(t, dir, "tokenize", "-q", "--min-freq", "1", "plain.csv", "-o", "plain.arrow"))
	wantOK(t, run(t, dir, "tokenize", "-q", "--min-freq", "1", "crlf.csv", "-o", "crlf.arrow"))
	hp, dp := readTokens(t, filepath.Join(dir, "plain.arrow"))
	hc, dc := readTokens(t, filepath.Join(dir, "crlf.arrow"))
	if !reflect.DeepEqual(dp, dc) || !reflect.DeepEqual(hp.LabelNames, hc.LabelNames) || hp.Vocab.Hash() != hc.Vocab.Hash() {
		t.Errorf("BOM+CRLF file reads differently from the plain one:\nplain %v %v\ncrlf  %v %v", hp.LabelNames, dp, hc.LabelNames, dc)
	}
	if !reflect.DeepEqual(hc.LabelNames, []string{"neg", "pos"}) && !reflect.DeepEqual(hc.LabelNames, []string{"pos", "neg"}) {
		t.Errorf("BOM file: labels %q (the BOM must not hide the label column)", hc.LabelNames)
	}

	t.Run("invalid UTF-8 replaced and counted", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "inv.csv"), []byte("label,text\npos,good \xff\xfe day\nneg,bad\n"))
		wantOK(t, run(t, dir, "tokenize", "-q", "--min-freq", "1", "inv.csv", "-o", "inv.arrow"))
		h, docs := readTokens(t, filepath.Join(dir, "inv.arrow"))
		if len(docs) != 2 || h.Stats["invalid_utf8"] < 1 {
			t.Errorf("docs %d, stats %v: want 2 docs and invalid_utf8 >= 1", len(docs), h.Stats)
		}
		if _, ok := h.Vocab.ID("\ufffd"); !ok && h.Vocab.Len() > 0 {
			t.Logf("note: U+FFFD not in the vocab (tokens: %d)", h.Vocab.Len())
		}
	})
	t.Run("empty and whitespace-only documents skipped and counted", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "emp.csv"), []byte("label,text\npos,good\nneg,\npos,  \t \nneg,bad\n"))
		wantOK(t, run(t, dir, "tokenize", "-q", "--min-freq", "1", "emp.csv", "-o", "emp.arrow"))
		h, docs := readTokens(t, filepath.Join(dir, "emp.arrow"))
		if len(docs) != 2 || h.Stats["skipped_empty"] != 2 {
			t.Errorf("docs %d, stats %v: want 2 docs and skipped_empty 2", len(docs), h.Stats)
		}
		wantOK(t, run(t, dir, "tokenize", "-q", "--min-freq", "1", "--keep-empty", "emp.csv", "-o", "keep.arrow"))
		if _, docs := readTokens(t, filepath.Join(dir, "keep.arrow")); len(docs) != 4 {
			t.Errorf("--keep-empty: %d docs, want 4", len(docs))
		}
	})
	t.Run("10 MB field is one document", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString("label,text\npos,\"")
		for b.Len() < 10<<20 {
			b.WriteString("lorem ipsum, \"\"dolor\"\" sit amet\n")
		}
		b.WriteString("\"\nneg,short one\n")
		writeFile(t, filepath.Join(dir, "big.csv"), b.Bytes())
		r := run(t, dir, "tokenize", "--min-freq", "1", "big.csv", "-o", "big.arrow")
		wantOK(t, r)
		_, docs := readTokens(t, filepath.Join(dir, "big.arrow"))
		if len(docs) != 2 || len(docs[0].Tokens) < 1_000_000 {
			t.Errorf("%d docs, first has %d tokens: want 2 docs, the first > 1M tokens", len(docs), len(docs[0].Tokens))
		}
		t.Logf("tokenize 10 MB field: peak RSS %.0f MiB (summary says %.0f)", r.rss, peakRSS(r.stdout+r.stderr))
		recordRSS("tokenize, one 10 MB CSV field (2M tokens)", r.rss)
	})
}

func readTokens(t *testing.T, path string) (*artifacts.TokensHeader, []artifacts.Doc) {
	t.Helper()
	h, docs, err := artifacts.ReadTokens(path)
	if err != nil {
		t.Fatalf("ReadTokens(%s): %v", path, err)
	}
	return h, docs
}

// TestStageBadInputs gives every training and evaluation stage the wrong things: missing
// files, raw text where an artifact is expected, artifacts of the wrong kind, mismatched
// vocabularies and labels, a single class, a label only in the test set, bad flags.
func TestStageBadInputs(t *testing.T) {
	all := []string{fTrain, fTest, fOwn, fLM, fFT, fCLF, fPreds, fVocab, fTrainCSV}
	// single-class and unknown-label data, made once for the cases below
	shared := caseDir(t, fTrain, fLM)
	writeFile(t, filepath.Join(shared, "one.csv"), []byte("label,text\nDESC,how are you ?\nDESC,what is it ?\nDESC,why so ?\n"))
	wantOK(t, run(t, shared, "tokenize", "-q", "one.csv", "--vocab", fTrain, "-o", "one.arrow"))
	writeFile(t, filepath.Join(shared, "z.csv"), []byte("label,text\nDESC,how are you ?\nZZZ,what is it ?\n"))
	wantOK(t, run(t, shared, "tokenize", "-q", "z.csv", "--vocab", fTrain, "-o", "z.arrow"))
	copyFile(t, filepath.Join(fixDir, fTestCSV), filepath.Join(shared, fTestCSV))
	wantOK(t, run(t, shared, "tokenize", "-q", fTestCSV, "--no-label", "--vocab", fTrain, "-o", "nolabel.arrow"))
	copyFile(t, filepath.Join(fixDir, fCLF), filepath.Join(shared, fCLF))
	wantOK(t, run(t, shared, "evaluate", "-q", "--model", fCLF, "--data", fTrain, "-o", "ptrain.arrow"))
	extra := map[string]string{}
	for _, n := range []string{"one.arrow", "z.arrow", "nolabel.arrow", "ptrain.arrow"} {
		extra[n] = filepath.Join(shared, n)
	}

	tiny := []string{"-q", "--preset", "tiny", "--threads", "1", "--epochs", "1"}
	clf := []string{"-q", "--threads", "1", "--epochs", "1", "--bs", "16"}
	cases := []struct {
		name  string
		bin   string
		args  []string
		codes []int
		subs  []string
	}{
		// tokenize with artifacts
		{"tokenize --vocab of predictions", "tokenize", []string{"-q", fTestCSV, "--vocab", fPreds, "-o", "o.arrow"}, exit2, []string{fPreds}},
		{"tokenize --labels-from an lm", "tokenize", []string{"-q", fTestCSV, "--labels-from", fLM, "-o", "o.arrow"}, exit2, []string{fLM}},
		{"tokenize --tokenizer-from a CSV", "tokenize", []string{"-q", fTestCSV, "--tokenizer-from", fTrainCSV, "-o", "o.arrow"}, exit2, []string{fTrainCSV}},
		{"tokenize --vocab missing", "tokenize", []string{"-q", fTestCSV, "--vocab", "nope.arrow", "-o", "o.arrow"}, exit2, []string{"nope.arrow"}},
		// pretrain
		{"pretrain missing input", "pretrain", append(tiny, "-o", "o.arrow", "nope.arrow"), exit2, []string{"nope.arrow"}},
		{"pretrain raw CSV as input", "pretrain", append(tiny, "-o", "o.arrow", fTrainCSV), exit2, []string{fTrainCSV}},
		{"pretrain lm as input", "pretrain", append(tiny, "-o", "o.arrow", fLM), exit2, []string{fLM, "lm"}},
		{"pretrain mixed vocabularies", "pretrain", append(tiny, "-o", "o.arrow", fTrain, fOwn), exit2, []string{fOwn, "vocab"}},
		{"pretrain no output", "pretrain", append(tiny, fTrain), exit2, []string{"--out"}},
		{"pretrain bad preset", "pretrain", []string{"-q", "--preset", "huge", "-o", "o.arrow", fTrain}, exit2, []string{"huge"}},
		{"pretrain negative epochs", "pretrain", []string{"-q", "--preset", "tiny", "--epochs", "-1", "-o", "o.arrow", fTrain}, exit2, []string{"epochs"}},
		{"pretrain bad valid", "pretrain", append(tiny, "--valid", fPreds, "-o", "o.arrow", fTrain), exit2, []string{fPreds}},
		{"pretrain resume without checkpoint", "pretrain", append(tiny, "--resume", "-o", "o.arrow", fTrain), exit2, []string{"o.ckpt.arrow"}},
		// lmtune
		{"lmtune tokens as --from", "lmtune", append(tiny, "--from", fTrain, "-o", "o.arrow", fTrain), exit2, []string{fTrain}},
		{"lmtune classifier as --from", "lmtune", append(tiny, "--from", fCLF, "-o", "o.arrow", fTrain), exit2, []string{fCLF}},
		{"lmtune missing --from", "lmtune", append(tiny, "-o", "o.arrow", fTrain), exit2, []string{"--from"}},
		{"lmtune vocab as data", "lmtune", append(tiny, "--from", fLM, "-o", "o.arrow", fVocab), exit2, []string{fVocab}},
		{"lmtune mixed vocabularies", "lmtune", append(tiny, "--from", fLM, "-o", "o.arrow", fTrain, fOwn), exit2, []string{fOwn, "vocab"}},
		// clftune
		{"clftune lm as data", "clftune", append(clf, "--from", fFT, "--data", fLM, "-o", "o.arrow"), exit2, []string{fLM}},
		{"clftune tokens as --from", "clftune", append(clf, "--from", fTrain, "--data", fTrain, "-o", "o.arrow"), exit2, []string{fTrain}},
		{"clftune predictions as --test", "clftune", append(clf, "--from", fFT, "--data", fTrain, "--test", fPreds, "-o", "o.arrow"), exit2, []string{fPreds}},
		{"clftune single class", "clftune", append(clf, "--from", fFT, "--data", "one.arrow", "-o", "o.arrow"), exit2, []string{"one.arrow", "two"}},
		{"clftune label only in test", "clftune", append(clf, "--from", fFT, "--data", fTrain, "--test", "z.arrow", "-o", "o.arrow"), exit2, []string{"z.arrow", "ZZZ"}},
		{"clftune unlabeled data", "clftune", append(clf, "--from", fFT, "--data", "nolabel.arrow", "-o", "o.arrow"), exit2, []string{"nolabel.arrow", "label"}},
		{"evaluate unlabeled data is fine", "evaluate", []string{"-q", "--model", fCLF, "--data", "nolabel.arrow", "-o", "o.arrow"}, nil, nil},
		{"clftune forward LM with --backward", "clftune", append(clf, "--from", fFT, "--backward", "--data", fTrain, "-o", "o.arrow"), exit2, []string{fFT, "backward"}},
		{"clftune neither --from nor --from-scratch", "clftune", append(clf, "--data", fTrain, "-o", "o.arrow"), exit2, []string{"--from"}},
		{"clftune bad mode", "clftune", append(clf, "--from", fFT, "--data", fTrain, "--mode", "magic", "-o", "o.arrow"), exit2, []string{"magic"}},
		{"clftune bad class weights", "clftune", append(clf, "--from", fFT, "--data", fTrain, "--class-weights", "1,2", "-o", "o.arrow"), exit2, []string{"class-weights"}},
		{"clftune bs 0", "clftune", append(clf, "--from", fFT, "--data", fTrain, "--bs", "0", "-o", "o.arrow"), exit2, []string{"bs"}},
		{"clftune resume missing checkpoint", "clftune", append(clf, "--from", fFT, "--data", fTrain, "--resume", "nope.ckpt.arrow", "-o", "o.arrow"), exit2, []string{"nope.ckpt.arrow"}},
		// evaluate
		{"evaluate lm as model", "evaluate", []string{"-q", "--model", fLM, "--data", fTest, "-o", "o.arrow"}, exit2, []string{fLM, "classifier"}},
		{"evaluate predictions as data", "evaluate", []string{"-q", "--model", fCLF, "--data", fPreds, "-o", "o.arrow"}, exit2, []string{fPreds}},
		{"evaluate label unknown to the model", "evaluate", []string{"-q", "--model", fCLF, "--data", "z.arrow", "-o", "o.arrow"}, exit2, []string{"z.arrow", "ZZZ"}},
		{"evaluate missing model", "evaluate", []string{"-q", "--model", "nope.arrow", "--data", fTest, "-o", "o.arrow"}, exit2, []string{"nope.arrow"}},
		{"evaluate report of a tokens artifact", "evaluate", []string{"report", "-q", fTest, "--out-dir", "rep"}, exit2, []string{fTest}},
		{"evaluate predict with an lm", "evaluate", []string{"predict", "--model", fLM, "--text", "hi"}, exit2, []string{fLM, "classifier"}},
		{"evaluate predict missing input", "evaluate", []string{"predict", "--model", fCLF, "--input", "nope.txt"}, exit2, []string{"nope.txt"}},
		// ensemble
		{"ensemble predictions of other documents", "ensemble", []string{"-q", fPreds, "ptrain.arrow", "-o", "o.arrow"}, exit2, []string{"ptrain.arrow"}},
		{"ensemble one input", "ensemble", []string{"-q", fPreds, "-o", "o.arrow"}, exit2, []string{"two"}},
		{"ensemble tokens as input", "ensemble", []string{"-q", fPreds, fTest, "-o", "o.arrow"}, exit2, []string{fTest}},
		{"ensemble bad weights", "ensemble", []string{"-q", fPreds, fPreds, "--weights", "1", "-o", "o.arrow"}, exit2, []string{"weights"}},
		{"ensemble negative weights", "ensemble", []string{"-q", fPreds, fPreds, "--weights", "1,-1", "-o", "o.arrow"}, exit2, []string{"weights"}},
		// artifacts tool
		{"artifacts show raw CSV", "artifacts", []string{"show", fTrainCSV}, exit2, []string{fTrainCSV}},
		{"artifacts verify missing", "artifacts", []string{"verify", "-q", "nope.arrow"}, exit2, []string{"nope.arrow"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := caseDir(t, all...)
			for n, p := range extra {
				copyFile(t, p, filepath.Join(dir, n))
			}
			before := listDir(t, dir)
			r := run(t, dir, c.bin, c.args...)
			if c.codes == nil {
				wantOK(t, r)
				return
			}
			wantError(t, r, c.codes, c.subs...)
			wantNothingNew(t, dir, before)
		})
	}
}

// TestImportBadFiles: `pretrain import` reads torch.save and pickle files from the
// internet; damaged or hostile ones must be one clear line and exit 2.
func TestImportBadFiles(t *testing.T) {
	itos := filepath.Join(rootDir, "pretrain/fastai/testdata/itos_v2.pkl")
	pth := filepath.Join(rootDir, "pretrain/fastai/testdata/clas_v2.pth")
	good := fileBytes(t, pth)
	cases := []struct {
		name    string
		weights []byte
		bug     string
	}{
		{"empty", nil, ""},
		{"text file", []byte("not a checkpoint\n"), ""},
		{"truncated zip", good[:len(good)/2], ""},
		{"10 bytes claiming a 322 GB bytearray", []byte("\x96\x06\x00\x00\x12K\x00\x00\x00\x0f"),
			"pretrain import: a BYTEARRAY8 pickle opcode with a huge length kills the process (fatal error: out of memory)"},
		{"one byte 0xff", []byte{0xff},
			"pretrain import: pickle opcode 0xff panics in gopickle (index out of range [255])"},
		{"BINBYTES claiming 4 GB", []byte("B\xf3\xf3\xf3\xf3\xf3\xf300\v\xc8\xf8g000000000000000000"),
			"pretrain import: a BINBYTES pickle opcode with a 4 GB length kills the process (fatal error: out of memory)"},
		{"classifier, not an LM", good, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := caseDir(t)
			writeFile(t, filepath.Join(dir, "w.pth"), c.weights)
			copyFile(t, itos, filepath.Join(dir, "itos.pkl"))
			before := listDir(t, dir)
			r := run(t, dir, "pretrain", "import", "-q", "w.pth", "itos.pkl", "-o", "o.arrow")
			if c.bug != "" && (strings.Contains(r.stderr, "fatal error") || strings.Contains(r.stderr, "panic:")) {
				knownBug(t, "%s", c.bug)
			}
			wantError(t, r, exit2, "w.pth")
			wantNothingNew(t, dir, before)
		})
	}
}
