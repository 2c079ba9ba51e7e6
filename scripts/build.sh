#!/usr/bin/env bash
# Builds the npm package in pkg/ (and the sidebar page, and the Zoho widget zip): release wasm → wasm-bindgen (web target) → wasm-opt (-O3 for the full build, -Oz for the sidebar's) →
# pkg-template files, then the sidebar page (scripts/bundle-sidebar.mjs → dist/sidebar/). Prints what was built and its sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

# The boundary crate (wasm/) is what compiles to WebAssembly; the package keeps the names below.
crate=spotdraft_crm
artifact=spotdraft_crm_wasm
out=pkg

rm -rf "$out"
mkdir -p "$out"

# Two builds of the boundary crate: the full API (relay, Node, tools) and the sidebar's, which leaves
# the server-side API out (`--no-default-features --features sidebar`) so the browser downloads only
# what it runs.
# The sidebar build has its own target dir so switching features never recompiles the other.
# The sidebar's build is optimised for size (the browser downloads it); the full build for speed
# (the relay verifies and parses every webhook with it, server-side, where bytes cost nothing).
build_wasm() { # <out-name> <target-dir> <opt-level: z|3> [cargo flags…]
  local name=$1 target_dir=$2 level=$3
  shift 3
  CARGO_PROFILE_RELEASE_OPT_LEVEL=$level \
    cargo build --quiet --release --lib -p spotdraft-crm-wasm --target wasm32-unknown-unknown --target-dir "$target_dir" "$@"
  wasm-bindgen --target web --out-dir "$out" --out-name "$name" "$target_dir/wasm32-unknown-unknown/release/${artifact}.wasm"
  # Features named explicitly: rustc's defaults for wasm32 use these, and wasm-opt must not reject them.
  # The producers and target-features sections are build metadata no runtime reads.
  # For size, the pipeline twice: the second pass finds what the first one's inlining exposed
  # (about 150 B gzip off the sidebar's wasm, measured with bench/js/sizes.mjs).
  local passes=("-O$level")
  [ "$level" = z ] && passes+=("-Oz")
  node_modules/.bin/wasm-opt "${passes[@]}" --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$out/${name}_bg.opt.wasm" "$out/${name}_bg.wasm"
  mv "$out/${name}_bg.opt.wasm" "$out/${name}_bg.wasm"
}
echo "[build] compiling the core for wasm32 (release, for speed): full API"
build_wasm "$crate" target 3
echo "[build] compiling the core for wasm32 (release, for size): sidebar"
build_wasm "${crate}_sidebar" target/sidebar z --no-default-features --features sidebar
# The same sidebar with linking a SpotDraft contract to the deal (`link`): the page loads it only when a
# seller asks to link one, so it costs nothing before the first view.
echo "[build] compiling the core for wasm32 (release, for size): sidebar with linking"
build_wasm "${crate}_sidebar_link" target/sidebar-link z --no-default-features --features sidebar,spotdraft-crm/link

cp pkg-template/index.js pkg-template/node.js pkg-template/index.d.ts pkg-template/sidebar.js pkg-template/sidebar.d.ts pkg-template/README.md "$out/"
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
  for f in "${crate}_bg.wasm" "${crate}.js" index.js node.js "${crate}_sidebar_bg.wasm" "${crate}_sidebar.js" sidebar.js "${crate}_sidebar_link_bg.wasm"; do
    printf '%-28s %10s %10s\n' "$f" "$(size "$out/$f")" "$(gz "$out/$f")"
  done
} > "$out/BUILD.txt"
echo "[build] built $out/ (npm package spotdraft-crm $version):"
sed 's/^/  /' "$out/BUILD.txt"

# The page the relay and the demo serve: one minified module, hashed names, precompressed (dist/sidebar/).
echo "[build] bundling the sidebar page"
node scripts/bundle-sidebar.mjs

# Zoho CRM's widget: the zip an admin uploads, checked and packed by Zoho's own toolkit (zet).
echo "[build] the Zoho CRM widget (dist/zoho-widget/)"
node scripts/build-zoho-widget.mjs
