# The paper's analysis on TREC-6, at the scale this machine allows. Each target
# trains what it needs (reusing every artifact already built with the same
# lineage), then writes a Markdown table next to the paper's numbers into
# out/exp/<preset>/ (and prints it):
#   make exp-table4    with / without general-domain pretraining (paper Table 4)
#   make exp-table6    LM fine-tuning: none, Full, Full + discr, Full + discr + stlr (Table 6)
#   make exp-table7    classifier fine-tuning modes, from scratch to Freez + discr + stlr (Table 7)
#   make exp-lowshot   100, 200, 500, 1000, all labels: supervised, semi-supervised,
#                      from scratch (Figure 3), a table and (with `evaluate plot`) a PNG
#   make experiments   all four
#   make exp-recipe    classifier recipes (pipelines/recipes-<preset>.tsv: epochs, LM fine-tuning
#                      epochs, clftune flags) on TREC-6 and a 1,000-review IMDb sample, chosen on
#                      the validation holdout; writes out/exp/<preset>/recipe-<ds>.md
#   make -j2 exp-bf16  bf16-rounded matrix-product inputs against fp32 in pretraining (issue
#                      15's numerics; the emulation, so any AVX2 or AVX-512 CPU): the small preset,
#                      one epoch over the first EXP_BF16_BYTES of Gutenberg train from the same seed,
#                      the two runs side by side, one thread each; writes out/exp/bf16/curve.{md,png}.
#                      EXP_BF16_GEMM=native: the bf16 run is `pretrain --precision bf16` on
#                      AVX512_BF16's VDPBF16PS instead (such a CPU only); out/exp/bf16-native/
# Variables: EXP_PRESET (default tiny), EXP_SEEDS (1 2 3), EXP_DIR (fwd), EPOCHS,
# LMTUNE_EPOCHS, PRETRAIN_EPOCHS, EXP_LM_LINES (lines of the WikiText-103 prefix to
# pretrain on; empty = all), EXP_SIZES (low-shot sizes), and the usual stage flags.
# Every run holds out 10% of its training labels for validation (VALID_FRAC), as
# the paper does; the tables give the best validation error (what the paper's
# Tables 4, 6 and 7 report) and the test error, mean and [min, max] over the seeds.
include $(dir $(lastword $(MAKEFILE_LIST)))ulmfit.mk
include $(dir $(lastword $(MAKEFILE_LIST)))trec6.mk
ifndef _EXPERIMENTS_MK
_EXPERIMENTS_MK := 1

EXP_PRESET   ?= tiny
EXP_SEEDS    ?= 1 2 3
EXP_DIR      ?= fwd
EXP_LM_LINES ?=
EXP_SIZES    ?= 100 200 500 1000
EXP_JOBS     ?= 1
_exp_vars = PRESET=$(EXP_PRESET) DIR=$(EXP_DIR) LM_LINES=$(EXP_LM_LINES) EXP_SEEDS="$(EXP_SEEDS)" EXP_SIZES="$(EXP_SIZES)"

EXP_RECIPES   ?= pipelines/recipes-$(EXP_PRESET).tsv
EXP_RECIPE_DS ?= trec6 imdb1k

.PHONY: experiments exp-table4 exp-table6 exp-table7 exp-lowshot exp-recipe

# exp-bf16: the word vocabulary of the shipped LMs; validation on the last 2,000 paragraphs of
# Gutenberg valid (as models.mk). 19.5 MB: 4.58M tokens, about 2,100 steps of 32 x 70.
# ULMFIT_BLAS=native in both runs, so that they differ in the rounding alone.
EXP_BF16_BYTES       ?= 19500000
EXP_BF16_VALID_EVERY ?= 250
EXP_BF16_GEMM        ?= emulate
_bf16_native := $(filter native,$(EXP_BF16_GEMM))
_bf16o := $(OUT_DIR)/exp/bf16$(if $(_bf16_native),-native)
.PHONY: exp-bf16
exp-bf16: $(_bf16o)/curve.md
$(_bf16o)/curve.md: $(_bf16o)/lm-fp32.arrow $(_bf16o)/lm-bf16.arrow scripts/bf16-curve.sh
	scripts/bf16-curve.sh $(_bf16o)/curve $(BIN)/evaluate $(_bf16o)/lm-fp32.jsonl $(_bf16o)/lm-bf16.jsonl
