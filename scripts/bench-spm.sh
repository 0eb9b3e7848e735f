#!/bin/sh
# SentencePiece encoding speed: tokenize/sentencepiece against Google's spm_encode, on the
# same text with the same model, in the same run (make bench-spm; bench/README.md).
# spm_train makes an 8000-piece unigram model (nmt_nfkc, spm's default normalizer) from the
# first 20 MB of Gutenberg train; then WINDOWS times, interleaved: spm_encode (one process,
# ids to /dev/null, file read included) and BenchmarkEncode (one goroutine, line by line)
# and BenchmarkEncodeParallel (2 goroutines) on the first 4 MB of Gutenberg valid. Prints
# each window, the medians and ours/spm_encode; checks first that the ids agree on every
# line (TestLargeParity). Needs spm_train/spm_encode (apt-get install sentencepiece).
set -eu
GUT_DIR=${GUT_DIR:-../shared/data/gutenberg}
WINDOWS=${WINDOWS:-5}
GO=${GO:-go}
command -v spm_encode >/dev/null || { echo "bench-spm: spm_encode not found (apt-get install sentencepiece)" >&2; exit 2; }
[ -f "$GUT_DIR/train.txt.zst" ] || { echo "bench-spm: $GUT_DIR/train.txt.zst not found (GUT_DIR=...)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zstd -dc --long=31 "$GUT_DIR/train.txt.zst" | head -c 20000000 >"$tmp/train.txt"
zstd -dc --long=31 "$GUT_DIR/valid.txt.zst" | head -c 4194304 >"$tmp/valid.raw"
# whole lines only (BenchmarkEncode cuts the same way)
awk -v n="$(wc -c <"$tmp/valid.raw")" 'BEGIN{t=0} {t+=length($0)+1; if (t<=n) print}' "$tmp/valid.raw" >"$tmp/valid.txt"
spm_train --input="$tmp/train.txt" --model_prefix="$tmp/g8k" --vocab_size=8000 \
	--input_sentence_size=200000 --shuffle_input_sentence=true --num_threads=2 --minloglevel=2 >/dev/null 2>&1
(cd tokenize/sentencepiece && $GO test -c -o "$tmp/sp.test" .)
export SPM_BENCH_MODEL="$tmp/g8k.model" SPM_BENCH_TEXT="$tmp/valid.txt"
(cd tokenize/sentencepiece && "$tmp/sp.test" -test.run '^TestLargeParity$' -test.count 1 >/dev/null) ||
	{ echo "bench-spm: our ids differ from spm_encode's" >&2; exit 1; }
bytes=$(wc -c <"$tmp/valid.txt")
echo "text: $bytes bytes of Gutenberg valid; model: 8000-piece unigram (nmt_nfkc) from spm_train"
printf '%-8s %14s %14s %14s\n' window spm_encode ours_1 ours_2
: >"$tmp/rows"
i=1
while [ "$i" -le "$WINDOWS" ]; do
	s=$(date +%s.%N)
	spm_encode --model="$tmp/g8k.model" --output_format=id <"$tmp/valid.txt" >/dev/null
	e=$(date +%s.%N)
	ref=$(echo "scale=3; $bytes / ($e - $s) / 1000000" | bc)
	out=$(cd tokenize/sentencepiece && "$tmp/sp.test" -test.run '^$' -test.bench '^BenchmarkEncode(Parallel)?$' -test.benchtime 3x -test.cpu 2)
	one=$(echo "$out" | awk '/^BenchmarkEncode-/ {for (k=1;k<=NF;k++) if ($(k+1)=="MB/s") print $k}')
	two=$(echo "$out" | awk '/^BenchmarkEncodeParallel-/ {for (k=1;k<=NF;k++) if ($(k+1)=="MB/s") print $k}')
	printf '%-8s %11s MB/s %9s MB/s %9s MB/s\n' "$i" "$ref" "$one" "$two"
	echo "$ref $one $two" >>"$tmp/rows"
	i=$((i + 1))
done
med() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
r=$(cut -d' ' -f1 "$tmp/rows" | med)
o1=$(cut -d' ' -f2 "$tmp/rows" | med)
o2=$(cut -d' ' -f3 "$tmp/rows" | med)
printf '%-8s %11s MB/s %9s MB/s %9s MB/s\n' median "$r" "$o1" "$o2"
echo "ours/spm_encode: $(echo "scale=2; $o1 / $r" | bc)x (one goroutine), $(echo "scale=2; $o2 / $r" | bc)x (two)"
