package train

import (
	"slices"
	"testing"
)

func TestVocabRemap(t *testing.T) {
	old := []string{"xxunk", "xxpad", "the", "cat"}
	emb := []float32{
		1, 2, // xxunk
		0, 0, // xxpad
		3, 4, // the
		4, 6, // cat
	}
	bias := []float32{1, 2, 3, 6}
	r := NewVocabRemap(old, []string{"xxpad", "xxunk", "dog", "cat", "fish"})
	if r.Copied != 3 || r.Added != 2 {
		t.Fatalf("copied %d added %d, want 3 and 2", r.Copied, r.Added)
	}
	got := r.Rows(emb, 2)
	want := []float32{0, 0, 1, 2, 2, 3, 4, 6, 2, 3}
	if !slices.Equal(got, want) {
		t.Errorf("embedding rows %v, want %v", got, want)
	}
	if gb := r.Rows(bias, 1); !slices.Equal(gb, []float32{2, 1, 3, 6, 3}) {
		t.Errorf("bias rows %v", gb)
	}
}
