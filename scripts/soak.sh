#!/usr/bin/env bash
# The long soak: many deals, several sidebars each clicking Create at once, every fault injected
# together, then reconcile (tests/soak/). Bounded; stops by itself. SOAK_DEALS sets the size.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cargo build --quiet -p spotdraft-sandbox
SOAK_DEALS="${SOAK_DEALS:-60}" node --test tests/soak/
