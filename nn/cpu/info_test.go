package cpu

import (
	"strings"
	"testing"
)

func TestNameAndInfo(t *testing.T) {
	b := New(2)
	defer b.(*Backend).Close()
	if !strings.HasPrefix(b.Name(), "cpu(") || !strings.Contains(b.Name(), "2 threads") || b.Threads() != 2 {
		t.Errorf("Name %q, Threads %d", b.Name(), b.Threads())
	}
	info := Info()
	if !strings.Contains(info, "gemm: ") || !strings.Contains(info, "openblas: ") || !strings.Contains(info, "kernels: ") {
		t.Errorf("Info %q", info)
	}
	t.Logf("%s\n%s", b.Name(), info)
}

func TestShapeInvariant(t *testing.T) {
	for _, tc := range []struct {
		blas string
		want bool
	}{{"native", true}, {"gonum", true}, {"openblas", false}} {
		b, err := NewWithOptions(Options{Threads: 1, BLAS: tc.blas})
		if err != nil {
			t.Logf("%s unavailable here: %v", tc.blas, err)
			continue
		}
		if got := b.ShapeInvariant(); got != tc.want {
			t.Errorf("%s: ShapeInvariant %v, want %v", tc.blas, got, tc.want)
		}
		b.Close()
	}
}
