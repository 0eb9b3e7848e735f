# ULMFiT pipeline machinery, shared by the per-data-set DAGs (trec6.mk, imdb.mk,
# reuters.mk, ag_news.mk), the demo (demo.mk) and the paper's experiments
# (experiments.mk). Included by the top-level Makefile.
#
# Every artifact's path says what produced it, so one pretrained LM serves every
# data set and experiment that asks for it, and changing a stage's settings
# rebuilds only that stage and what follows:
#
#   out/lm/tok/<corpus>-v<vocab>-{train,valid}.arrow tokenized general-domain corpus
#   out/lm/<corpus>-<preset>-<dir>-e<N>.arrow        pretrained LM (models/lm-<preset>-<dir>.arrow
#                                                    is used instead when shipped)
#   out/<ds>/tok/{lm,train,test}.arrow               task text; one vocabulary (lm.arrow's)
#   out/<ds>/<preset>/<dir>/pt-<lm>/lmtune-e<N>-<variant>.arrow            fine-tuned LM
#   out/<ds>/<preset>/<dir>/pt-<lm>/lmtune-e<N>-<variant>/clf-<mode>-e<N>-s<seed>.arrow
#   ....../clf-<mode>-e<N>-s<seed>.test.preds.arrow (+ .test.metrics.json)  test predictions
#   out/<ds>/<preset>/ens/pt-<lm>/.../clf-....test.preds.arrow            fwd+bwd ensemble
#   out/<ds>/<preset>/<dir>/scratch/clf-scratch-e<N>-s<seed>.arrow        no-LM baseline
#
# A suffix -x<hash> marks extra flags (PRETRAIN_FLAGS, LMTUNE_FLAGS, CLF_FLAGS), and
# -qrnn the architecture (ARCH=qrnn: <preset>-qrnn, pt-<lm>-qrnn, scratch-qrnn), and
# -unigram<N> subword pieces (SUBWORD=unigram: the corpus tag, tok-unigram<N>/, scratch-...).
# Each stage runs through scripts/stage.sh, which skips the work (and says so) when
# the artifact already holds the result of the same command on inputs with the same
# sha256: touching a file does not retrain anything. FORCE=1 redoes a stage.
# An interrupted pretrain, lmtune or clftune run (Ctrl-C, a killed make) leaves a
# checkpoint next to its artifact; the next make continues it (--resume).
#
# `make -n <target>` prints the plan; `make -j2 <target>` runs the forward and
# backward branches side by side.

ifndef _ULMFIT_MK
_ULMFIT_MK := 1

# ------------------------------------------------------------------ settings
PRESET   ?= small
# ARCH: the recurrent layers of every model pretrained or trained from scratch here:
# qrnn (fastai's AWD_QRNN) or the preset's (lstm; multifit: qrnn). The shipped LMs are
# LSTMs, so ARCH=qrnn pretrains its own; its paths carry "-qrnn".
ARCH     ?=
DIR      ?= fwd bwd
SEED     ?= 1
OUT_DIR  ?= out
DATA_DIR ?= $(if $(wildcard ../shared/data/trec/train.csv.zst),../shared/data,data)
# EMBED_DIR: where data sets that also ship in data/ (TREC-6, the WikiText-103
# parts) are read from: data/ (the same bytes as ../shared/data), unless DATA_DIR
# is given, so that the demo, the experiments and `make trec6` share artifacts.
EMBED_DIR ?= $(if $(filter command line environment,$(origin DATA_DIR)),$(DATA_DIR),data)
THREADS  ?= 0
# BRANCH_JOBS: the default of DEMO_JOBS and CLASSIFY_JOBS, how many of their branches
# (forward, backward, from scratch) run side by side, one thread each: 2 where the
# machine has 2 cores or more (the demo on a 2-core AVX2 EPYC took 11m59s against
# 15m50s one branch at a time on both cores, 2026-12-07), else 1.
ifndef BRANCH_JOBS
BRANCH_JOBS := $(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -ge 2 ] && echo 2 || echo 1)
endif
# What a DAG running $1 branches side by side gives its sub-make: one thread per stage
# (branch_threads, a variable) and progress lines tagged with their stage and branch
# (branch_tags, an environment prefix: scripts/stage.sh reads STAGE_TAG_LINES); nothing for 1.
branch_threads = $(if $(filter-out 1,$1),THREADS=1)
branch_tags    = $(if $(filter-out 1,$1),STAGE_TAG_LINES=1)
# need_native_gemm: a recipe line that stops its rule (exit 2, one line naming $2) unless
# pretrain, run with the environment $1, reports the native GEMM (the "gemm:" field of
# --version matching the shell pattern native*$3). Where that GEMM is missing (no AVX2, a
# CGO_ENABLED=0 build), ULMFIT_BLAS=native falls back to another GEMM without failing.
need_native_gemm = @g=$$($1 $(BIN)/pretrain --version | sed -n 's/^gemm: \([^;]*\).*/\1/p'); \
  case "$$g" in native*$3) ;; \
  *) echo "$2 needs the native GEMM (AVX2 or AVX-512, a cgo build); here it would get: $$g" >&2; exit 2;; esac
