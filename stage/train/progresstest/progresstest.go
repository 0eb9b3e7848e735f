// Package progresstest helps tests check the progress lines that the
// trainers print: a clock that ticks once per reading, and a check of every
// line's ETA against that clock.
package progresstest

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TickClock is a clock for train.ProgressOptions.Now that moves one second
// forward every time it is read. A trainer reads it once per step (Update)
// and once per phase start, so every step takes one second of it.
type TickClock struct{ t time.Time }

// Now returns the current time and moves the clock on by a second.
func (c *TickClock) Now() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

var etaRe = regexp.MustCompile(`^epoch .* (\d+)/(\d+) \(\s*\d+%\) eta (\S+) `)

// CheckETA checks every training line of out ("epoch ... DONE/TOTAL (P%)
// eta D ...") printed with a TickClock: each step took a second, so the ETA
// must be TOTAL-DONE seconds, whatever part of the phase an earlier process
// did. It returns the number of lines checked.
func CheckETA(t *testing.T, out string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(out, "\n") {
		m := etaRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		done, _ := strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		eta, err := time.ParseDuration(m[3])
		if err != nil {
			t.Errorf("line %q: eta %q: %v", line, m[3], err)
			continue
		}
		if want := time.Duration(total-done) * time.Second; eta != want {
			t.Errorf("line %q: eta %s, want %s (one second per step, %d steps left)", line, eta, want, total-done)
		}
		n++
	}
	return n
}
