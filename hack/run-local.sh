#!/usr/bin/env bash
# `make run`: runs the operator.
#
# With KUBECONFIG set, against that cluster (CRDs must be installed: make install).
# Without it, on a local control plane started from bin/ (etcd and
# kube-apiserver built by hack/build-control-plane.sh): the CRDs are installed,
# config/samples applied, and the operator runs in the foreground. Ctrl-C stops
# the operator and the control plane.
#
# Extra operator flags: make run ARGS="--prometheus-address=http://localhost:9090"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/bin/k8s/${KUBE_VERSION:-v1.37.2}"
KUBECTL="$BIN/kubectl"
# The operator runs outside a pod, so the Lease needs a namespace; one local
# process needs no election at all.
OPERATOR_FLAGS=(--leader-elect=false --health-probe-bind-address=0 --metrics-bind-address=0)
# shellcheck disable=SC2206
EXTRA=(${ARGS:-})

if [ -n "${KUBECONFIG:-}" ]; then
  echo "Running the operator against the cluster in KUBECONFIG=$KUBECONFIG"
  exec go run ./cmd/main.go "${OPERATOR_FLAGS[@]}" "${EXTRA[@]}"
fi

LOCAL="$ROOT/bin/local"
export KUBECONFIG="$LOCAL/kubeconfig"
mkdir -p "$LOCAL"
rm -f "$KUBECONFIG"
go build -o "$LOCAL/localcp" ./hack/localcp
go build -o "$LOCAL/manager" ./cmd/main.go

"$LOCAL/localcp" --assets "$BIN" --write-kubeconfig "$KUBECONFIG" >"$LOCAL/control-plane.log" 2>&1 &
cp_pid=$!
op_pid=""
cleanup() {
  [ -n "$op_pid" ] && kill "$op_pid" 2>/dev/null && wait "$op_pid" 2>/dev/null
  kill "$cp_pid" 2>/dev/null && wait "$cp_pid" 2>/dev/null
  echo "Stopped the operator and the local control plane."
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 120); do
  [ -f "$KUBECONFIG" ] && break
  kill -0 "$cp_pid" 2>/dev/null || { cat "$LOCAL/control-plane.log"; exit 1; }
  sleep 0.5
done
[ -f "$KUBECONFIG" ] || { echo "control plane did not start; see $LOCAL/control-plane.log"; exit 1; }

"$KUBECTL" apply -k config/samples
cat <<MSG

Local control plane is up, CRDs installed, samples applied. In another shell:

  export KUBECONFIG=$KUBECONFIG
  export PATH=$BIN:\$PATH
  kubectl get aip -w                   # products and their phases
  kubectl get mv                       # model versions, stage, eligibility
  kubectl describe aip fraud-detector  # gates, conditions, events

Ctrl-C here stops the operator and the control plane.

MSG
"$LOCAL/manager" "${OPERATOR_FLAGS[@]}" "${EXTRA[@]}" &
op_pid=$!
wait "$op_pid"
