// The demo end to end in any engine, through the calls every driver here
// offers (goto, reload, evaluate): label the bundled sample, reload
// mid-run and resume, download one file and the zip (byte-identical to the
// Node package's output), the heat map against rates counted in Node, and
// the status line naming the engine, the store and the workers. Engine by
// FXLABEL_BROWSER: firefox, webkit (MiniBrowser with OPFS), webkit-webdriver
// (a private WebDriver session: no OPFS, so the demo uses IndexedDB) or
// chromium (whose richer playwright test is e2e.test.mjs).
//
// Run: npm run test:engines
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { ROOT, assertHeatMap, gridNames, openPage, unzipStored } from "./helpers.mjs";

const ENGINE = process.env.FXLABEL_BROWSER ?? "chromium";
const fx = await import(path.join(ROOT, "pkg", "node.js"));
const SAMPLE = path.join(ROOT, "data", "sample.csv");
const GRID = { targets: [5, 10, 15], stops: [5, 10], horizons: [30, 60] }; // 12 configs
const NAMES = gridNames(GRID.targets, GRID.stops, GRID.horizons);

let env;
let page;
before(async () => {
  env = await openPage(ENGINE);
  ({ page } = env);
  console.log(`# engine: ${env.engine}`);
});
after(async () => {
  await env?.close();
});

// ---------- page helpers (plain DOM, run in the page) ----------
const waitFor = (cond, arg, timeoutMs = 120_000) =>
  page.evaluate(
    async ({ src, arg, timeoutMs }) => {
      const f = new Function("arg", `return (${src})(arg);`);
      for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
        const v = await f(arg);
        if (v) return v;
      }
      throw new Error(`timed out waiting for ${src}`);
    },
    { src: cond.toString(), arg: arg ?? null, timeoutMs },
  );
// Downloads are caught where the page makes them (a link with `download`).
const catchDownloads = () =>
  page.evaluate(() => {
    window.fxDownloads = [];
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
      if (this.download) return window.fxDownloads.push({ name: this.download, href: this.href });
      return click.call(this);
    };
  });
async function openDemo(query = "") {
  await page.goto(env.url + "index.html" + query);
  await waitFor(() => document.body.dataset.ready === "1" && document.body.dataset.store);
  await catchDownloads();
}
const store = () =>
  page.evaluate(async () => {
    const { storeOf } = await import("/pkg/browser-store.js");
    const s = storeOf(document.body.dataset.store, "labels");
    return { kind: document.body.dataset.store, names: (await s.list()).sort() };
  });
const clearStore = () =>
  page.evaluate(async () => {
    const { storeOf } = await import("/pkg/browser-store.js");
    await storeOf(document.body.dataset.store, "labels").clear();
  });
const setGrid = (grid) =>
  page.evaluate((g) => {
    for (const [id, v] of Object.entries(g)) {
      const el = document.getElementById(id);
      el.value = v;
      el.dispatchEvent(new Event("input"));
      el.dispatchEvent(new Event("change"));
    }
  }, grid);
const click = (selector) => page.evaluate((sel) => document.querySelector(sel).click(), selector);
const text = (selector) => page.evaluate((sel) => document.querySelector(sel)?.textContent ?? "", selector);
// The bytes of the n-th caught download, as base64 (evaluate returns JSON).
async function download(n) {
  const d = await waitFor((n) => window.fxDownloads?.[n], n, 60_000);
  const b64 = await page.evaluate(async (href) => {
    const bytes = new Uint8Array(await (await fetch(href)).arrayBuffer());
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, d.href);
  return { name: d.name, bytes: Buffer.from(b64, "base64") };
}

async function nodeFiles(options) {
  const mem = fx.memoryStore();
  await fx.labelCandles(readFileSync(SAMPLE), { ...options, store: mem });
  return mem.files;
}

test("the demo labels the sample, resumes after a reload mid-run, downloads files equal to Node's, draws the heat map", async () => {
  await openDemo();
  await clearStore();
  // pause=400: the worker waits 400 ms after each file, so the reload lands mid-run.
  await openDemo("?pause=400");
  const { kind } = await store();
  const status = await text("#environment");
  console.log(`# status line: ${status}`);
  assert.match(status, { opfs: /store: OPFS/, indexeddb: /store: IndexedDB/ }[kind] ?? /^$/, `store ${kind}`);
  assert.match(status, /1 labeling worker/);
  if (ENGINE === "webkit-webdriver") assert.equal(kind, "indexeddb", "a WebDriver session of WebKit has no OPFS");
  else assert.equal(kind, "opfs");

  await setGrid({ targets: GRID.targets.join(","), stops: GRID.stops.join(","), horizons: GRID.horizons.join(","), pip: "0.0001", workers: "1" });
  await click("input[name=source][value=sample]");
  await click("#start");
  await waitFor(() => document.querySelectorAll("#configs tr.written").length >= 4, null, 60_000);
  assert.equal(await page.evaluate(() => window.fxlabelDemo.phase), "running");
  await page.reload(); // kills the worker mid-run (possibly mid-write)
  await waitFor(() => document.body.dataset.ready === "1" && document.body.dataset.store);
  await catchDownloads();

  const afterReload = (await store()).names;
  const finalsBefore = afterReload.filter((n) => !n.startsWith("."));
  assert.ok(finalsBefore.length >= 4 && finalsBefore.length < NAMES.length, `files after reload: ${afterReload}`);
  assert.ok(afterReload.filter((n) => n.startsWith(".")).every((n) => /^\.T.*\.parquet\.tmp-/.test(n)), `temporary names: ${afterReload}`);
  await waitFor((n) => document.querySelector("#log").textContent.includes(`holds ${n} label files`), finalsBefore.length, 30_000);

  await click("#start");
  const s = await waitFor(() => ["done", "error", "cancelled"].includes(window.fxlabelDemo.phase) && JSON.parse(JSON.stringify(window.fxlabelDemo)));
  assert.equal(s.phase, "done", JSON.stringify(s.error));
  assert.deepEqual([...s.summary.skipped].sort(), [...finalsBefore].sort(), "every finished config was skipped");
  assert.equal(s.summary.written.length, NAMES.length - finalsBefore.length);
  assert.deepEqual((await store()).names, [...NAMES].sort(), "exactly the grid, no temporary file left");

  // One file from the table, then all as one zip: byte for byte Node's.
  const expected = await nodeFiles({ targetPips: GRID.targets, stopPips: GRID.stops, horizons: GRID.horizons });
  await click("tr[data-key='T10_S5_H30'] button.download");
  const one = await download(0);
  assert.equal(one.name, "T10_S5_H30.parquet");
  assert.ok(Buffer.from(expected.get(one.name)).equals(one.bytes), "downloaded file equals the Node package's output");
  await click("#zip");
  const zip = await download(1);
  const zipped = unzipStored(zip.bytes);
  assert.deepEqual([...zipped.keys()].sort(), [...NAMES].sort());
  for (const [name, b] of zipped) assert.ok(Buffer.from(expected.get(name)).equals(b), `${name} in the zip`);

  // The heat map (H=30, long), from the files in the store, against Node.
  await setGrid({ "hm-horizon": "30", "hm-side": "long" });
  const heat = await waitFor(() => {
    const h = window.fxlabelDemo.heat;
    return h?.horizon === 30 && h?.side === "long" && Object.keys(h.rates).length === 6 && h.rates;
  });
  await assertHeatMap(heat, expected, GRID, fx);
  await clearStore();
});
