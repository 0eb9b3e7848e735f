#!/usr/bin/env bash
# recipe-sweep.sh OUT.md RECIPES.tsv DS [MAKE_VAR=VALUE...]
#
# Runs the forward ULMFiT pipeline of data set DS (a pipelines/*.mk DAG) once per
# recipe and seed and writes one table (scripts/exp-table.sh): per recipe, the best
# validation error (the 10% holdout; what a recipe is chosen on) and the test error,
# mean and [min, max] over the seeds. RECIPES.tsv has one recipe a line:
#   NAME <tab> CLASSIFIER_EPOCHS <tab> LMTUNE_EPOCHS <tab> CLFTUNE FLAGS (or -)
# ('#' starts a comment). SEEDS (default "1 2 3") are the classifier's seeds; the
# fine-tuned LM is shared by every seed of a recipe. Every artifact is cached by the
# DAG, so a second sweep only reprints, and a new recipe trains only itself.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: recipe-sweep.sh OUT.md RECIPES.tsv DS [MAKE_VAR=VALUE...]" >&2; exit 2; }
out=$1 recipes=$2 ds=$3
shift 3
[ -r "$recipes" ] || { echo "recipe-sweep.sh: cannot read $recipes" >&2; exit 2; }
seeds=${SEEDS:-1 2 3}
here=$(dirname "$0")
rows=()
while IFS=$'\t' read -r name epochs lmepochs flags || [ -n "$name" ]; do
	case "$name" in '' | '#'*) continue ;; esac
	[ "$flags" = - ] && flags=""
	files=()
	for s in $seeds; do
		vars=(DIR=fwd EPOCHS="$epochs" LMTUNE_EPOCHS="$lmepochs" CLF_FLAGS="$flags" SEED="$s" "$@")
		echo "== recipe $name (classifier $epochs epochs, LM fine-tuning $lmepochs, flags '${flags}'), seed $s"
		make --no-print-directory "$ds" "${vars[@]}"
		while read -r f; do files+=("$f"); done < <(make -s --no-print-directory "$ds-metrics" "${vars[@]}")
	done
	rows+=(:: "$name" - "${files[@]}")
done <"$recipes"
"$here/exp-table.sh" "$out" "Recipe sweep on $ds (error %)" \
	"Forward models, seeds $seeds, 10% validation holdout of the training data; recipes ($recipes) are chosen on the validation error, the test error is reported beside it. $*" \
	"${rows[@]}"
