package sentencepiece

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// benchText returns the first 4 MB of the Gutenberg validation text (or of the file
// $SPM_BENCH_TEXT), as lines; the benchmark is skipped when the file is missing.
func benchText(b testing.TB) []string {
	path := "../../../shared/data/gutenberg/valid.txt.zst"
	if p := os.Getenv("SPM_BENCH_TEXT"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("%s: %v", path, err)
	}
	var raw []byte
	if strings.HasSuffix(path, ".zst") {
		raw = readZstd(b, path)
	} else {
		var err error
		if raw, err = os.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
	if len(raw) > 4<<20 {
		raw = raw[:4<<20]
		raw = raw[:bytes.LastIndexByte(raw, '\n')+1]
	}
	return lines(raw)
}

// benchProcessor is the model in $SPM_BENCH_MODEL (for instance an 8000-piece model
// spm_train made from the Gutenberg training text), else the mixed_nfkc fixture.
func benchProcessor(b testing.TB) *Processor {
	if path := os.Getenv("SPM_BENCH_MODEL"); path != "" {
		m, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		p, err := NewProcessor(m)
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	return fixtureProcessor(b, "mixed_nfkc")
}

// BenchmarkEncode encodes 4 MB of English prose line by line (MB/s of input text).
func BenchmarkEncode(b *testing.B) {
	text := benchText(b)
	p := benchProcessor(b)
	size := 0
	for _, l := range text {
		size += len(l) + 1
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	var dst []int32
	for i := 0; i < b.N; i++ {
		for _, l := range text {
			dst = p.Encode(dst[:0], l)
		}
	}
}

// BenchmarkEncodeParallel is BenchmarkEncode on GOMAXPROCS goroutines sharing one
// Processor.
func BenchmarkEncodeParallel(b *testing.B) {
	text := benchText(b)
	p := benchProcessor(b)
	size := 0
	for _, l := range text {
		size += len(l) + 1
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var dst []int32
		for pb.Next() {
			for _, l := range text {
				dst = p.Encode(dst[:0], l)
			}
		}
	})
}

// TestTrieMatchesMap checks the double-array trie against a map on the fixture pieces:
// every piece is found with its id, and prefixes that are not pieces are not.
func TestTrieMatchesMap(t *testing.T) {
	for _, name := range fixtureModels(t) {
		p := fixtureProcessor(t, name)
		if p.trie == nil {
			continue
		}
		for id, pc := range p.Model().Pieces {
			n, got := trieLongestPrefix(p.trie, pc.Piece)
			switch pc.Type {
			case Normal:
				if n != len(pc.Piece) || got != int32(id) {
					t.Errorf("%s: piece %q (%d): trie gives %d bytes, id %d", name, pc.Piece, id, n, got)
				}
			case UserDefined:
				if n != len(pc.Piece) || got != int32(id)|userDefinedFlag {
					t.Errorf("%s: user piece %q (%d): trie gives %d bytes, id %d", name, pc.Piece, id, n, got)
				}
			}
		}
		if n, _ := trieLongestPrefix(p.trie, "\x00\x01"); n != 0 {
			t.Errorf("%s: matched a NUL", name)
		}
	}
}

func TestOneCharLen(t *testing.T) {
	for _, s := range []string{"a", "é", "€", "😀"} {
		if got := oneCharLen(s[0]); got != len(s) {
			t.Errorf("oneCharLen(%q) = %d", s, got)
		}
	}
	if oneCharLen(0x80) != 1 || oneCharLen(0xBF) != 1 {
		t.Error("continuation bytes")
	}
}

// TestLargeParity compares Encode with spm_encode on the 4 MB benchmark text, when
// SPM_BENCH_MODEL names a model and spm_encode is on PATH.
func TestLargeParity(t *testing.T) {
	model := os.Getenv("SPM_BENCH_MODEL")
	if model == "" {
		t.Skip("SPM_BENCH_MODEL not set")
	}
	if _, err := exec.LookPath("spm_encode"); err != nil {
		t.Skip("spm_encode not on PATH")
	}
	text := benchText(t)
	p := benchProcessor(t)
	in := filepath.Join(t.TempDir(), "text.txt")
	writeLines(t, in, text)
	want := spmRun(t, "spm_encode", model, in, "--output_format=id")
	if len(want) != len(text) {
		t.Fatalf("spm_encode gave %d lines for %d", len(want), len(text))
	}
	bad := 0
	for i, l := range text {
		if got := joinIDs(p.Encode(nil, l)); got != want[i] {
			if bad == 0 {
				t.Errorf("line %d: %s", i+1, firstDiff(got, want[i]))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d lines differ", bad, len(text))
	}
}
