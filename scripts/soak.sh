#!/usr/bin/env bash
# The long soak: many deals, several sidebars each clicking Create at once, every fault injected
# together, then reconcile (tests/soak/soak.test.mjs), and the same across three relay instances on one
# Redis with instances killed mid-create and mid-webhook (tests/soak/scale.test.mjs). Bounded; stops by
# itself. SOAK_DEALS and SCALE_DEALS set the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cargo build --quiet -p spotdraft-sandbox
SOAK_DEALS="${SOAK_DEALS:-60}" SCALE_DEALS="${SCALE_DEALS:-30}" node --test tests/soak/
