#!/usr/bin/env bash
# Runs every test: the built package in Node, the relay against the sandbox, the TypeScript
# declarations, the WebAssembly build in headless Chromium against a loopback server, then the
# native suites (core and sandbox).
# Installs anything missing first (scripts/bootstrap.sh, via the build).
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n== %s ==\n' "$*"; }

section "build"
bash scripts/build.sh

section "package in Node (node --test)"
node --test tests/js/

section "relay against the sandbox (node --test)"
cargo build --quiet -p spotdraft-sandbox
node --test tests/relay/

section "soak, short version (bash scripts/soak.sh runs the long one)"
node --test tests/soak/

section "sidebar end to end in headless Chromium (demo stack, playwright-core)"
node --test tests/e2e/

section "CRM host adapters (node:test, sfdx-lwc-jest, HubSpot's test renderer)"
bash scripts/test-hosts.sh

section "TypeScript declarations (tsc --strict)"
node_modules/.bin/tsc -p tests/ts
echo "declarations type-check"

section "WebAssembly in headless Chromium (wasm-bindgen-test)"
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
node tests/support/loopback-server.mjs "$port" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
export SDX_LOOPBACK_URL="http://127.0.0.1:$port" CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=180
cargo test --target wasm32-unknown-unknown --test web
# The sidebar's own build (the one the page downloads), with its browser-side JSON and number parsing.
cargo test --target wasm32-unknown-unknown --no-default-features --target-dir target/sidebar --test web_sidebar
kill "$server_pid" 2>/dev/null || true

section "budgets (requests per job, reconcile scaling, memory growth)"
node --test tests/budgets/

section "fuzzing, smoke (5 s per target; bash scripts/fuzz.sh [seconds] runs longer)"
bash scripts/fuzz.sh --smoke

section "native: core and sandbox (cargo test)"
cargo test --workspace --lib --bins --tests