VALID_FRAC ?= 0.1

# Epochs per stage: EPOCHS is the classifier's; the LM stages have their own.
# Defaults depend on PRESET (tiny: seconds; small: minutes on 2 cores; paper) and are
# the stages' own preset defaults (clftune --preset small: 8; lmtune --preset small: 2),
# so that a pipeline runs what a stage does without flags.
_EPOCHS_tiny  := 15
_EPOCHS_small := 8
_EPOCHS_paper := 15
EPOCHS ?= $(or $(_EPOCHS_$(PRESET)),6)
_PRETRAIN_EPOCHS_paper := 10
PRETRAIN_EPOCHS ?= $(or $(_PRETRAIN_EPOCHS_$(PRESET)),1)
_LMTUNE_EPOCHS_tiny  := 2
_LMTUNE_EPOCHS_small := 2
_LMTUNE_EPOCHS_paper := 10
LMTUNE_EPOCHS ?= $(or $(_LMTUNE_EPOCHS_$(PRESET)),2)

# SUBWORD=unigram: SentencePiece unigram pieces instead of words, a SUBWORD_VOCAB-piece
# model trained on the LM corpus (tokenize --subword unigram) and used for the task text
# too; paths carry "-unigram<N>" (the shipped LMs are word-level, so it pretrains).
SUBWORD       ?=
SUBWORD_VOCAB ?= 15000

# Stage recipes: LMTUNE_VARIANT is the paper's Table 6 row (discr-stlr = ULMFiT,
# discr, full); CLF_MODE is a clftune --mode (ulmfit = the paper's recipe).
LMTUNE_VARIANT ?= discr-stlr
CLF_MODE       ?= ulmfit
# Extra flags, appended to the stage's command line (and hashed into the path).
PRETRAIN_FLAGS ?=
LMTUNE_FLAGS   ?=
CLF_FLAGS      ?=
# Seeds of the LM stages (fixed, so every experiment shares one LM); SEED is the
# classifier's (and the low-shot sample's).
LM_SEED ?= 1

# General-domain corpus for pretraining (when no shipped LM is used):
#   wt103p     data/wikitext103/train_prefix (0.55M tokens of WikiText-103 train)
#   gutenberg  ../shared/data/gutenberg (40M words of books)
LM_CORPUS ?= wt103p
_LM_LINES_tiny := 1000
LM_LINES ?= $(_LM_LINES_$(PRESET))
_LM_VALID_LINES_tiny  := 200
_LM_VALID_LINES_small := 600
LM_VALID_LINES ?= $(_LM_VALID_LINES_$(PRESET))
_LM_VOCAB_tiny  := 8000
_LM_VOCAB_small := 30000
LM_VOCAB ?= $(or $(_LM_VOCAB_$(PRESET)),60000)
GUTENBERG_DIR ?= $(or $(wildcard $(DATA_DIR)/gutenberg),../shared/data/gutenberg)
# USE_SHIPPED_LM: auto (models/lm-<preset>-<dir>.arrow when present), no (pretrain).
USE_SHIPPED_LM ?= auto
SHIPPED_LM_DIR ?= models

DOWNLOAD_DIR ?= downloads

# stage.sh checks "up to date" with this build's artifacts tool (also when BIN is
# not bin/, as in the e2e tests).
STAGE    = ARTIFACTS=$(BIN)/artifacts scripts/stage.sh
ZCAT    := zstd -dcf --long=31
_TOOLS  := $(BIN)/artifacts

