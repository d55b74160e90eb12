#!/usr/bin/env bash
# Installs everything fxlabel's build and tests need on a fresh Debian
# machine with Rust, Node and Python (see shared TOOLCHAIN notes), from the
# package registries only. Safe to run again: whatever is already present
# at the right version is skipped.
#
#   scripts/setup.sh            everything (browser and Python checks too)
#   scripts/setup.sh --minimal  only what building and running needs
set -euo pipefail
cd "$(dirname "$0")/.."
minimal=${1:-}
WASM_BINDGEN_VERSION=0.2.130
WASM_PACK_VERSION=0.15.1
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

step() { printf '\n== setup: %s\n' "$*"; }

step "rust wasm target"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown

# clang builds zstd for wasm32; chromium + chromedriver, firefox-esr (with
# geckodriver, below) and WebKitGTK (webkit2gtk-driver brings MiniBrowser
# and WebKitWebDriver; xvfb gives it a display) run the browser tests.
need_apt=()
command -v clang >/dev/null || need_apt+=(clang)
command -v llvm-ar >/dev/null || need_apt+=(llvm)
if [ "$minimal" != "--minimal" ]; then
  command -v chromium >/dev/null || need_apt+=(chromium)
  command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
  command -v firefox-esr >/dev/null || need_apt+=(firefox-esr)
  command -v WebKitWebDriver >/dev/null || need_apt+=(webkit2gtk-driver)
  command -v xvfb-run >/dev/null || need_apt+=(xvfb)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  step "apt packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  step "wasm-bindgen-cli $WASM_BINDGEN_VERSION (must equal the wasm-bindgen crate in Cargo.lock)"
  # Not --locked: its lockfile wants a crate version the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --quiet
fi
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  step "wasm-pack $WASM_PACK_VERSION"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --quiet
fi

GECKODRIVER_VERSION=0.37.1
if [ "$minimal" != "--minimal" ] && [ "$(geckodriver --version 2>/dev/null | head -1 | awk '{print $2}')" != "$GECKODRIVER_VERSION" ]; then
  step "geckodriver $GECKODRIVER_VERSION (drives Firefox; from crates.io)"
  cargo install geckodriver --version "$GECKODRIVER_VERSION" --locked --quiet
fi

step "npm packages"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "$minimal" != "--minimal" ]; then
  if ! python3 -c "import pyarrow" 2>/dev/null; then
    step "pyarrow (an independent reader for the output files)"
    python3 -m pip install --quiet pyarrow
  fi
  # The Python package (a maturin build of python/, ~2 min) and what its
  # tests read files back with, in a virtual environment of its own.
  step "Python package: pip install ./python[test] into target/pyenv"
  [ -x target/pyenv/bin/python ] || python3 -m venv target/pyenv
  target/pyenv/bin/pip install --quiet --upgrade pip
  target/pyenv/bin/pip install --quiet "./python[test]"
fi
step "done"
