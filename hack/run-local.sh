#!/usr/bin/env bash
# `make run`: runs the operator.
#
# With KUBECONFIG set, against that cluster (CRDs must be installed: make install).
# Without it, on the local kwokctl cluster of hack/cluster.sh (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kwok built from
# the Go module proxy, fake nodes on which Deployments become available and
# Job pods complete, and, as root, a real node: hack/node.sh): the CRDs are
# installed, config/samples applied, and
# the operator runs in the foreground. Ctrl-C stops the operator; the
# cluster stays up for the next run (make cluster-down deletes it).
#
# Extra operator flags: make run ARGS="--prometheus-address=http://localhost:9090"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# One local process needs no election; the probes would clash with another
# process on :8081.
OPERATOR_FLAGS=(--leader-elect=false --health-probe-bind-address=0 --metrics-bind-address=0 --webhooks=false)
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
go build -o "$ROOT/bin/simulator" ./test/simulator
# The fraud-detector sample routes through a Gateway API HTTPRoute: its CRD
# comes from the gateway-api module the operator is built with.
GATEWAY_API="$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)"
"$BIN/kubectl" apply --server-side -f "$GATEWAY_API/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"
"$BIN/kubectl" wait --for condition=Established crd/httproutes.gateway.networking.k8s.io --timeout 60s
"$BIN/kubectl" apply -k config/samples
"$BIN/kubectl" apply -f config/samples/fraud_detector_route.yaml

# Beside the cluster: the model-server simulator and, when a prometheus
# binary is at hand, a real Prometheus scraping it and the operator, which
# the operator then queries. Both stop with the operator.
RUN="$ROOT/bin/kwok/run"
mkdir -p "$RUN"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
"$ROOT/bin/simulator" --listen 127.0.0.1:9101 >"$RUN/simulator.log" 2>&1 &
pids+=($!)
PROMETHEUS_MSG="No prometheus binary (Debian: apt-get install prometheus): objectives read Unknown."
if PROM="$(command -v prometheus)"; then
  cat >"$RUN/prometheus.yml" <<CFG
global: {scrape_interval: 5s, evaluation_interval: 5s}
scrape_configs:
- job_name: simulator
  static_configs: [{targets: ["127.0.0.1:9101"]}]
- job_name: aipm-operator
  honor_labels: true
  static_configs: [{targets: ["127.0.0.1:8080"]}]
CFG
  "$PROM" --config.file="$RUN/prometheus.yml" --storage.tsdb.path="$RUN/tsdb" \
    --web.listen-address=127.0.0.1:9090 >"$RUN/prometheus.log" 2>&1 &
  pids+=($!)
  # The metrics endpoint is plain HTTP on loopback here, for this local
  # Prometheus; in a cluster it is HTTPS with authentication (the default).
  OPERATOR_FLAGS=(--leader-elect=false --health-probe-bind-address=0 --webhooks=false
    --metrics-bind-address=127.0.0.1:8080 --metrics-secure=false
    --prometheus-address=http://127.0.0.1:9090)
  PROMETHEUS_MSG="Prometheus: http://127.0.0.1:9090 (scrapes the operator and the simulator)."
fi

cat <<MSG

Local cluster is up, CRDs installed, samples applied. In another shell:

  export KUBECONFIG=$KUBECONFIG
  export PATH=$BIN:\$PATH
  kubectl get aip -w                   # products and their phases
  kubectl get mv                       # model versions, stage, eligibility
  kubectl describe aip fraud-detector  # gates, conditions, events
  kubectl get deploy,pods              # serving objects once a product is in Delivery

$PROMETHEUS_MSG
Simulator: http://127.0.0.1:9101/metrics; set a series with
  curl -X POST 127.0.0.1:9101/set -d '{"name":"replay_top1_accuracy","labels":{"product":"support-router","version":"support-router-v0-1-0"},"value":0.91}'

Ctrl-C here stops the operator, Prometheus and the simulator;
'make cluster-down' deletes the cluster.

MSG
"$ROOT/bin/manager" "${OPERATOR_FLAGS[@]}" "${EXTRA[@]}"
