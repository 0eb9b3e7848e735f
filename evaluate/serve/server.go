package serve

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ulmfit-go/ulmfit/evaluate/predict"
)

// Config are the server's limits and batching settings. Zero fields take
// the defaults of DefaultConfig.
type Config struct {
	// MaxBatch is the most texts the model is given at once (and its
	// batch size); MaxWait is how long the first request of a batch waits
	// for others to join it.
	MaxBatch int
	MaxWait  time.Duration
	// QueueSize is how many requests may wait for the model; beyond it the
	// server answers 503.
	QueueSize int
	// MaxBodyBytes (413 beyond), MaxTexts per request and MaxTextBytes per
	// text (400 beyond).
	MaxBodyBytes int64
	MaxTexts     int
	MaxTextBytes int
	// ReadTimeout, WriteTimeout and IdleTimeout of the connections (a slow
	// client cannot hold a connection longer); ReadHeaderTimeout is
	// ReadTimeout when zero.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds the drain of in-flight requests on shutdown.
	ShutdownTimeout time.Duration
	// Threshold is the multi-label decision threshold.
	Threshold float64
}

// DefaultConfig returns the defaults of 'evaluate serve'.
func DefaultConfig() Config {
	return Config{MaxBatch: 64, MaxWait: 5 * time.Millisecond, QueueSize: 1024,
		MaxBodyBytes: 1 << 20, MaxTexts: 256, MaxTextBytes: 20000,
		ReadTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 60 * time.Second,
		ShutdownTimeout: 30 * time.Second, Threshold: 0.5}
}

func (c *Config) fill() {
	d := DefaultConfig()
	orDefault(&c.MaxBatch, d.MaxBatch)
	c.MaxWait = max(c.MaxWait, 0)
	orDefault(&c.QueueSize, d.QueueSize)
	orDefault(&c.MaxBodyBytes, d.MaxBodyBytes)
	orDefault(&c.MaxTexts, d.MaxTexts)
	orDefault(&c.MaxTextBytes, d.MaxTextBytes)
	orDefault(&c.ReadTimeout, d.ReadTimeout)
	orDefault(&c.WriteTimeout, d.WriteTimeout)
	orDefault(&c.IdleTimeout, d.IdleTimeout)
	orDefault(&c.ShutdownTimeout, d.ShutdownTimeout)
	if !(c.Threshold > 0 && c.Threshold < 1) {
		c.Threshold = d.Threshold
	}
}

// orDefault sets *v to d when *v is not positive.
func orDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Server answers predictions over HTTP. Create it with New, then call
// Serve.
type Server struct {
	cfg     Config
	model   *Model
	queue   chan *job
	mux     *http.ServeMux
	reg     *prometheus.Registry
	m       serverMetrics
	started time.Time
	// draining is closed when shutdown begins: a batch still collecting
	// requests runs at once instead of waiting out MaxWait.
	draining chan struct{}
	// beforeBatch, if set, is called with each batch's text count before
	// the model runs (tests hold the batcher with it).
	beforeBatch func(n int)
}

type serverMetrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	texts     prometheus.Counter
	batches   prometheus.Histogram
	batchTime prometheus.Histogram
	queued    prometheus.Gauge
	waiting   prometheus.Gauge
}

// job is one request's texts waiting for the model.
type job struct {
	ctx   context.Context
	texts []string
	done  chan jobResult // buffered: the batcher never blocks on it
}

type jobResult struct {
	probs []float32
	err   error
}

//go:embed index.html
var indexHTML []byte

