package serve

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/precision"
)

const description = `Serves one classifier artifact, or the equal-weight ensemble of several
(e.g. forward + backward), over HTTP (JSON in and out):

  POST /v1/predict   {"texts": ["...", ...]} ->
                     {"labels": [...], "predictions": [{"text", "label", "probs"}, ...]}
                     in input order, the same numbers as 'evaluate predict'
                     (an ensemble: as 'ensemble' over the models' predictions)
  GET  /healthz      {"status": "ok", "models", "labels", ...}
  GET  /metrics      Prometheus text format: requests by path and code,
                     latency, batch sizes, texts, queue length
  GET  /             a small page: type a sentence, see the label and bars
                     (/?text=... classifies on load)

Requests that arrive together are batched: the first waits up to --max-wait
for others, up to --max-batch texts. Limits answer JSON errors
{"error": "...", "status": N}: body over --max-body 413, more than
--max-texts texts or a text over --max-text-bytes 400, malformed JSON 400,
wrong method 405, queue full 503. SIGTERM or Ctrl-C stops accepting
connections, finishes the requests in flight and exits 0.

Example:
  evaluate serve --model trec.fwd.clf.arrow --model trec.bwd.clf.arrow --addr 127.0.0.1:8080
  curl -s localhost:8080/v1/predict -d '{"texts": ["Who wrote Hamlet ?"]}'`

// Command runs 'evaluate serve' with args (flags after the subcommand),
// printing the listening address and messages on stderr. It returns when
// ctx is done and the in-flight requests are answered.
func Command(ctx context.Context, args []string, stderr io.Writer) error {
	fs := cli.NewFlags("evaluate serve", "--model CLF.arrow [--model CLF2.arrow] [--addr HOST:PORT] [flags]", description)
	var com cli.Common
	com.Register(fs, "threads", "precision", "quiet")
	d := DefaultConfig()
	models := fs.StringArray("model", nil, "classifier `artifact` (repeat for an ensemble, e.g. forward and backward)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address` (port 0: any free port; the address is printed)")
	var cfg Config
	fs.IntVar(&cfg.MaxBatch, "max-batch", d.MaxBatch, "most texts per model batch")
	fs.DurationVar(&cfg.MaxWait, "max-wait", d.MaxWait, "how long a request waits for others to batch with (0: no waiting)")
	fs.IntVar(&cfg.QueueSize, "queue", d.QueueSize, "requests that may wait for the model (then 503)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body", d.MaxBodyBytes, "largest request body in `bytes` (then 413)")
	fs.IntVar(&cfg.MaxTexts, "max-texts", d.MaxTexts, "most texts per request (then 400)")
	fs.IntVar(&cfg.MaxTextBytes, "max-text-bytes", d.MaxTextBytes, "longest text in `bytes` (then 400)")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", d.ReadTimeout, "time to read a request's headers and body")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", d.WriteTimeout, "time from the end of the request headers to the end of the answer")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", d.IdleTimeout, "how long an idle keep-alive connection is kept")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "on SIGTERM, how long in-flight requests may take to finish")
	fs.Float64Var(&cfg.Threshold, "threshold", d.Threshold, "multi-label decision threshold")
	if err := cli.Parse(fs, args, cli.WithVersionInfo(cpu.Info)); err != nil {
		return err
	}
	if err := com.Validate(); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return cli.UsageOf(fs, "unexpected arguments %q", fs.Args())
	case len(*models) == 0:
		return cli.UsageOf(fs, "--model is required (repeat it for an ensemble)")
	case cfg.MaxBatch < 1:
		return cli.UsageOf(fs, "--max-batch %d: want >= 1", cfg.MaxBatch)
	case cfg.MaxWait < 0:
		return cli.UsageOf(fs, "--max-wait %s: want >= 0", cfg.MaxWait)
	case cfg.QueueSize < 1 || cfg.MaxBodyBytes < 1 || cfg.MaxTexts < 1 || cfg.MaxTextBytes < 1:
		return cli.UsageOf(fs, "--queue, --max-body, --max-texts and --max-text-bytes must be >= 1")
	case cfg.ReadTimeout <= 0 || cfg.WriteTimeout <= 0 || cfg.IdleTimeout <= 0 || cfg.ShutdownTimeout <= 0:
		return cli.UsageOf(fs, "--read-timeout, --write-timeout, --idle-timeout and --shutdown-timeout must be > 0")
	case !(cfg.Threshold > 0 && cfg.Threshold < 1):
		return cli.UsageOf(fs, "--threshold %g: want 0 < t < 1", cfg.Threshold)
	}
	note := precision.Resolve(fs, &com)
	be, err := precision.Backend(com.Threads, com.Precision)
	if err != nil {
		return err
	}
	m, err := LoadModel(*models, be, cfg.MaxBatch)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return cli.BadInput(fmt.Errorf("--addr %s: %w", *addr, err))
	}
	srv := New(m, cfg)
	if !com.Quiet {
		if note != "" {
			fmt.Fprintf(stderr, "evaluate serve: %s\n", note)
		}
		fmt.Fprintf(stderr, "evaluate serve: listening on http://%s (%s; %d labels; max batch %d, max wait %s; backend %s)\n",
			ln.Addr(), strings.Join(*models, " + "), len(m.LabelNames()), cfg.MaxBatch, cfg.MaxWait, be.Name())
	}
	t0 := time.Now()
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	if !com.Quiet {
		fmt.Fprintf(stderr, "evaluate serve: stopped after %s, in-flight requests answered\n", time.Since(t0).Round(time.Millisecond))
	}
	return nil
}
