#!/usr/bin/env bash
# lowshot-plot.sh TABLE.tsv OUT.png EVALUATE: the low-shot curve (test error %
# against the number of labeled examples, one line per arm, [min, max] over the
# seeds as error bars) from the rows "ARM, N=n" of exp-table.sh's TSV. Writes
# OUT-without-.png.curve.tsv (series, x, y, lo, hi) and draws it with
# `EVALUATE plot` when that subcommand exists; otherwise says so.
set -eu
[ $# -eq 3 ] || { echo "usage: lowshot-plot.sh TABLE.tsv OUT.png EVALUATE" >&2; exit 2; }
tsv=$1 png=$2 evaluate=$3
curve=${png%.png}.curve.tsv
awk -F'\t' -v all="${ALL_N:-5452}" '
	BEGIN { OFS = "\t"; print "series", "x", "y", "lo", "hi" }
	$7 != "-" {
		split($1, p, ", N="); n = (p[2] == "all") ? all : p[2]
		print p[1], n, $7, $8, $9
	}' "$tsv" >"$curve"
if "$evaluate" plot --help >/dev/null 2>&1; then
	"$evaluate" plot --logx --title "TREC-6 low-shot (test error)" --xlabel "labeled training examples" \
		--ylabel "test error (%)" -o "$png" "$curve"
	echo "low-shot plot: $png"
else
	echo "low-shot curve: $curve ($evaluate has no 'plot' subcommand yet, so no PNG)"
fi
