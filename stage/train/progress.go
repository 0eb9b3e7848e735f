// Package train holds the training-loop machinery shared by the stages that
// train models (pretrain, lmtune, clftune): progress reporting, JSONL metrics,
// checkpoint/resume state, deterministic random streams, language-model
// batching, the LR finder and the language-model training loop itself.
package train

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metric is one named value shown on a progress line, such as accuracy.
type Metric struct {
	Name  string
	Value float64
}

// Stat is a snapshot of training progress handed to Progress.Update.
type Stat struct {
	// Done and Total measure the current phase in steps (or any unit); Total
	// <= 0 means unknown (no bar fraction, no ETA).
	Done, Total int64
	// Resumed is the part of Done that an earlier process did (a run resumed
	// in the middle of the phase): the ETA is the time per step of this
	// process's own steps, Done-Resumed, times the steps left.
	Resumed int64
	// Epoch (1-based) and Epochs; Epochs 0 hides the epoch field.
	Epoch, Epochs int
	// Loss is the (smoothed) training loss; NaN hides it.
	Loss float64
	// PPL shows exp(Loss) as perplexity next to the loss.
	PPL bool
	// LR is the learning rate of the last layer group; 0 hides it.
	LR float64
	// Tokens is the number of tokens this process has trained on so far in
	// this phase (not those before a resume); with the elapsed time it gives
	// tokens/s. 0 hides tokens/s.
	Tokens int64
	// Extra metrics such as accuracy, shown after the loss.
	Extra []Metric
}

// ProgressOptions configures a Progress.
type ProgressOptions struct {
	// Quiet disables all output.
	Quiet bool
	// Terminal forces bar mode (true) or line mode (false); nil detects it
	// from the writer (a character device and TERM != "dumb").
	Terminal *bool
	// Interval between plain lines in line mode (default 10s); bars redraw at
	// most every 100ms.
	Interval time.Duration
	// Width of the bar line in columns (default: $COLUMNS, the terminal's
	// width, or 100).
	Width int
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
	// Tag, when set, starts every line with "[Tag] " and selects line mode
	// (unless Terminal says otherwise): runs side by side on one terminal
	// (make -j2) would overwrite each other's bar, and their interleaved lines
	// need telling apart. Default: $ULMFIT_PROGRESS_TAG.
	Tag string
}

// Progress reports training progress on a writer (normally os.Stderr): a
// single redrawn bar line when the writer is a terminal, plain periodic lines
// otherwise (suitable for log files). It is safe for concurrent use.
type Progress struct {
	mu       sync.Mutex
	w        io.Writer
	opt      ProgressOptions
	term     bool
	label    string
	start    time.Time
	last     time.Time
	lastStat Stat
	hasStat  bool
	printed  bool // line mode: lastStat has been printed
	barShown bool
}

// IsTerminal reports whether w is a terminal (a character device) and the
// environment does not ask for a dumb terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// NewProgress returns a reporter writing to w.
func NewProgress(w io.Writer, opt ProgressOptions) *Progress {
	if opt.Interval <= 0 {
		opt.Interval = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	term := IsTerminal(w)
	if opt.Width <= 0 {
		opt.Width = 100
		if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c >= 40 {
			opt.Width = c
		} else if f, ok := w.(*os.File); ok && term {
			if c := termWidth(f); c >= 40 {
				opt.Width = c
			}
		}
	}
	if opt.Tag == "" {
		opt.Tag = os.Getenv("ULMFIT_PROGRESS_TAG")
	}
	if opt.Tag != "" {
		term = false
	}
	if opt.Terminal != nil {
		term = *opt.Terminal
	}
	return &Progress{w: w, opt: opt, term: term}
}

// Start begins a new phase (for example "epoch 1" or "valid") and resets the
// clock used for tokens/s and ETA.
func (p *Progress) Start(label string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishBarLocked()
	p.label = label
	p.start = p.opt.Now()
	p.last = time.Time{}
	p.hasStat = false
}

// Interlude runs a nested phase (a validation pass in the middle of an
// epoch) and returns the function that ends it: the outer phase gets back its
// label and last snapshot, and its clock moves forward by the interlude's
// length, so that its tokens/s and ETA count only its own work.
func (p *Progress) Interlude(label string) (end func()) {
	if p == nil {
		return func() {}
	}
	p.mu.Lock()
	outer := struct {
		label    string
		start    time.Time
		lastStat Stat
		hasStat  bool
	}{p.label, p.start, p.lastStat, p.hasStat}
	began := p.opt.Now()
	p.mu.Unlock()
	p.Start(label)
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.finishBarLocked()
		p.label = outer.label
		p.start = outer.start.Add(p.opt.Now().Sub(began))
		p.lastStat, p.hasStat = outer.lastStat, outer.hasStat
		p.last = time.Time{}
		p.printed = false
	}
}

