#!/usr/bin/env bash
# Builds the npm package into pkg/: the wasm module (wasm-pack, --target web,
# one build for Node and the browser) merged with pkg-template/.
# Downloads nothing: wasm-pack runs with --mode no-install (it would
# otherwise fetch wasm-bindgen from GitHub) and wasm-opt is off in
# wasm/Cargo.toml (see shared TOOLCHAIN notes).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

for tool in wasm-pack wasm-bindgen node; do
  command -v "$tool" >/dev/null || { echo "build-pkg: '$tool' not found on PATH (see TOOLCHAIN: cargo install wasm-pack --version 0.15.1 --locked; cargo install wasm-bindgen-cli --version 0.2.130)" >&2; exit 1; }
done

# opt-level 3: see Cargo.toml and the README ("wasm size").
CARGO_PROFILE_RELEASE_OPT_LEVEL=3 wasm-pack build wasm --target web --mode no-install --release \
  --out-dir ../pkg/web --out-name fxlabel

# pkg/ is rebuilt from scratch except pkg/web (wasm-pack's output) and
# pkg/node_modules (if an earlier build had to install into it).
find pkg -mindepth 1 -maxdepth 1 ! -name web ! -name node_modules -exec rm -rf {} +
cp pkg/web/fxlabel.js pkg/web/fxlabel_bg.wasm pkg/web/fxlabel.d.ts pkg/
cp pkg-template/* pkg/
chmod +x pkg/cli.js

# The package's version is the crate's.
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync("pkg/package.json", "utf8"));
  p.version = process.argv[1];
  fs.writeFileSync("pkg/package.json", JSON.stringify(p, null, 2) + "\n");
' "$version"

# apache-arrow resolves from the repository's node_modules (root
# devDependency, same version); install into pkg/ only when it does not.
if ! (cd pkg && node --input-type=module -e 'await import("apache-arrow")' 2>/dev/null); then
  echo "build-pkg: apache-arrow not found from pkg/, installing it there" >&2
  (cd pkg && npm install --omit=dev --no-package-lock --no-audit --no-fund)
fi

raw=$(wc -c < pkg/fxlabel_bg.wasm)
gz=$(gzip -9 -c pkg/fxlabel_bg.wasm | wc -c)
echo "fxlabel_bg.wasm: $raw bytes raw, $gz bytes gzip -9 ($((raw / 1024)) KiB, $((gz / 1024)) KiB)"
