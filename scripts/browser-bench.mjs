#!/usr/bin/env node
// Measures the demo page on a large input: generated candles, the default
// 210-config grid, labeled in headless Chromium into OPFS. Reports the time,
// the worker's wasm memory (linear memory only grows, so this is its peak)
// and, on Linux, the peak resident memory of the renderer process that
// holds the page and its worker. (performance.measureUserAgentSpecificMemory
// was tried: in Chromium 156 it leaves the worker out, so it is not used.)
//
// usage: node scripts/browser-bench.mjs [ROWS=5000000] [parquet|csv] [WORKERS=2] [default|v2]
//   parquet: made by the native CLI (`fxlabel synth`; built if missing)
//   csv:     made by scripts/gen-sample.mjs (streamed into the worker)
//   v2:      the version 2 settings on: the spread column of
//            `fxlabel synth --spread`, entry at the next open, weights
//            (parquet only)
// Needs `npm run build && npm run build:www` first. Writes
// target/bench-browser/result-ROWS-FORMAT.json. Bounded: gives up after
// BENCH_TIMEOUT_MIN minutes (default 60).
import { execFileSync, spawn } from "node:child_process";
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "./serve-www.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const rows = Number(process.argv[2] ?? 5_000_000);
const format = process.argv[3] ?? "parquet";
const workers = Number(process.argv[4] ?? 2);
const settings = process.argv[5] ?? "default";
if (!["default", "v2"].includes(settings) || (settings === "v2" && format !== "parquet")) {
  throw new Error(`settings '${settings}': expected default, or v2 with parquet`);
}
const v2 = settings === "v2";
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MIN ?? 60) * 60_000;
const out = path.join(root, "target", "bench-browser");
mkdirSync(out, { recursive: true });

// 1. The input.
const input = path.join(out, `candles-${v2 ? "spread-" : ""}${rows}.${format}`);
if (!existsSync(input)) {
  const t = Date.now();
  if (format === "parquet") {
    const bin = path.join(root, "target", "release", "fxlabel");
    if (!existsSync(bin)) execFileSync("cargo", ["build", "--release", "--features", "cli"], { cwd: root, stdio: "inherit" });
    execFileSync(bin, ["synth", String(rows), input, ...(v2 ? ["--spread"] : [])], { stdio: "inherit" });
  } else {
    await new Promise((ok, fail) => {
      const p = spawn(process.execPath, ["--max-old-space-size=8192", path.join(root, "scripts", "gen-sample.mjs"), String(rows), "3"], { stdio: ["ignore", "pipe", "inherit"] });
      p.stdout.pipe(createWriteStream(input));
      p.on("exit", (code) => (code === 0 ? ok() : fail(new Error(`gen-sample exited ${code}`))));
    });
  }
  console.log(`input: ${input} (${(statSync(input).size / 2 ** 20).toFixed(0)} MiB) made in ${((Date.now() - t) / 1000).toFixed(0)}s`);
}

// Linux: the resident memory of this browser's largest renderer process
// (the page and its worker live in one), found among the descendants of
// the process started with our profile folder.
function rendererRss(profile) {
  const procs = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      procs.push({ pid: Number(d), ppid, cmd, rss });
    } catch {}
  }
  const mine = new Set(procs.filter((p) => p.cmd.includes(profile) && !p.cmd.includes("--type=")).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!mine.has(p.pid) && mine.has(p.ppid)) (mine.add(p.pid), (grew = true));
  }
  // The largest one: the page's (the worker runs in its process).
  return Math.max(0, ...procs.filter((p) => mine.has(p.pid) && p.cmd.includes("--type=renderer")).map((p) => p.rss));
}

// 2. The page, in a persistent profile so that OPFS lives on disk (an
//    incognito context keeps OPFS in memory, which would count the output
//    files as browser memory).
// Served from a private copy, so that rebuilding target/www meanwhile
// cannot disturb a long run.
const site = mkdtempSync(path.join(os.tmpdir(), "fxlabel-bench-site-"));
cpSync(path.join(root, "target", "www"), site, { recursive: true });
const { server, url } = await serve({ root: site, port: 0 });
const profile = mkdtempSync(path.join(os.tmpdir(), "fxlabel-bench-profile-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let result;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => console.error(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
  await page.setInputFiles("#file", input);
  // The default grid, whatever a previous run left in the form.
  await page.fill("#targets", "5,10,15,20,30,50");
  await page.fill("#stops", "5,10,15,20,30");
  await page.fill("#horizons", "1,5,15,30,60,240,1440");
  await page.fill("#workers", String(workers));
  // The version 2 settings, or their defaults.
  await page.selectOption("#spread-preset", "0");
  await page.fill("#spread", "0");
  await page.fill("#spread-column", v2 ? "spread" : "");
  await page.selectOption("#entry", v2 ? "next_open" : "close");
  await page.setChecked("#weights", v2);
  const t0 = Date.now();
  await page.click("#start");
  let peakRss = 0;
  const sampler = process.platform === "linux" ? setInterval(() => (peakRss = Math.max(peakRss, rendererRss(profile))), 1000) : null;
  const ticker = setInterval(async () => {
    const text = await page.textContent("#progress-text").catch(() => "?");
    console.log(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${text}`);
  }, 30_000);
  try {
    await page.waitForFunction(() => ["done", "error", "cancelled"].includes(window.fxlabelDemo.phase), null, { timeout: timeoutMs, polling: 1000 });
  } finally {
    clearInterval(ticker);
    clearInterval(sampler);
  }
  const s = await page.evaluate(() => window.fxlabelDemo);
  if (s.phase !== "done") throw new Error(`run ended with ${s.phase}: ${JSON.stringify(s.error)}`);
  const extra = await page.evaluate(async () => {
    const est = await navigator.storage.estimate();
    return { opfsUsage: est.usage, quota: est.quota };
  });
  result = {
    rows: s.summary.rows,
    format,
    workers,
    settings,
    inputBytes: statSync(input).size,
    configs: s.summary.written.length + s.summary.skipped.length,
    written: s.summary.written.length,
    outputBytes: s.summary.bytes,
    wallSeconds: +s.summary.wallSeconds.toFixed(1),
    labelSeconds: +(s.summary.elapsedMs / 1000).toFixed(1),
    wasmMemoryBytes: s.summary.memoryBytes,
    wasmMemoryMiB: +(s.summary.memoryBytes / 2 ** 20).toFixed(1),
    rendererPeakRssMiB: peakRss ? +(peakRss / 2 ** 20).toFixed(0) : null,
    opfsUsageMiB: +(extra.opfsUsage / 2 ** 20).toFixed(0),
    quotaGiB: +(extra.quota / 2 ** 30).toFixed(1),
    cores: os.cpus().length,
    chromium: context.browser()?.version() ?? null,
  };
  console.log(JSON.stringify(result, null, 2));
  writeFileSync(path.join(out, `result-${rows}-${format}-${workers}w${v2 ? "-v2" : ""}.json`), JSON.stringify(result, null, 2) + "\n");
} finally {
  await context.close().catch(() => {});
  server.closeAllConnections?.();
  server.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(site, { recursive: true, force: true });
}
