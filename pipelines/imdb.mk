# IMDb movie reviews (Maas et al. 2011): 25k train / 25k test, 2 classes, 50k unlabeled.
#   make imdb                  fwd + bwd: lmtune (train + unsup text), clftune, evaluate, ensemble, report
#   make imdb DIR=fwd EPOCHS=3 PRESET=small SEED=2
#   make -n imdb               the plan; imdb-tok, imdb-lm, imdb-scratch, imdb-results as for trec6
#   make download-imdb         fetch aclImdb_v1.tar.gz (internet), then make imdb DATA_DIR=downloads
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
