# Load benchmark of `evaluate serve` (bench/README.md): concurrent clients on 127.0.0.1 against
# `evaluate predict` on the same texts. Not a test: it reports docs/s, latency and batch sizes.
#   make bench-serve CLF=out/.../clf-....arrow [CLF2=...bwd....arrow] [SERVE_BENCH_FLAGS=--clients 32]
SERVE_TEXTS       ?= data/trec/test.csv.zst
SERVE_BENCH_FLAGS ?= --clients 16 --requests 2000
.PHONY: bench-serve
bench-serve:
	@if [ -z "$(CLF)" ]; then echo "bench-serve: give a classifier artifact: make bench-serve CLF=path/to/clf.arrow [CLF2=...]"; exit 2; fi
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(GO_LDFLAGS)' -o $(BIN)/servebench ./evaluate/cmd/servebench
	$(BIN)/servebench --model $(CLF) $(if $(CLF2),--model $(CLF2)) --texts $(SERVE_TEXTS) $(SERVE_BENCH_FLAGS)
