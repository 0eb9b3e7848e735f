#!/usr/bin/env bash
# bf16-curve.sh OUT EVALUATE FP32.jsonl BF16.jsonl: the validation perplexity of two
# pretraining runs of `make exp-bf16` (fp32, and bf16-rounded GEMM inputs) from their JSONL
# metrics logs, step by step. Writes OUT.tsv (series, x, y: for `evaluate plot`), OUT.md
# (a Markdown table: step, fp32, bf16, relative difference; the last row is the end of the
# run) and OUT.png (drawn with EVALUATE plot). A resumed run appends to its log and may
# validate a step twice: the last record of a step counts. Exits 2 when a log has no
# validation, or the two logs validate at different steps.
set -eu
[ $# -eq 4 ] || { echo "usage: bf16-curve.sh OUT EVALUATE FP32.jsonl BF16.jsonl" >&2; exit 2; }
out=$1 evaluate=$2 fp32=$3 bf16=$4
# valid_points LOG: "step<TAB>ppl" per validated step, in step order. Validation passes are
# the "valid" records and the "epoch" record that ends the run (it carries valid_ppl).
valid_points() {
	awk '
		/"type":"(valid|epoch)"/ && /"valid_ppl":/ {
			match($0, /"step":[0-9]+/); step = substr($0, RSTART + 7, RLENGTH - 7)
			match($0, /"valid_ppl":[-+0-9.eE]+/); ppl = substr($0, RSTART + 12, RLENGTH - 12)
			if (!(step in seen)) order[n++] = step
			seen[step] = ppl
		}
		END { for (i = 0; i < n; i++) printf "%s\t%s\n", order[i], seen[order[i]] }' "$1" | sort -n -k1,1
}
a=$(valid_points "$fp32") b=$(valid_points "$bf16")
[ -n "$a" ] || { echo "bf16-curve.sh: $fp32: no validation records (valid_ppl)" >&2; exit 2; }
[ -n "$b" ] || { echo "bf16-curve.sh: $bf16: no validation records (valid_ppl)" >&2; exit 2; }
[ "$(cut -f1 <<<"$a")" = "$(cut -f1 <<<"$b")" ] || {
	echo "bf16-curve.sh: $fp32 and $bf16 validate at different steps (is one run unfinished?)" >&2
	exit 2
}
{
	printf 'series\tx\ty\n'
	sed 's/^/fp32\t/' <<<"$a"
	sed 's/^/bf16 inputs\t/' <<<"$b"
} >"$out.tsv"
paste <(cat <<<"$a") <(cut -f2 <<<"$b") | awk -F'\t' '
	BEGIN { print "| step | fp32 | bf16 inputs | difference |"; print "|---:|---:|---:|---:|" }
	{ row[NR] = sprintf("| %s | %.2f | %.2f | %+.2f%% |", $1, $2, $3, 100 * ($3 - $2) / $2) }
	END { for (i = 1; i <= NR; i++) { if (i == NR) sub(/^\| [0-9]+/, "& (end)", row[i]); print row[i] } }' >"$out.md"
"$evaluate" plot -q --title "Pretraining, small preset: fp32 against bf16-rounded GEMM inputs" \
	--xlabel "step" --ylabel "validation perplexity" -o "$out.png" "$out.tsv"
cat "$out.md"
