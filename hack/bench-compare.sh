#!/usr/bin/env bash
# Compares the operator at two commits on the scale benchmark, in turns:
# base, head, base, head, ... so that a drift of the machine's speed over
# the hour falls on both alike (docs/benchmarks.md, "Before and now").
# Each commit is measured by its own tree's test/bench, which knows the
# kinds that commit's operator reads, and with its own operator binary.
#
#   make bench-compare BASE=0d3d94b                        # 3 turns at 5,000 products in 256Mi
#   make bench-compare BASE=0d3d94b N=1000 RUNS=5          # (BASE, N, RUNS, MEMORY from the environment)
#
# Reports land in bin/compare/<commit>-<N>-<turn>/report.md, and a table of
# every turn in bin/compare/summary-<N>.md.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
BASE=${BASE:?name the commit to compare HEAD with, e.g. BASE=0d3d94b}
N=${N:-5000}
RUNS=${RUNS:-3}
MEMORY=${MEMORY:-256Mi}
: "${KUBEBUILDER_ASSETS:?run it through make bench-compare, which sets it}"
out=$root/bin/compare
mkdir -p "$out"

trees=()
cleanup() {
	for t in "${trees[@]}"; do git worktree remove --force "$t" 2>/dev/null || true; done
}
trap cleanup EXIT

# build COMMIT: a worktree of COMMIT with its bench command and operator
# built into bin/compare/; sets built (the short commit) and tree. It runs
# in this shell, so that the EXIT trap sees every worktree it added.
build() {
	built=$(git rev-parse --short "$1")
	tree=$(mktemp -d)
	git worktree add --quiet --detach "$tree" "$built"
	trees+=("$tree")
	echo "== building $built" >&2
	(cd "$tree" && go build -o "$out/bench-$built" ./test/bench && go build -o "$out/manager-$built" ./cmd)
}

build "$BASE"
base=$built base_tree=$tree
build HEAD
head=$built head_tree=$tree
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
	echo "== note: the working tree has changes; HEAD ($head) is measured as committed" >&2
fi

summary=$out/summary-$N.md
{
	echo "## $N products in $MEMORY, $RUNS turns, started $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "| turn | commit | all Ready | limit | ratio | RSS end / peak | CPU API server / etcd / operator / harness |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
} >>"$summary"

for turn in $(seq 1 "$RUNS"); do
	for pair in "$base:$base_tree" "$head:$head_tree"; do
		commit=${pair%%:*} tree=${pair#*:}
		dir=$out/$commit-$N-$turn
		mkdir -p "$dir"
		echo "== turn $turn: $commit at $N products in $MEMORY" >&2
		# The bench reads config/crd/bases from its working directory: each
		# commit's own CRDs.
		if (cd "$tree" && "$out/bench-$commit" -n "$N" -probes 1 -written-limit=false \
			-container-memory "$MEMORY" -operator-bin "$out/manager-$commit" \
			-logs "$dir" -out "$dir/report.md" >"$dir/bench.log" 2>&1); then
			r=$dir/report.md
			ready=$(grep -m1 'operator start to all products Ready' "$r" | cut -d'|' -f3 | xargs)
			limit=$(grep -m1 'plain-client limit: ' "$r" | cut -d'|' -f3 | xargs)
			ratio=$(grep -m1 'ratio: all Ready / limit' "$r" | cut -d'|' -f3 | tr -d '* ')
			rss=$(grep -m1 'operator RSS at the end / peak' "$r" | cut -d'|' -f3 | xargs)
			cpu=$(grep -m1 'CPU from the operator' "$r" | cut -d'|' -f3 | xargs)
			echo "| $turn | $commit | $ready | $limit | $ratio | $rss | $cpu |" >>"$summary"
		else
			echo "| $turn | $commit | failed: see $dir/bench.log | | | | |" >>"$summary"
		fi
	done
done
echo >>"$summary"
cat "$summary"
