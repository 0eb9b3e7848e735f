#!/usr/bin/env bash
# classify-name.sh PATH: the default NAME of `make classify TRAIN=PATH`: the file
# or folder name without .zst/.gz and the format's extension; "train" or
# "training" (data/trec/train.csv.zst) gives the name of the folder it is in
# ("trec"). Characters other than letters, digits, _ and - become _.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: classify-name.sh PATH" >&2; exit 2; }
t=${1%/}
b=${t##*/}
b=${b%.zst}
b=${b%.gz}
case "$b" in
*.csv | *.tsv | *.jsonl | *.json | *.txt | *.label | *.tokens) b=${b%.*} ;;
esac
case "$b" in
train | training)
	p=$(basename -- "$(dirname -- "$t")")
	case "$p" in
	. | / | ..) ;;
	*) b=$p ;;
	esac
	;;
esac
printf '%s' "$b" | tr -c 'A-Za-z0-9_-' _
