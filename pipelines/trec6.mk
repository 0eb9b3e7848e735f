# TREC-6 question classification (Li & Roth 2002): 5,452 train / 500 test, 6 classes.
#   make trec6                      fwd + bwd: lmtune, clftune, evaluate, ensemble, report
#   make trec6 DIR=bwd PRESET=tiny  one direction, tiny preset
#   make trec6-scratch              the from-scratch baseline classifier(s)
#   make trec6-tok | trec6-lm       only the tokens / the fine-tuned LMs
#   make -n trec6                   the plan, without running anything
#   make download-trec6             fetch the original CogComp files (internet)
# Data: data/trec/{train,test}.csv.zst (the embedded copy, the same bytes as
# ../shared/data/trec), or DATA_DIR/trec/ when DATA_DIR is given, where the
# original train_5500.label / TREC_10.label also work.
include $(dir $(lastword $(MAKEFILE_LIST)))ulmfit.mk
ifndef _TREC6_MK
_TREC6_MK := 1

_trec_src = $(firstword $(wildcard $(addprefix $(EMBED_DIR)/trec/,$1)) $(EMBED_DIR)/trec/$(firstword $1))
trec6_TRAIN_SRC ?= $(call _trec_src,train.csv.zst train.csv train_5500.label train_5500.label.zst)
trec6_TEST_SRC  ?= $(call _trec_src,test.csv.zst test.csv TREC_10.label TREC_10.label.zst)
trec6_LM_SRC    ?= $(trec6_TRAIN_SRC)
trec6_TOK_FLAGS ?=
trec6_VOCAB     ?= 60000

$(eval $(call dataset_dag,trec6))

# The original files from the Cognitive Computation Group (UIUC); sha256 of the
# official files (the same as data/trec/*.label.zst decompressed).
TREC_URL ?= https://cogcomp.seas.upenn.edu/Data/QA/QC
.PHONY: download-trec6
download-trec6:
	scripts/fetch.sh $(TREC_URL)/train_5500.label $(DOWNLOAD_DIR)/trec/train_5500.label sha256 9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3
	scripts/fetch.sh $(TREC_URL)/TREC_10.label $(DOWNLOAD_DIR)/trec/TREC_10.label sha256 033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e
	@echo "now: make trec6 DATA_DIR=$(DOWNLOAD_DIR)"

endif # _TREC6_MK
