package main

import (
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn"
	"github.com/ulmfit-go/ulmfit/stage/precision"
)

// newBackend returns the fast CPU backend with the given thread count and a
// function that releases its workers; bf16: its products on AVX512_BF16's
// VDPBF16PS (an error where the CPU lacks it, never a silent fp32 run).
func newBackend(threads int, bf16 bool) (nn.Backend, func(), error) {
	p := cli.PrecisionFP32
	if bf16 {
		p = cli.PrecisionBF16
	}
	be, err := precision.Backend(threads, p)
	if err != nil {
		return nil, nil, err
	}
	closer := func() {}
	if c, ok := be.(interface{ Close() }); ok {
		closer = c.Close
	}
	return be, closer, nil
}
