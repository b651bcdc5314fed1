#!/usr/bin/env bash
# A private PostgreSQL for the tests and the benchmark.
#   scripts/postgres.sh start   starts a cluster and prints its URL as the last line
#   scripts/postgres.sh url     prints the URL of the running cluster
#   scripts/postgres.sh socket  prints the folder of its Unix socket (nothing for a server of your own)
#   scripts/postgres.sh stop    stops it and removes its folder
# With CALLVAULT_TEST_POSTGRES set (a postgresql:// URL of a server of your own), every verb just uses that
# server: start and url print it, stop does nothing.
# Otherwise start installs PostgreSQL from Debian's packages if it is missing (needs root), creates a cluster
# with initdb in a temporary folder owned by an unprivileged user (postgres when run as root), and starts it
# on a free loopback port with a random password. Where it is recorded: $CALLVAULT_PG_STATE, by default
# .postgres-state at the root of the checkout (so each worktree has its own).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${CALLVAULT_PG_STATE:-$root/.postgres-state}

die() { echo "postgres.sh: $*" >&2; exit 1; }

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  return 1
}

install_postgres() {
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed; install the 'postgresql' package or set CALLVAULT_TEST_POSTGRES"
  echo "installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
}

# The tuned configuration (docs/scaling.md), sized for a 1,000,000-call working set (about 5 GB with its
# indexes) on a 24 GB machine shared with other work. Memory is only taken as it is used, so a test cluster
# with a few calls stays small. Durability settings stay at their defaults: fsync and synchronous_commit on.
# CALLVAULT_PG_SHARED_BUFFERS overrides the buffer cache size.
tune() {
  cat >>"$1" <<CONF

# ---- CallVault tuned configuration (scripts/postgres.sh) ----
fsync = on
synchronous_commit = on
# 1M calls with their indexes (about 4.9 GB) stay in PostgreSQL's own cache: a row that has to come from the
# OS page cache costs a system call. effective_cache_size tells the planner what the OS caches besides.
shared_buffers = ${CALLVAULT_PG_SHARED_BUFFERS:-6GB}
effective_cache_size = 12GB
# Data is cached: a random read costs about as much as a sequential one.
random_page_cost = 1.1
effective_io_concurrency = 100
work_mem = 16MB
maintenance_work_mem = 512MB
# List queries are short: JIT compiling a plan costs tens of ms and saves nothing.
jit = off
# Imports: fewer checkpoints (each one makes every next change of a page log the whole page), and
# compressed full-page images.
max_wal_size = 8GB
min_wal_size = 1GB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
wal_buffers = 64MB
wal_compression = lz4
CONF
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if [ -n "${CALLVAULT_TEST_POSTGRES:-}" ]; then echo "$CALLVAULT_TEST_POSTGRES"; return; fi
  if [ -f "$state" ] && [ -f "$(sed -n 1p "$state")/data/postmaster.pid" ]; then
    die "a cluster is already running ($state); run '$0 stop' first"
  fi
  local bin
  bin=$(find_bin) || { install_postgres; bin=$(find_bin) || die "initdb not found after installing PostgreSQL"; }
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
  fi

  local dir password port
  dir=$(mktemp -d /tmp/callvault-pg.XXXXXX)
  chmod 700 "$dir"
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/pwfile"
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U callvault --pwfile="$dir/pwfile" -A scram-sha-256 \
    --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
  rm -f "$dir/pwfile"
  tune "$dir/data/postgresql.conf"
  [ -n "${CALLVAULT_PG_HUGE_PAGES:-}" ] && reserve_huge_pages "$dir"

  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c max_connections=300" \
        >/dev/null 2>&1; then
      printf '%s\n%s\n%s\n' "$dir" "$bin" "postgresql://callvault:$password@127.0.0.1:$port/postgres" >"$state"
      sed -n 3p "$state"
      return
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  done
  tail -n 20 "$dir/server.log" >&2 || true
  rm -rf "$dir"
  die "could not start PostgreSQL on a free port"
}

# Huge pages for the shared buffers (CALLVAULT_PG_HUGE_PAGES=1, as root; bench/run.sh sets it). Every
# PostgreSQL backend maps each page of the shared buffers it touches on first use: with 4 kB pages that is a page
# fault per 4 kB in every backend, which on this kind of virtual machine cost a new backend 4-10 ms for a page of
# 50 calls read from cached buffers (0.1 ms once mapped). With 2 MB pages a backend maps its working set in a few
# thousand faults. The kernel's reservation (vm.nr_hugepages) is set back when the cluster stops. If the kernel
# cannot reserve them, PostgreSQL starts on ordinary pages (huge_pages = try).
reserve_huge_pages() { # cluster-folder
  [ "$(id -u)" -eq 0 ] || { echo "postgres.sh: huge pages need root; using ordinary pages" >&2; return 0; }
  local size=${CALLVAULT_PG_SHARED_BUFFERS:-6GB} mb page_kb pages
  case "$size" in *GB) mb=$(( ${size%GB} * 1024 )) ;; *MB) mb=${size%MB} ;; *) echo "postgres.sh: shared_buffers '$size' is not in MB or GB; using ordinary pages" >&2; return 0 ;; esac
  page_kb=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
  [ -n "$page_kb" ] || return 0
  # The shared buffers and PostgreSQL's other shared structures (about a tenth more), plus a margin.
  pages=$(( (mb * 1024 * 11 / 10) / page_kb + 64 ))
  cat /proc/sys/vm/nr_hugepages >"$1/nr_hugepages.before"
  sysctl -q -w vm.nr_hugepages=$(( $(cat "$1/nr_hugepages.before") + pages )) || true
  echo "huge_pages = try" >>"$1/data/postgresql.conf"
}

url() {
  if [ -n "${CALLVAULT_TEST_POSTGRES:-}" ]; then echo "$CALLVAULT_TEST_POSTGRES"; return; fi
  [ -f "$state" ] || die "no cluster is running (no $state); run '$0 start'"
  sed -n 3p "$state"
}

socket() {
  if [ -n "${CALLVAULT_TEST_POSTGRES:-}" ]; then return; fi
  [ -f "$state" ] || die "no cluster is running (no $state); run '$0 start'"
  sed -n 1p "$state"
}

stop() {
  if [ -n "${CALLVAULT_TEST_POSTGRES:-}" ]; then return; fi
  [ -f "$state" ] || return 0
  local dir bin
  dir=$(sed -n 1p "$state"); bin=$(sed -n 2p "$state")
  case "$dir" in /tmp/callvault-pg.*) ;; *) die "unexpected cluster folder '$dir' in $state" ;; esac
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 \
      || as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/nr_hugepages.before" ]; then sysctl -q -w vm.nr_hugepages="$(cat "$dir/nr_hugepages.before")" || true; fi
  rm -rf "$dir" "$state"
}

case "${1:-}" in
  start) start ;;
  url) url ;;
  socket) socket ;;
  stop) stop ;;
  *) echo "usage: $0 start|url|socket|stop" >&2; exit 2 ;;
esac
