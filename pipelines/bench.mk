# Speed benchmarks (included by the top-level Makefile).
#   make bench                 ours: LM training/inference steps, paper (A) and small (B) configs,
#                              1 and 2 threads; prints a table, writes bench-results.json
#   make bench REF=1           also the PyTorch CPU reference (../shared/bench/run-reference),
#                              interleaved per config and thread count, with ours/torch ratios
#   make bench BENCH_FLAGS='--configs B,B_inf --threads 2'   a subset (see lmbench --help)
# Runs niced (the machine is shared); the "load" columns say how much CPU other processes took.

REF          ?=
BENCH_NICE   ?= nice -n 10
BENCH_FLAGS  ?=
BENCH_OUT    ?= bench-results.json
BENCH_REF    ?= ../shared/bench/run-reference

.PHONY: bench
bench:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(GO_LDFLAGS)' -o $(BIN)/lmbench ./stage/cmd/lmbench
	GO=$(GO) $(BENCH_NICE) $(BIN)/lmbench --out $(BENCH_OUT) $(if $(filter 1 yes true,$(REF)),--ref $(BENCH_REF)) $(BENCH_FLAGS)

# make bench-spm: SentencePiece encoding, ours against spm_encode (scripts/bench-spm.sh).
.PHONY: bench-spm
bench-spm:
	GO=$(GO) $(BENCH_NICE) scripts/bench-spm.sh