# ------------------------------------------------------------------ helpers
comma := ,
empty :=
space := $(empty) $(empty)
_bwd   = $(if $(filter bwd,$1),--backward)
_arch  = $(if $(filter-out lstm,$(ARCH)),--arch $(ARCH))
_atag  = $(if $(filter-out lstm,$(ARCH)),-$(ARCH))
_swtag = $(if $(SUBWORD),-$(SUBWORD)$(SUBWORD_VOCAB))
# _vocab_flags: how the LM corpus gets its vocabulary (words capped at LM_VOCAB, or pieces).
_vocab_flags = $(if $(SUBWORD),--subword $(SUBWORD) --vocab-size $(SUBWORD_VOCAB),--max-vocab $(LM_VOCAB))
# _x: "-x<hash>" for a non-empty flag string (so flags are part of the path).
_x     = $(if $(strip $1),-x$(call _xh,$(subst $(space),_,$(strip $1))))
_xh    = $(or $(_xh.$1),$(eval _xh.$1 := $(shell printf '%s' '$1' | sha256sum | cut -c1-8))$(_xh.$1))
_ens   = $(subst /fwd/,/ens/,$1)
# _with S,LIST: the words of LIST that contain S.
_with  = $(foreach w,$2,$(if $(findstring $1,$w),$w))

# Binaries are built on demand (make build rebuilds them all).
$(BIN)/%:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(GO_LDFLAGS)' -o $@ ./$*/cmd/$*

# ------------------------------------------------------------------ LM corpus
_lmsrc.wt103p.train    = $(EMBED_DIR)/wikitext103/train_prefix.tokens.zst
_lmsrc.wt103p.valid    = $(EMBED_DIR)/wikitext103/valid.tokens.zst
_lmsrc.wt103p.ext      = tokens
_lmsrc.gutenberg.train = $(GUTENBERG_DIR)/train.txt.zst
_lmsrc.gutenberg.valid = $(GUTENBERG_DIR)/valid.txt.zst
_lmsrc.gutenberg.ext   = txt

# corpus_tag: the corpus name plus its line limit.
corpus_tag = $(LM_CORPUS)$(if $(LM_LINES),-l$(LM_LINES))$(if $(SUBWORD),$(_swtag),$(_vtag))
# _lmvtag: the word vocabulary's cap in the LM corpus's tokens paths (pieces: in corpus_tag).
_lmvtag = $(if $(SUBWORD),,-v$(LM_VOCAB))
# _vtag: the vocabulary cap, when it is not the preset's default.
_vtag = $(if $(filter-out $(or $(_LM_VOCAB_$(PRESET)),60000),$(LM_VOCAB)),-v$(LM_VOCAB))

define _head_rule # 1 out, 2 source, 3 lines
ifndef _done.$1
_done.$1 := 1
$1: $2
	@mkdir -p $$(@D)
	$(ZCAT) $2 | head -n $3 > $$@.tmp && mv $$@.tmp $$@
endif
endef
# _limited SRC,LINES,OUT: SRC itself, or its first LINES lines in OUT.
_limited = $(if $2,$(eval $(call _head_rule,$3,$1,$2))$3,$1)

define _lmtok_rule # 1 out, 2 source, 3 flags, 4 vocab artifact (valid only)
ifndef _done.$1
_done.$1 := 1
$1: $2 $4 | $(BIN)/tokenize $(_TOOLS)
	@echo "== tokenize $2 -> $1"
	@$(STAGE) $1 $(BIN)/tokenize --no-label --pretokenized no $3 $(if $4,--vocab $4) -o $1 $2
endif
endef

# lm_tok_train / lm_tok_valid: the tokenized LM corpus (vocab from train).
lm_tok_train = $(eval $(call _lmtok_rule,$(OUT_DIR)/lm/tok/$(corpus_tag)$(_lmvtag)-train.arrow,$(call _limited,$(_lmsrc.$(LM_CORPUS).train),$(LM_LINES),$(OUT_DIR)/lm/src/$(corpus_tag)-train.$(_lmsrc.$(LM_CORPUS).ext)),$(_vocab_flags)))$(OUT_DIR)/lm/tok/$(corpus_tag)$(_lmvtag)-train.arrow
lm_tok_valid = $(eval $(call _lmtok_rule,$(OUT_DIR)/lm/tok/$(corpus_tag)$(_lmvtag)-valid$(if $(LM_VALID_LINES),-l$(LM_VALID_LINES)).arrow,$(call _limited,$(_lmsrc.$(LM_CORPUS).valid),$(LM_VALID_LINES),$(OUT_DIR)/lm/src/$(LM_CORPUS)-valid-l$(LM_VALID_LINES).$(_lmsrc.$(LM_CORPUS).ext)),,$(lm_tok_train)))$(OUT_DIR)/lm/tok/$(corpus_tag)$(_lmvtag)-valid$(if $(LM_VALID_LINES),-l$(LM_VALID_LINES)).arrow

