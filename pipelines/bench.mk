# Speed benchmarks (included by the top-level Makefile).
#   make bench                 ours: LM training/inference steps, paper (A) and small (B) configs,
#                              1 and 2 threads; prints a table, writes bench-results.json
#   make bench REF=1           also the PyTorch CPU references, interleaved per config and thread
#                              count, with ours/torch ratios: ../shared/bench/run-reference
#                              (torch_awdlstm.py) for the AWD-LSTM configs A, A_inf, B, B_inf;
#                              bench/run-torch-qrnn (bench/torch_qrnn.py, fastai v2's AWD_QRNN
#                              with its CPU forget-mult, in run-reference's environment) for the
#                              QRNN configs Q, Q_inf, MF (BENCH_REF, BENCH_REF_QRNN override them)
#   make bench BENCH_FLAGS='--configs B,B_inf --threads 2'   a subset (see lmbench --help)
#   make bench REF=1 BENCH_FLAGS='--configs B,Q,Q_inf --threads 1'   the QRNN beside B, with torch
# Runs niced (the machine is shared); the "load" columns say how much CPU other processes took.

REF          ?=
BENCH_NICE   ?= nice -n 10
BENCH_FLAGS  ?=
BENCH_OUT    ?= bench-results.json
BENCH_REF    ?= ../shared/bench/run-reference
BENCH_REF_QRNN ?= bench/run-torch-qrnn

.PHONY: bench
bench:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(GO_LDFLAGS)' -o $(BIN)/lmbench ./stage/cmd/lmbench
	GO=$(GO) $(BENCH_NICE) $(BIN)/lmbench --out $(BENCH_OUT) $(if $(filter 1 yes true,$(REF)),--ref $(BENCH_REF) --ref-qrnn $(BENCH_REF_QRNN)) $(BENCH_FLAGS)

# make bench-spm: SentencePiece encoding, ours against spm_encode (scripts/bench-spm.sh).
.PHONY: bench-spm
bench-spm:
	GO=$(GO) $(BENCH_NICE) scripts/bench-spm.sh