$(_bf16o)/train.txt:
	@mkdir -p $(@D)
	zstdcat --long=31 $(GUT_DIR)/train.txt.zst | head -c $(EXP_BF16_BYTES) > $@.tmp && mv $@.tmp $@
$(_bf16o)/valid.txt:
	@mkdir -p $(@D)
	zstdcat --long=31 $(GUT_DIR)/valid.txt.zst | tail -n 2000 > $@.tmp && mv $@.tmp $@
$(_bf16o)/train.arrow $(_bf16o)/valid.arrow: $(_bf16o)/%.arrow: $(_bf16o)/%.txt | build
	$(BIN)/tokenize --no-label --vocab models/lm-small-fwd.arrow -o $@ $<
# Both runs must get the native GEMM (where it is missing, ULMFIT_BLAS=native and the
# emulation fall back to other GEMMs without failing): checked with --version first.
# The native bf16 run asks for it as a user does (--precision bf16), and is checked with the
# environment that gives the same backend.
_bf16_env = ULMFIT_BLAS=native ULMFIT_GEMM_BF16=$(if $(filter bf16,$1),$(if $(_bf16_native),native,emulate))
_bf16_flag = --precision $(if $(and $(filter bf16,$1),$(_bf16_native)),bf16,fp32)
$(_bf16o)/lm-fp32.arrow $(_bf16o)/lm-bf16.arrow: $(_bf16o)/lm-%.arrow: $(_bf16o)/train.arrow $(_bf16o)/valid.arrow
	$(call need_native_gemm,$(call _bf16_env,$*),make exp-bf16: the $* run,$(if $(filter bf16,$*),$(if $(_bf16_native),avx512_bf16*,bf16-rounded*)))
	$(if $(_bf16_native),ULMFIT_BLAS=native,$(call _bf16_env,$*)) nice $(BIN)/pretrain --preset small --threads 1 $(call _bf16_flag,$*) \
	  --epochs 1 --drop-mult 0.1 --seed 1 $(if $(wildcard $(@:.arrow=.ckpt.arrow)),--resume) --valid $(_bf16o)/valid.arrow \
	  --valid-every $(EXP_BF16_VALID_EVERY) --checkpoint-every 10 --log $(@:.arrow=.jsonl) -o $@ $<

experiments: exp-table4 exp-table6 exp-table7 exp-lowshot
exp-table4 exp-table6 exp-table7 exp-lowshot:
	@$(MAKE) --no-print-directory -j$(EXP_JOBS) _$@ $(_exp_vars) _EXP_RULES=1

exp-recipe: build
	@for ds in $(EXP_RECIPE_DS); do \
	  SEEDS="$(EXP_SEEDS)" scripts/recipe-sweep.sh $(OUT_DIR)/exp/$(EXP_PRESET)/recipe-$$ds.md $(EXP_RECIPES) $$ds PRESET=$(EXP_PRESET) || exit 1; \
	done

# The rules below are generated only in that sub-make (so other targets do not
# pay for them); their paths come from its variables.
ifdef _EXP_RULES
_xd   := $(EXP_DIR)
_expo := $(OUT_DIR)/exp/$(PRESET)
_seedrows = $(foreach s,$(EXP_SEEDS),$(call preds,$(call $1,$s),trec6))
_m = $(foreach p,$1,$(p:.preds.arrow=.metrics.json))
_note = Measured: TREC-6, $(PRESET) preset, $(_xd) models, LM pretrained on $(corpus_tag) ($(PRETRAIN_EPOCHS) epoch), LM fine-tuning $(LMTUNE_EPOCHS) epochs, classifier $(EPOCHS) epochs, 10% validation holdout; paper: validation error, AWD-LSTM at full size (Howard & Ruder 2018).

