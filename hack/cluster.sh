#!/usr/bin/env bash
# A local Kubernetes cluster without containers: kwokctl's binary runtime
# with the control plane built from the Go module proxy (hack/build-
# control-plane.sh), fake nodes on which Deployments become available and
# Job pods complete, and the CRDs and their admission policies installed.
#
#   hack/cluster.sh up      create (or reuse) the cluster and start its real node; prints the kubeconfig path
#   hack/cluster.sh down    delete it, and stop the real node
#
# The cluster is named $CLUSTER (default aipm); its files live in bin/kwok.
# Beside the fake nodes it runs one real node (hack/node.sh) where it can:
# AIPM_NODE=auto (the default) starts it when this runs as root and says
# why not otherwise, keeping the fake nodes only; AIPM_NODE=on fails
# without it; AIPM_NODE=off never starts it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${CLUSTER:-aipm}"
NODES="${NODES:-3}"
# Pods each fake node holds: kwokctl's default, 110, lets 3 nodes run 330
# pods, fewer than a fleet of 300 products of 2 replicas in a canary.
NODE_PODS="${NODE_PODS:-4000}"
NODE_IP="${NODE_IP:-10.250.0.10}"
AIPM_NODE="${AIPM_NODE:-auto}"
export KWOK_WORKDIR="$ROOT/bin/kwok"
KUBECONFIG_OUT="$KWOK_WORKDIR/kubeconfig"
BIN="$("$ROOT/hack/build-control-plane.sh" etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl)"
KWOKCTL="$BIN/kwokctl"
KUBECTL="$BIN/kubectl"

# stages writes the Stage set the cluster runs: kwok's own fast node and pod
# stages, read from the kwok module the binaries were built from, except that
# its pod-complete leaves alone the pods that hack/kwok/stages.yaml completes
# with a training result, and its pod-ready those it crash-loops.
stages() {
  local kwokdir out="$KWOK_WORKDIR/stages.yaml"
  kwokdir="$(cd "$KWOK_WORKDIR" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION:-v0.8.0}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  {
    for f in node/fast/node-initialize.yaml pod/fast/pod-delete.yaml; do
      cat "$kwokdir/kustomize/stage/$f"; echo "---"
    done
    # pod-ready leaves alone the pods hack/kwok/stages.yaml crash-loops and
    # those of the slow version, which a copy of it readies after 15 s.
    sed 's|^    matchExpressions:$|    matchExpressions:\n    - key: '"'"'.metadata.labels["lifecycle.aipm.io/version"]'"'"'\n      operator: '"'"'NotIn'"'"'\n      values: ['"'"'e2e-fraud-crash'"'"', '"'"'e2e-promote-slow'"'"']|' \
      "$kwokdir/kustomize/stage/pod/fast/pod-ready.yaml"
    echo "---"
    sed -e 's|^  name: pod-ready$|  name: pod-ready-slow|' \
      -e 's|^    matchExpressions:$|    matchExpressions:\n    - key: '"'"'.metadata.labels["lifecycle.aipm.io/version"]'"'"'\n      operator: '"'"'In'"'"'\n      values: ['"'"'e2e-promote-slow'"'"']|' \
      -e 's|^  next:$|  delay:\n    durationMilliseconds: 15000\n  next:|' \
      "$kwokdir/kustomize/stage/pod/fast/pod-ready.yaml"
    echo "---"
    sed 's|^    matchExpressions:$|    matchExpressions:\n    - key: '"'"'.metadata.annotations["aipm.io/e2e-result"]'"'"'\n      operator: '"'"'DoesNotExist'"'"'|' \
      "$kwokdir/kustomize/stage/pod/fast/pod-complete.yaml"
    echo "---"
    cat "$ROOT/hack/kwok/stages.yaml"
    echo "---"
    # kwok plays the kubelet only for the fake nodes kwokctl scales, so that
    # a real node (hack/node.sh) keeps its own kubelet.
    cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
componentsPatches:
- name: kwok-controller
  extraArgs:
  - {key: manage-all-nodes, value: "false", override: true}
  - {key: manage-nodes-with-annotation-selector, value: kwok.x-k8s.io/node=fake}
# The API server reaches a real node's kubelet (logs, exec) by its address:
# no DNS here resolves node names. Pods on the real node reach the API
# server through the kubernetes Service, whose endpoint is the address it
# advertises: the node's own (hack/node.sh), never an address off this
# machine; its certificate names the Service's IP that in-cluster clients
# dial.
# Webhooks behind a Service (the operator's, installed in a pod on the
# real node) are dialled at a ready endpoint's pod IP, which this machine
# routes to the node, rather than at the Service's cluster IP, which only
# the node's kube-proxy knows.
#
# Sized for the fleets the benchmarks put on it: the API server's default
# Service range holds 254 addresses, and the operator makes a Service per
# product (and per version behind an HTTPRoute), so a /16 that keeps
# 10.0.0.1 for the kubernetes Service; the controller manager's default
# client limits (20 QPS, burst 30) and five Deployment and ReplicaSet
# workers would bound a fleet's rollouts by its own writes, not the
# operator's.
- name: kube-apiserver
  extraArgs:
  - {key: kubelet-preferred-address-types, value: "InternalIP,Hostname"}
  - {key: advertise-address, value: "${NODE_IP}"}
  - {key: enable-aggregator-routing, value: "true"}
  - {key: service-cluster-ip-range, value: "10.0.0.0/16"}
- name: kube-controller-manager
  extraArgs:
  - {key: kube-api-qps, value: "500"}
  - {key: kube-api-burst, value: "1000"}
  - {key: concurrent-deployment-syncs, value: "25"}
  - {key: concurrent-replicaset-syncs, value: "25"}
  - {key: concurrent-service-endpoint-syncs, value: "25"}
options:
  kubeApiserverCertSANs: ["10.0.0.1", "${NODE_IP}"]
# Fake nodes: ${NODES}, each holding ${NODE_PODS} pods (a cluster made with
# others is made again).
EOF
  } >"$out"
  echo "$out"
}

