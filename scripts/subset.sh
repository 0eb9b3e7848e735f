#!/usr/bin/env bash
# subset.sh SEED N IN OUT: N records of the one-record-per-line text file IN
# (.zst or plain; a .csv/.csv.zst keeps its header line), drawn without
# replacement by a seeded generator (MINSTD, so every awk gives the same
# sample), written to OUT in their original order. For the low-shot study:
# TREC questions are one per line.
set -eu
[ $# -eq 4 ] || { echo "usage: subset.sh SEED N IN OUT" >&2; exit 2; }
seed=$1 n=$2 in=$3 out=$4
case "$seed$n" in *[!0-9]*) echo "subset.sh: SEED and N must be whole numbers" >&2; exit 2 ;; esac
[ -r "$in" ] || { echo "subset.sh: cannot read $in" >&2; exit 2; }
header=0
case "$in" in *.csv | *.csv.zst | *.csv.gz) header=1 ;; esac
mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
	if [ "$header" = 1 ]; then zstd -dcf --long=31 "$in" | head -n 1; fi
	zstd -dcf --long=31 "$in" | tail -n +$((header + 1)) | awk -v seed="$seed" '
		BEGIN { x = (seed * 7919 + 1) % 2147483647; if (x == 0) x = 1 }
		{ x = (x * 48271) % 2147483647; printf "%010d\t%d\t%s\n", x, NR, $0 }' |
		sort -k1,1n | head -n "$n" | sort -t"$(printf '\t')" -k2,2n | cut -f3-
} >"$tmp"
got=$(($(wc -l <"$tmp") - header))
if [ "$got" -lt "$n" ]; then
	echo "subset.sh: $in has only $got records, fewer than N=$n" >&2
	exit 2
fi
mv -f "$tmp" "$out"
trap - EXIT
