#!/usr/bin/env bash
# Builds the training engines' controllers the e2e suite runs beside the
# local cluster (hack/cluster.sh) as plain processes, from the Go module proxy
# alone, and extracts their CRDs from the same module zips, so that the CRDs
# always match the controller that serves them.
#
#   hack/build-engines.sh engine...
#
# Engines: jobset (JobSet's controller), trainer (Kubeflow Trainer v2's
# controller manager), kuberay (KubeRay's ray-operator), rollouts (Argo
# Rollouts' controller, which `make bench-peer` runs beside the operator).
# For each engine, in the order given, prints one directory,
# bin/engines/<engine>-<version>, holding the controller as <dir>/<engine>
# and its CRDs as <dir>/crds/*.yaml (apply them with --server-side: they are
# too large for a client-side apply's annotation). A directory is built only
# when its binary is missing.
#
# Versions: Trainer v2.0.0 requires, and its release ships, JobSet v0.8.2, so
# that is the JobSet built: the JobSet API Trainer writes is the one the
# controller reads. Each is built inside its own module with its own go.sum,
# so its dependencies are those upstream tested.
#
# Running them out of cluster (kubeconfig via --kubeconfig or KUBECONFIG, the
# CRDs installed first) takes more than flags; the reasons are in their code:
#  - jobset: its --config file (config.jobset.x-k8s.io/v1alpha1
#    Configuration) must set internalCertManagement.enable: false, or it
#    waits for a webhook Secret in jobset-system, and webhook.port, host and
#    certDir (a directory holding tls.crt/tls.key), since its webhook server
#    must start. Its JobSet mutating webhook must be registered, by URL on
#    127.0.0.1 with that certificate as caBundle: only that webhook defaults
#    spec.successPolicy and spec.network, which the reconciler dereferences
#    (it panics on a JobSet created without them, as Trainer creates them).
#  - trainer: no flag or config file turns its cert rotation off, and it
#    exits unless the Secret kubeflow-trainer-webhook-cert exists, empty, in
#    kubeflow-system (where it thinks it runs outside a pod) for it to fill.
#    It starts no reconciler until /tmp/k8s-webhook-server/serving-certs/
#    tls.crt exists: a path fixed in its code, where a pod mounts that
#    Secret, checked for existence only. Its webhook server reads
#    $TMPDIR/k8s-webhook-server/serving-certs. Its webhooks only validate:
#    none needs registering. Metrics are off by default.
#  - kuberay: leader election is on by default and metrics take :8080.
#    A RayJob cannot succeed on fake pods: the operator reads the job's
#    status only from the Ray dashboard of the head pod, over HTTP.
set -euo pipefail

JOBSET_VERSION="${JOBSET_VERSION:-v0.8.2}"
TRAINER_VERSION="${TRAINER_VERSION:-v2.0.0}"
KUBERAY_VERSION="${KUBERAY_VERSION:-v1.5.0}"
ROLLOUTS_VERSION="${ROLLOUTS_VERSION:-v1.10.2}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENGINES_DIR="$ROOT/bin/engines"
WORK="$ROOT/bin/.build"
mkdir -p "$ENGINES_DIR" "$WORK"

[ $# -gt 0 ] || { echo "usage: $0 jobset|trainer|kuberay|rollouts..." >&2; exit 2; }

log() { printf '[build-engines] %s\n' "$*" >&2; }

# module_src MODULE@VERSION: the module's directory in the module cache.
# `go install module@version` asks the proxy for the module's version list,
# which this proxy may refuse; downloading one exact version does not.
module_src() {
  local dir="$WORK/module-src"
  mkdir -p "$dir"
  [ -f "$dir/go.mod" ] || printf 'module aipm.local/module-src\n\ngo 1.26\n' >"$dir/go.mod"
  (cd "$dir" && GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
}

# build ENGINE MODULE VERSION PKG CRD_DIR [LDFLAGS]: builds PKG inside the
# module and copies the module's CRDs, into a directory renamed into place
# only when both are done, so that an interrupted build is never taken for
# a finished one.
build() {
  local engine="$1" module="$2" version="$3" pkg="$4" crds="$5" ldflags="${6:-}"
  local out="$ENGINES_DIR/$engine-$version"
  if [ -x "$out/$engine" ]; then echo "$out"; return; fi
  local src tmp
  src="$(module_src "$module@$version")"
  [ -n "$src" ] || { log "could not download $module@$version"; exit 1; }
  tmp="$out.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp/crds"
  log "building $engine $version"
  (cd "$src" && GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" \
    -o "$tmp/$engine" "$pkg")
  find "$src/$crds" -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml -exec cp {} "$tmp/crds/" \;
  [ -n "$(ls "$tmp/crds")" ] || { log "no CRDs in $module@$version/$crds"; exit 1; }
  chmod -R u+w "$tmp"
  rm -rf "$out" && mv "$tmp" "$out"
  echo "$out"
}

for e in "$@"; do
  case "$e" in
    jobset) build jobset sigs.k8s.io/jobset "$JOBSET_VERSION" . config/components/crd/bases \
      "-X sigs.k8s.io/jobset/pkg/version.GitVersion=$JOBSET_VERSION" ;;
    trainer) build trainer github.com/kubeflow/trainer/v2 "$TRAINER_VERSION" ./cmd/trainer-controller-manager manifests/base/crds ;;
    kuberay) build kuberay github.com/ray-project/kuberay/ray-operator "$KUBERAY_VERSION" . config/crd/bases ;;
    # Argo Rollouts v1.10 requires Go 1.26.10, newer than this machine's: the
    # go command fetches the approved toolchain from the module proxy.
    rollouts) GOTOOLCHAIN=go1.27.3 build rollouts github.com/argoproj/argo-rollouts "$ROLLOUTS_VERSION" \
      ./cmd/rollouts-controller manifests/crds ;;
    *) log "unknown engine $e"; exit 2 ;;
  esac
done
