#!/usr/bin/env bash
# A real node for the local cluster (hack/cluster.sh): kubelet and kube-proxy
# built from the Kubernetes module like the control plane, Debian's
# containerd and runc, the bridge and host-local CNI plugins, and a pause
# image built here. Pods on it are real processes, and their IPs answer on
# this machine; nothing leaves it.
#
#   hack/node.sh up             start the cluster if needed, then the node (hack/cluster.sh up with AIPM_NODE=on); prints the kubeconfig path
#   hack/node.sh start KUBECONFIG  start the node in the cluster of KUBECONFIG (hack/cluster.sh up calls it)
#   hack/node.sh down           stop the node (the cluster stays; hack/cluster.sh down stops both)
#   hack/node.sh import ARCHIVE load an image archive (hack/imagebuild) into the node's containerd
#
# The node is named aipm-node, labelled aipm.io/node=real and tainted
# aipm.io/node=real:NoSchedule: a workload that should run for real
# selects it and tolerates the taint; everything else stays on the fake
# nodes. Images are never pulled (no registry is reachable): pods use
# imagePullPolicy Never or IfNotPresent with an imported image.
#
# What the sandbox needs, and why (docs/testing.md, "The real node"):
# - root, for containerd, network namespaces and iptables;
# - kubelet: failCgroupV1 false (this machine has cgroup v1 controllers and
#   an empty v2 mount), the cgroupfs driver, no QoS cgroups and no node
#   allocatable enforcement (the kubelet cannot create the cgroups those
#   need here), swap allowed, no local storage isolation, no iptables
#   utility chains (kube-proxy makes its own);
# - containerd: restrict_oom_score_adj, since without CAP_SYS_RESOURCE a
#   negative OOM score is refused and every sandbox fails;
# - an address of the node's own on a bridge of its own (this kernel has
#   no dummy interfaces): kubelet refuses a
#   loopback node IP, and without a node address the API server cannot
#   reach it for logs and exec.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_NAME="${NODE_NAME:-aipm-node}"
NODE_IP="${NODE_IP:-10.250.0.10}"
POD_SUBNET="${POD_SUBNET:-10.244.200.0/24}"
STATE="$ROOT/bin/node"
# Unix socket paths are limited to 108 bytes: the runtime's live under /run.
RUN="/run/aipm-node"
SOCK="$RUN/containerd.sock"
PAUSE_IMAGE="aipm.local/pause:1"

log() { printf '[node] %s\n' "$*" >&2; }

need_root() {
  [ "$(id -u)" = 0 ] || { log "the real node needs root (containerd, network namespaces, iptables)"; exit 1; }
}

# Debian's packages, installed when missing.
ensure_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]} from Debian"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

running() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