# ------------------------------------------------------------------ pretrain
define _pretrain_rule # 1 out, 2 preset, 3 dir, 4 epochs, 5 train, 6 valid, 7 flags
ifndef _done.$1
_done.$1 := 1
$1: $5 $6 | $(BIN)/pretrain $(_TOOLS)
	@echo "== pretrain $3 LM: preset $2, $4 epoch(s) on $5 -> $1"
	@$(STAGE) $1 $(BIN)/pretrain --preset $2 $(call _bwd,$3) --seed $(LM_SEED) --epochs $4 --threads $(THREADS) $(_arch) $(if $6,--valid $6) --log $(1:.arrow=.jsonl) $$(if $$(wildcard $(1:.arrow=.ckpt.arrow)),--resume) $7 -o $1 $5
endif
endef

_shipped_lm = $(SHIPPED_LM_DIR)/lm-$(PRESET)$(_atag)$(_swtag)-$1.arrow
_use_shipped = $(and $(filter-out no,$(USE_SHIPPED_LM)),$(wildcard $(call _shipped_lm,fwd)),$(wildcard $(call _shipped_lm,bwd)))
# lm_pretrained DIR: the pretrained LM of direction DIR (shipped, or built here).
lm_pretrained = $(if $(_use_shipped),$(call _shipped_lm,$1),$(eval $(call _pretrain_rule,$(OUT_DIR)/lm/$(corpus_tag)-$(PRESET)$(_atag)-$1-e$(PRETRAIN_EPOCHS)$(call _x,$(PRETRAIN_FLAGS)).arrow,$(PRESET),$1,$(PRETRAIN_EPOCHS),$(lm_tok_train),$(lm_tok_valid),$(PRETRAIN_FLAGS)))$(OUT_DIR)/lm/$(corpus_tag)-$(PRESET)$(_atag)-$1-e$(PRETRAIN_EPOCHS)$(call _x,$(PRETRAIN_FLAGS)).arrow)
# pt_tag: the folder name under which everything built on that LM lives.
pt_tag = $(if $(_use_shipped),pt-shipped$(_atag)$(_swtag),pt-$(corpus_tag)$(_atag)-e$(PRETRAIN_EPOCHS)$(call _x,$(PRETRAIN_FLAGS)))
lm_shipped_note = $(if $(_use_shipped),shipped pretrained LMs $(call _shipped_lm,fwd) and $(call _shipped_lm,bwd),no shipped LM for preset $(PRESET): pretraining on $(LM_CORPUS)$(if $(LM_LINES), (first $(LM_LINES) lines)))

# ------------------------------------------------------------------ task tokens
define _tok_rule # 1 out, 2 sources, 3 flags, 4 artifact prerequisites
ifndef _done.$1
_done.$1 := 1
$1: $2 $4 | $(BIN)/tokenize $(_TOOLS)
	@echo "== tokenize $2 -> $1"
	@$(STAGE) $1 $(BIN)/tokenize $3 -o $1 $2
