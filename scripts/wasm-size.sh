#!/usr/bin/env bash
# Measures the wasm module's size (raw and gzip) for each release opt-level,
# to choose the profile on figures (README, "wasm size"). Each variant
# builds in its own target folder; the speed of each is measured by
# scripts/bench-node.mjs with FXLABEL_PKG pointing at the variant.
#   scripts/wasm-size.sh [LEVELS...]   default: s z 3
set -euo pipefail
cd "$(dirname "$0")/.."
for level in "${@:-s z 3}"; do
  for l in $level; do
    dir="target/wasm-size/opt-$l"
    CARGO_TARGET_DIR="$dir" CARGO_PROFILE_RELEASE_OPT_LEVEL="$l" \
      cargo build --quiet --release --target wasm32-unknown-unknown -p fxlabel-wasm
    wasm-bindgen --target web --out-dir "$dir/pkg" --out-name fxlabel \
      "$dir/wasm32-unknown-unknown/release/fxlabel_wasm.wasm"
    raw=$(wc -c < "$dir/pkg/fxlabel_bg.wasm")
    gz=$(gzip -9 -c "$dir/pkg/fxlabel_bg.wasm" | wc -c)
    echo "opt-level=$l: $raw bytes raw, $gz bytes gzip -9 ($dir/pkg)"
  done
done
