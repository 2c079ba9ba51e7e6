#!/usr/bin/env bash
# The demo: installs what is missing, builds the package and the sandbox, then starts the sandbox,
# the relay, the sidebar and a mock CRM page, and prints the URL. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cargo build --quiet -p spotdraft-sandbox
exec node www/demo/start.js
