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
