// Package memcheck fails a training stage early, with a hint, when the
// model, batch size and window it is about to train would not fit in memory.
//
// A stage estimates its needs with nn.EstimateLMMemory or
// nn.EstimateClassifierMemory once the model configuration is known and
// calls Check before allocating the model. The limit is --max-memory
// (a Size flag) or, by default, MemAvailable from /proc/meminfo.
package memcheck

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/nn"
)

// FlagUsage is the help text of the --max-memory flag.
const FlagUsage = "fail early, with a smaller --bs or preset to try, when training would need more than `SIZE` of memory (e.g. 8G, 512MiB; default: MemAvailable from /proc/meminfo; off: no check)"

// Size is a byte count flag value (it implements pflag.Value): 0 means
// "the available memory", a negative value "no check".
type Size int64

// Set parses s with ParseSize.
func (s *Size) Set(v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	*s = Size(n)
	return nil
}

// String formats the size ("" when 0, "off" when negative).
func (s *Size) String() string {
	switch {
	case s == nil || *s == 0:
		return ""
	case *s < 0:
		return "off"
	}
	return strconv.FormatInt(int64(*s), 10)
}

// Type is the value name shown in --help.
func (s *Size) Type() string { return "size" }

var units = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize parses a memory size: a number with an optional unit, K/M/G/T
// and KiB/MiB/GiB/TiB binary (1024-based), KB/MB/GB/TB decimal, B or none
// bytes (case-insensitive; "1.5G" allowed). "off" gives -1 (no check).
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "off" || t == "none" {
		return -1, nil
	}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || strings.ContainsAny(t, "xXpP") {
		return 0, fmt.Errorf("memory size %q: want a number with an optional unit, e.g. 8G, 512MiB, 2GB, or off", s)
	}
	n := v * mult
	if !(n >= 1) || n > math.MaxInt64/2 {
		return 0, fmt.Errorf("memory size %q: must be at least 1 byte and at most 4 EiB", s)
	}
	return int64(n), nil
}

// Available returns MemAvailable of /proc/meminfo in bytes, and false when
// it is unknown (not Linux, old kernel, unreadable).
func Available() (int64, bool) { return availableFrom("/proc/meminfo") }

func availableFrom(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil || kb <= 0 || (len(fs) > 1 && !strings.EqualFold(fs[1], "kB")) {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

// ErrTooBig is matched (errors.Is) by the error Check returns when the
// estimate exceeds the limit.
var ErrTooBig = errors.New("training would not fit in memory")

type tooBigError struct{ msg string }

func (e *tooBigError) Error() string        { return e.msg }
func (e *tooBigError) Is(target error) bool { return target == ErrTooBig }

// Check compares the estimate with maxMemory bytes (0: MemAvailable, no
// check when unknown; negative: no check) and returns nil when it fits.
// Otherwise it returns one line (matching ErrTooBig) saying what was asked,
// what it needs, what is available, and the largest --bs (a multiple of 8
// when >= 8) and the smaller preset that would fit, e.g.
//
//	--preset paper at --bs 64 --bptt 70 needs about 9.1 GiB (params 0.5, Adam 1.0, activations 7.6); only 4.0 GiB available: try --bs 16 or --preset small (or --max-memory to override)
//
// Stages report it as a usage problem (exit 2).
func Check(est nn.MemoryEstimate, maxMemory int64) error {
	limit, what := maxMemory, "allowed by --max-memory"
	switch {
	case maxMemory < 0:
		return nil
	case maxMemory == 0:
		a, ok := Available()
		if !ok {
			return nil
		}
		limit, what = a, "available"
	}
	return check(est, limit, what)
}

func check(est nn.MemoryEstimate, limit int64, what string) error {
	if est.Total() <= limit {
		return nil
	}
	enc := est.Encoder()
	preset := presetOf(enc)
	var b strings.Builder
	if preset != "" {
		fmt.Fprintf(&b, "--preset %s", preset)
	} else {
		fmt.Fprintf(&b, "--emb %d --hidden %d --layers %d", enc.EmbSize, enc.HiddenSize, enc.Layers)
	}
	fmt.Fprintf(&b, " (vocabulary %d) at --bs %d", enc.VocabSize, est.BatchSize)
	if est.Kind == "classifier" {
		fmt.Fprintf(&b, " on documents of up to %d tokens (--max-len %d, --bptt %d)", est.SeqLen, est.Classifier.MaxLen, est.Classifier.BPTT)
	} else {
		fmt.Fprintf(&b, " with windows of up to %d tokens", est.SeqLen)
	}
	fmt.Fprintf(&b, " needs %s; only %s %s", est, nn.FormatBytes(limit), what)
	var tries []string
	if bs := largestBatch(est, limit); bs > 0 {
		tries = append(tries, fmt.Sprintf("--bs %d", bs))
	}
	for _, name := range smallerPresets(enc) {
		c, _ := nn.Preset(name)
		c.VocabSize, c.PadID, c.Arch = enc.VocabSize, enc.PadID, enc.Arch // the same layers, smaller
		e := est.Reestimate(c, est.BatchSize)
		if e.Total() <= limit {
			tries = append(tries, "--preset "+name)
			break
		}
		if bs := largestBatch(e, limit); bs > 0 {
			tries = append(tries, fmt.Sprintf("--preset %s --bs %d", name, bs))
			break
		}
	}
	if len(tries) > 0 {
		fmt.Fprintf(&b, ": try %s", strings.Join(tries, " or "))
	} else {
		b.WriteString(": even --bs 1 would not fit, also with a smaller preset; free memory or use a smaller vocabulary")
	}
	b.WriteString(" (or --max-memory to override)")
	return &tooBigError{b.String()}
}

// largestBatch is the largest batch size below est's that fits in limit,
// rounded down to a multiple of 8 when at least 8; 0 if none fits.
func largestBatch(est nn.MemoryEstimate, limit int64) int {
	enc := est.Encoder()
	lo, hi := 0, est.BatchSize-1 // lo fits (0 trivially), the answer is in [lo, hi]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if est.Reestimate(enc, mid).Total() <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo >= 8 {
		lo -= lo % 8
	}
	return lo
}

// presetOf names the preset whose sizes enc has, or "".
func presetOf(enc nn.LMConfig) string {
	for _, name := range nn.PresetNames() {
		c, err := nn.Preset(name)
		if err == nil && c.EmbSize == enc.EmbSize && c.HiddenSize == enc.HiddenSize && c.Layers == enc.Layers {
			return name
		}
	}
	return ""
}

// smallerPresets lists, largest first, the presets with fewer parameters
// per token than enc (except "tiny", which is for tests).
func smallerPresets(enc nn.LMConfig) []string {
	size := func(c nn.LMConfig) int { return c.EmbSize*c.HiddenSize*c.Layers + c.HiddenSize*c.HiddenSize*c.Layers }
	var out []string
	for _, name := range nn.PresetNames() {
		c, err := nn.Preset(name)
		if err != nil || name == "tiny" {
			continue
		}
		if size(c) < size(enc) {
			out = append(out, name)
		}
	}
	return out
}
