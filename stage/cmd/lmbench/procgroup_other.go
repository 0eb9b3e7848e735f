//go:build !unix

package main

import "os/exec"

// inGroup is a no-op where process groups are not available.
func inGroup(cmd *exec.Cmd) {}
