# Reuters-21578, ModApte split (multi-label news topics): 9,603 train / 3,299 test.
#   make reuters               fwd + bwd: lmtune, clftune (sigmoid + BCE), evaluate, ensemble, report
#   make reuters DIR=fwd PRESET=tiny
#   make -n reuters            the plan; reuters-tok, reuters-lm, reuters-scratch, reuters-results
# Data: DATA_DIR/reuters21578/modapte_{train,test}.csv.zst (../shared/data):
# header label,newid,title,text; label = topics joined with ';' (multi-label); the
# document is title + text (xxfld-marked). Documents without a topic have no label
# (1,828 train / 280 test), so they are not scored.
#   make download-reuters REUTERS_SHA256=<digest>   fetch the original collection
# No checksum of reuters21578.tar.gz has been published that we could confirm, so
# the download needs one from you; turning its SGML into modapte_*.csv is described
# in ../shared/data/README.md and is not part of this project.
include $(dir $(lastword $(MAKEFILE_LIST)))ulmfit.mk
ifndef _REUTERS_MK
_REUTERS_MK := 1

reuters_TRAIN_SRC ?= $(firstword $(wildcard $(DATA_DIR)/reuters21578/modapte_train.csv.zst $(DATA_DIR)/reuters21578/modapte_train.csv) $(DATA_DIR)/reuters21578/modapte_train.csv.zst)
reuters_TEST_SRC  ?= $(firstword $(wildcard $(DATA_DIR)/reuters21578/modapte_test.csv.zst $(DATA_DIR)/reuters21578/modapte_test.csv) $(DATA_DIR)/reuters21578/modapte_test.csv.zst)
reuters_LM_SRC    ?= $(reuters_TRAIN_SRC)
reuters_TOK_FLAGS ?= --label-sep ';' --text-col title,text
reuters_VOCAB     ?= 60000
# Some topics occur only in the test split (e.g. cottonseed): the label set is
# that of train + test, so those are classes no training document has.
reuters_LABELS_SRC ?= $(reuters_TRAIN_SRC) $(reuters_TEST_SRC)

$(eval $(call dataset_dag,reuters))

REUTERS_URL    ?= https://kdd.ics.uci.edu/databases/reuters21578/reuters21578.tar.gz
REUTERS_SHA256 ?=
.PHONY: download-reuters
download-reuters:
	scripts/fetch.sh $(REUTERS_URL) $(DOWNLOAD_DIR)/reuters21578.tar.gz sha256 "$(REUTERS_SHA256)"

endif # _REUTERS_MK
