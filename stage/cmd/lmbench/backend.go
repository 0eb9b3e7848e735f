package main

import (
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
)

// newBackend returns the fast CPU backend with the given thread count and a
// function that releases its workers; bf16: its products on AVX512_BF16's
// VDPBF16PS (an error where the CPU lacks it).
func newBackend(threads int, bf16 bool) (nn.Backend, func(), error) {
	var be nn.Backend = cpu.New(threads)
	if bf16 {
		b, err := cpu.NewWithOptions(cpu.Options{Threads: threads, BF16: true})
		if err != nil {
			return nil, nil, err
		}
		be = b
	}
	closer := func() {}
	if c, ok := be.(interface{ Close() }); ok {
		closer = c.Close
	}
	return be, closer, nil
}
