#!/bin/sh
# Regenerates the fixtures of train_test.go with the reference SentencePiece tools
# (spm_train/spm_encode 0.1.97): a small English text from the Gutenberg validation
# split (train.txt, ~150 KB: the first whole lines of the first books), held-out lines
# from a later book (heldout.txt, ~60 KB), the unigram model spm_train makes from
# train.txt with the options TestTrainQuality gives Train (spm.model: vocab_size 1000,
# identity normalization, no <s>/</s>/<pad>, whole lines however long), and that
# model's segmentation of the held-out lines (heldout.spm.txt, spm_encode's pieces).
#
# Usage: sh gen.sh [valid.txt.zst]
set -eu
cd "$(dirname "$0")"
src=${1:-../../../../../shared/data/gutenberg/valid.txt.zst}
zstd -dc "$src" | awk '{ n += length($0) + 1; if (n > 150000) exit; print }' > train.txt
zstd -dc "$src" | awk 'NR >= 7704 { n += length($0) + 1; if (n > 60000) exit; print }' > heldout.txt
spm_train --input=train.txt --model_prefix=spm --model_type=unigram --vocab_size=1000 \
	--character_coverage=0.9995 --normalization_rule_name=identity \
	--bos_id=-1 --eos_id=-1 --pad_id=-1 --max_sentence_length=65536 \
	--num_threads=1 --minloglevel=2
rm -f spm.vocab
spm_encode --model=spm.model --output_format=piece < heldout.txt > heldout.spm.txt
