package memcheck

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/nn"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"8G", 8 << 30}, {"8g", 8 << 30}, {"8GiB", 8 << 30}, {"512MiB", 512 << 20}, {"512M", 512 << 20},
		{"2GB", 2e9}, {"1.5G", 3 << 29}, {"1000", 1000}, {"64k", 64 << 10}, {"100B", 100}, {" 4 GiB ", 4 << 30},
		{"off", -1}, {"OFF", -1},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "G", "eight", "-1G", "0", "0.5", "1e30G", "NaN", "Inf", "0x10", "8 X"} {
		if n, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, n)
		}
	}
	var s Size
	if err := s.Set("1G"); err != nil || s != 1<<30 || s.String() != "1073741824" || s.Type() != "size" {
		t.Errorf("Size.Set(1G): %v, %d, %q", err, s, s.String())
	}
	if err := s.Set("nope"); err == nil {
		t.Error("Size.Set(nope) = nil")
	}
}

func TestAvailableFrom(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "meminfo")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if n, ok := availableFrom(write("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    4194304 kB\n")); !ok || n != 4<<30 {
		t.Errorf("availableFrom = %d, %v; want 4 GiB", n, ok)
	}
	for _, bad := range []string{"MemTotal: 100 kB\n", "MemAvailable:\n", "MemAvailable: x kB\n", "MemAvailable: 5 MB\n", ""} {
		if n, ok := availableFrom(write(bad)); ok {
			t.Errorf("availableFrom(%q) = %d, true; want unknown", bad, n)
		}
	}
	if _, ok := availableFrom(filepath.Join(dir, "missing")); ok {
		t.Error("missing file: want unknown")
	}
	if n, ok := Available(); ok && n <= 0 {
		t.Errorf("Available() = %d", n)
	}
}

func lmEstimate(preset string, v, bs, bptt int) nn.MemoryEstimate {
	c, _ := nn.Preset(preset)
	c.VocabSize = v
	return nn.EstimateLMMemory(c, bs, bptt)
}

func TestCheck(t *testing.T) {
	est := lmEstimate("paper", 60000, 64, 95) // about 1.7 GiB
	if err := check(est, est.Total(), "available"); err != nil {
		t.Errorf("exactly enough: %v", err)
	}
	if err := Check(est, -1); err != nil {
		t.Errorf("off: %v", err)
	}
	if err := Check(est, 1<<50); err != nil {
		t.Errorf("1 PiB: %v", err)
	}
	err := Check(est, 1<<30)
	if !errors.Is(err, ErrTooBig) {
		t.Fatalf("1 GiB: %v, want ErrTooBig", err)
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{"--preset paper", "--bs 64", "needs about 1.7 GiB (params ", "activations", "only 1.0 GiB allowed by --max-memory", "try --bs ", "--preset small", "(or --max-memory to override)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
	// The suggested batch size really fits, and the next one it could have
	// suggested does not: 8 more from 8 up (multiples of 8), else 1 more.
	m := regexp.MustCompile(`try --bs (\d+)`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("no --bs suggestion: %s", msg)
	}
	bs, _ := strconv.Atoi(m[1])
	step := 1
	if bs >= 8 {
		step = 8
	}
	if bs%step != 0 || est.Reestimate(est.LM, bs).Total() > 1<<30 || est.Reestimate(est.LM, bs+step).Total() <= 1<<30 {
		t.Errorf("suggested --bs %d: needs %d, --bs %d needs %d (limit %d)", bs, est.Reestimate(est.LM, bs).Total(), bs+step, est.Reestimate(est.LM, bs+step).Total(), 1<<30)
	}

	// Nothing fits.
	msg = check(est, 1<<20, "available").Error()
	if !strings.Contains(msg, "even --bs 1 would not fit") || strings.Contains(msg, "try ") {
		t.Errorf("1 MiB: %s", msg)
	}

	// Only a smaller preset at a smaller batch fits.
	small := lmEstimate("small", 60000, 64, 95).Reestimate(lmEstimate("small", 60000, 8, 95).LM, 8)
	msg = check(est, small.Total(), "available").Error()
	if !strings.Contains(msg, "try --preset small --bs 8 ") {
		t.Errorf("limit of small at --bs 8: %s", msg)
	}
	t.Log(msg)

	// Custom sizes and the classifier.
	enc, _ := nn.Preset("paper")
	enc.VocabSize, enc.EmbSize = 30000, 300
	cc := nn.DefaultClassifierConfig(enc, 4)
	ce := nn.EstimateClassifierMemory(cc, 64, 3000)
	msg = check(ce, ce.Total()/3, "available").Error()
	t.Log(msg)
	for _, want := range []string{"--emb 300 --hidden 1150 --layers 3", "documents of up to 3000 tokens", "--max-len 1400", "try --bs", "available"} {
		if !strings.Contains(msg, want) {
			t.Errorf("classifier message lacks %q: %s", want, msg)
		}
	}
}
