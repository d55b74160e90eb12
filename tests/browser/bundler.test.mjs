// Browser apps are built with bundlers: the npm package as published
// (`npm pack pkg`), installed into a small app (tests/bundler/app), bundled
// by Vite with nothing copied by hand, then run in a browser (Chromium by
// default; FXLABEL_BROWSER=firefox or webkit). The page labels on the main
// thread and in the package's worker with a pool of 2 Web Workers; every
// file must equal the Node package's output byte for byte.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { build } from "vite";
import { ROOT, openPage } from "./helpers.mjs";

const WORK = path.join(ROOT, "target", "bundler");
const APP = path.join(WORK, "app");
const DIST = path.join(APP, "dist");
let env;

before(async () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const tgz = execFileSync("npm", ["pack", path.join(ROOT, "pkg"), "--pack-destination", WORK, "--silent"], { encoding: "utf8" }).trim().split("\n").at(-1);
  cpSync(path.join(ROOT, "tests", "bundler", "app"), APP, { recursive: true });
  execFileSync("npm", ["init", "-y"], { cwd: APP, stdio: "ignore" });
  execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", path.join(WORK, tgz)], { cwd: APP, stdio: ["ignore", "ignore", "inherit"] });
  await build({ root: APP, configFile: path.join(APP, "vite.config.mjs"), logLevel: "warn", build: { outDir: DIST, emptyOutDir: true } });
  env = await openPage(process.env.FXLABEL_BROWSER ?? "chromium", DIST);
  console.log(`# engine: ${env.engine}`);
});
after(async () => {
  await env?.close();
});

// The same CSV as the app's, labeled by the Node package.
async function nodeFiles() {
  const { labelCandles, memoryStore } = await import(path.join(ROOT, "pkg", "node.js"));
  let csv = "timestamp,open,high,low,close\n";
  for (let i = 0; i < 6000; i++) {
    const c = 1.1 + 0.0009 * Math.sin(i / 17) + 0.0003 * Math.sin(i / 3);
    csv += `${1704067200000 + i * 60000},${c.toFixed(5)},${(c + 0.0004).toFixed(5)},${(c - 0.0004).toFixed(5)},${c.toFixed(5)}\n`;
  }
  const mem = memoryStore();
  await labelCandles(csv, { targetPips: [5, 10], stopPips: [5], horizons: [15, 60], rowGroupSize: 2000, store: mem });
  const out = {};
  for (const [name, bytes] of mem.files) if (name.endsWith(".parquet")) out[name] = createHash("sha256").update(bytes).digest("hex");
  return out;
}

test("Vite bundles the package: the wasm module and both workers are emitted as assets", () => {
  const assets = readdirSync(path.join(DIST, "assets"));
  assert.ok(assets.some((f) => /^fxlabel_bg-.*\.wasm$/.test(f)), assets.join(" "));
  assert.ok(assets.some((f) => /^worker-.*\.js$/.test(f)), `the labeling worker: ${assets.join(" ")}`);
  assert.ok(assets.some((f) => /^web-pool-worker-.*\.js$/.test(f)), `the pool worker: ${assets.join(" ")}`);
});

test("the bundled page labels on the page and in the worker pool, byte-identical to Node", async () => {
  await env.page.goto(env.url + "index.html");
  const r = await env.page.evaluate(async () => {
    for (let i = 0; i < 1200 && !window.fxResult; i++) await new Promise((ok) => setTimeout(ok, 100));
    return window.fxResult ?? { error: "no result within 120 s" };
  });
  assert.equal(r.error, undefined, r.error);
  const expected = await nodeFiles();
  assert.equal(Object.keys(expected).length, 4);
  assert.deepEqual(r.page, expected, "labeled on the page");
  assert.deepEqual(r.worker, expected, "labeled in the worker pool");
  assert.ok(r.logs.some((m) => /2 workers, rows/.test(m)), `the pool ran: ${r.logs.join(" | ")}`);
  console.log(`# stores: page ${JSON.stringify(r.pageStorage)}, worker ${JSON.stringify(r.storage)}`);
});
