// End-to-end test of the demo page in headless Chromium (Debian's, driven
// by playwright-core): label the bundled sample, reload mid-run, resume,
// check the files in OPFS and the downloads against the Node package, a
// bad CSV, cancel, a Parquet input, and a screenshot of the finished page.
//
// Run: npm run build && npm run test:browser
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { ARTIFACTS, ROOT, assertHeatMap, gridNames, newPage, startBrowser, unzipStored } from "./helpers.mjs";

const fx = await import(path.join(ROOT, "pkg", "node.js")); // the Node reader of the same package
const SAMPLE = path.join(ROOT, "data", "sample.csv");
const tmp = mkdtempSync(path.join(os.tmpdir(), "fxlabel-e2e-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

let env;
before(async () => {
  env = await startBrowser();
});
after(async () => {
  await env?.close();
});

// ---------- page helpers ----------
async function openDemo(query = "") {
  const { context, page, problems } = await newPage(env.browser);
  await page.goto(env.url + query);
  await page.waitForSelector("body[data-ready='1']");
  return { context, page, problems };
}
async function setGrid(page, { targets, stops, horizons, pip = "0.0001" }) {
  await page.fill("#targets", targets);
  await page.fill("#stops", stops);
  await page.fill("#horizons", horizons);
  await page.fill("#pip", pip);
  await page.dispatchEvent("#horizons", "change");
}
const phase = (page) => page.evaluate(() => window.fxlabelDemo.phase);
async function waitFinished(page, timeout = 120_000) {
  await page.waitForFunction(() => ["done", "error", "cancelled"].includes(window.fxlabelDemo.phase), null, { timeout });
  return page.evaluate(() => window.fxlabelDemo);
}
/** Names in the OPFS folder, read by the page itself. */
const opfsNames = (page, dir = "labels") =>
  page.evaluate(async (dir) => {
    const root = await navigator.storage.getDirectory();
    let d;
    try {
      d = await root.getDirectoryHandle(dir);
    } catch {
      return [];
    }
    const out = [];
    for await (const n of d.keys()) out.push(n);
    return out.sort();
  }, dir);
const logText = (page) => page.textContent("#log");

// ---------- Node side: what the files must be ----------
async function nodeFiles(options) {
  const store = fx.memoryStore();
  await fx.labelCandles(readFileSync(SAMPLE), { ...options, store });
  return store.files;
}

// ---------- tests ----------
const GRID = { targets: [5, 10, 15], stops: [5, 10], horizons: [30, 60] }; // 12 configs
const NAMES = gridNames(GRID.targets, GRID.stops, GRID.horizons);

test("label the sample, reload mid-run, resume: finished configs skipped, the set in OPFS complete and equal to Node's", async () => {
  // pause=400: the worker waits 400 ms after each file, so the reload lands mid-run.
  const { context, page, problems } = await openDemo("?pause=400");
  await setGrid(page, { targets: GRID.targets.join(","), stops: GRID.stops.join(","), horizons: GRID.horizons.join(",") });
  await page.click("#start");
  await page.waitForFunction(() => document.querySelectorAll("#configs tr.written").length >= 4, null, { timeout: 60_000 });
  assert.equal(await phase(page), "running");
  await page.reload(); // kills the worker mid-run (possibly mid-write)
  await page.waitForSelector("body[data-ready='1']");

  // After the reload: only complete files under final names (at most one
  // temporary name of the write that was cut), fewer than the grid.
  const afterReload = await opfsNames(page);
  const finalsBefore = afterReload.filter((n) => !n.startsWith("."));
  assert.ok(finalsBefore.length >= 4 && finalsBefore.length < NAMES.length, `files after reload: ${afterReload}`);
  assert.ok(afterReload.filter((n) => n.startsWith(".")).every((n) => /^\.T.*\.parquet\.tmp-/.test(n)), `temporary names: ${afterReload}`);
  assert.match(await logText(page), new RegExp(`OPFS holds ${finalsBefore.length} label files`));
  // The settings survived the reload (so the resume check matches).
  assert.equal(await page.inputValue("#targets"), GRID.targets.join(","));

  await page.click("#start");
  const s = await waitFinished(page);
  assert.equal(s.phase, "done", JSON.stringify(s.error));
  assert.match(await logText(page), new RegExp(`found ${finalsBefore.length}/${NAMES.length} already saved, resuming`));
  assert.deepEqual([...s.summary.skipped].sort(), [...finalsBefore].sort(), "every finished config was skipped");
  assert.equal(s.summary.written.length, NAMES.length - finalsBefore.length);
  assert.match(await page.textContent("#progress-text"), /saved before/);
  assert.equal(await page.locator("#configs tr.saved").count(), finalsBefore.length);

  // The final set: exactly the grid, no temporary file left.
  assert.deepEqual(await opfsNames(page), [...NAMES].sort());

  // One file downloaded from the table: byte-identical to what the Node
  // package makes, and readable by its reader.
  const expected = await nodeFiles({ targetPips: GRID.targets, stopPips: GRID.stops, horizons: GRID.horizons });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("tr[data-key='T10_S5_H30'] button.download")]);
  assert.equal(download.suggestedFilename(), "T10_S5_H30.parquet");
  const one = path.join(tmp, "T10_S5_H30.parquet");
  await download.saveAs(one);
  const bytes = readFileSync(one);
  assert.ok(Buffer.from(expected.get("T10_S5_H30.parquet")).equals(bytes), "downloaded file equals the Node package's output");
  const table = await fx.tableFromLabelFile(bytes);
  assert.equal(table.numRows, 8000);
  assert.deepEqual(
    table.schema.fields.map((f) => f.name),
    ["timestamp", "long_label", "long_exit_offset", "long_return_pips", "long_ambiguous", "short_label", "short_exit_offset", "short_return_pips", "short_ambiguous"],
  );

  // All files as one zip: the same 12 files, byte for byte.
  const [zipDl] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), page.click("#zip")]);
  const zipPath = path.join(tmp, "all.zip");
  await zipDl.saveAs(zipPath);
  const zipped = unzipStored(readFileSync(zipPath));
  assert.deepEqual([...zipped.keys()].sort(), [...NAMES].sort());
  for (const [name, b] of zipped) assert.ok(Buffer.from(expected.get(name)).equals(b), `${name} in the zip`);

  // The heat map (H=30, long) was computed from the files in OPFS: compare
  // with the rates counted from the Node package's tables.
  await page.selectOption("#hm-horizon", "30");
  await page.selectOption("#hm-side", "long");
  await page.waitForFunction(() => window.fxlabelDemo.heat?.horizon === 30 && window.fxlabelDemo.heat?.side === "long" && Object.keys(window.fxlabelDemo.heat.rates).length === 6);
  const heat = await page.evaluate(() => window.fxlabelDemo.heat.rates);
  await assertHeatMap(heat, expected, GRID, fx);
  await page.screenshot({ path: path.join(ARTIFACTS, "e2e-resumed.png"), fullPage: true });

  // Clear the store: OPFS empty, the table says so.
  await page.click("#clear");
  await page.waitForFunction(() => document.querySelector("#store-summary").textContent.includes("0 files"));
  assert.deepEqual(await opfsNames(page), []);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a bad CSV: the message names row and column, nothing is written", async () => {
  const { context, page, problems } = await openDemo();
  // Row 2 (0-based, header excluded): high below low.
  const csv = "timestamp,open,high,low,close\n1704067200000,1.1,1.1002,1.0999,1.1001\n1704067260000,1.1001,1.1003,1.1,1.1002\n1704067320000,1.1002,1.0990,1.1001,1.1001\n";
  await page.setInputFiles("#file", { name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await setGrid(page, { targets: "5", stops: "5", horizons: "30" });
  await page.click("#start");
  const s = await waitFinished(page);
  assert.equal(s.phase, "error");
  const box = page.locator("#error");
  await assert.doesNotReject(box.waitFor({ state: "visible" }));
  const text = await box.textContent();
  assert.match(text, /Bad input at row 2, column 'high'/);
  assert.match(text, /line 4 of the file/);
  assert.equal(await box.getAttribute("data-row"), "2");
  assert.equal(await box.getAttribute("data-column"), "high");
  assert.deepEqual(await opfsNames(page), [], "nothing written for bad input");

  // A bad setting is named too, before anything starts.
  await page.fill("#targets", "5, ten");
  await page.click("#start");
  assert.match(await box.textContent(), /Bad setting 'targets'[\s\S]*'ten' is not a number/);
  assert.deepEqual(problems, []);
  await context.close();
});

