package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/evaluate/predict"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/clftest"
	"github.com/ulmfit-go/ulmfit/tokenize/input"
)

type fixture struct {
	fwd, bwd string
	texts    []string // raw TREC-6 test questions
}

var (
	fixOnce sync.Once
	fix     fixture
	fixDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}

// fixtures: tiny forward and backward classifiers trained for one epoch on
// 600 TREC-6 questions, and the first 120 raw test questions.
func fixtures(t *testing.T) fixture {
	t.Helper()
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "serve-test")
		if err != nil {
			t.Fatal(err)
		}
		fixDir = dir
		train, _ := clftest.TREC(t, dir, 600, 10)
		f := fixture{fwd: filepath.Join(dir, "fwd.clf.arrow"), bwd: filepath.Join(dir, "bwd.clf.arrow")}
		clftest.Classifier(t, f.fwd, train, "fwd", 1, 1)
		clftest.Classifier(t, f.bwd, train, "bwd", 1, 2)
		src, err := input.Open(clftest.TRECCSV(t, "test"), input.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for len(f.texts) < 120 {
			r, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			f.texts = append(f.texts, strings.Join(r.Fields, " "))
		}
		fix = f
	})
	if fix.fwd == "" {
		t.Fatal("fixtures failed")
	}
	return fix
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d probabilities, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: probability %d is %v (%08x), want %v (%08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestBatchInvariance: a text's probabilities do not depend on the batch
// it is in (its padding, its neighbours, the batch size), bit for bit, on
// every GEMM and kernel set this machine has, so the server's dynamic
// batches give what 'evaluate predict' gives.
func TestBatchInvariance(t *testing.T) {
	f := fixtures(t)
	ctx := context.Background()
	for _, o := range []cpu.Options{
		{Threads: 2}, {Threads: 1}, {Threads: 2, BLAS: "native", ISA: "avx2"}, {Threads: 2, BLAS: "openblas"},
		{Threads: 2, BLAS: "gonum"}, {Threads: 1, BLAS: "gonum", ISA: "generic"},
	} {
		t.Run(fmt.Sprintf("%s-%s-%d", o.BLAS, o.ISA, o.Threads), func(t *testing.T) {
			be, err := cpu.NewWithOptions(o)
			if err != nil {
				t.Skipf("backend unavailable here: %v", err)
			}
			for _, path := range []string{f.fwd, f.bwd} {
				p, err := predict.Load(path, be)
				if err != nil {
					t.Fatal(err)
				}
				nc := len(p.LabelNames())
				p.BS = 64
				all, err := p.Texts(ctx, f.texts)
				if err != nil {
					t.Fatal(err)
				}
				// Alone, and in odd groups of 7 with other batch sizes.
				check := sameBits
				if !be.ShapeInvariant() {
					// Known: with OpenBLAS's sgemm some sums change in the
					// last bit with the row count (why, inside OpenBLAS, is
					// not investigated), so batching changes the last digit
					// of some probabilities. It is the default GEMM on
					// AVX2-only CPUs only; report, do not fail.
					check = func(t *testing.T, what string, got, want []float32) {
						t.Helper()
						for i := range got {
							if got[i] != want[i] {
								t.Logf("KNOWN (openblas): %s: probability %d is %v, batched %v", what, i, got[i], want[i])
								return
							}
						}
					}
				}
				for i, text := range f.texts[:40] {
					one, err := p.Texts(ctx, []string{text})
					if err != nil {
						t.Fatal(err)
					}
					check(t, fmt.Sprintf("%s text %d alone", filepath.Base(path), i), one, all[i*nc:(i+1)*nc])
				}
				for _, bs := range []int{3, 16} {
					p.BS = bs
					for lo := 0; lo < len(f.texts); lo += 7 {
						hi := min(lo+7, len(f.texts))
						got, err := p.Texts(ctx, f.texts[lo:hi])
						if err != nil {
							t.Fatal(err)
						}
						check(t, fmt.Sprintf("%s texts %d-%d bs %d", filepath.Base(path), lo, hi, bs), got, all[lo*nc:hi*nc])
					}
				}
			}
		})
	}
}

// startServer serves m on 127.0.0.1 (ephemeral port) until the test ends.
func startServer(t *testing.T, srv *Server) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() { cancel(); serr = <-errc })
		return serr
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

