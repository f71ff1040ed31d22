#!/usr/bin/env bash
# `make run`: runs the operator.
#
# With KUBECONFIG set, against that cluster (CRDs must be installed: make install).
# Without it, on the local kwokctl cluster of hack/cluster.sh (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kwok built from
# the Go module proxy, fake nodes on which Deployments become available and
# Job pods complete): the CRDs are installed, config/samples applied, and
# the operator runs in the foreground. Ctrl-C stops the operator; the
# cluster stays up for the next run (make cluster-down deletes it).
#
# Extra operator flags: make run ARGS="--prometheus-address=http://localhost:9090"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# One local process needs no election; the probes would clash with another
# process on :8081.
OPERATOR_FLAGS=(--leader-elect=false --health-probe-bind-address=0 --metrics-bind-address=0)
# shellcheck disable=SC2206
EXTRA=(${ARGS:-})

if [ -n "${KUBECONFIG:-}" ]; then
  echo "Running the operator against the cluster in KUBECONFIG=$KUBECONFIG"
  exec go run ./cmd/main.go "${OPERATOR_FLAGS[@]}" "${EXTRA[@]}"
fi

echo "No KUBECONFIG given: starting the local kwokctl cluster (the first run builds it, about 10 minutes)"
KUBECONFIG="$(hack/cluster.sh up)"
export KUBECONFIG
BIN="$ROOT/bin/k8s/${KUBE_VERSION:-v1.37.2}"
go build -o "$ROOT/bin/manager" ./cmd/main.go
"$BIN/kubectl" apply -k config/samples
cat <<MSG

Local cluster is up, CRDs installed, samples applied. In another shell:

  export KUBECONFIG=$KUBECONFIG
  export PATH=$BIN:\$PATH
  kubectl get aip -w                   # products and their phases
  kubectl get mv                       # model versions, stage, eligibility
  kubectl describe aip fraud-detector  # gates, conditions, events
  kubectl get deploy,pods              # serving objects once a product is in Delivery

Ctrl-C here stops the operator; 'make cluster-down' deletes the cluster.

MSG
exec "$ROOT/bin/manager" "${OPERATOR_FLAGS[@]}" "${EXTRA[@]}"
