#!/usr/bin/env bash
# The retell-sdk 4.20.0 conformance suite: starts the real CallVault server (Release build) on a free loopback
# port and drives it with the official SDK through node's test runner (tests/conformance).
#
#   scripts/test-suites/conformance.sh [OUTPUT_DIR]
#
# Store: $CONFORMANCE_DB when set (a SQLite path or a PostgreSQL URL), else a new SQLite file in a temporary
# folder. $CONFORMANCE_LABEL (default "conformance") names the files it leaves in OUTPUT_DIR: LABEL-server.log
# and LABEL.tap. Needs the Release build (./test.sh builds it first) and Node 20; installs the npm packages
# from the lock file when they are missing or stale. The last line is always "N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/.test-output}
label=${CONFORMANCE_LABEL:-conformance}
suite="$root/tests/conformance"
dll="$root/src/CallVault/bin/Release/net10.0/CallVault.dll"
mkdir -p "$out" && out=$(cd "$out" && pwd)

give_up() { # message
  echo "conformance: $1" >&2
  echo "0 passed, 1 failed"
  exit 1
}

[ -f "$dll" ] || give_up "$dll is missing: build first (dotnet build CallVault.slnx -c Release)"
command -v node >/dev/null || give_up "node is not installed (Node 20 or later is needed)"
command -v npm >/dev/null || give_up "npm is not installed"

# npm packages: reinstalled from the lock file whenever it changed since the last install.
lock_sum=$(sha256sum "$suite/package-lock.json" | cut -d' ' -f1)
stamp="$suite/node_modules/.callvault-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "== conformance: npm ci"
  (cd "$suite" && npm ci --no-audit --no-fund --loglevel=error) >"$out/$label-npm.log" 2>&1 ||
    { tail -n 20 "$out/$label-npm.log" >&2; give_up "npm ci failed"; }
  echo "$lock_sum" >"$stamp"
fi

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$out/$label-server.log"
db=${CONFORMANCE_DB:-$tmp/conformance.db}
# Fresh workspace names each run, so a shared database (PostgreSQL) never mixes runs.
run=$(date +%s)-$$
create_key() { # workspace
  dotnet "$dll" keys create --workspace "$1" --db "$db" 2>>"$out/$label-server.log" | tail -n 1
}
key_a=$(create_key "conformance-a-$run") || true
key_b=$(create_key "conformance-b-$run") || true
[[ "$key_a" =~ ^[A-Za-z0-9_]{20,}$ && "$key_b" =~ ^[A-Za-z0-9_]{20,}$ ]] ||
  give_up "keys create did not print a key (see $out/$label-server.log)"

# The key goes to curl in a private file, never on a command line that other users can see.
(umask 077 && printf 'Authorization: Bearer %s\n' "$key_a" >"$tmp/auth")

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Start the server; another process may take the chosen port first, so a server that dies is tried again.
base_url=""
for attempt in 1 2 3; do
  port=$(free_port)
  dotnet "$dll" serve --db "$db" --urls "http://127.0.0.1:$port" >>"$out/$label-server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do
    # Healthy, and it is ours: only a server on our store accepts our key (another one may hold the port).
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null &&
      curl -fsS -o /dev/null -X POST -H @"$tmp/auth" -H 'Content-Type: application/json' -d '{"limit":1}' \
        "http://127.0.0.1:$port/v2/list-calls" 2>/dev/null; then
      base_url="http://127.0.0.1:$port"
      break 2
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  kill "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=""
done
[ -n "$base_url" ] || { tail -n 20 "$out/$label-server.log" >&2; give_up "the server did not answer /healthz"; }
# The store is named, never printed: a PostgreSQL URL may carry a password.
echo "== conformance: server on $base_url, store: $([ -n "${CONFORMANCE_DB:-}" ] && echo '$CONFORMANCE_DB' || echo 'a temporary SQLite file')"

tap="$out/$label.tap"
rm -f "$tap"
(
  cd "$suite" &&
    CALLVAULT_BASE_URL="$base_url" CALLVAULT_KEY_A="$key_a" CALLVAULT_KEY_B="$key_b" \
      timeout 300 node --test --test-concurrency=2 \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$tap"
)
status=$?

# Node's TAP summary: "# pass N", "# fail N", "# cancelled N" (a test that never finished counts as failed).
count() { sed -n "s/^# $1 \([0-9][0-9]*\)$/\1/p" "$tap" 2>/dev/null | tail -n 1; }
passed=$(count pass)
failed=$(count fail)
cancelled=$(count cancelled)
if [ -z "$passed" ] || [ -z "$failed" ] || [ $((passed + failed)) -eq 0 ]; then
  echo "conformance: the node test run crashed or reported nothing (exit $status)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
failed=$((failed + ${cancelled:-0}))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "conformance: node --test exited $status without a failed test" >&2
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
