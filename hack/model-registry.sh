#!/usr/bin/env bash
# A real Kubeflow Model Registry for tests and local runs, without containers:
# its REST server built from its Go module, over Debian's MariaDB.
#
#   hack/model-registry.sh build               build the server (once per version); prints the binary's path
#   hack/model-registry.sh start DIR PORT      start the database and the server on 127.0.0.1:PORT; prints the server's URL
#   hack/model-registry.sh stop DIR            stop both (the data stays in DIR)
#   hack/model-registry.sh restart-server DIR  kill and restart the server only: a registry outage, the data kept
#   hack/model-registry.sh stop-server DIR     kill the server only, for an outage that lasts
#   hack/model-registry.sh start-server DIR    start it again, on the same port and database
#
# Why this server and this database:
# - the proxy serves v0.3.0 (and v0.2.22), whose embedded metadata store
#   ("embedmd") reaches MySQL or PostgreSQL through GORM and applies its own
#   schema migrations at start; older releases needed ML Metadata's C++ gRPC
#   server, which cannot be built here;
# - v0.3.0 on PostgreSQL fails every query scoped to a parent (a model's
#   versions, a version found by name: `relation "parentcontext" does not
#   exist`, an unquoted identifier), so MySQL it is, the store upstream
#   deploys by default; Debian has no MySQL, and its MariaDB passes the
#   migrations and the calls the operator relies on (models, versions,
#   artifacts, lookups by name, paging, PATCH).
#
# DIR holds the pids (mariadb.pid, model-registry.pid), the logs
# (mariadb.log, model-registry.log) and the data (mariadb/). MariaDB runs as
# the caller (as root too, with --user=root) and listens on a unix socket
# only, in a short directory under /tmp (socket paths are limited to 108
# bytes), so that any number of instances run side by side. The server also
# opens pprof on localhost:6060 (hard-coded upstream); a second instance
# only logs that the port is taken.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Not MR_*: the server reads MR_<FLAG> from the environment.
VERSION="${MODEL_REGISTRY_VERSION:-v0.3.0}"
BIN_DIR="$ROOT/bin/model-registry/$VERSION"
BIN="$BIN_DIR/model-registry"
WORK="$ROOT/bin/.build/model-registry-$VERSION"
MARIADBD=/usr/sbin/mariadbd
INSTALL_DB=/usr/bin/mariadb-install-db
PRINT_DEFAULTS=/usr/bin/my_print_defaults
DB_NAME=model_registry
API=/api/model_registry/v1alpha3

