#!/usr/bin/env bash
# metric.sh KEY FILE: the value of KEY in a metrics JSON file written by
# `evaluate --metrics` or `ensemble` (for an ensemble file, the ensemble's own
# value, which comes after its inputs'). Prints nothing and exits 1 when absent.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: metric.sh KEY FILE" >&2; exit 2; }
v=$(grep -o "\"$1\": *[-0-9.eE+]*" "$2" | tail -n 1 | sed 's/.*: *//')
[ -n "$v" ] || exit 1
echo "$v"
