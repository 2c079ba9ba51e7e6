#!/usr/bin/env bash
# The test command: every section runs, even after one fails, then a summary.
#
#   bash scripts/test.sh                      # everything (what CI runs)
#   bash scripts/test.sh relay e2e            # only these sections (plus the build, for those that need it)
#   bash scripts/test.sh --list               # the sections
#   VERBOSE=1 bash scripts/test.sh …          # stream every section's output as well
#
# Each section's full output goes to results/test/<section>.log; a failing section prints the last
# 60 lines of its log. The summary gives every section's pass/fail counts and time, and its last line
# is "N passed, N failed"; the exit status is non-zero when anything failed. A section that fails
# before reporting counts (a compile error, a crash, a timeout) counts as one failure, never as green.
# scripts/bootstrap.sh (installs of anything missing) runs first, logged to results/test/bootstrap.log.
#
# Deterministic: nothing here explores. The committed fuzz corpus and crash reproducers are replayed by
# tests/fuzz_corpus.rs in the native section; coverage-guided fuzzing is `bash scripts/fuzz.sh`.
# TEST_SECTION_TIMEOUT (seconds, default 1200) stops a section that hangs, so it cannot hide the rest.
set -uo pipefail
cd "$(dirname "$0")/.."

# id | needs the build (pkg/, target/debug/sandbox) | title
SECTIONS=(
  "bootstrap|0|installs of anything missing (scripts/bootstrap.sh)"
  "build|0|npm package in pkg/ and the sidebar page in dist/sidebar/ (scripts/build.sh), and the sandbox binary"
  "fmt|0|formatting (cargo fmt --all --check)"
  "clippy|0|lints (cargo clippy -D warnings: workspace, all targets; the wasm32 library)"
  "package|1|the built package in Node (tests/js/)"
  "relay|1|the relay against the sandbox (tests/relay/)"
  "relay-redis|1|the same relay suites with the shared state in Redis (RELAY_TEST_REDIS_URL)"
  "crm-clients|1|the sandbox's CRM emulators driven by each vendor's own npm client (tests/crm-clients/: @hubspot/api-client, pipedrive)"
  "soak|1|soak, short version (tests/soak/; bash scripts/soak.sh runs the long one)"
  "e2e|1|sidebar end to end in headless Chromium (tests/e2e/)"
  "hosts|1|CRM host adapters (scripts/test-hosts.sh: node:test, sfdx-lwc-jest)"
  "typescript|1|TypeScript: the generated API declarations are current, the declarations (tsc --strict -p tests/ts), the sidebar shell (tests/ts/tsconfig.shell.json) and the admin console (tsconfig.console.json)"
  "wasm|0|WebAssembly in headless Chromium (wasm-bindgen-test: web, web_sidebar)"
  "budgets|1|budgets: requests per job, memory growth, payload (tests/budgets/)"
  "repository|0|the repository itself (tests/repo/)"
  "native|0|native: core, sandbox, fuzz corpus replay (cargo test)"
)

field() { # field <section line> <1|2|3>
  echo "$1" | cut -d'|' -f"$2"
}
section_line() { # section_line <id>: the SECTIONS entry, or nothing
  local s
  for s in "${SECTIONS[@]}"; do
    if [ "$(field "$s" 1)" = "$1" ]; then echo "$s"; return 0; fi
  done
  return 1
}

# ---- section bodies (run in a child: bash scripts/test.sh --run-one <id>) ----

node_tests() { node --test --test-reporter=spec "$@"; }