up() {
  cluster_up
  install_crds
  node_up
  echo "$KUBECONFIG_OUT"
}

# node_up starts the real node as AIPM_NODE says.
node_up() {
  case "$AIPM_NODE" in
    off) return ;;
    on) "$ROOT/hack/node.sh" start "$KUBECONFIG_OUT" ;;
    auto)
      if [ "$(id -u)" != 0 ]; then
        echo "[cluster] no real node: it needs root (containerd, network namespaces, iptables); the cluster has fake nodes only" >&2
      elif ! "$ROOT/hack/node.sh" start "$KUBECONFIG_OUT"; then
        echo "[cluster] no real node: it did not start (above, and bin/node/*.log); the cluster has fake nodes only" >&2
      fi ;;
    *) echo "AIPM_NODE is auto, on or off, not $AIPM_NODE" >&2; exit 2 ;;
  esac
}

cluster_up() {
  mkdir -p "$KWOK_WORKDIR"
  local stagefile
  stagefile="$(stages)"
  # A running cluster is reused only if it runs the same stages: a stage
  # changed since it was created would leave scenarios running on old ones.
  if "$KWOKCTL" get clusters 2>/dev/null | grep -x "$CLUSTER" >/dev/null && KUBECONFIG="$KUBECONFIG_OUT" "$KUBECTL" get --raw /readyz >/dev/null 2>&1 &&
    cmp -s "$stagefile" "$KWOK_WORKDIR/stages.created.yaml"; then
    return
  fi
  "$KWOKCTL" delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  "$KWOKCTL" create cluster --name "$CLUSTER" --runtime binary \
    --etcd-binary "$BIN/etcd" \
    --kube-apiserver-binary "$BIN/kube-apiserver" \
    --kube-controller-manager-binary "$BIN/kube-controller-manager" \
    --kube-scheduler-binary "$BIN/kube-scheduler" \
    --kwok-controller-binary "$BIN/kwok" \
    --kubeconfig "$KUBECONFIG_OUT" \
    -c "$stagefile" \
    --wait 120s >"$KWOK_WORKDIR/create.log" 2>&1 || { cat "$KWOK_WORKDIR/create.log" >&2; exit 1; }
  cp "$stagefile" "$KWOK_WORKDIR/stages.created.yaml"
  "$KWOKCTL" scale node --name "$CLUSTER" --replicas "$NODES" --param ".allocatable.pods=$NODE_PODS" >/dev/null 2>&1
}

# install_crds applies the CRDs and their admission policies, on a reused
# cluster too: a CRD changed since it was created would refuse new fields.
install_crds() {
  local established
  KUBECONFIG="$KUBECONFIG_OUT" "$KUBECTL" apply --server-side -f "$ROOT/config/crd/bases" >/dev/null
  # kubectl wait fails outright on a CRD with no conditions yet; poll instead.
  for _ in $(seq 1 120); do
    established="$(KUBECONFIG="$KUBECONFIG_OUT" "$KUBECTL" get crd aiproducts.lifecycle.aipm.io modelversions.lifecycle.aipm.io \
      retrainingruns.lifecycle.aipm.io experiments.lifecycle.aipm.io approvals.lifecycle.aipm.io \
      -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Established")].status}{end}' 2>/dev/null || true)"
    [ "$established" = "TrueTrueTrueTrueTrue" ] && break
    sleep 0.5
  done
  [ "$established" = "TrueTrueTrueTrueTrue" ] || { echo "CRDs not established" >&2; exit 1; }
  # The API server stamps and checks who approves a promotion.
  KUBECONFIG="$KUBECONFIG_OUT" "$KUBECTL" apply --server-side -k "$ROOT/config/admission" >/dev/null
}

down() {
  if [ -d "$ROOT/bin/node" ] && [ "$(id -u)" = 0 ]; then "$ROOT/hack/node.sh" down; fi
  "$KWOKCTL" delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  rm -f "$KUBECONFIG_OUT"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