_ft     = $(call lmtune,trec6,$(_xd),$1)
_ulm    = $(call clf,trec6,$(_xd),$(call _ft,discr-stlr),$1,,,$2)

# Table 4: with / without pretraining (the "without" LM is trained from random
# weights on TREC-6 text only, as long as LM fine-tuning runs).
_t4.with = $(call _ulm,ulmfit,$1)
_t4.none = $(call clf,trec6,$(_xd),$(call lm_nopretrain,trec6,$(_xd)),ulmfit,,,$1)
_t4 := $(call _seedrows,_t4.with) $(call _seedrows,_t4.none)
.PHONY: _exp-table4
_exp-table4: $(_t4)
	@scripts/exp-table.sh $(_expo)/table4.md "Table 4: pretraining (TREC-6 error %)" "$(_note)" \
	  :: "Without pretraining" 10.67 $(call _m,$(call _seedrows,_t4.none)) \
	  :: "With pretraining" 5.69 $(call _m,$(call _seedrows,_t4.with))

# Table 6: LM fine-tuning variants, classifier always the ULMFiT recipe.
_t6.none   = $(call clf,trec6,$(_xd),$(call lm_pretrained,$(_xd)),ulmfit,,,$1)
_t6.full   = $(call clf,trec6,$(_xd),$(call _ft,full),ulmfit,,,$1)
_t6.discr  = $(call clf,trec6,$(_xd),$(call _ft,discr),ulmfit,,,$1)
_t6.ulmfit = $(call _ulm,ulmfit,$1)
_t6 := $(foreach r,none full discr ulmfit,$(call _seedrows,_t6.$r))
.PHONY: _exp-table6
_exp-table6: $(_t6)
	@scripts/exp-table.sh $(_expo)/table6.md "Table 6: LM fine-tuning (TREC-6 error %)" "$(_note)" \
	  :: "No LM fine-tuning" 6.38 $(call _m,$(call _seedrows,_t6.none)) \
	  :: "Full" 6.54 $(call _m,$(call _seedrows,_t6.full)) \
	  :: "Full + discr" 6.36 $(call _m,$(call _seedrows,_t6.discr)) \
	  :: "Full + discr + stlr" 5.69 $(call _m,$(call _seedrows,_t6.ulmfit))

# Table 7: classifier fine-tuning modes, all from the ULMFiT-fine-tuned LM.
_t7.modes := scratch full full-discr last chain-thaw freez freez-discr freez-stlr freez-cos ulmfit
_t7.scratch = $(call clf,trec6,$(_xd),,scratch,,,$1)
$(foreach m,$(filter-out scratch,$(_t7.modes)),$(eval _t7.$m = $$(call _ulm,$m,$$1)))
_t7 := $(foreach m,$(_t7.modes),$(call _seedrows,_t7.$m))
.PHONY: _exp-table7
_exp-table7: $(_t7)
	@scripts/exp-table.sh $(_expo)/table7.md "Table 7: classifier fine-tuning (TREC-6 error %)" "$(_note)" \
	  :: "From scratch" 13.36 $(call _m,$(call _seedrows,_t7.scratch)) \
	  :: "Full" 6.86 $(call _m,$(call _seedrows,_t7.full)) \
	  :: "Full + discr" 6.21 $(call _m,$(call _seedrows,_t7.full-discr)) \
	  :: "Last" 16.09 $(call _m,$(call _seedrows,_t7.last)) \
	  :: "Chain-thaw" 6.71 $(call _m,$(call _seedrows,_t7.chain-thaw)) \
	  :: "Freez" 6.86 $(call _m,$(call _seedrows,_t7.freez)) \
	  :: "Freez + discr" 5.86 $(call _m,$(call _seedrows,_t7.freez-discr)) \
	  :: "Freez + stlr" 6.02 $(call _m,$(call _seedrows,_t7.freez-stlr)) \
	  :: "Freez + cos" 6.38 $(call _m,$(call _seedrows,_t7.freez-cos)) \
	  :: "Freez + discr + stlr" 5.69 $(call _m,$(call _seedrows,_t7.ulmfit))

