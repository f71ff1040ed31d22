#!/usr/bin/env bash
# Measures each home-made piece of plumbing against its upstream
# alternative (docs/benchmarks.md, "Home-made pieces"): the manager is built
# once from HEAD and once per variant, a copy of HEAD with
# hack/plumbing/<variant>.patch applied, and each is measured by
# test/bench at N products in a memory cgroup limited as a pod would be.
#
#   make bench-plumbing                                   # every variant, 5,000 products
#   make bench-plumbing N=1000 VARIANTS="head compact"    # (N, VARIANTS, MEMORY from the environment)
#
# Reports land in bin/plumbing/<variant>/report.md, one run after the
# other, so that no two share the machine's cores.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
N=${N:-5000}
MEMORY=${MEMORY:-256Mi}
VARIANTS=${VARIANTS:-"head statuswrite eventrecorder compact"}
out=$root/bin/plumbing
mkdir -p "$out"

build() {
	local variant=$1 tree
	tree=$(mktemp -d)
	git worktree add --quiet --detach "$tree" HEAD
	trap 'git worktree remove --force "$tree"' RETURN
	if [[ $variant != head ]]; then
		git -C "$tree" apply "$root/hack/plumbing/$variant.patch"
	fi
	(cd "$tree" && go build -o "$out/manager-$variant" ./cmd)
}

for variant in $VARIANTS; do
	echo "== $variant: building"
	build "$variant"
	mkdir -p "$out/$variant"
	echo "== $variant: measuring $N products in $MEMORY"
	KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:?run it through make bench-plumbing, which sets it} go run ./test/bench -n "$N" -probes 1 \
		-written-limit=false -container-memory "$MEMORY" -operator-bin "$out/manager-$variant" \
		-logs "$out/$variant" -out "$out/$variant/report.md" >"$out/$variant/bench.log" 2>&1 ||
		echo "== $variant: the bench failed; see $out/$variant/bench.log"
done
