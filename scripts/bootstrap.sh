#!/usr/bin/env bash
# Installs whatever this project needs and is missing. Safe to run repeatedly: every step checks first.
# Needs: rustup + cargo, node + npm, and root (or sudo) for apt-get on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

# The CLI must match the `wasm-bindgen = "=X"` pin in wasm/Cargo.toml exactly, so read it from there.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p; s/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' wasm/Cargo.toml | head -n1)
if [ -z "$WASM_BINDGEN_VERSION" ]; then
  echo "bootstrap: could not read the wasm-bindgen pin from wasm/Cargo.toml" >&2; exit 1
fi

say() { printf '[bootstrap] %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (takes a few minutes once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# The relay's shared-state tests (tests/relay/redis-store.test.mjs) start a throwaway redis-server.
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -f package.json ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
# wasm-opt comes from the npm package `binaryen` (pinned in package.json), not Debian: bookworm's
# binaryen 108 rewrites wasm-bindgen's externref table so the module fails to instantiate.
say "ready: $(rustc --version | cut -d' ' -f1-2), wasm-bindgen $WASM_BINDGEN_VERSION, $(chromium --version 2>/dev/null | head -n1), $(node_modules/.bin/wasm-opt --version | head -n1), $(redis-server --version | cut -d' ' -f1-3)"
