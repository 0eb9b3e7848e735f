#!/usr/bin/env bash
# stage.sh OUT COMMAND [ARG...]
#
# Runs one pipeline stage that writes the artifact OUT, unless OUT is already
# the result of exactly this run: OUT exists, OUT.cmd (written after the last
# successful run) holds the same command line, and `artifacts verify` finds
# every input recorded in OUT's lineage unchanged (same sha256). Then it says
# so, touches OUT (so make sees it as newer than its prerequisites and the
# stages after it re-check instead of retraining) and exits 0. Make reruns a
# stage when a prerequisite's mtime changes; this turns "touched" into "same
# bytes, nothing to do". FORCE=1 in the environment always runs the command.
#
# Two makes building the same artifact at once (say `make demo` and `make trec6`
# in two terminals) do not both train: the second waits on OUT.lock (flock, when
# installed) and then finds OUT up to date.
#
# ARTIFACTS (default bin/artifacts) is the artifacts CLI used for the check.
# STAGE_TAG_LINES=1 (what `make demo` and `make classify` set when they run their
# branches side by side) tags the stage's progress lines with its branch,
# "[clftune bwd] epoch 3/8 ...", through ULMFIT_PROGRESS_TAG (which also turns a
# terminal's redrawn bar into plain lines, since two bars would share one line).
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: stage.sh OUT COMMAND [ARG...]" >&2
	exit 2
fi
out=$1
shift
artifacts=${ARTIFACTS:-bin/artifacts}
stamp=$out.cmd
# The stamp leaves out --threads N (the thread count changes speed, not what the
# run computes, up to float summation order) and --resume [CKPT] (continuing an
# interrupted run gives the same artifact as an uninterrupted one).
cmdline=""
skipnext=0
resume=0
for a in "$@"; do
	if [ "$skipnext" = 1 ]; then skipnext=0; continue; fi
	case "$a" in
	--threads) skipnext=1; continue ;;
	--threads=* | --resume=*) continue ;;
	--resume) resume=1; continue ;;
	*.ckpt | *.ckpt.arrow) if [ "$resume" = 1 ]; then resume=0; continue; fi ;;
	esac
	resume=0
	cmdline="$cmdline $(printf '%q' "$a")"
done
cmdline=${cmdline# }
name=$(basename "$1")

mkdir -p "$(dirname "$out")"
if command -v flock >/dev/null; then
	exec 9>"$out.lock"
	if ! flock -n 9; then
		echo "$name: waiting for another run that is writing $out"
		flock 9
	fi
fi

if [ "${FORCE:-}" != 1 ] && [ -f "$out" ] && [ -f "$stamp" ] &&
	[ "$(cat "$stamp")" = "$cmdline" ] && [ -x "$artifacts" ] &&
	"$artifacts" verify -q "$out" >/dev/null 2>&1; then
	touch "$out"
	echo "$name: $out is up to date (same command, same input hashes); nothing to do"
	exit 0
fi

rm -f "$stamp"
if [ "${STAGE_TAG_LINES:-}" = 1 ]; then
	case "$out" in
	*/scratch*/*) branch=" scratch" ;;
	*/fwd/*) branch=" fwd" ;;
	*/bwd/*) branch=" bwd" ;;
	*) branch="" ;;
	esac
	export ULMFIT_PROGRESS_TAG="$name$branch"
fi
"$@"
if [ ! -f "$out" ]; then
	echo "stage.sh: $name exited 0 but wrote no $out" >&2
	exit 1
fi
tmp=$(mktemp "$stamp.XXXXXX")
printf '%s\n' "$cmdline" >"$tmp"
mv -f "$tmp" "$stamp"
