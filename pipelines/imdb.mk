# IMDb movie reviews (Maas et al. 2011): 25k train / 25k test, 2 classes, 50k unlabeled.
#   make imdb                  fwd + bwd: lmtune (train + unsup text), clftune, evaluate, ensemble, report
#   make imdb DIR=fwd EPOCHS=3 PRESET=small SEED=2
#   make -n imdb               the plan; imdb-tok, imdb-lm, imdb-scratch, imdb-results as for trec6
#   make download-imdb         fetch aclImdb_v1.tar.gz (internet), then make imdb DATA_DIR=downloads
#   make imdb1k                the same DAG on 1,000 sampled train and 1,000 test reviews
# Data: DATA_DIR/imdb/{train,test,unsup}.csv.zst (../shared/data), or the original
# folders DATA_DIR/aclImdb/{train,test}/{pos,neg}/*.txt (+ train/unsup).
# Size: about 20M tokens of LM text; at the small preset on 2 cores LM fine-tuning
# alone is hours per epoch (see docs/results.md), so this is the DAG for a bigger machine.
include $(dir $(lastword $(MAKEFILE_LIST)))ulmfit.mk
ifndef _IMDB_MK
_IMDB_MK := 1

ifneq ($(wildcard $(DATA_DIR)/aclImdb/train),)
imdb_TRAIN_SRC    ?= $(DATA_DIR)/aclImdb/train
imdb_TEST_SRC     ?= $(DATA_DIR)/aclImdb/test
imdb_LM_SRC       ?= $(DATA_DIR)/aclImdb/train
imdb_LM_TOK_FLAGS ?= --unsup
else
imdb_TRAIN_SRC    ?= $(DATA_DIR)/imdb/train.csv.zst
imdb_TEST_SRC     ?= $(DATA_DIR)/imdb/test.csv.zst
imdb_LM_SRC       ?= $(DATA_DIR)/imdb/train.csv.zst $(DATA_DIR)/imdb/unsup.csv.zst
imdb_LM_TOK_FLAGS ?=
endif
imdb_TOK_FLAGS ?=
imdb_VOCAB     ?= 60000

$(eval $(call dataset_dag,imdb))

# imdb1k: a seeded sample of 1,000 training and 1,000 test reviews (scripts/subset.sh,
# seed 1), the second data set on which classifier recipes are checked (`make
# exp-recipe`): long documents, two classes, where TREC-6 has short questions and six.
# The LM is fine-tuned on the sampled training text only.
IMDB_SAMPLE ?= 1000
_imdb_csv = $(firstword $(wildcard $(DATA_DIR)/imdb/$1.csv.zst) ../shared/data/imdb/$1.csv.zst)
$(OUT_DIR)/imdb1k/src/%.csv:
	scripts/subset.sh 1 $(IMDB_SAMPLE) $(call _imdb_csv,$*) $@
imdb1k_TRAIN_SRC ?= $(OUT_DIR)/imdb1k/src/train.csv
imdb1k_TEST_SRC  ?= $(OUT_DIR)/imdb1k/src/test.csv
imdb1k_LM_SRC    ?= $(imdb1k_TRAIN_SRC)
imdb1k_TOK_FLAGS ?=
imdb1k_VOCAB     ?= 60000
imdb1k_MADE_SRC  := $(imdb1k_TRAIN_SRC) $(imdb1k_TEST_SRC)
$(eval $(call dataset_dag,imdb1k))

# Stanford's archive; its md5 is the one published by torchtext and paddle (no
# sha256 has been published that we could confirm).
IMDB_URL ?= https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz
IMDB_MD5 ?= 7c2ac02c03563afcf9b574c7e56c153a
.PHONY: download-imdb
download-imdb:
	scripts/fetch.sh $(IMDB_URL) $(DOWNLOAD_DIR)/aclImdb_v1.tar.gz md5 $(IMDB_MD5)
	tar -xzf $(DOWNLOAD_DIR)/aclImdb_v1.tar.gz -C $(DOWNLOAD_DIR)
	@echo "now: make imdb DATA_DIR=$(DOWNLOAD_DIR)"

endif # _IMDB_MK
