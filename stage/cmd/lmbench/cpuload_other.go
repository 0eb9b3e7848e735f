//go:build !linux

package main

import "time"

type cpuSnap struct{ wall time.Time }

func readCPU() cpuSnap { return cpuSnap{wall: time.Now()} }

// foreign is unknown off Linux.
func foreign(a, b cpuSnap) float64 { return -1 }

// ownCores is unknown off Linux.
func ownCores(a, b cpuSnap) float64 { return -1 }
