package train

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLRFinderSchedule(t *testing.T) {
	f := NewLRFinder(LRFindConfig{})
	if got := f.LR(0); got != 1e-7 {
		t.Errorf("LR(0) = %g", got)
	}
	if got := f.LR(100); math.Abs(got-10)/10 > 1e-12 {
		t.Errorf("LR(100) = %g, want 10", got)
	}
	if got := f.LR(50); math.Abs(got-1e-7*math.Sqrt(1e8))/got > 1e-12 {
		t.Errorf("LR(50) = %g", got)
	}
}

// A synthetic loss curve: flat, then falling between 1e-4 and 1e-2 (steepest
// near 1e-3), then exploding.
func synthLoss(lr float64) float64 {
	x := math.Log10(lr)
	switch {
	case x < -4:
		return 5
	case x < -2:
		return 5 - 2*(1-math.Cos(math.Pi*(x+4)/2))
	default:
		return math.Pow(10, 2*(x+2))
	}
}

func TestLRFinderSuggestions(t *testing.T) {
	f := NewLRFinder(LRFindConfig{StopDiv: true})
	i := 0
	for ; ; i++ {
		lr := f.LR(i)
		if f.Record(lr, synthLoss(lr)) {
			break
		}
	}
	if i >= 99 {
		t.Errorf("sweep did not stop early on divergence (i=%d)", i)
	}
	v, ok := f.Valley()
	if !ok || v.LR < 1e-4 || v.LR > 1e-1 {
		t.Errorf("valley suggestion %+v, want within the falling part", v)
	}
	s, ok := f.Steep()
	if !ok || s.LR < 1e-4 || s.LR > 1e-2 {
		t.Errorf("steep suggestion %+v, want near 1e-3", s)
	}

	var csv bytes.Buffer
	if err := f.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(csv.String(), "\n"); n != len(f.LRs)+1 {
		t.Errorf("csv has %d lines, want %d", n, len(f.LRs)+1)
	}
	base := filepath.Join(t.TempDir(), "lrfind")
	if err := f.WriteFiles(base, "test", v, s); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(base + ".png")
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("png not written: %v", err)
	}
}

func TestLRFinderStopsOnNaN(t *testing.T) {
	f := NewLRFinder(LRFindConfig{})
	for i, l := range []float64{3, 2.9, 2.7, 2.4, 2.3} {
		f.Record(f.LR(i), l)
	}
	if !f.Record(f.LR(5), math.NaN()) {
		t.Errorf("NaN loss did not stop the sweep")
	}
	if _, ok := f.Valley(); !ok {
		t.Errorf("valley should still use the finite prefix")
	}
}

func TestDecadeTicks(t *testing.T) {
	ts := decadeTicks{}.Ticks(1e-7, 10)
	if len(ts) != 9 || ts[0].Label != "1e-07" || ts[8].Label != "1e+01" {
		t.Errorf("ticks %+v", ts)
	}
}
