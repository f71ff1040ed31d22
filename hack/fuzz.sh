#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time (make test-fuzz,
# part of make test-unit):
#   go test -run '^$' -fuzz '^FuzzX$' -fuzztime $FUZZTIME ./pkg
# for each func FuzzX(f *testing.F) found in a *_test.go file. Targets are
# found by grep, so a new one runs without being listed anywhere.
#
# A target that fails leaves its input in pkg/testdata/fuzz/FuzzX/; fix the
# bug and commit that file: plain go test then replays it as a regression
# seed forever. Every target runs even when one fails, and the script fails
# at the end if any did.
#
# FUZZTIME: time per target (default 10s). FUZZ: a regular expression that
# selects targets by name (default: all).
set -euo pipefail

cd "$(dirname "$0")/.."

FUZZTIME="${FUZZTIME:-10s}"
FUZZ="${FUZZ:-.}"

mapfile -t found < <(git ls-files --cached --others --exclude-standard -- '*_test.go' |
	xargs grep -HoE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' |
	sed -E 's|^(.*)/[^/]*:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort -u)

if [ "${#found[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

# fuzz_once runs one target for FUZZTIME, its log in $logs/<target>.log.
fuzz_once() {
	go test -run '^$' -fuzz "^${2}\$" -fuzztime "$FUZZTIME" "./${1}" >"${logs}/${2}.log" 2>&1
}

# deadline_flake tells Go's own fuzzing race from a finding: before Go 1.27
# the coordinator can report the end of -fuzztime as a failure, "context
# deadline exceeded", with no failing input (go.dev/issue/75804; seen here
# on a loaded machine). A finding always writes its input. Such a run is
# tried once more; a second failure of any kind fails the target.
deadline_flake() {
	grep -q 'context deadline exceeded' "$1" && ! grep -qE 'Failing input written|panic:' "$1"
}

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
ran=0
for entry in "${found[@]}"; do
	dir="${entry% *}"
	name="${entry#* }"
	[[ "$name" =~ $FUZZ ]] || continue
	start=$(date +%s)
	if fuzz_once "$dir" "$name" || { deadline_flake "${logs}/${name}.log" && fuzz_once "$dir" "$name"; }; then
		result=ok
	else
		result=FAIL
		failed+=("${dir} ${name}")
		sed 's/^/    /' "${logs}/${name}.log" | tail -25
	fi
	# A run too short to report progress has no count: not a failure.
	execs=$(grep -oE 'execs: [0-9]+' "${logs}/${name}.log" | tail -1 | cut -d' ' -f2 || true)
	printf 'fuzz: %-4s %-18s ./%-24s %s execs in %ss\n' "$result" "$name" "$dir" "${execs:-?}" "$(($(date +%s) - start))"
	ran=$((ran + 1))
done

if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of ${ran} targets failed; their inputs are in <package>/testdata/fuzz/<target>/:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: ${ran} targets, ${FUZZTIME} each, no failures"
