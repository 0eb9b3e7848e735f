package e2e

import (
	"strings"
	"testing"
)

// TestVersion checks every binary's --version: exit 0, "NAME ulmfit-go REV (GO
// OS/ARCH)" first, and for the stages that compute, the GEMM and kernels in use.
func TestVersion(t *testing.T) {
	computes := map[string]bool{"pretrain": true, "lmtune": true, "clftune": true, "evaluate": true}
	for name := range stages {
		t.Run(name, func(t *testing.T) {
			r := run(t, t.TempDir(), name, "--version")
			wantOK(t, r)
			lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
			if !strings.HasPrefix(lines[0], name+" ") || !strings.Contains(lines[0], " ulmfit-go ") || !strings.Contains(lines[0], "(go") {
				t.Errorf("first line %q", lines[0])
			}
			if computes[name] && (len(lines) < 2 || !strings.Contains(lines[1], "gemm: ") || !strings.Contains(lines[1], "kernels: ")) {
				t.Errorf("no backend line: %q", r.stdout)
			}
		})
	}
}

// nativeGEMM reports whether the stages use the backend's own GEMM (its
// AVX-512 build, or its AVX2 build where OpenBLAS is missing), whose results
// do not depend on the thread count.
func nativeGEMM(t *testing.T) bool {
	t.Helper()
	return nativeGEMMWith(t, nil)
}

// nativeGEMMWith is nativeGEMM for stages run with the extra environment env
// (ULMFIT_BLAS=native asks for the native GEMM where OpenBLAS is the default;
// a build without cgo has none).
func nativeGEMMWith(t *testing.T, env []string) bool {
	t.Helper()
	r := runIn(t.Context(), t.TempDir(), env, "pretrain", "--version")
	return r.code == 0 && strings.Contains(r.stdout, "gemm: native")
}