# start NAME CMD...: run CMD in the background, logging to bin/node/NAME.log.
start() {
  local name="$1"; shift
  running "$name" && return
  "$@" >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

stop() {
  local name="$1"
  if running "$name"; then
    kill "$(cat "$STATE/$name.pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do running "$name" || break; sleep 0.2; done
    running "$name" && kill -9 "$(cat "$STATE/$name.pid")" 2>/dev/null || true
  fi
  rm -f "$STATE/$name.pid"
}

address() {
  ip link show aipm-node0 >/dev/null 2>&1 || ip link add aipm-node0 type bridge
  # Read whole, then matched: grep -q in a pipe under pipefail can fail
  # the pipe by closing it early.
  [[ "$(ip -4 addr show dev aipm-node0)" == *"inet $NODE_IP/"* ]] || ip addr add "$NODE_IP/32" dev aipm-node0
  ip link set aipm-node0 up
}

containerd_up() {
  mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$RUN"
  cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$RUN/state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
EOF
  cat >"$STATE/cni/net.d/10-aipm.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "aipm",
  "plugins": [
    {"type": "bridge", "bridge": "aipm-cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET"}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "$STATE/cni/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF
  start containerd containerd --config "$STATE/containerd/config.toml"
  for _ in $(seq 1 100); do [ -S "$SOCK" ] && ctr --address "$SOCK" version >/dev/null 2>&1 && return; sleep 0.2; done
  log "containerd did not start; see $STATE/containerd.log"; tail -20 "$STATE/containerd.log" >&2; exit 1
}

import() {
  ctr --address "$SOCK" -n k8s.io images import --no-unpack=false "$1" >&2
}

pause_image() {
  if ctr --address "$SOCK" -n k8s.io images ls -q | grep -x "$PAUSE_IMAGE" >/dev/null; then return; fi
  mkdir -p "$STATE/images"
  (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$STATE/images/pause" ./hack/node/pause)
  # A name whose first part has a dot is a registry's: aipm.local/... is
  # kept as it is, where a bare name would become docker.io/library/...
  (cd "$ROOT" && go run ./hack/imagebuild -tag "$PAUSE_IMAGE" -o "$STATE/images/pause.tar" -entrypoint /pause \
    "$STATE/images/pause:/pause") >&2
  import "$STATE/images/pause.tar"
}

kubelet_up() {
  local kubeconfig="$1" bin="$2"
  mkdir -p "$STATE/kubelet"
  cat >"$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$SOCK
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
localStorageCapacityIsolation: false
makeIPTablesUtilChains: false
address: $NODE_IP
readOnlyPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
serializeImagePulls: false
resolvConf: /etc/resolv.conf
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
registerWithTaints:
- {key: aipm.io/node, value: real, effect: NoSchedule}
EOF
  start kubelet "$bin/kubelet" --config "$STATE/kubelet/config.yaml" --kubeconfig "$kubeconfig" \
    --root-dir "$STATE/kubelet/root" --cert-dir "$STATE/kubelet/pki" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --node-labels aipm.io/node=real
}

kube_proxy_up() {
  local kubeconfig="$1" bin="$2"
  mkdir -p "$STATE/kube-proxy"
  cat >"$STATE/kube-proxy/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $POD_SUBNET
hostnameOverride: $NODE_NAME
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clientConnection: {kubeconfig: $kubeconfig}
# Zero leaves the machine's conntrack settings as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  start kube-proxy "$bin/kube-proxy" --config "$STATE/kube-proxy/config.yaml"
}

start_node() {
  local kubeconfig="$1" bin
  need_root
  ensure_packages
  bin="$("$ROOT/hack/build-control-plane.sh" kubelet kube-proxy kubectl)"
  mkdir -p "$STATE"
  address
  containerd_up
  pause_image
  # The cluster may have been created anew since they started, with new
  # credentials: they always start afresh.
  stop kube-proxy
  stop kubelet
  kubelet_up "$kubeconfig" "$bin"
  kube_proxy_up "$kubeconfig" "$bin"
  for _ in $(seq 1 120); do
    if [ "$(KUBECONFIG="$kubeconfig" "$bin/kubectl" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; then
      return
    fi
    running kubelet || break
    sleep 1
  done
  log "node $NODE_NAME is not Ready; see $STATE/kubelet.log"; tail -30 "$STATE/kubelet.log" >&2; exit 1
}

down() {
  stop kube-proxy
  stop kubelet
  # The pods' containers outlive containerd in their shims: stop them first.
  if running containerd; then
    for ns in $(ctr --address "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$SOCK" -n k8s.io tasks kill -s KILL "$ns" >/dev/null 2>&1 || true
    done
  fi
  stop containerd
  pkill -f "containerd-shim-runc-v2 -namespace k8s.io -address $SOCK" 2>/dev/null || true
  ip link del aipm-cni0 2>/dev/null || true
  ip link del aipm-node0 2>/dev/null || true
  # What the sandboxes and volumes left mounted, deepest first.
  local m
  for m in $(awk -v run="$RUN" -v root="$STATE/kubelet/root" '$2 ~ "^" run || $2 ~ "^" root {print $2}' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || true
  done
}

case "${1:-up}" in
  up) AIPM_NODE=on exec "$ROOT/hack/cluster.sh" up ;;
  start) start_node "${2:?name the kubeconfig of the cluster}" ;;
  down) need_root; down ;;
  import) need_root; import "${2:?name the image archive}" ;;
  *) echo "usage: $0 up|start KUBECONFIG|down|import ARCHIVE" >&2; exit 2 ;;
esac
