# make classify: the whole ULMFiT recipe on your own labelled data, in one command.
#   make classify TRAIN=reviews.csv [TEST=test.csv] [TEXT_COL=review] [LABEL_COL=stars] [NAME=reviews]
#   make classify TRAIN=data/trec/train.csv.zst TEST=data/trec/test.csv.zst NAME=trec
# TRAIN (and TEST) is anything tokenize reads: CSV/TSV (a header row; TOK_FLAGS=--no-header
# otherwise), JSON lines, a DIR/<label>/*.txt folder, .zst/.gz compressed or not; several
# files in TRAIN are concatenated. Multi-label: a JSON list as the label, or LABEL_SEP=';'.
#
# It tokenizes TRAIN (the task vocabulary) and TEST, checks the labels (at least 2
# classes, MIN_PER_CLASS documents per class, no TEST label that TRAIN lacks) before any
# training, fine-tunes the shipped pretrained LMs (models/lm-<preset>-{fwd,bwd}.arrow; or
# pretrains them, as the other DAGs do) on TRAIN's text, fine-tunes forward and backward
# classifiers with the paper's recipe, and with TEST evaluates both, ensembles them and
# writes the report. Without TEST each classifier holds out a stratified, seeded share
# (VALID_FRAC, 10%) of TRAIN for validation, and that error is what it prints.
# It ends with the deployable classifiers (out/<NAME>/model/{fwd,bwd}.arrow: without the
# optimizer and resume state) and the command that serves them.
#
# Variables: TRAIN, TEST, TEXT_COL, LABEL_COL (tokenize's --text-col / --label-col),
# LABEL_SEP, TOK_FLAGS (any other tokenize flags), NAME (default: TRAIN's file name without
# its extensions, or its folder's name when that is "train"), MIN_PER_CLASS (20; 0: no
# minimum), CLASSIFY_JOBS (forward and backward side by side, one thread each: default 2
# where there are 2 cores, else 1; 1 runs one branch at a time on all cores), BUILD=no (use the
# binaries in BIN as they are), and the usual PRESET, DIR, EPOCHS, SEED, CLF_FLAGS, ...
# The recipe is the stages' own for PRESET (clftune --preset small: 8 epochs, fastai's
# --drop-mult 0.5, peak LR 0.04), as in the demo.
# Everything lands in OUT_DIR/<NAME>/; a second run only re-checks and reprints.
include $(dir $(lastword $(MAKEFILE_LIST)))ulmfit.mk
ifndef _CLASSIFY_MK
_CLASSIFY_MK := 1

TRAIN         ?=
TEST          ?=
TEXT_COL      ?=
LABEL_COL     ?=
LABEL_SEP     ?=
TOK_FLAGS     ?=
MIN_PER_CLASS ?= 20
CLASSIFY_JOBS ?= $(BRANCH_JOBS)
BUILD         ?= yes

# NAME: TRAIN's base name without .zst/.gz and the format's extension; "train" (as in
# data/trec/train.csv.zst) gives the folder's name instead (scripts/classify-name.sh).
_cl_name = $(shell scripts/classify-name.sh '$(firstword $(TRAIN))')
# (A NAME from the environment is ignored: too common a variable name.)
ifneq ($(filter undefined environment,$(origin NAME)),)
NAME := $(if $(TRAIN),$(_cl_name))
endif
# Folders under OUT_DIR that other pipelines write.
_cl_reserved := lm exp trec6 imdb reuters ag_news

_cl_vars = _CLASSIFY_RULES=1 NAME=$(NAME) \
  $(call branch_threads,$(CLASSIFY_JOBS))

_cl_bad = { echo "make classify: $1" >&2; exit 2; }
_cl_vpct = $(shell awk 'BEGIN{print 100*$(VALID_FRAC)}')%