endif
endef
# task_tok DS,SPLIT: out/DS/tok/SPLIT.arrow. The data set fragment defines
# <DS>_LM_SRC (text for the vocabulary and LM fine-tuning), <DS>_TRAIN_SRC,
# <DS>_TEST_SRC, <DS>_TOK_FLAGS and optionally <DS>_VOCAB (max vocabulary),
# <DS>_LM_TOK_FLAGS (LM text only) and <DS>_LABEL_TOK_FLAGS (labelled splits only).
# <DS>_OUT_NAME (optional): the folder under OUT_DIR, when it is not DS itself
# (make classify: DS is classify.NAME, the folder NAME).
_dsdir  = $(OUT_DIR)/$(or $($1_OUT_NAME),$1)
_tokdir = $(call _dsdir,$1)/tok$(_swtag)
task_tok = $(call _task_tok.$2,$1)
# With SUBWORD, the task text is split with the LM's model (its vocabulary is the
# model's pieces) instead of getting a vocabulary of its own: the shipped LM's, or the
# one trained on the LM corpus.
_sw_from = $(if $(_use_shipped),$(call _shipped_lm,fwd),$(lm_tok_train))
_task_tok.lm    = $(eval $(call _tok_rule,$(_tokdir)/lm.arrow,$($1_LM_SRC),--no-label $(if $(SUBWORD),--tokenizer-from $(_sw_from),--max-vocab $(or $($1_VOCAB),60000)) $($1_TOK_FLAGS) $($1_LM_TOK_FLAGS),$(if $(SUBWORD),$(_sw_from))))$(_tokdir)/lm.arrow
_task_tok.train = $(eval $(call _tok_rule,$(_tokdir)/train.arrow,$($1_TRAIN_SRC),$($1_TOK_FLAGS) $($1_LABEL_TOK_FLAGS) --vocab $(_tokdir)/lm.arrow $(if $($1_LABELS_SRC),--labels-from $(call _task_tok.labels,$1)),$(call _task_tok.lm,$1) $(if $($1_LABELS_SRC),$(call _task_tok.labels,$1))))$(_tokdir)/train.arrow
_task_tok.test  = $(eval $(call _tok_rule,$(_tokdir)/test.arrow,$($1_TEST_SRC),$($1_TOK_FLAGS) $($1_LABEL_TOK_FLAGS) --vocab $(_tokdir)/lm.arrow --labels-from $(_tokdir)/train.arrow,$(call _task_tok.train,$1)))$(_tokdir)/test.arrow
# <DS>_LABELS_SRC (optional): files whose labels together give the label set, for
# data sets whose test split has classes the train split lacks (Reuters).
_task_tok.labels = $(eval $(call _tok_rule,$(_tokdir)/labels.arrow,$($1_LABELS_SRC),$($1_TOK_FLAGS) $($1_LABEL_TOK_FLAGS) --vocab $(_tokdir)/lm.arrow,$(call _task_tok.lm,$1)))$(_tokdir)/labels.arrow

# ------------------------------------------------------------------ lmtune
# Table 6 variants: discr-stlr (ULMFiT), discr (constant LR), full (one LR, constant), stlr.
_lmtune_flags.discr-stlr :=
_lmtune_flags.discr      := --schedule constant
_lmtune_flags.full       := --no-discr --schedule constant
_lmtune_flags.stlr       := --no-discr

define _lmtune_rule # 1 out, 2 preset, 3 dir, 4 from LM, 5 text, 6 epochs, 7 flags
ifndef _done.$1
_done.$1 := 1
$1: $4 $5 | $(BIN)/lmtune $(_TOOLS)
	@echo "== lmtune $3: $4 on $5, $6 epoch(s) -> $1"
	@$(STAGE) $1 $(BIN)/lmtune --preset $2 $(call _bwd,$3) --seed $(LM_SEED) --epochs $6 --threads $(THREADS) --valid-frac 0.1 --from $4 --log $(1:.arrow=.jsonl) $$(if $$(wildcard $(1:.arrow=.ckpt.arrow)),--resume) $7 -o $1 $5
endif
endef
# lmtune DS,DIR,VARIANT[,TEXT,SUFFIX]: the LM fine-tuned on DS's text (or TEXT).
lmtune = $(eval $(call _lmtune_rule,$(call _lmtune_path,$1,$2,$3,$5),$(PRESET),$2,$(call lm_pretrained,$2),$(or $4,$(call task_tok,$1,lm)),$(LMTUNE_EPOCHS),$(_lmtune_flags.$3) $(LMTUNE_FLAGS)))$(call _lmtune_path,$1,$2,$3,$5)
_lmtune_path = $(call _dsdir,$1)/$(PRESET)/$2/$(pt_tag)/lmtune-e$(LMTUNE_EPOCHS)-$3$(call _x,$(LMTUNE_FLAGS))$4.arrow

