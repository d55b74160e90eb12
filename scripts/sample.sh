#!/usr/bin/env bash
# The main job on the bundled sample (8000 one-minute candles): builds the
# npm package and labels data/sample.csv with the default 210-config grid
# into labels/. Run it twice: the second run skips all 210 configs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --minimal
[ -f pkg/fxlabel_bg.wasm ] && [ pkg/fxlabel_bg.wasm -nt src ] || npm run --silent build
node pkg/cli.js label data/sample.csv --out labels "$@"