run_bootstrap() { bash scripts/bootstrap.sh; }
run_build() {
  bash scripts/build.sh
  echo "[build] the sandbox binary (target/debug/sandbox)"
  cargo build -p spotdraft-sandbox
}
run_fmt() { cargo fmt --all --check -- --color=never; }
run_clippy() {
  local status=0
  cargo clippy --workspace --all-targets -- -D warnings || status=1
  # The boundary crate (wasm/) is compiled only for wasm32: lint it there, both builds (full, sidebar).
  cargo clippy -p spotdraft-crm-wasm --target wasm32-unknown-unknown --lib -- -D warnings || status=1
  cargo clippy -p spotdraft-crm-wasm --target wasm32-unknown-unknown --lib --no-default-features --features sidebar \
    --target-dir target/sidebar -- -D warnings || status=1
  return "$status"
}
run_package() { node_tests tests/js/; }
run_relay() { node_tests tests/relay/; }
run_relay-redis() {
  # Every suite but the store's own (it starts its own Redis servers).
  local files=()
  for f in tests/relay/*.test.mjs; do [ "$f" = tests/relay/redis-store.test.mjs ] || files+=("$f"); done
  node tests/support/with-redis.mjs node --test --test-reporter=spec "${files[@]}"
}
run_crm-clients() { node_tests tests/crm-clients/; }
run_soak() { node_tests tests/soak/; }
run_e2e() { node_tests tests/e2e/; }
run_hosts() { bash scripts/test-hosts.sh; }
run_typescript() {
  # Both run, even after one fails; the section fails if either does.
  local status=0
  if node_modules/.bin/tsc -p tests/ts; then
    echo "declarations type-check"
  else
    echo "declarations do NOT type-check"
    status=1
  fi
  if node_modules/.bin/tsc -p tests/ts/tsconfig.shell.json; then
    echo "sidebar shell type-checks"
  else
    echo "sidebar shell does NOT type-check"
    status=1
  fi
  # The full API's generated declarations are what the Rust declarations generate (ts-rs).
  if cargo test -q --features typescript --test api_typescript; then
    echo "the API's generated TypeScript is current"
  else
    echo "the API's generated TypeScript is NOT current (SDX_WRITE_TYPESCRIPT=1 cargo test --features typescript --test api_typescript)"
    status=1
  fi
  if node_modules/.bin/tsc -p tests/ts/tsconfig.console.json; then
    echo "admin console type-checks"
  else
    echo "admin console does NOT type-check"
    status=1
  fi
  return "$status"
}
run_wasm() {
  local port status=0
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  node tests/support/loopback-server.mjs "$port" &
  server_pid=$! # global: the EXIT trap runs after this function has returned
  trap 'kill "$server_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  export SDX_LOOPBACK_URL="http://127.0.0.1:$port" CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=180
  cargo test --no-fail-fast -p spotdraft-crm-wasm --target wasm32-unknown-unknown --test web || status=1
  # The sidebar's own build (the one the page downloads), with its browser-side JSON and number parsing.
  cargo test --no-fail-fast -p spotdraft-crm-wasm --target wasm32-unknown-unknown --no-default-features \
    --features sidebar --target-dir target/sidebar --test web_sidebar || status=1
  return "$status"
}
run_budgets() { node_tests tests/budgets/; }
run_repository() { node_tests tests/repo/; }
run_native() { cargo test --workspace --lib --bins --tests --no-fail-fast; }

# A reason to skip a section, or nothing.
skip_reason() {
  case "$1" in
    repository) [ -d tests/repo ] || echo "tests/repo/ does not exist" ;;
  esac
}

# ---- counts: "passed failed" from a section's log ----

last_number() { # last_number <log> <sed pattern with one number group>
  sed -nE "s/$2/\1/p" "$1" | tail -n 1
}
counts() { # counts <id> <log> <exit status>
  local id=$1 log=$2 rc=$3 p f c
  case "$id" in
    package | relay | relay-redis | crm-clients | soak | e2e | budgets | repository)
      p=$(last_number "$log" '^ℹ pass ([0-9]+)$')
      f=$(last_number "$log" '^ℹ fail ([0-9]+)$')
      c=$(last_number "$log" '^ℹ cancelled ([0-9]+)$')
      f=$((${f:-0} + ${c:-0}))
      ;;
    wasm | native) # cargo test and wasm-bindgen-test-runner: one line per test binary
      read -r p f < <(sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' "$log" |
        awk '{p += $1; f += $2} END {print p + 0, f + 0}')
      ;;
    hosts)
      p=$(last_number "$log" '^hosts: ([0-9]+) passed, [0-9]+ failed$')
      f=$(last_number "$log" '^hosts: [0-9]+ passed, ([0-9]+) failed$')
      ;;
    *) # one check: the command's exit status
      if [ "$rc" -eq 0 ]; then p=1 f=0; else p=0 f=1; fi
      ;;
  esac
  echo "${p:-0} ${f:-0}"
}

# ---- the child: one section's body ----

if [ "${1:-}" = "--run-one" ]; then
  set -euo pipefail
  "run_$2"
  exit
fi

# ---- arguments ----

usage() {
  echo "usage: bash scripts/test.sh [--list] [section…]   (VERBOSE=1 streams all output)" >&2
  exit 2
}
selected=()
for arg in "$@"; do
  case "$arg" in
    --list)
      for s in "${SECTIONS[@]}"; do printf '%-11s %s\n' "$(field "$s" 1)" "$(field "$s" 3)"; done
      exit 0
      ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
      if ! section_line "$arg" >/dev/null; then
        echo "test.sh: no section '$arg' (bash scripts/test.sh --list)" >&2
        exit 2
      fi
      selected+=("$arg")
      ;;
  esac
done

# Bootstrap always; the build when a chosen section needs it; then the chosen ones, in order.
plan=()
if [ ${#selected[@]} -eq 0 ]; then
  for s in "${SECTIONS[@]}"; do plan+=("$(field "$s" 1)"); done
else
  need_build=0
  for id in "${selected[@]}"; do
    [ "$(field "$(section_line "$id")" 2)" = 1 ] && need_build=1
  done
  for s in "${SECTIONS[@]}"; do
    id=$(field "$s" 1)
    chosen=0
    for want in "${selected[@]}"; do [ "$want" = "$id" ] && chosen=1; done
    if [ "$id" = bootstrap ] || [ $chosen = 1 ] || { [ "$id" = build ] && [ $need_build = 1 ]; }; then
      plan+=("$id")
    fi
  done
fi

# ---- running ----

logs=results/test
mkdir -p "$logs"
limit=${TEST_SECTION_TIMEOUT:-1200}
verbose=${VERBOSE:-0}
# Lines that name a failed test in the runners this script drives (node:test spec, Jest, cargo test).
failure_markers='^ *✖ |^ *✕ |^ *● |^test .* \.\.\. FAILED$|panicked at|^not ok '
child=""
trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi; echo; echo "test.sh: interrupted" >&2; exit 130' INT TERM

rows=()
total_pass=0
total_fail=0
started_all=$(date +%s)
index=0
for id in "${plan[@]}"; do
  index=$((index + 1))
  title=$(field "$(section_line "$id")" 3)
  log="$logs/$id.log"
  printf '[%2d/%d] %-10s %s\n' "$index" "${#plan[@]}" "$id" "$title"

  reason=$(skip_reason "$id")
  if [ -n "$reason" ]; then
    echo "skipped: $reason" >"$log"
    echo "        skipped: $reason"
    rows+=("$id|skipped|0|0|0|$reason")
    continue
  fi

  started=$(date +%s)
  # timeout puts the section in its own process group and, when time is up, signals all of it.
  if [ "$verbose" = 1 ]; then
    timeout -k 10 "$limit" bash "$0" --run-one "$id" </dev/null > >(tee "$log") 2>&1 &
  else
    timeout -k 10 "$limit" bash "$0" --run-one "$id" </dev/null >"$log" 2>&1 &
  fi
  child=$!
  wait "$child"
  rc=$?
  child=""
  [ "$verbose" = 1 ] && wait 2>/dev/null # let tee finish writing
  seconds=$(($(date +%s) - started))

  read -r passed failed < <(counts "$id" "$log" "$rc")
  note=""
  if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ "$seconds" -ge "$limit" ]; }; then
    note="timed out after $limit s"
    echo "test.sh: $id timed out after $limit s (TEST_SECTION_TIMEOUT)" >>"$log"
  fi
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1 # failed without counting a failure (compile error, crash, timeout)
    [ -n "$note" ] || note="exit status $rc with no failure counted"
  elif [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    failed=1 # ran nothing that counted: never green
    note="no test counts in the output"
  fi
  total_pass=$((total_pass + passed))
  total_fail=$((total_fail + failed))

  if [ "$failed" -eq 0 ]; then
    printf '        ok: %d passed (%d s)\n' "$passed" "$seconds"
    rows+=("$id|ok|$passed|$failed|$seconds|")
  else
    printf '        FAILED: %d passed, %d failed (%d s)%s\n' "$passed" "$failed" "$seconds" "${note:+; $note}"
    if [ "$verbose" != 1 ]; then
      # The failures first, by each runner's own marker (node:test, Jest, cargo test, panics), so a
      # failure early in a long log is named even when the tail is another runner's summary.
      if grep -qE "$failure_markers" "$log"; then
        echo "        ---- failures named in $log ----"
        grep -nE "$failure_markers" "$log" | head -n 40 | sed 's/^/        | /'
      fi
      echo "        ---- last 60 lines of $log ----"
      tail -n 60 "$log" | sed 's/^/        | /'
      echo "        ---- end of $log ----"
    fi
    rows+=("$id|FAILED|$passed|$failed|$seconds|${note:+$note; }log: $log")
  fi
done

elapsed=$(($(date +%s) - started_all))
{
  echo
  echo "== summary ($((elapsed / 60)) min $((elapsed % 60)) s; logs in $logs/) =="
  printf '%-11s %-8s %7s %7s %7s  %s\n' section result passed failed time ""
  for row in "${rows[@]}"; do
    IFS='|' read -r id result passed failed seconds extra <<<"$row"
    printf '%-11s %-8s %7s %7s %6ss  %s\n' "$id" "$result" "$passed" "$failed" "$seconds" "$extra"
  done
  echo "$total_pass passed, $total_fail failed"
} | tee "$logs/summary.txt"
[ "$total_fail" -eq 0 ]