// Update records a new snapshot and redraws the bar, or prints a line if the
// interval has passed since the last one.
func (p *Progress) Update(s Stat) {
	if p == nil || p.opt.Quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastStat, p.hasStat, p.printed = s, true, false
	now := p.opt.Now()
	if p.term {
		if !p.last.IsZero() && now.Sub(p.last) < 100*time.Millisecond {
			return
		}
		p.last = now
		p.drawBarLocked(now)
		return
	}
	if p.last.IsZero() {
		p.last = now // first line after one interval, not immediately
		return
	}
	if now.Sub(p.last) >= p.opt.Interval {
		p.last = now
		p.printed = true
		fmt.Fprintln(p.w, p.lineLocked(now, false))
	}
}

// Done ends the phase: the bar is drawn a last time and kept, or a final
// plain line is printed.
func (p *Progress) Done() {
	if p == nil || p.opt.Quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.hasStat {
		p.finishBarLocked()
		return
	}
	now := p.opt.Now()
	if p.term {
		p.drawBarLocked(now)
		p.finishBarLocked()
	} else if !p.printed {
		fmt.Fprintln(p.w, p.lineLocked(now, false))
	}
	p.hasStat = false
}

// Printf prints a message on its own line without corrupting the bar. It
// respects Quiet.
func (p *Progress) Printf(format string, a ...any) {
	if p == nil || p.opt.Quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.barShown {
		fmt.Fprint(p.w, "\r\033[K")
	}
	msg := strings.TrimSuffix(fmt.Sprintf(format, a...), "\n")
	if p.opt.Tag != "" {
		msg = p.tagPrefix() + strings.ReplaceAll(msg, "\n", "\n"+p.tagPrefix())
	}
	fmt.Fprintln(p.w, msg)
	if p.barShown && p.hasStat {
		p.drawBarLocked(p.opt.Now())
	}
}

func (p *Progress) finishBarLocked() {
	if p.barShown {
		fmt.Fprintln(p.w)
		p.barShown = false
	}
}

func (p *Progress) drawBarLocked(now time.Time) {
	line := p.lineLocked(now, true)
	if n := len([]rune(line)); n > p.opt.Width-1 {
		line = string([]rune(line)[:p.opt.Width-1])
	}
	fmt.Fprint(p.w, "\r\033[K"+line)
	p.barShown = true
}

// lineLocked formats the current snapshot; with bar it includes a drawn bar.
func (p *Progress) lineLocked(now time.Time, bar bool) string {
	s := p.lastStat
	var b strings.Builder
	if p.opt.Tag != "" {
		b.WriteString(p.tagPrefix())
	}
	if p.label != "" {
		b.WriteString(p.label)
		b.WriteByte(' ')
	}
	if s.Epochs > 0 {
		fmt.Fprintf(&b, "epoch %d/%d ", s.Epoch, s.Epochs)
	}
	if s.Total > 0 {
		frac := float64(s.Done) / float64(s.Total)
		frac = math.Max(0, math.Min(1, frac))
		if bar {
			const n = 20
			fill := int(frac * n)
			b.WriteString("[" + strings.Repeat("=", fill) + strings.Repeat(" ", n-fill) + "] ")
		}
		fmt.Fprintf(&b, "%d/%d (%3.0f%%)", s.Done, s.Total, 100*frac)
	} else {
		fmt.Fprintf(&b, "step %d", s.Done)
	}
	el := now.Sub(p.start).Seconds()
	if own := s.Done - s.Resumed; s.Total > 0 && own > 0 && s.Done < s.Total && el > 0 {
		eta := time.Duration(el * float64(s.Total-s.Done) / float64(own) * float64(time.Second))
		fmt.Fprintf(&b, " eta %s", FormatDuration(eta))
	} else if el > 0 {
		fmt.Fprintf(&b, " %s", FormatDuration(time.Duration(el*float64(time.Second))))
	}
	if !math.IsNaN(s.Loss) {
		fmt.Fprintf(&b, " loss %.4f", s.Loss)
		if s.PPL {
			fmt.Fprintf(&b, " ppl %s", FormatPPL(s.Loss))
		}
	}
	for _, m := range s.Extra {
		fmt.Fprintf(&b, " %s %.4f", m.Name, m.Value)
	}
	if s.LR > 0 {
		fmt.Fprintf(&b, " lr %.3g", s.LR)
	}
	if s.Tokens > 0 && el > 0 {
		fmt.Fprintf(&b, " %.0f tok/s", float64(s.Tokens)/el)
	}
	return b.String()
}

func (p *Progress) tagPrefix() string { return "[" + p.opt.Tag + "] " }

// FormatPPL formats exp(loss) compactly (perplexities span many magnitudes).
func FormatPPL(loss float64) string {
	ppl := math.Exp(loss)
	switch {
	case math.IsInf(ppl, 0) || math.IsNaN(ppl):
		return fmt.Sprint(ppl)
	case ppl >= 1e5:
		return fmt.Sprintf("%.3g", ppl)
	case ppl >= 100:
		return fmt.Sprintf("%.1f", ppl)
	default:
		return fmt.Sprintf("%.2f", ppl)
	}
}

// FormatDuration formats d as e.g. "1h02m", "3m05s" or "12s".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s >= 3600:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	case s >= 60:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%ds", s)
	}
}
