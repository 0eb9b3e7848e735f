package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ulmfit-go/ulmfit/evaluate/predict"
)

// LoadBench is a load benchmark of the server against batch prediction:
// Clients concurrent clients on 127.0.0.1 send Requests requests of
// PerRequest texts (taken in turn from Texts); every answer is compared
// with the batch prediction of the same texts ('evaluate predict': Model
// over all texts at once).
type LoadBench struct {
	Model      *Model
	Config     Config
	Texts      []string
	Clients    int
	Requests   int
	PerRequest int
}

// LoadResult is what LoadBench.Run measured.
type LoadResult struct {
	Clients, Requests, PerRequest int
	Texts                         int // texts sent
	Seconds                       float64
	DocsPerSec                    float64
	P50, P99, Max                 time.Duration // request latency
	Batches                       int
	BatchSizes                    map[int]int // texts per model batch -> count
	MeanBatch                     float64
	Lost, Mismatched              int
	// The batch prediction of the distinct texts ('evaluate predict').
	PredictDocs       int
	PredictSeconds    float64
	PredictDocsPerSec float64
}

// Run runs the benchmark.
func (lb *LoadBench) Run(ctx context.Context) (*LoadResult, error) {
	if lb.Clients < 1 || lb.Requests < 1 || lb.PerRequest < 1 || len(lb.Texts) == 0 {
		return nil, fmt.Errorf("loadbench: want clients, requests, texts per request >= 1 and some texts")
	}
	nc := len(lb.Model.LabelNames())
	t0 := time.Now()
	ref, err := lb.Model.Predict(ctx, lb.Texts)
	if err != nil {
		return nil, err
	}
	res := &LoadResult{Clients: lb.Clients, Requests: lb.Requests, PerRequest: lb.PerRequest, BatchSizes: map[int]int{},
		PredictDocs: len(lb.Texts), PredictSeconds: time.Since(t0).Seconds()}
	res.PredictDocsPerSec = float64(len(lb.Texts)) / res.PredictSeconds
	want := make([][]byte, len(lb.Texts))
	for i, t := range lb.Texts {
		want[i] = predict.AppendJSON(nil, lb.Model.LabelNames(), lb.Model.MultiLabel(), t, ref[i*nc:(i+1)*nc], lb.Config.Threshold, nil)
	}

	srv := New(lb.Model, lb.Config)
	var mu sync.Mutex
	srv.beforeBatch = func(n int) {
		mu.Lock()
		res.BatchSizes[n]++
		mu.Unlock()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	url := "http://" + ln.Addr().String() + "/v1/predict"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: lb.Clients}}

	lat := make([]time.Duration, lb.Requests)
	next := make(chan int)
	var wg sync.WaitGroup
	var lost, bad int
	start := time.Now()
	for c := 0; c < lb.Clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				idx := make([]int, lb.PerRequest)
				texts := make([]string, lb.PerRequest)
				for k := range idx {
					idx[k] = (r*lb.PerRequest + k) % len(lb.Texts)
					texts[k] = lb.Texts[idx[k]]
				}
				body, _ := json.Marshal(Request{Texts: texts})
				t := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				var ans struct {
					Predictions []json.RawMessage `json:"predictions"`
				}
				ok := err == nil
				if ok {
					b, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					ok = rerr == nil && resp.StatusCode == 200 && json.Unmarshal(b, &ans) == nil && len(ans.Predictions) == len(texts)
				}
				lat[r] = time.Since(t)
				mu.Lock()
				if !ok {
					lost++
				} else {
					for k, p := range ans.Predictions {
						if !bytes.Equal(p, want[idx[k]]) {
							bad++
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	for r := 0; r < lb.Requests; r++ {
		next <- r
	}
	close(next)
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	stop()
	if err := <-served; err != nil {
		return nil, err
	}
	res.Lost, res.Mismatched = lost, bad
	res.Texts = lb.Requests * lb.PerRequest
	res.DocsPerSec = float64(res.Texts) / res.Seconds
	sorted := slices.Clone(lat)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	q := func(p float64) time.Duration { return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))] }
	res.P50, res.P99, res.Max = q(0.50), q(0.99), sorted[len(sorted)-1]
	total := 0
	for n, k := range res.BatchSizes {
		res.Batches += k
		total += n * k
	}
	if res.Batches > 0 {
		res.MeanBatch = float64(total) / float64(res.Batches)
	}
	return res, nil
}

// String is the benchmark's report.
func (r *LoadResult) String() string {
	var sizes []int
	for n := range r.BatchSizes {
		sizes = append(sizes, n)
	}
	sort.Ints(sizes)
	var hist bytes.Buffer
	for i, n := range sizes {
		if i > 0 {
			hist.WriteString(" ")
		}
		fmt.Fprintf(&hist, "%dx%d", n, r.BatchSizes[n])
	}
	return fmt.Sprintf("serve: %d clients, %d requests x %d texts: %.0f docs/s, latency p50 %s p99 %s max %s; %d batches, mean %.1f texts (size x count: %s); lost %d, differing from evaluate predict %d\n"+
		"evaluate predict (one batch run, %d texts): %.0f docs/s",
		r.Clients, r.Requests, r.PerRequest, r.DocsPerSec, r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond),
		r.Batches, r.MeanBatch, hist.String(), r.Lost, r.Mismatched, r.PredictDocs, r.PredictDocsPerSec)
}