# "No pretraining" (Table 4): an LM trained from random weights on the task text
# only, for as many epochs as LM fine-tuning gets.
lm_nopretrain = $(eval $(call _pretrain_rule,$(call _dsdir,$1)/$(PRESET)/$2/pt-none$(_atag)$(_swtag)/lm-e$(LMTUNE_EPOCHS).arrow,$(PRESET),$2,$(LMTUNE_EPOCHS),$(call task_tok,$1,lm),,--valid-frac 0.1 $(PRETRAIN_FLAGS)))$(call _dsdir,$1)/$(PRESET)/$2/pt-none$(_atag)$(_swtag)/lm-e$(LMTUNE_EPOCHS).arrow

# ------------------------------------------------------------------ clftune
define _clf_rule # 1 out, 2 dir, 3 LM ("" = from scratch), 4 train, 5 mode, 6 epochs, 7 seed, 8 flags
ifndef _done.$1
_done.$1 := 1
$1: $3 $4 | $(BIN)/clftune $(_TOOLS)
	@echo "== clftune $2: mode $5, $6 epochs, seed $7, $(if $3,from $3,from scratch) -> $1"
	@$(STAGE) $1 $(BIN)/clftune $(if $3,--from $3,--from-scratch --preset $(PRESET) $(_arch)) $(call _bwd,$2) --data $4 --mode $5 --epochs $6 --seed $7 --valid-frac $(VALID_FRAC) --threads $(THREADS) --log $(1:.arrow=.jsonl) $$(if $$(wildcard $(1:.arrow=.ckpt.arrow)),--resume) $8 -o $1
endif
endef
# clf DS,DIR,LM,MODE[,TRAIN,TAG,SEED]: the classifier fine-tuned from LM (an lmtune
# or pretrained artifact; "" = from scratch) on DS's train split (or TRAIN; TAG
# then names it in the path), with seed SEED (default $(SEED)).
_clf_path = $(if $3,$(if $(filter $(call _dsdir,$1)/%,$3),$(basename $3),$(call _dsdir,$1)/$(PRESET)/$2/$(pt_tag)/no-lmtune),$(call _dsdir,$1)/$(PRESET)/$2/scratch$(_atag)$(_swtag))/clf-$4-e$(EPOCHS)-s$(or $7,$(SEED))$(call _x,$(CLF_FLAGS))$6.arrow
clf = $(eval $(call _clf_rule,$(call _clf_path,$1,$2,$3,$4,$5,$6,$7),$2,$3,$(or $5,$(call task_tok,$1,train)),$4,$(EPOCHS),$(or $7,$(SEED)),$(CLF_FLAGS)))$(call _clf_path,$1,$2,$3,$4,$5,$6,$7)

# ------------------------------------------------------------------ evaluate, ensemble, report
define _eval_rule # 1 out, 2 model, 3 data
ifndef _done.$1
_done.$1 := 1
$1: $2 $3 | $(BIN)/evaluate $(_TOOLS)
	@echo "== evaluate $2 on $3"
	@$(STAGE) $1 $(BIN)/evaluate --model $2 --data $3 --threads $(THREADS) --metrics $(1:.preds.arrow=.metrics.json) -o $1
endif
endef
# preds CLF,DS: the test-set predictions of CLF (metrics next to it, .metrics.json).
preds = $(eval $(call _eval_rule,$(basename $1).test.preds.arrow,$1,$(call task_tok,$2,test)))$(basename $1).test.preds.arrow

define _ens_rule # 1 out, 2 inputs
ifndef _done.$1
_done.$1 := 1
$1: $2 | $(BIN)/ensemble $(_TOOLS)
	@echo "== ensemble $2"
	@$(STAGE) $1 $(BIN)/ensemble $2 --metrics $(1:.preds.arrow=.metrics.json) -o $1
endif
endef
# ensemble FWD_PREDS: the fwd+bwd average (the bwd path is FWD's with /bwd/).
ensemble = $(eval $(call _ens_rule,$(call _ens,$1),$1 $(subst /fwd/,/bwd/,$1)))$(call _ens,$1)

define _report_rule # 1 out dir, 2 preds, 3 logs
ifndef _done.$1
_done.$1 := 1
$1/report.md: $2 | $(BIN)/evaluate
	@echo "== report $2 -> $1"
	@$(BIN)/evaluate report $2 $(foreach l,$3,--log $l) --out-dir $1
endif
endef
# report PREDS,LOGS,DIR: evaluate report into DIR; returns DIR/report.md.
report = $(eval $(call _report_rule,$3,$1,$2))$3/report.md

