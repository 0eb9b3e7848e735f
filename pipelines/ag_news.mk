# AG News (Zhang et al. 2015): 120k train / 7.6k test, 4 classes (1 World, 2 Sports,
# 3 Business, 4 Sci/Tech).
# Only the test split is in ../shared/data, so `make ag_news` stops at the missing
# train.csv and says what to do; the DAG is the full one for a user who has it:
#   make download-ag_news && make ag_news DATA_DIR=downloads
#   make ag_news DATA_DIR=/path/to/folder/with/ag_news   (train.csv + test.csv, .zst or plain)
#   make -n ag_news DATA_DIR=...  the plan; ag_news-tok, -lm, -scratch, -results as for trec6
# Format: the original ag_news_csv files, no header: class index, title, description.
include $(dir $(lastword $(MAKEFILE_LIST)))ulmfit.mk
ifndef _AG_NEWS_MK
_AG_NEWS_MK := 1

_ag_src = $(firstword $(wildcard $(DATA_DIR)/ag_news/$1.csv.zst $(DATA_DIR)/ag_news/$1.csv) $(DATA_DIR)/ag_news/$1.csv)
ag_news_TRAIN_SRC ?= $(call _ag_src,train)
ag_news_TEST_SRC  ?= $(call _ag_src,test)
ag_news_LM_SRC    ?= $(ag_news_TRAIN_SRC)
ag_news_TOK_FLAGS ?= --no-header --label-col 1 --text-col 2,3
ag_news_VOCAB     ?= 60000

$(eval $(call dataset_dag,ag_news))

# The ag_news_csv files as torchtext fetches them; the md5s are torchtext's
# published ones (our test.csv matches its md5; its sha256 is in ../shared/data/README.md).
AG_NEWS_URL       ?= https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv
AG_NEWS_TRAIN_MD5 ?= b1a00f826fdfbd249f79597b59e1dc12
AG_NEWS_TEST_SHA256 ?= 521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699
.PHONY: download-ag_news
download-ag_news:
	scripts/fetch.sh $(AG_NEWS_URL)/train.csv $(DOWNLOAD_DIR)/ag_news/train.csv md5 $(AG_NEWS_TRAIN_MD5)
	scripts/fetch.sh $(AG_NEWS_URL)/test.csv $(DOWNLOAD_DIR)/ag_news/test.csv sha256 $(AG_NEWS_TEST_SHA256)
	@echo "now: make ag_news DATA_DIR=$(DOWNLOAD_DIR)"

endif # _AG_NEWS_MK
