package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSnap is a snapshot for contention accounting: machine-wide busy and
// steal jiffies from /proc/stat, this process's CPU time, and the wall clock.
type cpuSnap struct {
	ok          bool
	busy, steal float64 // seconds
	own         float64 // seconds
	wall        time.Time
}

// clkTck is USER_HZ, 100 on every Linux architecture Go supports.
const clkTck = 100.0

func readCPU() cpuSnap {
	s := cpuSnap{wall: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return s
	}
	var v [8]float64
	for i := 0; i < 8 && i+1 < len(f); i++ {
		x, err := strconv.ParseFloat(f[i+1], 64)
		if err != nil {
			return s
		}
		v[i] = x
	}
	total := 0.0
	for _, x := range v {
		total += x
	}
	s.busy = (total - v[3] - v[4]) / clkTck // minus idle and iowait
	s.steal = v[7] / clkTck
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s
	}
	var ch syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ch)
	s.own = tv(ru.Utime) + tv(ru.Stime) + tv(ch.Utime) + tv(ch.Stime)
	s.ok = true
	return s
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// foreign returns the fraction of all CPUs that other processes used between
// two snapshots (busy time minus hypervisor steal minus our own, as the
// PyTorch reference counts it), or -1.
func foreign(a, b cpuSnap) float64 {
	if !a.ok || !b.ok {
		return -1
	}
	wall := b.wall.Sub(a.wall).Seconds()
	if wall <= 0 {
		return -1
	}
	f := ((b.busy - a.busy) - (b.steal - a.steal) - (b.own - a.own)) / (wall * float64(runtime.NumCPU()))
	if f < 0 {
		f = 0
	}
	return f
}

// ownCores returns the CPU time this process (and its children) used
// between two snapshots per wall-clock second, or -1.
func ownCores(a, b cpuSnap) float64 {
	if !a.ok || !b.ok {
		return -1
	}
	wall := b.wall.Sub(a.wall).Seconds()
	if wall <= 0 {
		return -1
	}
	return (b.own - a.own) / wall
}