func loadModel(t *testing.T, bs int, paths ...string) *Model {
	t.Helper()
	m, err := LoadModel(paths, cpu.New(2), bs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type answer struct {
	Labels      []string `json:"labels"`
	Predictions []struct {
		Text  string             `json:"text"`
		Label string             `json:"label"`
		Probs map[string]float32 `json:"probs"`
	} `json:"predictions"`
}

func post(t *testing.T, url string, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func texts(ts ...string) string {
	b, _ := json.Marshal(Request{Texts: ts})
	return string(b)
}

// TestPredictMatchesBatch: concurrent clients get, in their input order,
// exactly the bytes 'evaluate predict' prints for their texts (the same
// renderer over the probabilities of one batch of all texts), for one
// classifier and for the forward+backward ensemble.
func TestPredictMatchesBatch(t *testing.T) {
	f := fixtures(t)
	exact := shapeInvariantGEMM()
	for _, tc := range []struct {
		name  string
		paths []string
	}{{"fwd", []string{f.fwd}}, {"ensemble", []string{f.fwd, f.bwd}}} {
		t.Run(tc.name, func(t *testing.T) {
			ref := loadModel(t, 64, tc.paths...)
			want, err := ref.Predict(context.Background(), f.texts)
			if err != nil {
				t.Fatal(err)
			}
			names := ref.LabelNames()
			nc := len(names)
			srv := New(loadModel(t, 16, tc.paths...), Config{MaxBatch: 16, MaxWait: 2 * time.Millisecond})
			base, stop := startServer(t, srv)
			const clients, per = 8, 3
			var wg sync.WaitGroup
			errs := make(chan error, clients*10)
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					for lo := c * per; lo < len(f.texts); lo += clients * per {
						hi := min(lo+per, len(f.texts))
						resp, err := http.Post(base+"/v1/predict", "application/json", strings.NewReader(texts(f.texts[lo:hi]...)))
						if err != nil {
							errs <- err
							return
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							errs <- fmt.Errorf("texts %d-%d: status %d: %s", lo, hi, resp.StatusCode, b)
							return
						}
						var exp bytes.Buffer
						exp.WriteString(`{"labels":`)
						lj, _ := json.Marshal(names)
						exp.Write(lj)
						exp.WriteString(`,"predictions":[`)
						for i := lo; i < hi; i++ {
							if i > lo {
								exp.WriteByte(',')
							}
							exp.Write(predict.AppendJSON(nil, names, ref.MultiLabel(), f.texts[i], want[i*nc:(i+1)*nc], 0.5, nil))
						}
						exp.WriteString("]}\n")
						if !sameAnswer(b, exp.Bytes(), exact) {
							errs <- fmt.Errorf("texts %d-%d:\n got %s\nwant %s", lo, hi, b, exp.Bytes())
							return
						}
					}
				}(c)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBatching: requests that wait together go through the model as one
// batch (deterministic: they are queued before the batcher starts).
func TestBatching(t *testing.T) {
	f := fixtures(t)
	m := loadModel(t, 64, f.fwd)
	srv := New(m, Config{MaxBatch: 64, MaxWait: time.Millisecond})
	var sizes []int
	srv.beforeBatch = func(n int) { sizes = append(sizes, n) }
	var jobs []*job
	for i := 0; i < 10; i++ {
		j := &job{ctx: context.Background(), texts: f.texts[i*3 : i*3+3], done: make(chan jobResult, 1)}
		srv.queue <- j
		jobs = append(jobs, j)
	}
	// The reference first: the model is not safe for concurrent use.
	want, err := m.Predict(context.Background(), f.texts[:30])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.batchLoop(ctx); close(done) }()
	nc := len(m.LabelNames())
	for i, j := range jobs {
		r := <-j.done
		if r.err != nil {
			t.Fatal(r.err)
		}
		sameBits(t, fmt.Sprintf("job %d", i), r.probs, want[i*3*nc:(i+1)*3*nc])
	}
	cancel()
	<-done
	if len(sizes) != 1 || sizes[0] != 30 {
		t.Errorf("batch sizes %v, want one batch of 30", sizes)
	}
}

// TestErrors: every limit answers its status with a JSON error.
func TestErrors(t *testing.T) {
	f := fixtures(t)
	srv := New(loadModel(t, 16, f.fwd), Config{MaxBodyBytes: 4096, MaxTexts: 4, MaxTextBytes: 100})
	base, _ := startServer(t, srv)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"body too large", "POST", "/v1/predict", texts(strings.Repeat("a ", 3000)), 413, "over 4096 bytes"},
		{"too many texts", "POST", "/v1/predict", texts("a", "b", "c", "d", "e"), 400, "at most 4 per request"},
		{"text too long", "POST", "/v1/predict", texts("ok", strings.Repeat("x", 101)), 400, "texts[1]: 101 bytes"},
		{"malformed", "POST", "/v1/predict", `{"texts": ["a"`, 400, "malformed JSON"},
		{"not an object", "POST", "/v1/predict", `["a"]`, 400, "malformed JSON"},
		{"trailing data", "POST", "/v1/predict", `{"texts": ["a"]} {}`, 400, "data after"},
		{"unknown field", "POST", "/v1/predict", `{"text": "a"}`, 400, "unknown field"},
		{"missing texts", "POST", "/v1/predict", `{}`, 400, `missing "texts"`},
		{"empty texts", "POST", "/v1/predict", `{"texts": []}`, 400, "is empty"},
		{"get predict", "GET", "/v1/predict", "", 405, "use POST"},
		{"post healthz", "POST", "/healthz", "", 405, "use GET"},
		{"delete index", "DELETE", "/", "", 405, "use GET"},
		{"unknown path", "GET", "/v2/nothing", "", 404, "no such endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("status %d, body not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tc.status || e.Status != tc.status || !strings.Contains(e.Error, tc.msg) {
				t.Errorf("status %d, %+v; want %d with %q", resp.StatusCode, e, tc.status, tc.msg)
			}
			if tc.status == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}
}

// TestHealthMetricsIndex: /healthz, /metrics (Prometheus text format with
// the request, latency and batch-size series) and the page.
func TestHealthMetricsIndex(t *testing.T) {
	f := fixtures(t)
	srv := New(loadModel(t, 16, f.fwd), Config{})
	base, _ := startServer(t, srv)
	if code, b := post(t, base+"/v1/predict", texts("Who wrote Hamlet ?", "How far is the moon ?")); code != 200 {
		t.Fatalf("predict: %d %s", code, b)
	}
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/healthz")
	var h Health
	if err := json.Unmarshal([]byte(body), &h); err != nil || resp.StatusCode != 200 || h.Status != "ok" || len(h.Labels) != 6 || h.Models[0] != f.fwd {
		t.Errorf("healthz: %d %s (%v)", resp.StatusCode, body, err)
	}
	resp, body = get("/metrics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`ulmfit_serve_requests_total{code="200",path="/v1/predict"} 1`,
		`ulmfit_serve_texts_total 2`,
		`ulmfit_serve_batch_size_count 1`,
		`ulmfit_serve_batch_size_sum 2`,
		`ulmfit_serve_request_duration_seconds_count{path="/v1/predict"} 1`,
		`# TYPE ulmfit_serve_batch_duration_seconds histogram`,
		`ulmfit_serve_queue_requests`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	resp, body = get("/")
	if resp.StatusCode != 200 || !strings.Contains(body, `fetch("/v1/predict"`) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("index: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestShutdownDrains: a request in flight when shutdown begins is answered,
// then Serve returns nil and the port is closed.
func TestShutdownDrains(t *testing.T) {
	f := fixtures(t)
	srv := New(loadModel(t, 16, f.fwd), Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	srv.beforeBatch = func(int) {
		close(entered)
		<-release
	}
	base, stop := startServer(t, srv)
	type res struct {
		code int
		body []byte
	}
	got := make(chan res, 1)
	go func() {
		code, b := post(t, base+"/v1/predict", texts("Who wrote Hamlet ?"))
		got <- res{code, b}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Shutdown has begun once the listener refuses connections.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			break
		}
		c.Close()
		if i == 1000 {
			t.Fatal("the listener is still open")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	r := <-got
	if r.code != 200 || !bytes.Contains(r.body, []byte(`"predictions":[{"text":"Who wrote Hamlet ?"`)) {
		t.Errorf("in-flight request: %d %s", r.code, r.body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestSlowClient: a client that stops sending its body is cut off by the
// read timeout and does not hold the server.
func TestSlowClient(t *testing.T) {
	f := fixtures(t)
	srv := New(loadModel(t, 16, f.fwd), Config{ReadTimeout: 200 * time.Millisecond})
	base, _ := startServer(t, srv)
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"texts\": [")
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept the stalled connection open")
	}
	if len(b) > 0 && !bytes.Contains(b, []byte("400")) {
		t.Errorf("stalled request answered %q", b)
	}
	// Meanwhile and after, others are served.
	if code, b := post(t, base+"/v1/predict", texts("Who wrote Hamlet ?")); code != 200 {
		t.Errorf("after a slow client: %d %s", code, b)
	}
}

// TestLoadModelMismatch: classifiers of different label sets are not
// served together.
func TestLoadModelMismatch(t *testing.T) {
	f := fixtures(t)
	dir := t.TempDir()
	other := filepath.Join(dir, "other.arrow")
	m, err := artifacts.ReadModel(f.fwd, artifacts.KindClassifier)
	if err != nil {
		t.Fatal(err)
	}
	m.LabelNames = append([]string(nil), m.LabelNames...)
	m.LabelNames[0] = "SOMETHING"
	if err := artifacts.WriteModel(other, m); err != nil {
		t.Fatal(err)
	}
	_, err = LoadModel([]string{f.fwd, other}, cpu.New(1), 8)
	var ae *artifacts.Error
	if err == nil || !strings.Contains(err.Error(), "differ") || !errorsAs(err, &ae) {
		t.Errorf("got %v, want a labels mismatch *artifacts.Error", err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// shapeInvariantGEMM reports whether the GEMM in use gives a text the same
// bits alone and in any batch (not OpenBLAS: see cpu.Backend.ShapeInvariant).
func shapeInvariantGEMM() bool {
	be := cpu.New(1).(*cpu.Backend)
	defer be.Close()
	return be.ShapeInvariant()
}

// sameAnswer compares two /v1/predict answers: byte for byte when exact,
// else the same labels and texts and probabilities within 1e-6.
func sameAnswer(got, want []byte, exact bool) bool {
	if exact {
		return bytes.Equal(got, want)
	}
	var a, b answer // single-label answers: the fixtures' models
	if json.Unmarshal(got, &a) != nil || json.Unmarshal(want, &b) != nil ||
		fmt.Sprint(a.Labels) != fmt.Sprint(b.Labels) || len(a.Predictions) != len(b.Predictions) {
		return false
	}
	for i, p := range a.Predictions {
		q := b.Predictions[i]
		if p.Text != q.Text || p.Label != q.Label || len(p.Probs) != len(q.Probs) {
			return false
		}
		for k, v := range p.Probs {
			if w, ok := q.Probs[k]; !ok || math.Abs(float64(v-w)) > 1e-6 {
				return false
			}
		}
	}
	return true
}
