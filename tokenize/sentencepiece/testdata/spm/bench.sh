#!/bin/sh
# Encoding speed, this package against spm_encode, on the same text in the same run.
# Trains an 8000-piece unigram model (nmt_nfkc) with spm_train on the first 20 MB of the
# Gutenberg training text, then encodes the first 4 MB of the validation text with
# spm_encode (one process, one thread, ids written to /dev/null) and with
# BenchmarkEncode / BenchmarkEncodeParallel, and checks the ids agree (TestLargeParity).
# Run from tokenize/sentencepiece: sh testdata/spm/bench.sh
set -eu
data=/work/shared/data/gutenberg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zstd -dc "$data/train.txt.zst" | head -c 20000000 >"$tmp/train.txt"
zstd -dc "$data/valid.txt.zst" | head -c 4194304 >"$tmp/valid.txt"
# BenchmarkEncode cuts at the last newline of the first 4 MiB; so does this.
python3 -c "import sys; b=open(sys.argv[1],'rb').read(); open(sys.argv[1],'wb').write(b[:b.rfind(b'\n')+1])" "$tmp/valid.txt"
nice -n 15 spm_train --input="$tmp/train.txt" --model_prefix="$tmp/g8k" --vocab_size=8000 \
	--input_sentence_size=200000 --shuffle_input_sentence=true --num_threads=2 --minloglevel=2 >/dev/null 2>&1
bytes=$(wc -c <"$tmp/valid.txt")
for i in 1 2 3; do
	s=$(date +%s.%N)
	nice -n 15 spm_encode --model="$tmp/g8k.model" --output_format=id <"$tmp/valid.txt" >/dev/null
	e=$(date +%s.%N)
	echo "spm_encode: $bytes bytes in $(echo "$e - $s" | bc) s: $(echo "scale=2; $bytes / ($e - $s) / 1000000" | bc) MB/s"
done
SPM_BENCH_MODEL=$tmp/g8k.model nice -n 15 go test -run TestLargeParity -bench 'Encode' -benchtime 5x .