test("cancel stops after the config in flight; finished files stay and a new start resumes", async () => {
  const { context, page, problems } = await openDemo("?pause=300");
  await setGrid(page, { targets: "5,10", stops: "5,10", horizons: "15,30" }); // 8 configs
  await page.click("#start");
  await page.waitForFunction(() => document.querySelectorAll("#configs tr.written").length >= 2);
  await page.click("#cancel");
  const s = await waitFinished(page);
  assert.equal(s.phase, "cancelled");
  assert.equal(s.summary.cancelled, true);
  const names = await opfsNames(page);
  assert.deepEqual(names, [...s.summary.written].sort(), "exactly the finished files, no temporary one");
  assert.ok(names.length >= 2 && names.length < 8);
  await page.click("#start");
  const s2 = await waitFinished(page);
  assert.equal(s2.phase, "done");
  assert.equal(s2.summary.skipped.length, names.length);
  assert.equal((await opfsNames(page)).length, 8);
  assert.deepEqual(problems, []);
  await context.close();
});

test("version 2 settings: the EURUSD spread preset, entry at the next open and weights; the download equals Node's", async () => {
  const { context, page, problems } = await openDemo();
  await setGrid(page, { targets: "5,10", stops: "5", horizons: "30" });
  await page.selectOption("#spread-preset", "0.2");
  assert.equal(await page.inputValue("#spread"), "0.2");
  await page.selectOption("#entry", "next_open");
  await page.check("#weights");
  await page.click("#start");
  const s = await waitFinished(page);
  assert.equal(s.phase, "done", JSON.stringify(s.error));
  const expected = await nodeFiles({ targetPips: [5, 10], stopPips: [5], horizons: [30], spreadPips: 0.2, entry: "next_open", weights: true });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("tr[data-key='T10_S5_H30'] button.download")]);
  const one = path.join(tmp, "v2-T10_S5_H30.parquet");
  await download.saveAs(one);
  assert.ok(Buffer.from(expected.get("T10_S5_H30.parquet")).equals(readFileSync(one)), "downloaded file equals the Node package's output");
  const table = await fx.tableFromLabelFile(readFileSync(one));
  assert.ok(table.schema.fields.some((f) => f.name === "short_uniqueness"));
  // A spread column that the sample lacks: the message names it.
  await page.fill("#spread", "0");
  await page.fill("#spread-column", "spread");
  await page.check("#overwrite");
  await page.click("#start");
  const e = await waitFinished(page);
  assert.equal(e.phase, "error");
  assert.match(await page.textContent("#error"), /spread/);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a Parquet input (made by the native CLI's synth)", async (t) => {
  const bin = ["release", "debug"].map((p) => path.join(ROOT, "target", p, "fxlabel")).find(existsSync);
  if (!bin) return t.skip("no native fxlabel binary in target/ (cargo build --features cli)");
  const file = path.join(tmp, "synth.parquet");
  execFileSync(bin, ["synth", "20000", file]);
  const { context, page, problems } = await openDemo();
  await page.setInputFiles("#file", file);
  await setGrid(page, { targets: "5,10", stops: "5", horizons: "60" });
  await page.click("#start");
  const s = await waitFinished(page);
  assert.equal(s.phase, "done", JSON.stringify(s.error));
  assert.equal(s.summary.rows, 20000);
  assert.deepEqual(await opfsNames(page), ["T10_S5_H60.parquet", "T5_S5_H60.parquet"]);
  assert.deepEqual(problems, []);
  await context.close();
});

