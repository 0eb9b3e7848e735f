package serve

import (
	"context"
	"testing"
)

// TestLoadBench: the benchmark loses nothing and its answers equal batch
// prediction (a small run; no timing is checked).
func TestLoadBench(t *testing.T) {
	f := fixtures(t)
	lb := &LoadBench{Model: loadModel(t, 16, f.fwd), Config: Config{MaxBatch: 16}, Texts: f.texts[:50], Clients: 4, Requests: 40, PerRequest: 2}
	res, err := lb.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for n, k := range res.BatchSizes {
		total += n * k
	}
	// With OpenBLAS a served text may differ from the batch prediction in
	// the last bit (cpu.Backend.ShapeInvariant); nothing may be lost there either.
	if res.Lost != 0 || (res.Mismatched != 0 && shapeInvariantGEMM()) || res.Texts != 80 || total != 80 {
		t.Errorf("%+v", res)
	}
}
