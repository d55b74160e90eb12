#!/usr/bin/env bash
# Every test of fxlabel, from a fresh machine: set-up, the native Rust
# tests (unit, property, hostile input, round trip, CLI, doc examples), the
# wasm skin in Node, headless Chromium and a dedicated worker, the npm
# package build, the Node tests of the host and CLI (which also check
# outputs with pyarrow and against the native CLI, and run the reliability
# checks at a small size), the browser tests of the demo, and the Python
# package's tests (pytest, a Dask LocalCluster included).
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

step "wasm skin and the OPFS store in a dedicated worker (headless Chromium)"
WASM_BINDGEN_USE_DEDICATED_WORKER=1 wasm-pack test --headless --chrome --mode no-install wasm

step "wasm skin and the OPFS store driven by the core's run protocol in a dedicated worker (headless Firefox)"
WASM_BINDGEN_USE_DEDICATED_WORKER=1 wasm-pack test --headless --firefox --mode no-install wasm

step "npm package build"
npm run --silent build

step "Node tests of the host and CLI (reliability included: kills, failing storage, hostile input, concurrent runs)"
npm run --silent test:js

step "browser: OPFS store in a worker, the demo end to end (playwright-core + Debian Chromium)"
npm run --silent test:browser

step "browser: the OPFS store tests and the run protocol's conformance cases in Firefox (geckodriver)"
npm run --silent test:firefox

step "Python package: pytest (pandas, polars, pyarrow inputs; readers; a Dask LocalCluster)"
target/pyenv/bin/python -m pytest -q python/tests