// New returns a server for model with cfg (zero fields: defaults).
func New(model *Model, cfg Config) *Server {
	cfg.fill()
	s := &Server{cfg: cfg, model: model, queue: make(chan *job, cfg.QueueSize), reg: prometheus.NewRegistry(), started: time.Now(),
		draining: make(chan struct{})}
	sizeBuckets := []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}
	s.m = serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ulmfit_serve_requests_total",
			Help: "HTTP requests by path and status code."}, []string{"path", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ulmfit_serve_request_duration_seconds",
			Help: "Time from request start to response, by path.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"path"}),
		texts: prometheus.NewCounter(prometheus.CounterOpts{Name: "ulmfit_serve_texts_total",
			Help: "Texts classified."}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ulmfit_serve_batch_size",
			Help: "Texts per model batch (requests that arrived together are batched).", Buckets: sizeBuckets}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ulmfit_serve_batch_duration_seconds",
			Help: "Model time per batch (tokenization and inference).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ulmfit_serve_queue_requests",
			Help: "Requests waiting for the model."}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ulmfit_serve_inflight_requests",
			Help: "Prediction requests accepted and not yet answered."}),
	}
	s.reg.MustRegister(s.m.requests, s.m.latency, s.m.texts, s.m.batches, s.m.batchTime, s.m.queued, s.m.waiting,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/v1/predict", s.instrument("/v1/predict", s.handlePredict))
	s.mux.HandleFunc("/healthz", s.instrument("/healthz", s.handleHealth))
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	s.mux.HandleFunc("/metrics", s.instrument("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if !allow(w, r, http.MethodGet) {
			return
		}
		metrics.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("/", s.instrument("/", s.handleIndex))
	return s
}

// Handler is the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.mux }

// Serve answers on ln until ctx is done, then stops accepting connections,
// lets the in-flight requests finish (at most ShutdownTimeout) and returns
// nil. The model runs on one goroutine, in batches.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.mux, ReadTimeout: s.cfg.ReadTimeout, ReadHeaderTimeout: s.cfg.ReadTimeout,
		WriteTimeout: s.cfg.WriteTimeout, IdleTimeout: s.cfg.IdleTimeout, MaxHeaderBytes: 64 << 10}
	batchCtx, stopBatcher := context.WithCancel(context.Background())
	batcherDone := make(chan struct{})
	go func() {
		defer close(batcherDone)
		s.batchLoop(batchCtx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		close(s.draining)
		// Shutdown waits for the handlers, which wait for the batcher: it
		// is stopped only after them.
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		err = hs.Shutdown(sctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("serve: draining requests: %w", err)
		}
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
	}
	stopBatcher()
	<-batcherDone
	return err
}

// batchLoop takes requests from the queue and runs them through the model:
// the first request opens a batch, which closes after MaxWait or when it
// holds MaxBatch texts; a request is never split, so one batch may exceed
// MaxBatch (the model then cuts it into batches of MaxBatch, sorted by
// length, as 'evaluate predict' does).
func (s *Server) batchLoop(ctx context.Context) {
	var batch []*job
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case j := <-s.queue:
			batch = append(batch, j)
		}
		n := len(batch[0].texts)
		if n < s.cfg.MaxBatch && s.cfg.MaxWait > 0 {
			timer := time.NewTimer(s.cfg.MaxWait)
		collect:
			for n < s.cfg.MaxBatch {
				select {
				case j := <-s.queue:
					batch = append(batch, j)
					n += len(j.texts)
				case <-timer.C:
					break collect
				case <-s.draining:
					break collect
				}
			}
			timer.Stop()
		}
		// Take what is already waiting too, up to MaxBatch: no reason to
		// leave it for the next round.
	drain:
		for n < s.cfg.MaxBatch {
			select {
			case j := <-s.queue:
				batch = append(batch, j)
				n += len(j.texts)
			default:
				break drain
			}
		}
		s.m.queued.Set(float64(len(s.queue)))
		s.runBatch(batch)
	}
}

// runBatch predicts the texts of the jobs still waiting (a client that
// went away is skipped) and hands each job its rows.
func (s *Server) runBatch(batch []*job) {
	var texts []string
	live := batch[:0:0]
	for _, j := range batch {
		if j.ctx.Err() != nil {
			j.done <- jobResult{err: j.ctx.Err()}
			continue
		}
		live = append(live, j)
		texts = append(texts, j.texts...)
	}
	if len(texts) == 0 {
		return
	}
	if s.beforeBatch != nil {
		s.beforeBatch(len(texts))
	}
	t0 := time.Now()
	probs, err := s.model.Predict(context.Background(), texts)
	s.m.batchTime.Observe(time.Since(t0).Seconds())
	s.m.batches.Observe(float64(len(texts)))
	s.m.texts.Add(float64(len(texts)))
	nc := len(s.model.LabelNames())
	off := 0
	for _, j := range live {
		if err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		j.done <- jobResult{probs: probs[off*nc : (off+len(j.texts))*nc]}
		off += len(j.texts)
	}
}

