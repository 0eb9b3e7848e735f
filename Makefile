# ulmfit-go: top-level Makefile.
#   make demo    run the whole ULMFiT pipeline on the embedded data
#   make classify TRAIN=your.csv [TEST=test.csv]   the same on your own data (pipelines/classify.mk)
#   make test    every module's tests, go vet and a gofmt check
#   make test-race   the same tests under the race detector (slower; not part of make test)
#   make bench   speed benchmarks (REF=1 also runs the PyTorch reference)
#   make build   the stage binaries into bin/

SHELL   := /bin/bash
GO      ?= go
BIN     ?= bin
# Modules (folders with a go.mod) that hold Go code.
MODULES := $(shell for d in */go.mod; do d=$${d%/go.mod}; find $$d -name '*.go' | grep -q . && echo $$d; done)
STAGES  := tokenize pretrain lmtune clftune evaluate ensemble
# The source revision --version prints (workspace builds carry no VCS stamp).
GO_LDFLAGS := -X github.com/ulmfit-go/ulmfit/artifacts/cli.revision=$(shell git describe --always --dirty 2>/dev/null || echo unknown)
TOOLS   := artifacts

.PHONY: all build test test-race vet fmt-check fuzz clean
all: build

build:
	@mkdir -p $(BIN)
	@for m in $(STAGES) $(TOOLS); do \
	  if [ -d $$m/cmd/$$m ]; then $(GO) build -ldflags '$(GO_LDFLAGS)' -o $(BIN)/$$m ./$$m/cmd/$$m || exit 1; fi; \
	done

vet:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

fmt-check:
	@out=$$(gofmt -l $(MODULES) </dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# -timeout: the e2e package takes 1-3 minutes on 2 cores; go test's default 10 minutes per
# package would fail a machine a few times slower, not a broken test.
test: fmt-check vet
	@for m in $(MODULES); do (cd $$m && $(GO) test -count=1 -timeout 30m ./...) || exit 1; done

# The race detector needs cgo. Tests that count allocations skip under it (it drops sync.Pool
# items at random by design).
test-race:
	@for m in $(MODULES); do (cd $$m && CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 60m ./...) || exit 1; done

# Brief fuzzing of the parsers and artifact readers (plain `make test` already replays the
# committed seed corpora). FUZZTIME per target; a crasher lands in testdata/fuzz/<Target>/.
FUZZTIME ?= 10s
fuzz:
	@cd tokenize && for f in FuzzCSV FuzzTSV FuzzJSONL FuzzLines FuzzWiki FuzzTREC FuzzCompressed FuzzCSVRoundTrip FuzzJSONLRoundTrip; do \
	  $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x -parallel 1 ./input || exit 1; done
	@cd pretrain && for f in FuzzReadStateDict FuzzImport FuzzArchive; do \
	  $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x -parallel 1 ./fastai || exit 1; done
	@cd tokenize && $(GO) test -run '^$$' -fuzz '^FuzzTokenize$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10x -parallel 1 .
	@cd tokenize/sentencepiece && for f in FuzzParse FuzzEncode; do \
	  $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x -parallel 1 . || exit 1; done
	@cd artifacts && $(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10x -parallel 1 .

clean:
	rm -rf $(BIN)

-include pipelines/*.mk
