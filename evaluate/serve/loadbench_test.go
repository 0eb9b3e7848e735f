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
	if res.Lost != 0 || res.Mismatched != 0 || res.Texts != 80 || total != 80 {
		t.Errorf("%+v", res)
	}
}