// Request is the body of POST /v1/predict.
type Request struct {
	Texts []string `json:"texts"`
}

func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	var req Request
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes (--max-body): send fewer or shorter texts per request", mbe.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error()+`; want {"texts": ["...", ...]}`)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes (--max-body): send fewer or shorter texts per request", mbe.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, `malformed JSON: data after the request object; want one {"texts": ["...", ...]}`)
		return
	}
	switch {
	case req.Texts == nil:
		writeError(w, http.StatusBadRequest, `missing "texts": want {"texts": ["...", ...]}`)
		return
	case len(req.Texts) == 0:
		writeError(w, http.StatusBadRequest, `"texts" is empty: give at least one text`)
		return
	case len(req.Texts) > s.cfg.MaxTexts:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`%d texts: at most %d per request (--max-texts)`, len(req.Texts), s.cfg.MaxTexts))
		return
	}
	for i, t := range req.Texts {
		if len(t) > s.cfg.MaxTextBytes {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`texts[%d]: %d bytes, at most %d per text (--max-text-bytes)`, i, len(t), s.cfg.MaxTextBytes))
			return
		}
		if !utf8.ValidString(t) {
			// The model would replace the bad bytes by U+FFFD; JSON strings
			// decoded by encoding/json are already valid, so this cannot
			// happen, but say so plainly if it ever does.
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`texts[%d]: not valid UTF-8`, i))
			return
		}
	}
	s.m.waiting.Inc()
	defer s.m.waiting.Dec()
	j := &job{ctx: r.Context(), texts: req.Texts, done: make(chan jobResult, 1)}
	select {
	case s.queue <- j:
	default:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%d requests already wait for the model: retry later", s.cfg.QueueSize))
		return
	}
	var res jobResult
	select {
	case res = <-j.done:
	case <-r.Context().Done():
		// The client went away; the batcher skips or finishes the job and
		// its result goes into the buffered channel.
		return
	}
	if res.err != nil {
		writeError(w, http.StatusInternalServerError, "prediction failed: "+res.err.Error())
		return
	}
	names := s.model.LabelNames()
	nc := len(names)
	b := make([]byte, 0, 64+len(req.Texts)*(48+nc*24))
	b = append(b, `{"labels":`...)
	b = appendJSON(b, names)
	b = append(b, `,"predictions":[`...)
	for i, t := range req.Texts {
		if i > 0 {
			b = append(b, ',')
		}
		b = predict.AppendJSON(b, names, s.model.MultiLabel(), t, res.probs[i*nc:(i+1)*nc], s.cfg.Threshold, nil)
	}
	b = append(b, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// Health is the body of GET /healthz.
type Health struct {
	Status     string   `json:"status"`
	Models     []string `json:"models"`
	Labels     []string `json:"labels"`
	MultiLabel bool     `json:"multi_label"`
	MaxBatch   int      `json:"max_batch"`
	Uptime     float64  `json:"uptime_seconds"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	writeJSON(w, http.StatusOK, Health{Status: "ok", Models: s.model.Paths(), Labels: s.model.LabelNames(),
		MultiLabel: s.model.MultiLabel(), MaxBatch: s.cfg.MaxBatch, Uptime: time.Since(s.started).Seconds()})
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint %s: try POST /v1/predict, GET /healthz, GET /metrics or GET /", r.URL.Path))
		return
	}
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(indexHTML)))
	w.Write(indexHTML)
}

// instrument counts a handler's requests by status and times them.
func (s *Server) instrument(path string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h(sw, r)
		s.m.requests.WithLabelValues(path, strconv.Itoa(sw.code)).Inc()
		s.m.latency.WithLabelValues(path).Observe(time.Since(t0).Seconds())
	}
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// allow answers 405 with an Allow header unless r uses one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	list := ""
	for i, m := range methods {
		if i > 0 {
			list += ", "
		}
		list += m
	}
	w.Header().Set("Allow", list)
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s: use %s", r.Method, r.URL.Path, list))
	return false
}

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, ErrorBody{Error: msg, Status: code})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed","status":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func appendJSON(b []byte, v any) []byte {
	js, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, js...)
}
