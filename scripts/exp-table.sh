#!/usr/bin/env bash
# exp-table.sh OUT.md TITLE NOTE :: LABEL PAPER METRICS.json... [:: LABEL PAPER METRICS.json...]...
#
# One Markdown table for an experiment: per row (LABEL, the paper's number
# PAPER) the mean and [min, max] over the given runs (one test metrics file per
# seed, from `evaluate --metrics`) of the test error and of the best validation
# error, read from the run's clftune log (X.test.metrics.json -> X.jsonl). Also
# writes OUT.tsv (label, paper, runs, valid mean/min/max, test mean/min/max) and
# prints the table. Runs that are missing are left out and counted.
set -eu
[ $# -ge 3 ] || { echo "usage: exp-table.sh OUT.md TITLE NOTE :: LABEL PAPER METRICS.json..." >&2; exit 2; }
here=$(dirname "$0")
out=$1 title=$2 note=$3
shift 3
tsv=${out%.md}.tsv
mkdir -p "$(dirname "$out")"
: >"$tsv.tmp"

# best validation error (%) in a clftune JSONL log
valid_of() {
	grep -o '"valid_error":[-0-9.eE+]*' "$1" 2>/dev/null | cut -d: -f2 |
		awk 'NR == 1 || $1 < m { m = $1 } END { if (NR) printf "%.4f\n", 100 * m }'
}

row() { # label paper files...
	local label=$1 paper=$2
	shift 2
	local vs="" ts="" n=0 missing=0 f v t
	for f in "$@"; do
		if [ -f "$f" ] && t=$("$here/metric.sh" error_rate "$f"); then
			v=$(valid_of "${f%.test.metrics.json}.jsonl")
			ts="$ts $(awk -v e="$t" 'BEGIN{printf "%.4f", 100*e}')"
			vs="$vs ${v:-nan}"
			n=$((n + 1))
		else
			missing=$((missing + 1))
		fi
	done
	awk -v label="$label" -v paper="$paper" -v n="$n" -v missing="$missing" -v vs="$vs" -v ts="$ts" '
		function stats(s, a, k, i, sum, lo, hi, c) {
			k = split(s, a, " "); c = 0
			for (i = 1; i <= k; i++) if (a[i] != "nan") {
				sum += a[i]; c++
				if (c == 1 || a[i] < lo) lo = a[i]
				if (c == 1 || a[i] > hi) hi = a[i]
			}
			if (c == 0) return "-\t-\t-"
			return sprintf("%.2f\t%.2f\t%.2f", sum / c, lo, hi)
		}
		BEGIN { printf "%s\t%s\t%d\t%s\t%s\t%d\n", label, paper, n, stats(vs), stats(ts), missing }'
}

while [ $# -gt 0 ]; do
	[ "$1" = "::" ] || { echo "exp-table.sh: expected '::' before a row, got '$1'" >&2; exit 2; }
	shift
	label=$1 paper=$2
	shift 2
	files=()
	while [ $# -gt 0 ] && [ "$1" != "::" ]; do files+=("$1"); shift; done
	row "$label" "$paper" "${files[@]}" >>"$tsv.tmp"
done
mv -f "$tsv.tmp" "$tsv"

{
	echo "### $title"
	echo
	[ -n "$note" ] && { echo "$note"; echo; }
	echo "| setting | paper | ours: best valid error % | ours: test error % | runs |"
	echo "|---|---:|---:|---:|---:|"
	awk -F'\t' '
		function cell(m, lo, hi) {
			if (m == "-") return "-"
			if (lo == hi) return m
			return sprintf("%s [%s, %s]", m, lo, hi)
		}
		{ printf "| %s | %s | %s | %s | %d%s |\n", $1, $2, cell($4, $5, $6), cell($7, $8, $9), $3, ($10 > 0 ? sprintf(" (%d missing)", $10) : "") }' "$tsv"
	echo
	echo "Error rates in %: mean over the runs (seeds), [min, max] when there are several."
} >"$out.tmp"
mv -f "$out.tmp" "$out"
cat "$out"
