#!/usr/bin/env node
// The default 210-config grid over synthetic candles in each browser
// engine, as the demo labels: the package's worker (pkg/worker.js) fetches
// the Parquet input and writes to the browser's store, with 1 and 2
// labeling workers. Prints one row per (engine, workers): time, the
// worker's wasm memory, the peak resident memory of the engine's largest
// content process (it holds the page and its workers), the store, and
// whether the files equal the native CLI's (sha256 of three configs).
//
// usage: node scripts/engine-bench.mjs [ROWS=1000000] [ENGINES=chromium,firefox,webkit] [WORKERS=1,2]
//   engines: chromium, firefox, webkit (MiniBrowser, OPFS), webkit-webdriver
//   (a private WebDriver session: no OPFS, so the IndexedDB store)
// Needs `npm run build && npm run build:www` and the browsers of
// scripts/setup.sh. Writes target/bench-browser/engines-ROWS-ENGINES.json.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "./serve-www.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const rows = Number(process.argv[2] ?? 1_000_000);
const engines = (process.argv[3] ?? "chromium,firefox,webkit").split(",");
const workerCounts = (process.argv[4] ?? "1,2").split(",").map(Number);
const out = path.join(root, "target", "bench-browser");
mkdirSync(out, { recursive: true });
const CHECK = ["T10_S5_H30.parquet", "T50_S30_H1440.parquet", "T5_S5_H1.parquet"];

// The input and the native CLI's files for the check.
const bin = path.join(root, "target", "release", "fxlabel");
if (!existsSync(bin)) execFileSync("cargo", ["build", "--release", "--features", "cli"], { cwd: root, stdio: "inherit" });
const input = path.join(out, `candles-${rows}.parquet`);
if (!existsSync(input)) execFileSync(bin, ["synth", String(rows), input], { stdio: "inherit" });
const nativeDir = mkdtempSync(path.join(os.tmpdir(), "fxlabel-engine-native-"));
execFileSync(bin, ["label", input, "--out", nativeDir, "-q"], { stdio: "inherit" });
const sha = (b) => createHash("sha256").update(b).digest("hex");
const expected = Object.fromEntries(CHECK.map((n) => [n, sha(readFileSync(path.join(nativeDir, n)))]));
rmSync(nativeDir, { recursive: true, force: true });

// A private copy of the site with the input beside it.
const site = mkdtempSync(path.join(os.tmpdir(), "fxlabel-engine-site-"));
cpSync(path.join(root, "target", "www"), site, { recursive: true });
symlinkSync(input, path.join(site, "candles.parquet"));

// Linux: the largest resident set among the engine's content processes.
const CONTENT = { chromium: /--type=renderer/, firefox: /-contentproc.*\btab\b|-isForBrowser/, webkit: /WebKitWebProcess/ };
function contentRss(engine) {
  let max = 0;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").replaceAll("\0", " ");
      if (!CONTENT[engine.split("-")[0]].test(cmd)) continue; // webkit-webdriver: webkit
      max = Math.max(max, Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, "utf8"))?.[1] ?? 0) * 1024);
    } catch {}
  }
  return max;
}

// A page of `engine` on the site: Chromium with a persistent profile (an
// incognito context would keep OPFS in memory), the others as the tests
// drive them (tests/browser/helpers.mjs).
async function open(engine) {
  if (engine === "chromium") {
    const { server, url } = await serve({ root: site, port: 0 });
    const profile = mkdtempSync(path.join(os.tmpdir(), "fxlabel-engine-profile-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(0);
    return {
      url,
      page,
      engine: `chromium ${context.browser()?.version() ?? ""}`.trim(),
      async close() {
        await context.close().catch(() => {});
        server.closeAllConnections?.();
        server.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  }
  const { openPage } = await import("../tests/browser/helpers.mjs");
  return openPage(engine, site);
}

const results = [];
try {
  for (const engine of engines) {
    const env = await open(engine);
    try {
      await env.page.goto(env.url + "index.html");
      for (const workers of workerCounts) {
        let peak = 0;
        const sampler = setInterval(() => (peak = Math.max(peak, contentRss(engine))), 500);
        const r = await env.page.evaluate(
          async ({ workers, check }) => {
            const { createLabelWorker, storeOf } = await import("/pkg/browser-client.js");
            const fx = createLabelWorker();
            const { storage } = await fx.ready;
            const dir = `bench-${workers}`;
            const store = storeOf(storage.kind, dir);
            await store.clear?.();
            const t0 = performance.now();
            const summary = await fx.run({ url: "/candles.parquet" }, { workers }, { dir });
            const seconds = (performance.now() - t0) / 1000;
            const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
            const shas = {};
            for (const name of check) shas[name] = hex(await crypto.subtle.digest("SHA-256", await (await store.file(name)).arrayBuffer()));
            fx.terminate();
            await store.clear?.();
            return { seconds, files: summary.written.length, bytes: summary.bytes, memoryBytes: summary.memoryBytes, storage, shas };
          },
          { workers, check: CHECK },
        );
        clearInterval(sampler);
        const row = {
          engine: env.engine,
          workers,
          rows,
          seconds: +r.seconds.toFixed(1),
          files: r.files,
          outputMB: +(r.bytes / 1e6).toFixed(1),
          wasmMemoryMiB: +(r.memoryBytes / 2 ** 20).toFixed(0),
          contentPeakRssMiB: +(peak / 2 ** 20).toFixed(0),
          store: r.storage.kind === "opfs" ? `OPFS, ${r.storage.writeMode}` : r.storage.kind,
          sameAsNative: CHECK.every((n) => r.shas[n] === expected[n]),
        };
        results.push(row);
        console.log(JSON.stringify(row));
      }
    } finally {
      await env.close();
    }
  }
} finally {
  rmSync(site, { recursive: true, force: true });
}
const meta = { date: new Date().toISOString(), cores: os.cpus().length, cpu: os.cpus()[0]?.model };
writeFileSync(path.join(out, `engines-${rows}-${engines.join("+")}.json`), JSON.stringify({ meta, results }, null, 2) + "\n");
console.log("\n| engine | workers | time | wasm memory | content process peak RSS | store | same bytes as native |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const r of results) console.log(`| ${r.engine} | ${r.workers} | ${r.seconds} s | ${r.wasmMemoryMiB} MiB | ${r.contentPeakRssMiB} MiB | ${r.store} | ${r.sameAsNative ? "yes" : "NO"} |`);
