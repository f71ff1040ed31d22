#!/usr/bin/env bash
# Packages bin/kubectl-aipm for krew: an archive of this platform's binary
# and the plugin manifest naming it with its sha256, both in bin/krew/.
#   kubectl krew install --manifest=bin/krew/aipm.yaml --archive=bin/krew/kubectl-aipm-<os>-<arch>.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
os=$(go env GOOS)
arch=$(go env GOARCH)
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
out=bin/krew
archive=kubectl-aipm-$os-$arch.tar.gz
mkdir -p "$out"
tar -czf "$out/$archive" -C bin kubectl-aipm
sha=$(sha256sum "$out/$archive" | cut -d' ' -f1)
cat > "$out/aipm.yaml" <<MANIFEST
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: aipm
spec:
  version: "v0.0.0-$version"
  homepage: https://github.com/aipm-io/aipm-operator
  shortDescription: See and steer AI products managed by aipm-operator
  description: |
    Shows an AIProduct as a tree (phase and gates, objectives, the
    rollout's steps, versions, experiments and retraining runs), asks the
    operator to promote, abort, retry or retrain, and prints a model
    version's lineage.
  platforms:
  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: file://$PWD/$out/$archive
    sha256: $sha
    bin: kubectl-aipm
MANIFEST
echo "$out/aipm.yaml"
echo "$out/$archive"
