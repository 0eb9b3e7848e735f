package train

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressLineMode(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	no := false
	p := NewProgress(&buf, ProgressOptions{Terminal: &no, Interval: 10 * time.Second, Now: clk.now})
	p.Start("train")
	for i := 1; i <= 30; i++ {
		clk.t = clk.t.Add(time.Second)
		p.Update(Stat{Done: int64(i), Total: 30, Epoch: 1, Epochs: 2, Loss: math.Log(100), PPL: true, LR: 1e-3, Tokens: int64(i) * 1000})
	}
	p.Done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// One line after the first update sets the clock, then every 10s (at
	// steps 11 and 21), plus the final line from Done.
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), buf.String())
	}
	if strings.Contains(buf.String(), "\r") {
		t.Errorf("line mode wrote a carriage return")
	}
	last := lines[len(lines)-1]
	for _, want := range []string{"train", "epoch 1/2", "30/30", "loss 4.6052", "ppl 100.0", "lr 0.001", "1000 tok/s"} {
		if !strings.Contains(last, want) {
			t.Errorf("final line %q lacks %q", last, want)
		}
	}
	if !strings.Contains(lines[0], "eta") {
		t.Errorf("intermediate line %q lacks eta", lines[0])
	}
}

func TestProgressBarModeAndQuiet(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0)}
	yes := true
	p := NewProgress(&buf, ProgressOptions{Terminal: &yes, Now: clk.now, Width: 200})
	p.Start("valid")
	clk.t = clk.t.Add(time.Second)
	p.Update(Stat{Done: 5, Total: 10, Loss: 1, Extra: []Metric{{"acc", 0.5}}})
	p.Printf("note %d", 7)
	p.Done()
	out := buf.String()
	if !strings.Contains(out, "\r\033[K") || !strings.Contains(out, "[==========          ]") {
		t.Errorf("bar mode output %q lacks a redrawn bar", out)
	}
	if !strings.Contains(out, "note 7\n") || !strings.Contains(out, "acc 0.5000") {
		t.Errorf("bar mode output %q lacks message or extra metric", out)
	}

	buf.Reset()
	q := NewProgress(&buf, ProgressOptions{Quiet: true, Terminal: &yes})
	q.Start("x")
	q.Update(Stat{Done: 1, Total: 2, Loss: 1})
	q.Printf("hello")
	q.Done()
	if buf.Len() != 0 {
		t.Errorf("quiet progress wrote %q", buf.String())
	}
	var nilp *Progress
	nilp.Update(Stat{}) // must not panic
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{12 * time.Second, "12s"}, {185 * time.Second, "3m05s"}, {3720 * time.Second, "1h02m"}, {-time.Second, "0s"}} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestProgressDoneDoesNotRepeat(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0)}
	no := false
	p := NewProgress(&buf, ProgressOptions{Terminal: &no, Interval: time.Second, Now: clk.now})
	p.Start("x")
	p.Update(Stat{Done: 1, Total: 3, Loss: 1})
	clk.t = clk.t.Add(2 * time.Second)
	p.Update(Stat{Done: 2, Total: 3, Loss: 1}) // printed
	p.Done()                                   // nothing new: no second line
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("%d lines, want 1:\n%s", n, buf.String())
	}
}

// A validation pass in the middle of an epoch must not leave its label, its
// tokens/s or a stretched ETA on the training line that follows it.
func TestProgressInterlude(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(0, 0)}
	no := false
	p := NewProgress(&buf, ProgressOptions{Terminal: &no, Interval: time.Second, Now: clk.now})
	p.Start("epoch 1/1")
	p.Update(Stat{Done: 0, Total: 100, Loss: 1})
	for i := 1; i <= 10; i++ { // 10 steps of 1000 tokens, 1s each
		clk.t = clk.t.Add(time.Second)
		p.Update(Stat{Done: int64(i), Total: 100, Loss: 1, Tokens: int64(i) * 1000})
	}
	end := p.Interlude("valid")
	p.Update(Stat{Done: 0, Total: 5, Loss: 2})
	for i := 1; i <= 5; i++ { // a fast pass: 50000 tokens in 50s
		clk.t = clk.t.Add(10 * time.Second)
		p.Update(Stat{Done: int64(i), Total: 5, Loss: 2, Tokens: int64(i) * 10000})
	}
	p.Done()
	end()
	buf.Reset()
	p.Update(Stat{Done: 10, Total: 100, Loss: 1, Tokens: 10000}) // the clock's first line after the interlude
	clk.t = clk.t.Add(time.Second)
	p.Update(Stat{Done: 11, Total: 100, Loss: 1, Tokens: 11000})
	line := strings.TrimSpace(buf.String())
	// 11 steps in 11s of training: 1000 tok/s and 89 steps (1m29s) left.
	for _, want := range []string{"epoch 1/1 ", "11/100", "eta 1m29s", "1000 tok/s"} {
		if !strings.Contains(line, want) {
			t.Errorf("training line after the interlude %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "valid") {
		t.Errorf("training line after the interlude %q keeps the label valid", line)
	}
}

// TestProgressTag: a tag (from the option or $ULMFIT_PROGRESS_TAG) starts every
// line, progress and messages alike, and a terminal gets lines, not a bar.
func TestProgressTag(t *testing.T) {
	for _, tc := range []struct {
		name, opt, env string
	}{
		{"option", "clftune bwd", ""},
		{"environment", "", "clftune bwd"},
		{"option over environment", "clftune bwd", "lmtune fwd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ULMFIT_PROGRESS_TAG", tc.env)
			var buf bytes.Buffer
			clk := &fakeClock{t: time.Unix(1000, 0)}
			p := NewProgress(&buf, ProgressOptions{Interval: 10 * time.Second, Now: clk.now, Tag: tc.opt})
			p.Start("train")
			for i := 1; i <= 12; i++ {
				clk.t = clk.t.Add(time.Second)
				p.Update(Stat{Done: int64(i), Total: 12, Loss: 1})
			}
			p.Printf("epoch 1: done\nsecond line")
			p.Done()
			out := buf.String()
			if strings.Contains(out, "\r") {
				t.Errorf("tagged progress drew a bar: %q", out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 4 {
				t.Fatalf("got %d lines, want 4 (one progress line, two message lines, the final line):\n%s", len(lines), out)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "[clftune bwd] ") {
					t.Errorf("line %q does not start with the tag", l)
				}
			}
		})
	}
	// A character device counts as a terminal (TERM not dumb): bar mode, unless tagged.
	t.Setenv("TERM", "xterm")
	t.Setenv("ULMFIT_PROGRESS_TAG", "")
	dev, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if !NewProgress(dev, ProgressOptions{}).term {
		t.Fatalf("%s is not taken for a terminal; the check below would prove nothing", os.DevNull)
	}
	if NewProgress(dev, ProgressOptions{Tag: "lmtune fwd"}).term {
		t.Errorf("a tagged progress on a terminal draws a bar")
	}
	t.Setenv("ULMFIT_PROGRESS_TAG", "lmtune fwd")
	if NewProgress(dev, ProgressOptions{}).term {
		t.Errorf("a progress tagged by the environment on a terminal draws a bar")
	}
	t.Setenv("ULMFIT_PROGRESS_TAG", "")
	var buf bytes.Buffer
	p := NewProgress(&buf, ProgressOptions{})
	p.Printf("plain")
	if buf.String() != "plain\n" {
		t.Errorf("untagged message %q, want %q", buf.String(), "plain\n")
	}
}