log() { printf '[model-registry] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The module's go.mod replaces its nested pkg/openapi module with ./pkg/openapi,
# which a module zip leaves out and a dependent module ignores: pin the
# published pkg/openapi of the same version instead.
build() {
  if [ -x "$BIN" ]; then echo "$BIN"; return; fi
  mkdir -p "$BIN_DIR" "$WORK"
  exec 9>"$WORK/.lock"
  flock 9
  if [ ! -x "$BIN" ]; then
    cat >"$WORK/go.mod" <<EOF
module aipm.local/model-registry-build

go 1.26

require (
	github.com/kubeflow/model-registry $VERSION
	github.com/kubeflow/model-registry/pkg/openapi $VERSION
)

replace github.com/kubeflow/model-registry/pkg/openapi => github.com/kubeflow/model-registry/pkg/openapi $VERSION
EOF
    log "building model-registry $VERSION"
    (cd "$WORK" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
      -o "$BIN.tmp" github.com/kubeflow/model-registry)
    mv "$BIN.tmp" "$BIN"
  fi
  exec 9>&-
  echo "$BIN"
}

# Only the server's core, and the client's for my_print_defaults, which
# mariadb-install-db runs: the full mariadb-server package would also set up
# and start the system's own instance.
install_db() {
  [ -x "$MARIADBD" ] && [ -x "$INSTALL_DB" ] && [ -x "$PRINT_DEFAULTS" ] && return
  [ "$(id -u)" -eq 0 ] || die "MariaDB is not installed: apt-get install mariadb-server-core mariadb-client-core, as root"
  log "installing mariadb-server-core and mariadb-client-core from Debian"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server-core mariadb-client-core >&2
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# kill_wait PIDFILE: stop the process, waiting up to 30 s before SIGKILL.
kill_wait() {
  local pidfile="$1" pid
  if alive "$pidfile"; then
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# The socket's directory, short and the same for DIR on every start.
sock_dir() { echo "/tmp/model-registry-db.$(printf '%s' "$1" | sha1sum | cut -c1-12)"; }

start_db() {
  local dir="$1" sock user=()
  sock="$(sock_dir "$dir")"
  alive "$dir/mariadb.pid" && return
  install_db
  [ "$(id -u)" -ne 0 ] || user=(--user=root)
  mkdir -p -m 700 "$sock"
  # Throwaway data: durability and memory traded for speed and many instances.
  cat >"$dir/mariadb.cnf" <<EOF
[mysqld]
datadir=$dir/mariadb
socket=$sock/mysqld.sock
skip-networking
skip-name-resolve
log-error=$dir/mariadb.log
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
innodb-buffer-pool-size=32M
innodb-log-file-size=8M
innodb-flush-log-at-trx-commit=0
EOF
  if [ ! -d "$dir/mariadb/mysql" ]; then
    "$INSTALL_DB" --defaults-file="$dir/mariadb.cnf" "${user[@]}" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/mariadb-install.log" 2>&1 ||
      { tail -n 20 "$dir/mariadb-install.log" >&2; die "mariadb-install-db failed (log: $dir/mariadb-install.log)"; }
  fi
  echo "CREATE DATABASE IF NOT EXISTS $DB_NAME;" >"$dir/mariadb-init.sql"
  rm -f "$sock/mysqld.sock"
  setsid "$MARIADBD" --defaults-file="$dir/mariadb.cnf" "${user[@]}" --init-file="$dir/mariadb-init.sql" \
    </dev/null >>"$dir/mariadb.log" 2>&1 &
  echo $! >"$dir/mariadb.pid"
  for _ in $(seq 1 300); do
    [ -S "$sock/mysqld.sock" ] && return
    alive "$dir/mariadb.pid" || break
    sleep 0.1
  done
  tail -n 20 "$dir/mariadb.log" >&2 || true
  die "MariaDB did not start (log: $dir/mariadb.log)"
}

start_server() {
  local dir="$1" port bin
  [ -f "$dir/model-registry.port" ] || die "no registry in $dir: run start first"
  port="$(cat "$dir/model-registry.port")"
  bin="$(build)"
  if ! alive "$dir/model-registry.pid"; then
    # Its own session and no inherited descriptors: the caller's Ctrl-C or a
    # pipe it reads to EOF neither kills nor waits for it.
    setsid "$bin" proxy --hostname 127.0.0.1 --port "$port" \
      --datastore-type embedmd --embedmd-database-type mysql \
      --embedmd-database-dsn "root@unix($(sock_dir "$dir")/mysqld.sock)/$DB_NAME?charset=utf8mb4" \
      </dev/null >>"$dir/model-registry.log" 2>&1 &
    echo $! >"$dir/model-registry.pid"
  fi
  # Until connected and migrated, every API path answers 503.
  local url="http://127.0.0.1:$port"
  for _ in $(seq 1 600); do
    if curl -sf -o /dev/null "$url$API/registered_models?pageSize=1"; then echo "$url"; return; fi
    alive "$dir/model-registry.pid" || break
    sleep 0.2
  done
  tail -n 3 "$dir/model-registry.log" >&2 || true
  die "the registry did not answer on $url (log: $dir/model-registry.log)"
}

stop_server() { kill_wait "$1/model-registry.pid"; }

stop_db() {
  kill_wait "$1/mariadb.pid"
  rm -rf "$(sock_dir "$1")"
}

usage() { sed -n '/^#   hack/s/^#   //p' "${BASH_SOURCE[0]}" >&2; exit 2; }

absdir() { mkdir -p "$1" && cd "$1" && pwd; }

case "${1:-}" in
  build) build ;;
  start)
    [ $# -eq 3 ] || usage
    dir="$(absdir "$2")"
    build >/dev/null
    echo "$3" >"$dir/model-registry.port"
    # A start that fails leaves nothing running.
    trap 'rc=$?; [ $rc -eq 0 ] || { stop_server "$dir"; stop_db "$dir"; }' EXIT
    start_db "$dir"
    start_server "$dir"
    ;;
  stop)
    [ $# -eq 2 ] || usage
    dir="$(absdir "$2")"
    stop_server "$dir"
    stop_db "$dir"
    ;;
  stop-server)
    [ $# -eq 2 ] || usage
    stop_server "$(absdir "$2")"
    ;;
  start-server)
    [ $# -eq 2 ] || usage
    start_server "$(absdir "$2")"
    ;;
  restart-server)
    [ $# -eq 2 ] || usage
    dir="$(absdir "$2")"
    stop_server "$dir"
    start_server "$dir"
    ;;
  *) usage ;;
esac
