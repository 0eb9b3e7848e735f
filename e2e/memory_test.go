package e2e

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hugeDocCSV writes the training CSV plus one document of n words (drawn from the training
// text with a fixed seed) labelled DESC.
func hugeDocCSV(t *testing.T, path string, n int) {
	t.Helper()
	base := string(fileBytes(t, filepath.Join(fixDir, fTrainCSV)))
	var words []string
	for _, w := range strings.Fields(base) {
		if !strings.ContainsAny(w, ",\"") {
			words = append(words, w)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(base)
	w.WriteString("DESC,DESC:huge,")
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < n; i++ {
		if i > 0 {
			w.WriteByte(' ')
		}
		w.WriteString(words[rng.IntN(len(words))])
	}
	w.WriteByte('\n')
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestHugeDocument: one document of a million tokens. tokenize must keep it whole;
// clftune (BPT3C: the whole document is read chunk by chunk, gradients only into the
// chunks that feed the pooling) and evaluate must run with memory that does not grow
// like the document times the model: the test bounds the growth of peak RSS over the
// same run without the huge document.
func TestHugeDocument(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 1_000_000
	dir := caseDir(t, fixtureSet...)
	hugeDocCSV(t, filepath.Join(dir, "huge.csv"), n)
	r := run(t, dir, "tokenize", "huge.csv", "-o", "huge.arrow", "--vocab", fTrain, "--labels-from", fTrain)
	wantOK(t, r)
	recordRSS("tokenize: 600 questions + one 1M-token document", r.rss)
	_, docs := readTokens(t, filepath.Join(dir, "huge.arrow"))
	longest := 0
	for _, d := range docs {
		longest = max(longest, len(d.Tokens))
	}
	if longest < n {
		t.Fatalf("longest document has %d tokens, want >= %d", longest, n)
	}

	// bs 2 and one epoch of "full": the padded batch is bs x 1M tokens, the rest is BPT3C.
	clf := []string{"--threads", "1", "--seed", "1", "--epochs", "1", "--mode", "full", "--bs", "2", "--valid-frac", "0", "--from", fFT, "-o", "c.arrow"}
	base := run(t, dir, "clftune", append(clf, "--data", fTrain)...)
	wantOK(t, base)
	huge := run(t, dir, "clftune", append(clf, "--data", "huge.arrow")...)
	wantOK(t, huge)
	recordRSS("clftune (tiny, bs 2, 1 epoch): 600 questions", base.rss)
	recordRSS("clftune (tiny, bs 2, 1 epoch): + one 1M-token document", huge.rss)
	if p := peakRSS(huge.stderr); p < 0 {
		t.Errorf("clftune's summary does not report peak RSS: %q", tail(huge.stderr, 300))
	}
	// Keeping activations for every step of the document would take
	// 1M x bs x (emb + layers x 4 x hidden) x 4 bytes ~ GBs; the padded token batch and
	// masks are ~ 1M x bs x 8 bytes = 16 MB.
	if grow := huge.rss - base.rss; grow > 200 {
		t.Errorf("clftune peak RSS grew by %.0f MiB for one 1M-token document (%.0f -> %.0f MiB): BPT3C memory is not bounded", grow, base.rss, huge.rss)
	}
	ev := run(t, dir, "evaluate", "--threads", "1", "--bs", "2", "--model", fCLF, "--data", "huge.arrow", "-o", "p.arrow")
	wantOK(t, ev)
	recordRSS("evaluate (tiny, bs 2): 600 questions + one 1M-token document", ev.rss)
	if ev.rss > base.rss+200 {
		t.Errorf("evaluate peak RSS %.0f MiB for one 1M-token document", ev.rss)
	}
}

// TestTokenizeMemoryPerToken: tokenize holds the tokenized corpus compactly in memory
// (varint ids, see tokenize/corpus.Result) until the vocabulary is known, so peak RSS grows
// with the corpus. The same text 1x and 4x (same vocabulary) gives the growth per token,
// which must stay small: at the bound below WikiText-103 (103M tokens) needs < 6.5 GB.
func TestTokenizeMemoryPerToken(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := caseDir(t, fixtureSet...)
	wiki := filepath.Join(rootDir, "data/wikitext103/train_prefix.tokens.zst")
	one := run(t, dir, "tokenize", wiki, "-o", "one.arrow")
	wantOK(t, one)
	four := run(t, dir, "tokenize", wiki, wiki, wiki, wiki, "-o", "four.arrow")
	wantOK(t, four)
	h1, _ := readTokens(t, filepath.Join(dir, "one.arrow"))
	h4, _ := readTokens(t, filepath.Join(dir, "four.arrow"))
	extra := float64(h4.Stats["tokens"] - h1.Stats["tokens"])
	perTok := (four.rss - one.rss) * (1 << 20) / extra
	recordRSS(fmt.Sprintf("tokenize: WikiText-103 train prefix x1 (%.1fM tokens)", float64(h1.Stats["tokens"])/1e6), one.rss)
	recordRSS(fmt.Sprintf("tokenize: WikiText-103 train prefix x4 (%.1fM tokens)", float64(h4.Stats["tokens"])/1e6), four.rss)
	t.Logf("peak RSS %.0f MiB -> %.0f MiB: %.1f bytes per extra token", one.rss, four.rss, perTok)
	memNotes.note(fmt.Sprintf("tokenize: %.1f bytes of peak RSS per token held (same vocabulary, 1x -> 4x)", perTok))
	if perTok > 64 {
		t.Errorf("tokenize peak RSS grows by %.1f bytes per token (want < 64)", perTok)
	}
}

var memNotes faults

// TestSummaryPeakRSS: every stage's one-line summary reports its peak RSS (issue 8: "report
// peak RSS in each stage's summary line"), and the figure is close to what the kernel saw.
func TestSummaryPeakRSS(t *testing.T) {
	for _, s := range stageWrites {
		t.Run(s.bin, func(t *testing.T) {
			dir := caseDir(t, fixtureSet...)
			var args []string
			for _, a := range withOut(s.args, "o.arrow") {
				if a != "-q" {
					args = append(args, a)
				}
			}
			r := run(t, dir, s.bin, args...)
			wantOK(t, r)
			p := peakRSS(r.stdout + r.stderr)
			if p < 0 {
				knownBug(t, "%s's summary does not report peak RSS", s.bin)
			}
			recordRSS(s.bin+" (tiny fixture run, from its summary)", p)
			// The polled VmHWM is a lower bound of the peak; it is close to it
			// only if it was read often (a loaded machine can starve the
			// poller through a 50 ms run).
			if r.rss > 0 && (p < r.rss/2-16 || r.rssSamples >= 20 && p > 2*r.rss+16) {
				t.Errorf("summary says peak RSS %.0f MiB, the kernel's VmHWM %.0f MiB (read %d times)", p, r.rss, r.rssSamples)
			}
		})
	}
}