# ------------------------------------------------------------------ a data set's DAG
# $(call dataset_dag,DS) defines: DS (the whole DAG for the directions in DIR:
# lmtune, clftune, evaluate, and with both directions the ensemble and a report),
# DS-tok, DS-lm (fine-tuned LMs), DS-scratch (the from-scratch baseline) and
# DS-results (print the test errors), DS-metrics (print the paths of the classifiers'
# test metrics, one a line). Paths are fixed by the current variables.
# Without <DS>_TEST_SRC the DAG ends with the classifiers (no test predictions,
# ensemble, report or from-scratch baseline): clftune's validation holdout is
# then the only measure.
define _missing_rule # 1 ds, 2 file
ifndef _done.$2
_done.$2 := 1
$2:
	@echo "$1: $2 not found: run 'make download-$1' and then 'make $1 DATA_DIR=$(DOWNLOAD_DIR)', or name a folder that has it with DATA_DIR=..." >&2; exit 2
endif
endef

# <DS>_MADE_SRC: sources that a rule of the data set's fragment makes (a sample), so
# their absence is no missing download.
define dataset_dag
$(eval _ds.$1.missing := $(foreach f,$(filter-out $($1_MADE_SRC),$($1_TRAIN_SRC) $($1_TEST_SRC) $($1_LM_SRC)),$(if $(wildcard $f),,$f)))
$(foreach f,$(_ds.$1.missing),$(eval $(call _missing_rule,$1,$f)))
$(eval _ds.$1.ft   := $(foreach d,$(DIR),$(call lmtune,$1,$d,$(LMTUNE_VARIANT))))
$(eval _ds.$1.clf  := $(foreach d,$(DIR),$(call clf,$1,$d,$(call lmtune,$1,$d,$(LMTUNE_VARIANT)),$(CLF_MODE))))
$(eval _ds.$1.pred := $(if $($1_TEST_SRC),$(foreach c,$(_ds.$1.clf),$(call preds,$c,$1))))
$(eval _ds.$1.ens  := $(if $(_ds.$1.pred),$(if $(filter fwd,$(DIR)),$(if $(filter bwd,$(DIR)),$(call ensemble,$(call _with,/fwd/,$(_ds.$1.pred)))))))
$(eval _ds.$1.rep  := $(if $(_ds.$1.ens),$(call report,$(_ds.$1.ens),$(_ds.$1.clf:.arrow=.jsonl),$(_ds.$1.ens:.test.preds.arrow=.report))))
$(eval _ds.$1.scr  := $(if $($1_TEST_SRC),$(foreach d,$(DIR),$(call preds,$(call clf,$1,$d,,scratch),$1))))
.PHONY: $1 $1-tok $1-lm $1-scratch $1-results $1-metrics
$1: $(_ds.$1.missing) $(_ds.$1.pred) $(_ds.$1.ens) $(_ds.$1.rep) $(_ds.$1.clf)
	@$$(MAKE) --no-print-directory $1-results
$1-tok: $(_ds.$1.missing) $(call task_tok,$1,train) $(if $($1_TEST_SRC),$(call task_tok,$1,test))
$1-lm: $(_ds.$1.missing) $(_ds.$1.ft)
$1-scratch: $(_ds.$1.missing) $(_ds.$1.scr)
$1-results:
	@scripts/results.sh --skip-missing $(foreach p,$(_ds.$1.pred) $(_ds.$1.ens) $(_ds.$1.scr),$(p:.preds.arrow=.metrics.json))
$1-metrics:
	@printf '%s\n' $(foreach p,$(_ds.$1.pred),$(p:.preds.arrow=.metrics.json))
endef

# ------------------------------------------------------------------ pretrained LMs alone
# make lm [LM_CORPUS=gutenberg] [PRESET=...] [PRETRAIN_EPOCHS=...]: the pretrained
# LMs of the directions in DIR (nothing to do when shipped ones are used).
.PHONY: lm
lm: $(foreach d,$(DIR),$(call lm_pretrained,$d))
	@echo "pretrained LMs: $^"

# ------------------------------------------------------------------ housekeeping
.PHONY: clean-pipelines
clean-pipelines:
	rm -rf $(OUT_DIR)/lm $(OUT_DIR)/trec6 $(OUT_DIR)/imdb $(OUT_DIR)/reuters $(OUT_DIR)/ag_news $(OUT_DIR)/exp
clean: clean-pipelines

endif # _ULMFIT_MK
