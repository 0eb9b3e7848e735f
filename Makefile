# ulmfit-go: top-level Makefile.
#   make demo    run the whole ULMFiT pipeline on the embedded data
#   make test    every module's tests, go vet and a gofmt check
#   make bench   speed benchmarks (REF=1 also runs the PyTorch reference)
#   make build   the stage binaries into bin/

SHELL   := /bin/bash
GO      ?= go
BIN     ?= bin
# Modules (folders with a go.mod) that hold Go code.
MODULES := $(shell for d in */go.mod; do d=$${d%/go.mod}; find $$d -name '*.go' | grep -q . && echo $$d; done)
STAGES  := tokenize pretrain lmtune clftune evaluate ensemble
TOOLS   := artifacts

.PHONY: all build test vet fmt-check bench clean
all: build

build:
	@mkdir -p $(BIN)
	@for m in $(STAGES) $(TOOLS); do \
	  if [ -d $$m/cmd/$$m ]; then $(GO) build -o $(BIN)/$$m ./$$m/cmd/$$m || exit 1; fi; \
	done

vet:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

fmt-check:
	@out=$$(gofmt -l $(MODULES) </dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: fmt-check vet
	@for m in $(MODULES); do (cd $$m && $(GO) test -count=1 ./...) || exit 1; done

clean:
	rm -rf $(BIN)

-include pipelines/*.mk