# Figure 3, low-shot: N labeled questions (a seeded sample, the seed also the
# classifier's). Supervised: the LM fine-tuned on the N questions' text only;
# semi-supervised: the LM fine-tuned on all TREC-6 training text; from scratch:
# no LM. "all" = the whole training set.
define _sub_rule # 1 out csv, 2 seed, 3 n
ifndef _done.$1
_done.$1 := 1
$1: $(trec6_TRAIN_SRC)
	scripts/subset.sh $2 $3 $(trec6_TRAIN_SRC) $1
endif
endef
_sub_csv = $(eval $(call _sub_rule,$(OUT_DIR)/trec6/src/train-n$1-s$2.csv,$2,$1))$(OUT_DIR)/trec6/src/train-n$1-s$2.csv
_sub_tok = $(eval $(call _tok_rule,$(OUT_DIR)/trec6/tok/train-n$1-s$2.arrow,$(call _sub_csv,$1,$2),$(trec6_TOK_FLAGS) --vocab $(call task_tok,trec6,lm) --labels-from $(call task_tok,trec6,train),$(call task_tok,trec6,train)))$(OUT_DIR)/trec6/tok/train-n$1-s$2.arrow
# _ls.ARM N,SEED: the test predictions of one low-shot run.
_ls.supervised = $(call preds,$(if $(filter all,$1),$(call _ulm,ulmfit,$2),$(call clf,trec6,$(_xd),$(call lmtune,trec6,$(_xd),discr-stlr,$(call _sub_tok,$1,$2),-n$1-s$2),ulmfit,$(call _sub_tok,$1,$2),-n$1,$2)),trec6)
_ls.semi       = $(call preds,$(if $(filter all,$1),$(call _ulm,ulmfit,$2),$(call clf,trec6,$(_xd),$(call _ft,discr-stlr),ulmfit,$(call _sub_tok,$1,$2),-n$1,$2)),trec6)
_ls.scratch    = $(call preds,$(if $(filter all,$1),$(call clf,trec6,$(_xd),,scratch,,,$2),$(call clf,trec6,$(_xd),,scratch,$(call _sub_tok,$1,$2),-n$1,$2)),trec6)
_ls_runs = $(foreach s,$(EXP_SEEDS),$(call _ls.$1,$2,$s))
_ls_arms  := supervised semi scratch
_ls_sizes := $(EXP_SIZES) all
_ls := $(foreach a,$(_ls_arms),$(foreach n,$(_ls_sizes),$(call _ls_runs,$a,$n)))
.PHONY: _exp-lowshot
_exp-lowshot: $(_ls)
	@scripts/exp-table.sh $(_expo)/lowshot.md "Figure 3: low-shot TREC-6 (error %)" "$(_note) Rows: labeled training questions N (all = 5,452), minus the 10% validation holdout. Paper (Figure 3, TREC-6): ULMFiT needs far fewer labels than training from scratch; the semi-supervised variant is best at 100 labels." \
	  $(foreach n,$(_ls_sizes),$(foreach a,$(_ls_arms),:: "$a, N=$n" - $(call _m,$(call _ls_runs,$a,$n))))
	@scripts/lowshot-plot.sh $(_expo)/lowshot.tsv $(_expo)/lowshot.png $(BIN)/evaluate
endif # _EXP_RULES

endif # _EXPERIMENTS_MK
