// Shared helpers of the browser tests: the demo site (built by
// scripts/build-www.mjs into target/www), a loopback static server, and
// Debian's Chromium driven by playwright-core. Headless: no display needed.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve-www.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SITE = path.join(ROOT, "target", "www");
export const ARTIFACTS = path.join(ROOT, "target", "test-artifacts");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

if (!existsSync(path.join(SITE, "pkg", "worker.js"))) {
  throw new Error(`the demo site is missing in ${SITE}: run 'npm run build && npm run build:www' first`);
}
mkdirSync(ARTIFACTS, { recursive: true });

/** Starts the server (of `root`, default the demo site) and Chromium; returns {url, browser, close()}. */
export async function startBrowser(root = SITE) {
  const { server, url } = await serve({ root, port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    url,
    browser,
    async close() {
      await browser.close().catch(() => {});
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * The site and one page in `engine`: "chromium" (playwright-core),
 * "firefox" (geckodriver, see webdriver.mjs), "webkit" (MiniBrowser under
 * Xvfb, see minibrowser.mjs) or "webkit-webdriver" (MiniBrowser in a private
 * WebDriver session: no OPFS); the page offers goto(url), reload() and
 * evaluate(fn, arg) in all of them. Returns {url, page, engine, close()}.
 */
export async function openPage(engine = process.env.FXLABEL_BROWSER ?? "chromium", root = SITE) {
  if (engine === "webkit") {
    const { startMiniBrowser } = await import("./minibrowser.mjs");
    return startMiniBrowser(root);
  }
  if (engine === "firefox" || engine === "webkit-webdriver") {
    const { startFirefox, startWebKitDriver } = await import("./webdriver.mjs");
    const { server, url } = await serve({ root, port: 0 });
    const ff = engine === "firefox" ? await startFirefox() : await startWebKitDriver();
    return {
      url,
      page: ff.page,
      engine: ff.page.engine,
      async close() {
        await ff.close();
        server.closeAllConnections?.();
        await new Promise((r) => server.close(r));
      },
    };
  }
  const env = await startBrowser(root);
  const { page } = await newPage(env.browser);
  return { url: env.url, page, engine: `chromium ${env.browser.version()}`, close: env.close };
}

/** A fresh page whose console errors and page errors are collected. */
export async function newPage(browser, { acceptDownloads = true } = {}) {
  const context = await browser.newContext({ acceptDownloads, viewport: { width: 1180, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("dialog", (d) => d.accept());
  return { context, page, problems };
}

/** The file names of a grid, in grid order. */
export function gridNames(targets, stops, horizons) {
  const out = [];
  for (const t of targets) for (const s of stops) for (const h of horizons) out.push(`T${t}_S${s}_H${h}.parquet`);
  return out;
}

// Entries of a zip whose entries are stored (client-zip never compresses):
// read through the central directory, Zip64 extra fields included.
export function unzipStored(buf) {
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, "zip: no end of central directory");
  let count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  if (at === 0xffffffff || count === 0xffff) {
    const loc = buf.readUInt32LE(eocd - 20) === 0x07064b50 ? Number(buf.readBigUInt64LE(eocd - 12)) : -1;
    assert.ok(loc >= 0 && buf.readUInt32LE(loc) === 0x06064b50, "zip: bad Zip64 end record");
    count = Number(buf.readBigUInt64LE(loc + 32));
    at = Number(buf.readBigUInt64LE(loc + 48));
  }
  const files = new Map();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50, "zip: bad central directory entry");
    const method = buf.readUInt16LE(at + 10);
    let size = buf.readUInt32LE(at + 24);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    let local = buf.readUInt32LE(at + 42);
    const name = buf.toString("utf8", at + 46, at + 46 + nameLen);
    // Zip64 extra: the 64-bit values of the fields set to 0xffffffff, in order.
    for (let e = at + 46 + nameLen; e < at + 46 + nameLen + extraLen; ) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let p = e + 4;
        if (size === 0xffffffff) (size = Number(buf.readBigUInt64LE(p))), (p += 8);
        if (buf.readUInt32LE(at + 20) === 0xffffffff) p += 8;
        if (local === 0xffffffff) local = Number(buf.readBigUInt64LE(p));
      }
      e += 4 + len;
    }
    assert.equal(method, 0, `zip: ${name} is compressed (method ${method})`);
    assert.equal(buf.readUInt32LE(local), 0x04034b50, "zip: bad local header");
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    files.set(name, buf.subarray(start, start + size));
    at += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}

/**
 * The demo's heat map (long side, horizon 30: `rates` keyed "t|s") against
 * the target-hit rates counted in the Node package's tables of `files`
 * (name -> bytes) over `grid`'s targets and stops.
 */
export async function assertHeatMap(rates, files, grid, fx) {
  for (const t of grid.targets) {
    for (const st of grid.stops) {
      const tb = await fx.tableFromLabelFile(files.get(`T${t}_S${st}_H30.parquet`));
      let hits = 0;
      let known = 0;
      for (const v of tb.getChild("long_label")) if (v !== null) (known++, v === 1 && hits++);
      assert.ok(Math.abs(rates[`${t}|${st}`] - hits / known) < 1e-12, `hit rate T${t} S${st}: page ${rates[`${t}|${st}`]}, node ${hits / known}`);
    }
  }
}
