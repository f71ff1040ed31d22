#!/usr/bin/env bash
# Copies what charts/aipm-operator shares with config/ into the chart, so
# that the chart installs what kustomize installs: the CRDs, the roles that
# controller-gen and kubebuilder write, the admission policies, the
# alerting rules and the Grafana dashboards. `make manifests` runs it; the test in test/helm compares the
# rendered chart with `kustomize build config/default`.
set -euo pipefail
cd "$(dirname "$0")/.."
chart=charts/aipm-operator
rm -rf "$chart/crds" "$chart/files"
mkdir -p "$chart/crds" "$chart/files/rbac" "$chart/files/prometheus" "$chart/files/dashboards" "$chart/files/admission" "$chart/files/webhook"
cp config/crd/bases/*.yaml "$chart/crds/"
for f in config/rbac/*role.yaml; do
  cp "$f" "$chart/files/rbac/"
done
cp config/prometheus/rules/aipm.rules.yaml "$chart/files/prometheus/"
cp config/admission/approval_policies.yaml "$chart/files/admission/"
cp config/webhook/manifests.yaml "$chart/files/webhook/"
cp config/grafana/dashboards/*.json "$chart/files/dashboards/"
