#!/usr/bin/env bash
# Installs a Go tool at a pinned version into bin/ without `go install
# module@version`, which asks the module proxy for the module's version list
# (some proxies refuse it). The tool is built inside a throwaway module that
# requires exactly that version.
#
#   hack/go-install-tool.sh <output-binary> <package> <module> <version>
set -euo pipefail
out="$1" pkg="$2" mod="$3" ver="$4"
if [ -x "$out-$ver" ]; then ln -sf "$(basename "$out-$ver")" "$out"; exit 0; fi
dir="$(dirname "$out")/.build/tool-$(basename "$out")-$ver"
mkdir -p "$dir"
printf 'module aipm.local/tool\n\ngo 1.26\n\nrequire %s %s\n' "$mod" "$ver" >"$dir/go.mod"
echo "Building $pkg@$ver" >&2
(cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$out-$ver" "$pkg")
ln -sf "$(basename "$out-$ver")" "$out"