test("two Web Workers share the rows of a Parquet file of three row groups; files equal the native CLI's", async (t) => {
  const bin = ["release", "debug"].map((p) => path.join(ROOT, "target", p, "fxlabel")).find(existsSync);
  if (!bin) return t.skip("no native fxlabel binary in target/ (cargo build --features cli)");
  const file = path.join(tmp, "synth600k.parquet");
  execFileSync(bin, ["synth", "600000", file]);
  const ref = path.join(tmp, "native600k");
  execFileSync(bin, ["label", file, "--out", ref, "--targets", "10", "--stops", "5,10", "--horizons", "60", "-q"]);
  const { context, page, problems } = await openDemo();
  await page.setInputFiles("#file", file);
  await setGrid(page, { targets: "10", stops: "5,10", horizons: "60" });
  await page.fill("#workers", "2");
  await page.click("#start");
  const s = await waitFinished(page, 300_000);
  assert.equal(s.phase, "done", JSON.stringify(s.error));
  assert.equal(s.summary.rows, 600000);
  assert.match(await logText(page), /2 workers, rows 0-262143, rows 262144-599999/);
  const names = await opfsNames(page);
  assert.deepEqual(names, ["T10_S10_H60.parquet", "T10_S5_H60.parquet"]);
  for (const name of names) {
    const got = await page.evaluate(async (name) => {
      const d = await (await navigator.storage.getDirectory()).getDirectoryHandle("labels");
      const b = new Uint8Array(await (await (await d.getFileHandle(name)).getFile()).arrayBuffer());
      let h = 0;
      for (let i = 0; i < b.length; i++) h = (Math.imul(h, 31) + b[i]) | 0;
      return { size: b.length, h };
    }, name);
    const want = readFileSync(path.join(ref, name));
    let h = 0;
    for (let i = 0; i < want.length; i++) h = (Math.imul(h, 31) + want[i]) | 0;
    assert.deepEqual(got, { size: want.length, h }, name);
  }
  assert.deepEqual(problems, []);
  await context.close();
});

test("the default grid on the sample, with a screenshot of the finished page", async () => {
  const { context, page, problems } = await openDemo();
  await setGrid(page, { targets: "5,10,15,20,30,50", stops: "5,10,15,20,30", horizons: "1,5,15,30,60,240,1440" });
  await page.click("#start");
  const s = await waitFinished(page, 300_000);
  assert.equal(s.phase, "done", JSON.stringify(s.error));
  assert.equal(s.summary.written.length, 210);
  await page.selectOption("#hm-horizon", "1440");
  await page.waitForFunction(() => window.fxlabelDemo.heat?.horizon === 1440 && Object.keys(window.fxlabelDemo.heat.rates).length === 30);
  const shot = path.join(ARTIFACTS, "demo.png");
  await page.screenshot({ path: shot });
  // The picture kept in the docs is refreshed on request only (it is committed).
  if (process.env.FXLABEL_UPDATE_DOCS_SCREENSHOT === "1") copyFileSync(shot, path.join(ROOT, "docs", "demo.png"));
  assert.deepEqual(problems, []);
  await context.close();
});
