#!/usr/bin/env bash
# The list-calls benchmark (issue 3). Builds in Release, starts a real `serve` on a fresh store in a temporary
# folder, and runs bench/CallVault.Bench against it: import of N synthetic calls through POST /v2/import-calls,
# latency of every query shape at page 50 and 1000, rows read per row returned, mixed load with wrk against a
# fixed-answer endpoint of the same server, and server peak memory. Prints one table per store.
#
#   bench/run.sh [--calls N] [--store sqlite|postgres|both] [--quick] [--requests R] [--load-seconds S] [--out FILE]
#                [--batch N]          (calls per import request; default 10,000, the API's maximum)
#                [--profile-import]   (also: where the import's CPU goes, in-process on 50,000 calls)
#                [--pause-damon]      (pause the kernel's DAMON memory reclaimer for the run, as root; see below)
#                [--order blocks|interleaved]  (sequential requests one shape after the other, the default, or
#                                     round by round over the shapes)
#                [--pg-tcp]           (the server reaches its PostgreSQL over TCP on loopback, not over the
#                                     cluster's Unix socket, the default since session 19)
#
# Some virtual machines run the kernel's DAMON reclaimer (kdamond threads) for their host. On a 2-core machine it
# takes a core for milliseconds twice a second, which shows in the p99s of sequential requests; the report says
# whether it ran and how much CPU it took. --pause-damon turns it off for the run and back on at the end.
# Targets only 127.0.0.1, stops by itself (bounded requests and durations), and removes its server processes
# and temporary stores on exit, even on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

calls=1000000
store=sqlite
profile=""
pause_damon=""
pg_tcp=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) calls=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    --quick) extra+=(--quick); shift ;;
    --profile-import) profile=1; shift ;;
    --pause-damon) pause_damon=1; shift ;;
    --pg-tcp) pg_tcp=1; shift ;;
    --requests|--load-seconds|--batch|--import-parallelism|--order) extra+=("$1" "$2"); shift 2 ;;
    --out) extra+=(--out "$(realpath -m "$2")"); shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$store" in sqlite|postgres) stores=("$store") ;; both) stores=(sqlite postgres) ;; *) echo "--store sqlite|postgres|both" >&2; exit 2 ;; esac

if ! command -v wrk >/dev/null; then
  echo "== installing wrk (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null; }
fi

echo "== building (Release)" >&2
dotnet build src/CallVault/CallVault.csproj -c Release -v q -nologo >/dev/null
dotnet build bench/CallVault.Bench/CallVault.Bench.csproj -c Release -v q -nologo >/dev/null
server_dll="$root/src/CallVault/bin/Release/net10.0/CallVault.dll"
bench_dll="$root/bench/CallVault.Bench/bin/Release/net10.0/CallVault.Bench.dll"

work=$(mktemp -d /tmp/callvault-bench.XXXXXX)
server_pid=""
pg_started=""
damon_paused=()
pause_damon_now() { # every running DAMON context off, remembered so that cleanup turns it back on
  local f
  for f in /sys/kernel/mm/damon/admin/kdamonds/*/state; do
    [ -f "$f" ] && [ "$(cat "$f")" = on ] || continue
    if echo off >"$f" 2>/dev/null; then damon_paused+=("$f"); else echo "bench: cannot pause $f (needs root)" >&2; fi
  done
  for f in /sys/module/damon_reclaim/parameters/enabled /sys/module/damon_lru_sort/parameters/enabled; do
    [ -f "$f" ] && [ "$(cat "$f")" = Y ] || continue
    if echo N >"$f" 2>/dev/null; then damon_paused+=("$f"); else echo "bench: cannot pause $f (needs root)" >&2; fi
  done
  if [ ${#damon_paused[@]} -gt 0 ]; then
    echo "== paused the kernel's DAMON reclaimer (${#damon_paused[@]} switch(es)); it is turned back on at the end" >&2
  else
    echo "== --pause-damon: no DAMON reclaimer was paused (none running, or not root)" >&2
  fi
}
resume_damon() {
  local f
  for f in "${damon_paused[@]}"; do
    case "$f" in */state) echo on >"$f" ;; *) echo Y >"$f" ;; esac 2>/dev/null || echo "bench: could not turn $f back on" >&2
  done
  damon_paused=()
}
cleanup() {
  resume_damon
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$pg_started" ]; then "$root/scripts/postgres.sh" stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_server() { # store db: a fresh `serve` on a free loopback port, with the benchmark endpoint and Server-Timing on
  port=$(free_port)
  url="http://127.0.0.1:$port"
  CallVault__BenchmarkEndpoints=true CallVault__ServerTiming=true Logging__LogLevel__Default=Warning \
    dotnet "$server_dll" serve --db "$2" --urls "$url" >>"$work/server-$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do curl -fs "$url/healthz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  cat "$work/server-$1.log" >&2
  exit 1
}
stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

if [ -n "$pause_damon" ]; then pause_damon_now; fi

for s in "${stores[@]}"; do
  case "$s" in
    sqlite)
      db="$work/sqlite/bench.db"; mkdir -p "$work/sqlite" ;;
    postgres)
      if [ ! -x "$root/scripts/postgres.sh" ]; then echo "PostgreSQL is not available on this branch (scripts/postgres.sh missing)" >&2; exit 2; fi
      db=$(CALLVAULT_PG_HUGE_PAGES=1 "$root/scripts/postgres.sh" start | tail -n 1); pg_started=1 ;;
  esac
  # The server reaches a PostgreSQL on its own machine the way such a deployment would: over the Unix socket
  # (`?host=<folder>`, as with libpq), which spares each page's bytes the loopback TCP path (bench/RESULTS.md,
  # "What session 19 measured"). The benchmark's side channel and the key keep the TCP URL.
  server_db=$db transport=tcp
  if [ "$s" = postgres ] && [ -z "$pg_tcp" ] && socket=$("$root/scripts/postgres.sh" socket) && [ -n "$socket" ]; then
    server_db="$db?host=$socket" transport=unix
  fi
  key=$(dotnet "$server_dll" keys create --workspace bench --db "$db" | tail -n 1)
  mkdir -p "$work/batches"
  for phase in import serve; do
    start_server "$s" "$server_db"
    CALLVAULT_BENCH_KEY="$key" dotnet "$bench_dll" --phase "$phase" --url "$url" --calls "$calls" --store "$s" --db "$db" --transport "$transport" \
      --server-pid "$server_pid" --work "$work/batches" --state "$work/import-$s.json" "${extra[@]}"
    stop_server
  done
  rm -rf "$work/batches" "$work/sqlite"
  if [ -n "$pg_started" ]; then "$root/scripts/postgres.sh" stop >/dev/null 2>&1 || true; pg_started=""; fi
done

if [ -n "$profile" ]; then
  dotnet "$bench_dll" --profile-import 50000
fi
