package cli

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestVmHWM(t *testing.T) {
	tests := []struct {
		status string
		want   int64
	}{
		{"Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n", 1234 * 1024},
		{"VmHWM:\t0 kB\n", 0},
		{"Name:\tx\n", 0},
		{"VmHWM:\t12 MB\n", 0},
		{"VmHWM:\tlots kB\n", 0},
	}
	for _, tt := range tests {
		if got := vmHWM(tt.status); got != tt.want {
			t.Errorf("vmHWM(%q) = %d, want %d", tt.status, got, tt.want)
		}
	}
}

// TestPeakRSSExcludesParent starts this test binary as a child from a parent
// that holds 256 MiB: the child's PeakRSS must be its own few MiB, not the
// parent's pages that getrusage's ru_maxrss inherits across a vfork+exec.
func TestPeakRSSExcludesParent(t *testing.T) {
	if os.Getenv("CLI_PEAKRSS_CHILD") == "1" {
		fmt.Printf("peak=%d\n", PeakRSS())
		return
	}
	big := make([]byte, 256<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSSExcludesParent$")
	cmd.Env = append(os.Environ(), "CLI_PEAKRSS_CHILD=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	big[len(big)-1] = 2 // keep big alive until the child has run
	_, after, ok := strings.Cut(string(out), "peak=")
	if !ok {
		t.Fatalf("child printed %q", out)
	}
	peak, err := strconv.ParseInt(strings.Fields(after)[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if peak <= 0 || peak > 128<<20 {
		t.Fatalf("child's PeakRSS = %d MiB with a parent of 256+ MiB, want its own (a few MiB)", peak>>20)
	}
	t.Logf("child's PeakRSS %.1f MiB", float64(peak)/(1<<20))
}
