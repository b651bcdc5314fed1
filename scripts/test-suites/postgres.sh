#!/usr/bin/env bash
# The PostgreSQL suite, run by ./test.sh after the Release build with the output folder as $1:
#   1. the whole .NET test suite on PostgreSQL (a fresh database per test),
#   2. the retell-sdk conformance suite against a server on PostgreSQL (when scripts/test-suites/conformance.sh exists).
# Uses the server named by CALLVAULT_TEST_POSTGRES, else starts a private cluster (scripts/postgres.sh) and
# removes it afterwards. The last line is "N passed, M failed" over both.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: $0 OUTPUT_FOLDER}
mkdir -p "$out"

passed=0
failed=0

export CALLVAULT_PG_STATE="$out/postgres.state"
if ! url=$(bash scripts/postgres.sh start | tail -n 1) || [ -z "$url" ]; then
  echo "could not start PostgreSQL"
  echo "0 passed, 1 failed"
  exit 1
fi
trap 'bash scripts/postgres.sh stop' EXIT

# 1. The .NET tests; counts come from the TRX Counters, as test.sh does.
results="$out/dotnet-postgres"
CALLVAULT_TEST_STORE=postgres CALLVAULT_TEST_POSTGRES="$url" \
  dotnet test CallVault.slnx -c Release --no-build --logger trx --results-directory "$results" >"$out/dotnet-postgres.log" 2>&1
grep -E '^\s*(Failed|Skipped)[ !]' "$out/dotnet-postgres.log" | tail -n 40
trx_found=0
for trx in $(find "$results" -name '*.trx' 2>/dev/null); do
  trx_found=1
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  passed=$((passed + $(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")))
  failed=$((failed + $(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")))
  failed=$((failed + $(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")))
done
[ "$trx_found" -eq 1 ] || { echo "the .NET tests on PostgreSQL left no TRX (see $out/dotnet-postgres.log)"; failed=$((failed + 1)); }
echo "dotnet tests on PostgreSQL: $passed passed, $failed failed"

# 2. The retell-sdk conformance suite on PostgreSQL, if it is there, in a database of its own.
if [ -f scripts/test-suites/conformance.sh ]; then
  conf_db="callvault_conformance_$(date +%s)_$$"
  base=${url%%\?*}
  conf_url="${base%/*}/$conf_db${url#"$base"}"
  if ! psql "$url" -qc "CREATE DATABASE $conf_db" >"$out/conformance-postgres-db.log" 2>&1; then
    cat "$out/conformance-postgres-db.log"
    conf_url=$url
    conf_db=""
  fi
  CONFORMANCE_DB="$conf_url" CONFORMANCE_LABEL=conformance-postgres \
    bash scripts/test-suites/conformance.sh "$out" >"$out/conformance-postgres.log" 2>&1
  tail -n 20 "$out/conformance-postgres.log"
  [ -n "$conf_db" ] && psql "$url" -qc "DROP DATABASE IF EXISTS $conf_db WITH (FORCE)" >/dev/null 2>&1
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/conformance-postgres.log" | tail -n 1)
  if [ -z "$last" ]; then
    echo "the conformance suite on PostgreSQL printed no result line"
    failed=$((failed + 1))
  else
    echo "conformance on PostgreSQL: $last"
    passed=$((passed + ${last%% passed*}))
    failed=$((failed + $(sed 's/.*passed, \([0-9]*\) failed.*/\1/' <<<"$last")))
  fi
fi

echo "$passed passed, $failed failed"
