#!/usr/bin/env bash
# The browser tests of one engine, each in a real browser installed from
# the package registries (scripts/setup.sh):
#
#   scripts/test-browser.sh chromium   Debian's Chromium (playwright-core)
#   scripts/test-browser.sh firefox    Firefox ESR (geckodriver)
#   scripts/test-browser.sh webkit     WebKitGTK's MiniBrowser under Xvfb
#
# In each: the stores (OPFS, then IndexedDB) in a dedicated worker and on
# the page with the run protocol's conformance cases; the demo end to end;
# a page bundled by Vite from the packed package. WebKit runs twice more
# through WebKitWebDriver, whose private sessions get no OPFS: the demo
# then labels into IndexedDB, as a private window would.
# Needs pkg/ (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:?usage: scripts/test-browser.sh chromium|firefox|webkit}
node scripts/build-www.mjs >/dev/null

t() { node --test --test-concurrency=1 --test-timeout=600000 "$@"; }
case "$engine" in
  chromium)
    t tests/browser/stores.test.mjs tests/browser/e2e.test.mjs tests/browser/bundler.test.mjs
    FXLABEL_STORE=idb t tests/browser/stores.test.mjs
    ;;
  firefox | webkit)
    FXLABEL_BROWSER=$engine t tests/browser/stores.test.mjs tests/browser/demo-engines.test.mjs tests/browser/bundler.test.mjs
    FXLABEL_BROWSER=$engine FXLABEL_STORE=idb t tests/browser/stores.test.mjs
    if [ "$engine" = webkit ]; then
      FXLABEL_BROWSER=webkit-webdriver t tests/browser/demo-engines.test.mjs
      FXLABEL_BROWSER=webkit-webdriver FXLABEL_STORE=idb t tests/browser/stores.test.mjs
    fi
    ;;
  *) echo "unknown engine '$engine' (chromium, firefox, webkit)" >&2; exit 2 ;;
esac