.PHONY: classify
classify:
	@$(if $(strip $(TRAIN)),,$(call _cl_bad,no TRAIN: make classify TRAIN=your.csv [TEST=test.csv] [TEXT_COL=text] [LABEL_COL=label] [NAME=name] (see README.md));) \
	for f in $(TRAIN) $(TEST); do [ -e "$$f" ] || $(call _cl_bad,$$f: no such file or folder (TRAIN and TEST are paths without spaces)); done; \
	$(if $(NAME),,$(call _cl_bad,cannot make a NAME from TRAIN=$(TRAIN): give NAME=...);) \
	$(if $(filter $(_cl_reserved),$(NAME)),$(call _cl_bad,NAME=$(NAME): $(OUT_DIR)/$(NAME) belongs to another pipeline: give another NAME=...);) \
	start=$$(date +%s); \
	echo "== classify $(NAME): preset $(PRESET), $(lm_shipped_note); everything goes to $(OUT_DIR)/$(NAME)/"; \
	$(if $(strip $(TEST)),,echo "== no TEST: each classifier holds out $(_cl_vpct) of TRAIN (stratified by label, seed $(SEED)) for validation; the error printed at the end is on that share";) \
	$(if $(filter no,$(BUILD)),,echo "== building the stage binaries"; $(MAKE) --no-print-directory build || exit 1;) \
	{ $(MAKE) --no-print-directory classify-check $(_cl_vars) 2>&1 1>&3 | grep --line-buffered -v '^make\[[0-9]*\]: \*\*\*' >&2; } 3>&1; \
	[ "$${PIPESTATUS[0]}" = 0 ] || exit 2; \
	$(call branch_tags,$(CLASSIFY_JOBS)) $(MAKE) --no-print-directory -j$(CLASSIFY_JOBS) classify-run $(_cl_vars) || exit 1; \
	$(MAKE) --no-print-directory classify-summary $(_cl_vars) CLASSIFY_SECONDS=$$(( $$(date +%s) - start ))

# The rules below exist only in the sub-makes that `make classify` runs (other targets
# do not pay for them); their paths come from the sub-make's variables.
ifdef _CLASSIFY_RULES
_cl  := classify.$(NAME)
$(_cl)_OUT_NAME  := $(NAME)
$(_cl)_TRAIN_SRC := $(TRAIN)
$(_cl)_TEST_SRC  := $(TEST)
$(_cl)_LM_SRC    := $(TRAIN)
$(_cl)_TOK_FLAGS := $(if $(TEXT_COL),--text-col '$(TEXT_COL)') $(TOK_FLAGS)
$(_cl)_LABEL_TOK_FLAGS := $(if $(LABEL_COL),--label-col '$(LABEL_COL)') $(if $(LABEL_SEP),--label-sep '$(LABEL_SEP)')
$(_cl)_VOCAB     ?= 60000

$(eval $(call dataset_dag,$(_cl)))

# Settings that are not part of an artifact's path (tokenize's flags and its input
# paths; the validation share) are written to stamp files, rewritten only when they
# change: a stage whose settings changed then runs (scripts/stage.sh still skips it
# when the command and its inputs are the same as last time).
_cl_stamp = $(shell f='$(call _dsdir,$(_cl))/settings/$1'; mkdir -p "$${f%/*}"; printf '%s\n' '$(strip $2)' | cmp -s - "$$f" || printf '%s\n' '$(strip $2)' > "$$f"; printf '%s' "$$f")
_cl.lmstamp    := $(call _cl_stamp,tokenize-lm,$($(_cl)_TOK_FLAGS) | $(TRAIN))
_cl.trainstamp := $(call _cl_stamp,tokenize-train,$($(_cl)_TOK_FLAGS) $($(_cl)_LABEL_TOK_FLAGS) | $(TRAIN))
_cl.teststamp  := $(if $(TEST),$(call _cl_stamp,tokenize-test,$($(_cl)_TOK_FLAGS) $($(_cl)_LABEL_TOK_FLAGS) | $(TEST)))
_cl.clfstamp := $(call _cl_stamp,clftune,--valid-frac $(VALID_FRAC))

_cl.check.train := $(call _tokdir,$(_cl))/labels-min$(MIN_PER_CLASS).check
_cl.check.test  := $(if $(TEST),$(call _tokdir,$(_cl))/labels-min$(MIN_PER_CLASS)-test.check)
_cl.check := $(or $(_cl.check.test),$(_cl.check.train))
_cl.clf   := $(_ds.$(_cl).clf)
_cl.model  = $(call _dsdir,$(_cl))/model/$1.arrow
_cl.dirs  := $(foreach d,fwd bwd,$(if $(call _with,/$d/,$(_cl.clf)),$d))

# The label checks: TRAIN's right after it is tokenized (before TEST is: a TRAIN
# without labels is named as such), then TRAIN's with TEST's; all before any training
# (the sub-make that runs them finishes before the one that trains starts; the
# order-only prerequisites keep that order for a direct `make classify-run` too).
define _cl_check_rule # 1 out, 2 tokens artifacts
$1: $2 | $(_TOOLS)
	@$(BIN)/artifacts check-labels --min-per-class $(MIN_PER_CLASS) $2 > $$@.tmp || { rm -f $$@.tmp; exit 2; }
	@mv $$@.tmp $$@
