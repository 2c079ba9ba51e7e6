#!/usr/bin/env bash
# Builds the npm package in pkg/: release wasm → wasm-bindgen (web target) → wasm-opt -Oz →
# pkg-template files. Prints what was built and its sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

crate=spotdraft_crm
out=pkg
wasm_in="target/wasm32-unknown-unknown/release/${crate}.wasm"

echo "[build] compiling the core for wasm32 (release)"
cargo build --quiet --release --lib --target wasm32-unknown-unknown

rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name "$crate" "$wasm_in"

# Features named explicitly: rustc's defaults for wasm32 use these, and wasm-opt must not reject them.
node_modules/.bin/wasm-opt -Oz \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o "$out/${crate}_bg.opt.wasm" "$out/${crate}_bg.wasm"
mv "$out/${crate}_bg.opt.wasm" "$out/${crate}_bg.wasm"

cp pkg-template/index.js pkg-template/node.js pkg-template/index.d.ts pkg-template/README.md "$out/"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
sed "s/\"version\": \"0.0.0\"/\"version\": \"$version\"/" pkg-template/package.json > "$out/package.json"

# The Pipedrive panel adapter loads Pipedrive's SDK (npm, pinned) from beside the sidebar page.
mkdir -p www/sidebar/vendor
cp node_modules/@pipedrive/app-extensions-sdk/dist/index.umd.js www/sidebar/vendor/pipedrive-app-extensions-sdk.js

size() { wc -c < "$1" | tr -d ' '; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
{
  echo "spotdraft-crm $version"
  printf '%-28s %10s %10s\n' file bytes gzip-9
  for f in "${crate}_bg.wasm" "${crate}.js" index.js node.js; do
    printf '%-28s %10s %10s\n' "$f" "$(size "$out/$f")" "$(gz "$out/$f")"
  done
} > "$out/BUILD.txt"
echo "[build] built $out/ (npm package spotdraft-crm $version):"
sed 's/^/  /' "$out/BUILD.txt"
