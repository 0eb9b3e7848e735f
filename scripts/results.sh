#!/usr/bin/env bash
# results.sh METRICS.json...: a small table of test error rates, one line per
# metrics file (from `evaluate --metrics` or `ensemble`), labelled by the
# direction in its path (fwd, bwd, ens) and whether it is the from-scratch
# baseline. Missing files are listed as "not built" (left out with
# --skip-missing).
set -uo pipefail
here=$(dirname "$0")
skip=0
if [ "${1:-}" = --skip-missing ]; then
	skip=1
	shift
fi
printf '%-28s %8s  %s\n' "classifier" "error" "metrics"
for f in "$@"; do
	case "/$f/" in
	*/ens/*) label="ensemble (fwd+bwd)" ;;
	*/bwd/*) label="backward" ;;
	*) label="forward" ;;
	esac
	case "$f" in
	*/scratch/*) label="from scratch ($label)" ;;
	esac
	if [ -f "$f" ] && e=$("$here/metric.sh" error_rate "$f"); then
		extra=""
		if m=$("$here/metric.sh" micro_f1 "$f"); then extra=" (multi-label: subset error; micro-F1 $(awk -v m="$m" 'BEGIN{printf "%.4f", m}'))"; fi
		printf '%-28s %7.2f%%  %s%s\n' "$label" "$(awk -v e="$e" 'BEGIN{printf "%.4f", 100*e}')" "$f" "$extra"
	elif [ "$skip" = 0 ]; then
		printf '%-28s %8s  %s\n' "$label" "not built" "$f"
	fi
done