endef
$(eval $(call _cl_check_rule,$(_cl.check.train),$(call task_tok,$(_cl),train)))
ifneq ($(TEST),)
$(eval $(call _cl_check_rule,$(_cl.check.test),$(call task_tok,$(_cl),train) $(call task_tok,$(_cl),test)))
$(call task_tok,$(_cl),test): | $(_cl.check.train)
endif
$(_ds.$(_cl).ft) $(_cl.clf) $(foreach d,$(DIR),$(call lm_pretrained,$d)): | $(_cl.check)
# A folder's mtime does not change when a file in it is edited: its files are
# prerequisites too (folder-per-class input).
_cl_files = $(foreach p,$1,$(if $(wildcard $p/.),$(shell find '$p' -type f)))
$(call task_tok,$(_cl),lm): $(_cl.lmstamp) $(call _cl_files,$(TRAIN))
$(call task_tok,$(_cl),train): $(_cl.trainstamp) $(call _cl_files,$(TRAIN))
$(if $(TEST),$(call task_tok,$(_cl),test): $(_cl.teststamp) $(call _cl_files,$(TEST)))
$(_cl.clf): $(_cl.clfstamp)

# The deployable classifiers, at paths that do not change with the settings: the same
# weights without any optimizer moments or resume state; predictions are unchanged.
define _cl_model_rule # 1 dir
$(call _cl.model,$1): $(call _with,/$1/,$(_cl.clf)) | $(_TOOLS)
	@echo "== deployable $1 classifier -> $$@"
	@$(STAGE) $$@ $(BIN)/artifacts compact -q --drop-opt --drop-train-state $$< $$@
endef
$(foreach d,$(_cl.dirs),$(eval $(call _cl_model_rule,$d)))
_cl.models := $(foreach d,$(_cl.dirs),$(call _cl.model,$d))

.PHONY: classify-check classify-run classify-summary
classify-check: $(_cl.check)
	@echo "== labels: $$(cat $(_cl.check))"
classify-run: $(_ds.$(_cl).missing) $(_ds.$(_cl).pred) $(_ds.$(_cl).ens) $(_ds.$(_cl).rep) $(_cl.clf) $(_cl.models)
	@:

_cl_pct = awk -v e="$$e" 'BEGIN{printf "%.2f%%", 100*e}'
# The best validation error of a classifier (the epoch clftune kept), from its metrics.
_cl_valid = e=$$($(BIN)/artifacts show -n 0 --width 0 $1 | grep -o '"best_valid_error":[-0-9.eE+]*' | head -n 1 | cut -d: -f2); \
  if [ -n "$$e" ]; then printf '   %-10s %s  (%s)\n' "$2" "$$($(_cl_pct))" "$1"; else printf '   %-10s %s  (%s)\n' "$2" "none" "$1"; fi;

classify-summary:
	@echo
	$(if $(TEST),@echo "== $(NAME): test error on $(TEST) (preset $(PRESET)):",@echo "== $(NAME): validation error on the $(_cl_vpct) of TRAIN each classifier held out (stratified, seed $(SEED); no TEST given, so no test error; it is the kept epoch's, so a little optimistic):")
	$(if $(TEST),@$(MAKE) --no-print-directory $(_cl)-results $(_cl_vars) | sed 's/^/   /',@$(foreach c,$(_cl.clf),$(call _cl_valid,$c,$(if $(findstring /bwd/,$c),backward,forward))))
	$(if $(_ds.$(_cl).rep),@echo "== report: $(_ds.$(_cl).rep)")
	@echo "== the classifier$(if $(word 2,$(_cl.models)),s (serve both: the server averages them)): $(_cl.models)"
	@echo "== serve it:  $(BIN)/evaluate serve $(foreach m,$(_cl.models),--model $m) --addr 127.0.0.1:8080"
	@echo "== or one text at a time:  $(BIN)/evaluate predict --model $(firstword $(_cl.models)) --text \"...\""
	@$(if $(CLASSIFY_SECONDS),echo "== wall time: $$(( $(CLASSIFY_SECONDS) / 60 ))m$$(( $(CLASSIFY_SECONDS) % 60 ))s")
endif # _CLASSIFY_RULES

endif # _CLASSIFY_MK
