# make demo: the whole ULMFiT pipeline on the embedded data (data/), ending with a
# table of TREC-6 test errors (forward, backward, ensemble, from scratch), the
# report's path and one `evaluate predict` example.
#   make demo                   PRESET=small (7-12 minutes on 2 cores: README.md)
#   make demo PRESET=tiny       about a minute (a smoke run: tiny models learn little)
#   make demo DEMO_JOBS=1       one branch at a time on all cores (default: 2 side
#                               by side, one thread each, where there are 2 cores;
#                               their progress lines are tagged "[clftune bwd] ...")
# The pretrained LMs are models/lm-<preset>-{fwd,bwd}.arrow when shipped, else
# they are pretrained here on data/wikitext103/train_prefix (one epoch).
# Everything lands in out/; a second `make demo` only re-checks and reprints.
include $(dir $(lastword $(MAKEFILE_LIST)))ulmfit.mk
include $(dir $(lastword $(MAKEFILE_LIST)))trec6.mk

DEMO_JOBS     ?= $(BRANCH_JOBS)
DEMO_QUESTION ?= How far is the Moon from the Earth ?
# The stages' own recipe for the preset (what `clftune --preset small` and `lmtune
# --preset small` do without flags; EPOCHS and LMTUNE_EPOCHS in ulmfit.mk match them).
_demo_vars = EMBED_DIR=data PRESET=$(PRESET) DIR="fwd bwd" \
  $(call branch_threads,$(DEMO_JOBS))

# What the demo builds (paths fixed by the variables of the make that runs it).
_demo.fwd   = $(call clf,trec6,fwd,$(call lmtune,trec6,fwd,$(LMTUNE_VARIANT)),$(CLF_MODE))
_demo.bwd   = $(call clf,trec6,bwd,$(call lmtune,trec6,bwd,$(LMTUNE_VARIANT)),$(CLF_MODE))
_demo.scr   = $(call clf,trec6,fwd,,scratch)
_demo.preds = $(foreach c,$(_demo.fwd) $(_demo.bwd) $(_demo.scr),$(call preds,$c,trec6))
_demo.ens   = $(call ensemble,$(call preds,$(_demo.fwd),trec6))
_demo.rep   = $(call report,$(_demo.ens),$(_demo.fwd:.arrow=.jsonl) $(_demo.bwd:.arrow=.jsonl),$(_demo.ens:.test.preds.arrow=.report))

.PHONY: demo demo-run demo-summary
demo:
	@start=$$(date +%s); \
	echo "== ulmfit-go demo: preset $(PRESET), $(lm_shipped_note)"; \
	echo "== building the stage binaries"; \
	$(MAKE) --no-print-directory build || exit 1; \
	$(call branch_tags,$(DEMO_JOBS)) $(MAKE) --no-print-directory -j$(DEMO_JOBS) demo-run $(_demo_vars) || exit 1; \
	$(MAKE) --no-print-directory demo-summary $(_demo_vars) DEMO_SECONDS=$$(( $$(date +%s) - start ))

demo-run: $(_demo.preds) $(_demo.ens) $(_demo.rep)

demo-summary:
	@echo
	@echo "== ULMFiT on TREC-6 (preset $(PRESET); $(lm_shipped_note)), test error on 500 questions:"
	@scripts/results.sh $(foreach p,$(wordlist 1,2,$(_demo.preds)) $(_demo.ens) $(word 3,$(_demo.preds)),$(p:.preds.arrow=.metrics.json)) | sed 's/^/   /'
	@echo "== report: $(_demo.rep)"
	@echo "== a raw question through the forward classifier:"
	@echo '   $$ $(BIN)/evaluate predict --model $(_demo.fwd) --text "$(DEMO_QUESTION)"'
	@$(BIN)/evaluate predict --model $(_demo.fwd) --text "$(DEMO_QUESTION)" | sed 's/^/   /'
	@$(if $(DEMO_SECONDS),echo "== demo wall time: $$(( $(DEMO_SECONDS) / 60 ))m$$(( $(DEMO_SECONDS) % 60 ))s")
