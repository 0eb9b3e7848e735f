#!/bin/sh
# Regenerates the parity fixtures in testdata/spm from the texts in testdata/text with
# Google's reference tools (spm_train, spm_encode, spm_decode; Debian's sentencepiece
# 0.1.97). Run from any directory: sh testdata/gen_spm.sh
#
# Training text: each language file minus its last 15 lines (held out). Test text
# (spm/test.txt): every line of every language file plus text/extra.txt (scripts and
# characters the models never saw, malformed UTF-8, special whitespace).
#
# For each model NAME it writes spm/NAME.model, spm/NAME.pieces.zst (spm_encode
# --output_format=piece of test.txt), spm/NAME.ids.zst (--output_format=id) and
# spm/NAME.decoded.zst (spm_decode --input_format=id of the ids); the outputs are
# zstd-compressed to keep the fixtures small (unzstd to read them). The nmt_nfkc charsmap is
# 237 KB, so models that use it are stored with an empty precompiled_charsmap and the
# charsmap once, zstd-compressed, in spm/nmt_nfkc.charsmap.zst; spm/models.sha256 holds
# the SHA-256 of every model as spm_train wrote it, which the tests check after putting
# the charsmap back (with this package's Marshal).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
text=$here/text
out=$here/spm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for f in en de fr ru ja zh; do
	head -n -15 "$text/$f.txt" >"$tmp/train_$f.txt"
done
cat "$tmp"/train_en.txt "$tmp"/train_de.txt "$tmp"/train_fr.txt "$tmp"/train_ru.txt \
	"$tmp"/train_ja.txt "$tmp"/train_zh.txt >"$tmp/train_mixed.txt"
cat "$tmp"/train_ja.txt "$tmp"/train_zh.txt >"$tmp/train_cjk.txt"

mkdir -p "$out"
rm -f "$out"/*.model "$out"/*.zst "$out"/models.sha256
cat "$text"/en.txt "$text"/de.txt "$text"/fr.txt "$text"/ru.txt "$text"/ja.txt \
	"$text"/zh.txt "$text"/extra.txt >"$out/test.txt"

common="--minloglevel=2 --num_threads=1 --hard_vocab_limit=false --seed_sentencepiece_size=100000"

train() { # name input flags...
	name=$1
	input=$2
	shift 2
	# shellcheck disable=SC2086
	spm_train --input="$tmp/train_$input.txt" --model_prefix="$tmp/$name" $common "$@" >/dev/null 2>&1 ||
		{ echo "spm_train $name failed" >&2; spm_train --input="$tmp/train_$input.txt" --model_prefix="$tmp/$name" $common "$@"; exit 1; }
	spm_encode --model="$tmp/$name.model" --output_format=piece <"$out/test.txt" >"$tmp/$name.pieces"
	spm_encode --model="$tmp/$name.model" --output_format=id <"$out/test.txt" >"$tmp/$name.ids"
	spm_decode --model="$tmp/$name.model" --input_format=id <"$tmp/$name.ids" >"$tmp/$name.decoded"
	for x in pieces ids decoded; do zstd -q -19 -f "$tmp/$name.$x" -o "$out/$name.$x.zst"; done
	(cd "$tmp" && sha256sum "$name.model") >>"$out/models.sha256"
	python3 "$here/spm/strip_charsmap.py" "$tmp/$name.model" "$out/$name.model" "$tmp/charsmap_$name"
}

train mixed_nfkc mixed --vocab_size=1200
train mixed_identity mixed --vocab_size=1200 --normalization_rule_name=identity --character_coverage=0.995
train mixed_bytefb mixed --vocab_size=1400 --byte_fallback=true --character_coverage=0.99
train en_user en --vocab_size=400 --user_defined_symbols='<sep>,[MASK],@@,ing' --control_symbols='<cls>' --split_digits=true
train en_flags en --vocab_size=300 --normalization_rule_name=identity --add_dummy_prefix=false --remove_extra_whitespaces=false
train en_suffix en --vocab_size=300 --treat_whitespace_as_suffix=true
train cjk cjk --vocab_size=900 --character_coverage=0.98
train en_bpe en --vocab_size=500 --model_type=bpe --user_defined_symbols='<sep>,[MASK]'
train mixed_bpe_bytefb mixed --vocab_size=1400 --model_type=bpe --byte_fallback=true --character_coverage=0.99

# The nmt_nfkc charsmap, once (every nmt_nfkc model has the same one).
zstd -q -19 -f "$tmp/charsmap_mixed_nfkc" -o "$out/nmt_nfkc.charsmap.zst"
for f in "$tmp"/charsmap_*; do
	[ -s "$f" ] || continue
	cmp -s "$f" "$tmp/charsmap_mixed_nfkc" || { echo "$f: a different charsmap" >&2; exit 1; }
done
ls -l "$out"
