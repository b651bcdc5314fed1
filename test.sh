#!/usr/bin/env bash
# Runs every test suite and ends with one line "N passed, M failed" summed over all of them:
#   1. the .NET tests (unit, in-process API, CLI) on the embedded SQLite store
#   2. the same .NET tests on PostgreSQL (a private cluster this script starts, or CALLVAULT_TEST_POSTGRES)
#   3. the retell-sdk 4.20.0 conformance suite against a real server, on SQLite and on PostgreSQL
# Everything it needs (npm packages, PostgreSQL) it installs itself. Exit code 0 only when nothing failed.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
out="$root/.test-output"
rm -rf "$out" && mkdir -p "$out"

passed=0
failed=0
tally() { # suite-name passed failed
  passed=$((passed + $2)); failed=$((failed + $3))
  printf '== suite %s: %s passed, %s failed\n' "$1" "$2" "$3"
}

# Sums the Counters of the TRX files under a folder; a run that left no TRX counts as one failure.
tally_trx() { # suite-name folder
  local p=0 f=0 files
  files=$(find "$2" -name '*.trx' 2>/dev/null)
  if [ -z "$files" ]; then tally "$1" 0 1; return; fi
  for trx in $files; do
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
    p=$((p + $(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")))
    f=$((f + $(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")))
    f=$((f + $(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")))
  done
  tally "$1" "$p" "$f"
}

run_dotnet_tests() { # suite-name [VAR=value...]
  local name=$1; shift
  env "$@" dotnet test CallVault.slnx -c Release --no-build --logger trx --results-directory "$out/$name" \
    >"$out/$name.log" 2>&1
  grep -E '^\s*(Failed|Passed|Skipped)[ !]' "$out/$name.log" | grep -v '^\s*Passed ' | tail -n 40
  tally_trx "$name" "$out/$name"
}

echo "== building (Release)"
if ! dotnet build CallVault.slnx -c Release >"$out/build.log" 2>&1; then
  grep -E 'error|warning' "$out/build.log" | sort -u | head -n 40
  tally build 0 1
  echo "$passed passed, $failed failed"
  exit 1
fi

run_dotnet_tests dotnet-sqlite CALLVAULT_TEST_STORE=sqlite

for suite in scripts/test-suites/*.sh; do
  [ -e "$suite" ] || continue
  # Each extra suite prints its own "N passed, M failed" as its last line.
  name=$(basename "$suite" .sh)
  bash "$suite" "$out" 2>&1 | tee "$out/$name.log" | tail -n 30
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/$name.log" | tail -n 1)
  if [ -z "$last" ]; then tally "$name" 0 1; else tally "$name" "${last%% passed*}" "$(sed 's/.*passed, \([0-9]*\) failed.*/\1/' <<<"$last")"; fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
