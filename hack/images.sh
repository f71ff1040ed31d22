#!/usr/bin/env bash
# Builds the project's images without Docker: each command is built static
# (CGO off) and packed FROM scratch by hack/imagebuild, non-root, into
# bin/images/<name>.tar as aipm.local/<name>:$TAG. When the local cluster's
# real node runs (hack/node.sh), they are imported into its containerd, and
# pods use them with imagePullPolicy IfNotPresent or Never.
#
#   hack/images.sh [NAME...]   aipm-operator modelserver trainer evaluator simulator (default: all)
#
# `make docker-build` still builds the operator's image where Docker is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${TAG:-dev}"
OUT="$ROOT/bin/images"
mkdir -p "$OUT"
cd "$ROOT"

# package and entrypoint arguments of each image.
declare -A PKG=([aipm-operator]=./cmd [modelserver]=./test/modelserver [trainer]=./test/trainer
  [evaluator]=./test/evaluator [simulator]=./test/simulator)
declare -A ARGS=([simulator]="-arg --listen -arg 0.0.0.0:8080")
# The operator's binary is /manager, as in the Dockerfile and config/manager.
declare -A PATH_IN=([aipm-operator]=/manager)

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(aipm-operator modelserver trainer evaluator simulator)
for name in "${names[@]}"; do
  pkg="${PKG[$name]:-}"
  [ -n "$pkg" ] || { echo "unknown image $name; know: ${!PKG[*]}" >&2; exit 2; }
  bin="$OUT/$name.bin"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin" "$pkg"
  # shellcheck disable=SC2086 # ARGS holds flags to split.
  dst="${PATH_IN[$name]:-/$name}"
  go run ./hack/imagebuild -tag "aipm.local/$name:$TAG" -o "$OUT/$name.tar" -entrypoint "$dst" ${ARGS[$name]:-} "$bin:$dst" >&2
  if [ "$(id -u)" = 0 ] && [ -S /run/aipm-node/containerd.sock ]; then
    "$ROOT/hack/node.sh" import "$OUT/$name.tar"
  fi
done
