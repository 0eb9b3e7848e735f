package main

import (
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
)

// newBackend returns the fast CPU backend with the given thread count and a
// function that releases its workers.
func newBackend(threads int) (nn.Backend, func(), error) {
	be := cpu.New(threads)
	closer := func() {}
	if c, ok := be.(interface{ Close() }); ok {
		closer = c.Close
	}
	return be, closer, nil
}
