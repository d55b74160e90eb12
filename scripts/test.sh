#!/usr/bin/env bash
# Every test of fxlabel, from a fresh machine: set-up, the native Rust
# tests (unit, property, round trip, CLI, doc examples), the wasm skin in
# Node and in headless Chromium, the npm package build, and the Node tests
# of the host and CLI (which also check outputs with pyarrow and against
# the native CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

step() { printf '\n== test: %s\n' "$*"; }

step "native Rust tests"
cargo test --features cli

step "wasm skin in Node"
wasm-pack test --node --mode no-install wasm

step "wasm skin in headless Chromium"
WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome --mode no-install wasm

step "npm package build"
npm run --silent build

step "Node tests of the host and CLI"
npm run --silent test:js
