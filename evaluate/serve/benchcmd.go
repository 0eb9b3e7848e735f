package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/nn/cpu"
	"github.com/ulmfit-go/ulmfit/stage/precision"
	"github.com/ulmfit-go/ulmfit/tokenize/input"
)

const benchDescription = `Load benchmark of 'evaluate serve' (not a test): starts the server in
process on 127.0.0.1, runs --clients concurrent clients for --requests
requests of --per-request texts each, taken in turn from --texts (any input
the tokenizer reads, e.g. data/trec/test.csv.zst: the text fields of each
row), and reports docs/s, p50/p99 latency and the batch sizes reached,
against 'evaluate predict' (one batch run over the same texts). Every answer
is compared with the batch prediction of its texts; lost requests and
differing answers are counted, and either makes the exit status 1.

Example:
  servebench --model trec.clf.arrow --texts data/trec/test.csv.zst --clients 16 --requests 2000`

// BenchCommand runs the load benchmark with args and prints its report on
// stdout.
func BenchCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := cli.NewFlags("servebench", "--model CLF.arrow [--model CLF2.arrow] --texts FILE [flags]", benchDescription)
	var com cli.Common
	com.Register(fs, "threads", "precision")
	models := fs.StringArray("model", nil, "classifier `artifact` (repeat for an ensemble)")
	textsPath := fs.String("texts", "", "texts `file` (CSV/TSV/JSONL/text, .zst/.gz)")
	clients := fs.Int("clients", 16, "concurrent clients")
	requests := fs.Int("requests", 2000, "requests in all")
	per := fs.Int("per-request", 1, "texts per request")
	d := DefaultConfig()
	cfg := d
	fs.IntVar(&cfg.MaxBatch, "max-batch", d.MaxBatch, "server --max-batch")
	fs.DurationVar(&cfg.MaxWait, "max-wait", d.MaxWait, "server --max-wait")
	if err := cli.Parse(fs, args, cli.WithVersionInfo(cpu.Info)); err != nil {
		return err
	}
	if len(*models) == 0 || *textsPath == "" {
		return cli.UsageOf(fs, "--model and --texts are required")
	}
	if *clients < 1 || *requests < 1 || *per < 1 || cfg.MaxBatch < 1 {
		return cli.UsageOf(fs, "--clients, --requests, --per-request and --max-batch must be >= 1")
	}
	cfg.MaxTexts = max(cfg.MaxTexts, *per)
	src, err := input.Open(*textsPath, input.Options{})
	if err != nil {
		return cli.BadInput(err)
	}
	var texts []string
	for {
		r, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return cli.BadInput(err)
		}
		if t := strings.Join(r.Fields, " "); strings.TrimSpace(t) != "" {
			texts = append(texts, t)
		}
	}
	if len(texts) == 0 {
		return cli.BadInput(fmt.Errorf("%s: no texts", *textsPath))
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
	lb := &LoadBench{Model: m, Config: cfg, Texts: texts, Clients: *clients, Requests: *requests, PerRequest: *per}
	res, err := lb.Run(ctx)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(os.Stderr, "servebench: %s\n", note)
	}
	fmt.Fprintf(stdout, "servebench: %s, %d distinct texts, max batch %d, max wait %s, backend %s\n%s\n",
		strings.Join(*models, " + "), len(texts), cfg.MaxBatch, cfg.MaxWait, be.Name(), res)
	if res.Lost > 0 || res.Mismatched > 0 {
		return fmt.Errorf("%d requests lost, %d answers differ from evaluate predict", res.Lost, res.Mismatched)
	}
	return nil
}
