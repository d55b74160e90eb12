#!/usr/bin/env bash
# Every test of fxlabel, from a fresh machine: set-up, the native Rust
# tests (unit, property, hostile input, round trip, CLI, doc examples), the
# wasm skin in Node, Chromium, Firefox and WebKit (pages and dedicated
# workers), the npm package build, the Node tests of the host and CLI
# (which also check outputs with pyarrow and against the native CLI, and
# run the reliability checks at a small size), the browser tests in the
# three engines (stores, the demo end to end, a Vite-bundled page), and the
# Python package's tests (pytest, a Dask LocalCluster included).
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

step "wasm skin in WebKit (WebKitWebDriver under Xvfb; its sessions get no OPFS, so the worker OPFS tests run in the JS store tests below)"
# wasm-pack looks for a driver named safaridriver: WebKitGTK's is WebKitWebDriver.
mkdir -p target/webkit-driver
ln -sf "$(command -v WebKitWebDriver)" target/webkit-driver/safaridriver
PATH="$PWD/target/webkit-driver:$PATH" WASM_BINDGEN_USE_BROWSER=1 xvfb-run -a wasm-pack test --headless --safari --mode no-install wasm

step "npm package build"
npm run --silent build

step "Node tests of the host and CLI (reliability included: kills, failing storage, hostile input, concurrent runs)"
npm run --silent test:js

step "browser, Chromium (playwright-core): OPFS and IndexedDB stores with the run protocol's conformance cases, the demo end to end, a Vite-bundled page"
npm run --silent test:browser

step "browser, Firefox (geckodriver): the stores, the demo end to end, a Vite-bundled page"
npm run --silent test:firefox

step "browser, WebKitGTK (MiniBrowser under Xvfb; WebKitWebDriver for a session without OPFS): the stores, the demo end to end, a Vite-bundled page"
npm run --silent test:webkit

step "Python package: pytest (pandas, polars, pyarrow inputs; readers; a Dask LocalCluster)"
target/pyenv/bin/python -m pytest -q python/tests
