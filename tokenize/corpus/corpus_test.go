package corpus

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/input"
)

func TestBuildVocab(t *testing.T) {
	toks := []string{"xxunk", "xxpad", "b", "a", "c", "d", "e"}
	counts := []int64{1, 0, 5, 5, 7, 1, 2}
	v, remap := BuildVocab(toks, counts, 2, 0, 2)
	if want := []string{"xxunk", "xxpad", "c", "a", "b", "e"}; !reflect.DeepEqual(v.Tokens, want) {
		t.Errorf("tokens %q, want %q (count desc, ties by string, min count 2)", v.Tokens, want)
	}
	if want := []int64{2, 0, 7, 5, 5, 2}; !reflect.DeepEqual(v.Counts, want) {
		t.Errorf("counts %v, want %v (xxunk absorbs dropped tokens)", v.Counts, want)
	}
	if want := []int32{0, 1, 4, 3, 2, 0, 5}; !reflect.DeepEqual(remap, want) {
		t.Errorf("remap %v, want %v", remap, want)
	}
	v, _ = BuildVocab(toks, counts, 2, 4, 1)
	if want := []string{"xxunk", "xxpad", "c", "a"}; !reflect.DeepEqual(v.Tokens, want) {
		t.Errorf("max 4: %q", v.Tokens)
	}
}

func TestSortLabels(t *testing.T) {
	if got := SortLabels([]string{"10", "2", "1"}); !reflect.DeepEqual(got, []string{"1", "2", "10"}) {
		t.Errorf("numeric: %q", got)
	}
	if got := SortLabels([]string{"pos", "neg", "10"}); !reflect.DeepEqual(got, []string{"10", "neg", "pos"}) {
		t.Errorf("strings: %q", got)
	}
}

// TestBuildParallelMatchesSerial: any number of tokenizer goroutines gives the same
// corpus, on a file big enough for many batches.
func TestBuildParallelMatchesSerial(t *testing.T) {
	var b strings.Builder
	b.WriteString("label,text\n")
	words := []string{"alpha", "Beta", "GAMMA", "delta!", "eps's", "zeta", "eta-theta", "iota", "kappa."}
	for i := range 5000 {
		b.WriteString([]string{"x", "y", "z"}[i%3])
		b.WriteString(",\"")
		for k := range 3 + i%17 {
			b.WriteString(words[(i*7+k*k)%len(words)])
			b.WriteByte(' ')
		}
		b.WriteString("\"\n")
	}
	p := filepath.Join(t.TempDir(), "big.csv")
	os.WriteFile(p, []byte(b.String()), 0o644)
	collect := func(threads int) ([]artifacts.Doc, *Result) {
		res, err := Build(context.Background(), Config{Settings: tokenize.Default(), Inputs: []string{p},
			MaxVocab: 10, MinFreq: 1, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		var docs []artifacts.Doc
		res.Each(func(d artifacts.Doc) error {
			d.Tokens = append([]int32(nil), d.Tokens...)
			docs = append(docs, d)
			return nil
		})
		return docs, res
	}
	d1, r1 := collect(1)
	d3, r3 := collect(3)
	if len(d1) != 5000 || !reflect.DeepEqual(d1, d3) || !reflect.DeepEqual(r1.Vocab.Tokens, r3.Vocab.Tokens) || r1.Stats != r3.Stats {
		t.Errorf("1 and 3 threads differ (docs %d/%d, stats %+v / %+v)", len(d1), len(d3), r1.Stats, r3.Stats)
	}
	if r1.Vocab.Len() != 10 || r1.Stats.Unk == 0 {
		t.Errorf("vocab %d, unk %d", r1.Vocab.Len(), r1.Stats.Unk)
	}
}

func TestBuildCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Build(ctx, Config{Settings: tokenize.Default(), Inputs: []string{"../input/testdata/small.csv"}, MinFreq: 1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

func TestBuildConcatenatesInputs(t *testing.T) {
	res, err := Build(context.Background(), Config{Settings: tokenize.Default(), MinFreq: 1,
		Inputs: []string{"../input/testdata/small.csv", "../input/testdata/lines.txt"}, Input: input.Options{}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	res.Each(func(d artifacts.Doc) error { ids = append(ids, d.ID); return nil })
	// 3 CSV rows, then lines 1 and 3 of lines.txt (line 2 is empty: skipped, id 4 unused)
	if !reflect.DeepEqual(ids, []int64{0, 1, 2, 3, 5}) || res.Stats.SkippedEmpty != 1 {
		t.Errorf("ids %v, stats %+v", ids, res.Stats)
	}
}
