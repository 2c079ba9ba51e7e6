#!/usr/bin/env bash
# Benchmarks and budgets (issue 6): builds what it measures, runs every measurement on this machine
# and writes results/bench/report.json and report.md. Takes about 20 minutes; stops by itself.
# Speed is reported here, never asserted; the deterministic budgets are in scripts/test.sh.
# BENCH_LOADS (cold-start loads, default 20) and BENCH_WEBHOOK_RUNS (default 7) trade time for spread;
# so do BENCH_SCALE_ROUNDS (default 3) and BENCH_SCALE_SECONDS (default 8) for the scale-out step,
# which needs redis-server (scripts/bootstrap.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

out=results/bench
loads=${BENCH_LOADS:-20}
webhook_runs=${BENCH_WEBHOOK_RUNS:-7}
step() { printf '\n== bench: %s ==\n' "$*"; }
# Every step has a ceiling, so a hung browser or server cannot keep the run going.
bounded() { local seconds=$1; shift; timeout --kill-after=10 "$seconds" "$@"; }

step "build"
bash scripts/build.sh
cargo build --quiet -p spotdraft-sandbox
cargo build --quiet --release -p spotdraft-bench
bench=target/release/spotdraft-bench

rm -rf "$out"
mkdir -p "$out/raw"

step "1. payload"
bounded 60 node bench/js/sizes.mjs > "$out/raw/sizes.json"

step "2. start, cold and warm ($loads loads of each)"
bounded 600 node bench/js/cold-start.mjs "$loads" > "$out/raw/cold-start.json"

step "3. webhook path ($webhook_runs runs of 10,000 events each)"
node -e 'import("./bench/js/events.mjs").then(({ makeEvents }) => process.stdout.write(JSON.stringify(makeEvents(10000))))' > "$out/events.json"
bounded 300 "$bench" webhook "$out/events.json" "$webhook_runs" > "$out/raw/webhook-native.json"
bounded 300 node bench/js/webhook.mjs "$out/events.json" "$webhook_runs" > "$out/raw/webhook-node.json"

step "4. relay overhead against the sandbox"
bounded 600 node bench/js/relay-overhead.mjs > "$out/raw/relay-overhead.json"

step "5. requests per job"
bounded 120 node bench/js/requests.mjs > "$out/raw/requests.json"
bounded 60 "$bench" sidebar > "$out/raw/sidebar-counts.json"

step "6. reconcile scaling"
{
  printf '['
  bounded 120 "$bench" reconcile 1000 10 5
  printf ','
  bounded 120 "$bench" reconcile 10000 100 5
  printf ','
  bounded 300 "$bench" reconcile 100000 1000 5
  printf ']'
} > "$out/raw/reconcile.json"

step "7. memory over 100,000 webhook deliveries"
bounded 600 node --expose-gc bench/js/memory.mjs 100000 > "$out/raw/memory.json"

step "8. scale-out: 1, 2 and 3 relay instances on one Redis"
bounded 660 node bench/js/scale.mjs > "$out/raw/scale.json"

step "report"
node bench/js/report.mjs "$out"
echo
echo "wrote $out/report.json and $out/report.md"
