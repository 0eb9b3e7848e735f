package tokcmd

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/tokenize/corpus"
)

// progress shows a bar on a terminal and a line every 10 s otherwise.
type progress struct {
	w      io.Writer
	tty    bool
	quiet  bool
	start  time.Time
	last   time.Time
	shown  bool
	period time.Duration
}

func newProgress(w io.Writer, quiet bool, start time.Time) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = cli.IsTerminal(f)
	}
	p := &progress{w: w, tty: tty, quiet: quiet, start: start, last: start, period: 10 * time.Second}
	if tty {
		p.period = 200 * time.Millisecond
	}
	return p
}

func (p *progress) update(pr corpus.Progress) {
	if p.quiet {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < p.period {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	mbs := float64(pr.TextBytes) / 1e6 / max(el, 1e-9)
	frac := 0.0
	if pr.Total > 0 {
		frac = min(1, float64(pr.Done)/float64(pr.Total))
	}
	eta := ""
	if frac > 0.01 {
		eta = fmt.Sprintf(" ETA %s", time.Duration(el*(1-frac)/frac*float64(time.Second)).Round(time.Second))
	}
	if p.tty {
		const width = 30
		n := int(frac * width)
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = ' '
			if i < n {
				bar[i] = '='
			}
		}
		fmt.Fprintf(p.w, "\rtokenize [%s] %3.0f%% %d docs %.1f MB/s%s   ", bar, 100*frac, pr.Docs, mbs, eta)
		p.shown = true
		return
	}
	fmt.Fprintf(p.w, "tokenize: %.0f%% %d docs %.1f MB text %.1f MB/s%s\n", 100*frac, pr.Docs, float64(pr.TextBytes)/1e6, mbs, eta)
}

func (p *progress) finish() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
