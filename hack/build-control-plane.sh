#!/usr/bin/env bash
# Builds the control-plane binaries that envtest, kwokctl and the e2e suite use,
# from the Go module proxy alone: no release downloads, no containers.
#
#   hack/build-control-plane.sh [component...]
#
# Components: kube-apiserver etcd kube-controller-manager kube-scheduler kubectl
# kubelet kube-proxy kwok kwokctl, and for the e2e suite traefik (a Gateway
# API implementation) and kserve-controller (KServe's manager) (default:
# kube-apiserver etcd, all that envtest needs).
# Binaries land in $BIN_DIR (default bin/k8s/<k8s version>) and are rebuilt only
# when a binary is missing; each reports its real version.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.12}"
KSERVE_VERSION="${KSERVE_VERSION:-v0.17.0}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${BIN_DIR:-$ROOT/bin/k8s/$KUBE_VERSION}"
WORK="$ROOT/bin/.build"
mkdir -p "$BIN_DIR" "$WORK"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver etcd)

log() { printf '[build-control-plane] %s\n' "$*" >&2; }

# The staging modules (k8s.io/api, client-go, ...) are required by
# k8s.io/kubernetes at v0.0.0 with replace directives into its own tree, which
# do not apply to a dependent module. Pin each to its published release instead.
kube_module() {
  local dir="$WORK/kubernetes-$KUBE_VERSION"
  if [ -f "$dir/.ready" ]; then echo "$dir"; return; fi
  mkdir -p "$dir"
  local staging="v0${KUBE_VERSION#v1}"
  local modfile
  modfile="$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module aipm.local/kube-build"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    grep -E '^\s+k8s\.io/[a-z0-9-]+ => \./staging/' "$modfile" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$dir/go.mod"
  (cd "$dir" && GOFLAGS=-mod=mod go mod download k8s.io/kubernetes)
  touch "$dir/.ready"
  echo "$dir"
}

kube_ldflags() {
  local v="${KUBE_VERSION#v}" major minor
  major="${v%%.*}"; minor="$(echo "$v" | cut -d. -f2)"
  local pkg
  local flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

build_kube() {
  local name="$1" dir
  dir="$(kube_module)"
  log "building $name $KUBE_VERSION"
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$(kube_ldflags)" \
    -o "$BIN_DIR/$name" "k8s.io/kubernetes/cmd/$name")
}

build_etcd() {
  local dir="$WORK/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  if [ ! -f "$dir/go.mod" ]; then
    printf 'module aipm.local/etcd-build\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
  fi
  log "building etcd $ETCD_VERSION"
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=release-${ETCD_VERSION}" \
    -o "$BIN_DIR/etcd" go.etcd.io/etcd/server/v3)
}

# `go install module@version` asks the proxy for the module's version list,
# which this proxy may refuse; building inside a pinned module does not.
build_kwok() {
  local name="$1" dir="$WORK/kwok-$KWOK_VERSION"
  mkdir -p "$dir"
  if [ ! -f "$dir/go.mod" ]; then
    printf 'module aipm.local/kwok-build\n\ngo 1.26\n\nrequire sigs.k8s.io/kwok %s\n' "$KWOK_VERSION" >"$dir/go.mod"
  fi
  log "building $name $KWOK_VERSION"
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBE_VERSION" \
    -o "$BIN_DIR/$name" "sigs.k8s.io/kwok/cmd/$name")
}

# module_src MODULE@VERSION: the module's directory in the module cache.
# Traefik's and KServe's go.mod replace modules (KServe's pins
# controller-runtime v0.19), which only applies inside their own module, so
# each is built in its own directory there.
module_src() {
  local dir="$WORK/module-src"
  mkdir -p "$dir"
  [ -f "$dir/go.mod" ] || printf 'module aipm.local/module-src\n\ngo 1.26\n' >"$dir/go.mod"
  (cd "$dir" && GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
}

build_traefik() {
  local src
  src="$(module_src "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")"
  log "building traefik $TRAEFIK_VERSION"
  (cd "$src" && GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$BIN_DIR/traefik" ./cmd/traefik)
}

# KServe's controller manager, for the e2e suite's InferenceServices.
build_kserve() {
  local src
  src="$(module_src "github.com/kserve/kserve@$KSERVE_VERSION")"
  log "building kserve-controller $KSERVE_VERSION"
  (cd "$src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o "$BIN_DIR/kserve-controller" ./cmd/manager)
}

for c in "${components[@]}"; do
  if [ -x "$BIN_DIR/$c" ]; then continue; fi
  case "$c" in
    kube-apiserver | kube-controller-manager | kube-scheduler | kubectl | kubelet | kube-proxy) build_kube "$c" ;;
    etcd) build_etcd ;;
    kwok | kwokctl) build_kwok "$c" ;;
    traefik) build_traefik ;;
    kserve-controller) build_kserve ;;
    *) log "unknown component $c"; exit 2 ;;
  esac
done
echo "$BIN_DIR"
