# The shipped pretrained LMs: models/lm-small-{fwd,bwd}.arrow, rebuilt by
#   make -j2 models-lm             (hours per direction on one core, side by side: see models/README.md)
# exactly as they were made: the small preset trained for one epoch on the whole Gutenberg training
# text (40.9M words, 53.0M tokens), vocabulary the 12,000 most frequent tokens of all of Gutenberg train + the
# WikiText-103 prefix, fastai's pretraining dropouts (--drop-mult 0.1), one-cycle LR 5e-3, seed 1,
# one thread each, validated every 1,000 steps on the last 2,000 paragraphs of Gutenberg valid;
# then compacted for shipping (optimizer and training state dropped, weights rounded to bfloat16
# precision). An interrupted run (Ctrl-C, a killed make) continues from its checkpoint on the
# next make. MODELS_WORK may live outside the work tree (a run that spans sessions); the
# artifacts' lineage records the input paths as given, so the shipped bytes come back only with
# MODELS_WORK=/root/ulmfit-lm, and only on the native GEMM they were trained with (AVX2 or
# AVX-512; it is asked for, and checked, since AVX2 CPUs default to OpenBLAS; models/README.md),
# in fp32 (--precision fp32: an AVX512_BF16 CPU would otherwise train in bf16).
GUT_DIR     ?= ../shared/data/gutenberg
MODELS_WORK ?= out/models
# MODELS_BYTES: train on only the first N bytes of Gutenberg train (empty: all of it).
MODELS_BYTES ?=
MODELS_VALID_LINES ?= 2000

.PHONY: models-lm
models-lm: $(MODELS_WORK)/lm-small-fwd.compact.arrow $(MODELS_WORK)/lm-small-bwd.compact.arrow
	cp $(MODELS_WORK)/lm-small-fwd.compact.arrow models/lm-small-fwd.arrow
	cp $(MODELS_WORK)/lm-small-bwd.compact.arrow models/lm-small-bwd.arrow

$(MODELS_WORK)/vocab.tokens.arrow: | build
	@mkdir -p $(@D)
	$(BIN)/tokenize --no-label --max-vocab 12000 -o $@ $(GUT_DIR)/train.txt.zst data/wikitext103/train_prefix.tokens.zst

$(MODELS_WORK)/train.txt:
	@mkdir -p $(@D)
	zstdcat --long=31 $(GUT_DIR)/train.txt.zst $(if $(MODELS_BYTES),| head -c $(MODELS_BYTES)) > $@.tmp && mv $@.tmp $@

$(MODELS_WORK)/valid.txt:
	@mkdir -p $(@D)
	zstdcat --long=31 $(GUT_DIR)/valid.txt.zst | tail -n $(MODELS_VALID_LINES) > $@.tmp && mv $@.tmp $@

$(MODELS_WORK)/train.arrow $(MODELS_WORK)/valid.arrow: $(MODELS_WORK)/%.arrow: $(MODELS_WORK)/%.txt $(MODELS_WORK)/vocab.tokens.arrow
	$(BIN)/tokenize --no-label --vocab $(MODELS_WORK)/vocab.tokens.arrow -o $@ $<

$(MODELS_WORK)/lm-small-fwd.arrow $(MODELS_WORK)/lm-small-bwd.arrow: $(MODELS_WORK)/lm-small-%.arrow: $(MODELS_WORK)/train.arrow $(MODELS_WORK)/valid.arrow
	$(call need_native_gemm,ULMFIT_BLAS=native,make models-lm: the $* LM)
	ULMFIT_BLAS=native $(BIN)/pretrain --preset small --threads 1 --precision fp32 --epochs 1 --drop-mult 0.1 --seed 1 $(if $(wildcard $(@:.arrow=.ckpt.arrow)),--resume) \
	  $(if $(filter bwd,$*),--backward) --valid $(MODELS_WORK)/valid.arrow --valid-every 1000 \
	  --checkpoint-every 10 --log $(MODELS_WORK)/lm-small-$*.jsonl -o $@ $(MODELS_WORK)/train.arrow

$(MODELS_WORK)/lm-small-fwd.compact.arrow $(MODELS_WORK)/lm-small-bwd.compact.arrow: $(MODELS_WORK)/lm-small-%.compact.arrow: $(MODELS_WORK)/lm-small-%.arrow
	$(BIN)/artifacts compact --bf16 --drop-opt --drop-train-state $< $@
