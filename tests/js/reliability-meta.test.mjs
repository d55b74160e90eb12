// Existing files made with other settings or from other data are never
// reused silently: every setting the metadata records, and every kind of
// change to the input, is named in the refusal; the folder is left exactly
// as it was; `overwrite` relabels. Grid values are per-file keys: another
// grid only adds files. Settings that do not change a row (compression,
// row group size, the library version) keep the files.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { SAMPLE, finalFiles, fx, snapshot, tmpDir } from "./helpers.mjs";

const GRID = { targetPips: [5, 10], stopPips: [5], horizons: [30] };
const CSV = readFileSync(SAMPLE, "utf8");
const ROWS = CSV.trim().split("\n");

/** A folder labeled with GRID from the sample, and its snapshot. */
async function labeled(tag, extra = {}) {
  const dir = path.join(tmpDir(tag), "labels");
  await fx.labelCandles(CSV, { ...GRID, ...extra, dir });
  return { dir, before: snapshot(dir) };
}

/** The sample with line `i` (1-based, after the header) changed by `f`. */
function editRow(i, f) {
  const rows = [...ROWS];
  rows[i] = f(rows[i].split(",")).join(",");
  return rows.join("\n") + "\n";
}

async function refused(dir, before, candles, options, pattern) {
  await assert.rejects(fx.labelCandles(candles, { ...GRID, ...options, dir }), (e) => {
    assert.equal(e.kind, "mismatch", e.message);
    assert.equal(e.key, "T5_S5_H30", e.message);
    assert.match(e.message, pattern);
    assert.match(e.message, /use overwrite to replace it/);
    return true;
  });
  assert.deepEqual(snapshot(dir), before, "a refused run changes nothing");
  // overwrite relabels every file, which then matches this run.
  const r = await fx.labelCandles(candles, { ...GRID, ...options, dir, overwrite: true });
  assert.equal(r.written.length, 2);
  const again = await fx.labelCandles(candles, { ...GRID, ...options, dir });
  assert.equal(again.skipped.length, 2, "after overwrite, the files match this run");
}

const SETTINGS = [
  ["pipValue", { pipValue: 0.001 }, /pip_value differs \(file: 0\.0001, this run: 0\.001\)/],
  ["sides", { sides: ["long"] }, /sides differs \(file: long,short, this run: long\)/],
  ["tie", { tie: "target" }, /tie differs \(file: stop, this run: target\)/],
  ["extras", { extras: true }, /extras differs \(file: false, this run: true\)/],
  ["horizonUnit", { horizonUnit: "bars" }, /horizon_unit differs \(file: minutes, this run: bars\)/],
];
for (const [name, options, pattern] of SETTINGS) {
  test(`a file made with another ${name} is refused, naming it; overwrite relabels`, async () => {
    const { dir, before } = await labeled(`meta-${name}`);
    await refused(dir, before, CSV, options, pattern);
  });
}

const INPUTS = [
  ["one price changed", () => editRow(4000, (f) => [f[0], f[1], f[2], f[3], f[3]]), /input data \(hash of timestamps and prices\) differs/],
  ["one open changed (not used by any label, still hashed)", () => editRow(10, (f) => [f[0], f[3], f[2], f[3], f[4]]), /input data \(hash/],
  ["one timestamp moved by 1 ms", () => editRow(4000, (f) => [String(Number(f[0]) + 1), ...f.slice(1)]), /input data \(hash/],
  ["the first timestamp changed", () => editRow(1, (f) => [String(Number(f[0]) - 60_000), ...f.slice(1)]), /input time range differs/],
  ["an extra row at the end", () => `${CSV.trimEnd()}\n${(() => { const f = ROWS.at(-1).split(","); return [String(Number(f[0]) + 60_000), ...f.slice(1)].join(","); })()}\n`, /input rows differs \(file: 8000, this run: 8001\)/],
  ["the last row dropped", () => ROWS.slice(0, -1).join("\n") + "\n", /input rows differs \(file: 8000, this run: 7999\)/],
];
for (const [name, make, pattern] of INPUTS) {
  test(`a changed input is refused: ${name}`, async () => {
    const { dir, before } = await labeled("meta-input");
    const changed = make();
    assert.notEqual(changed, CSV);
    await refused(dir, before, changed, {}, pattern);
  });
}

test("grid values are per-file keys: another grid adds files and keeps the others byte for byte", async () => {
  const { dir, before } = await labeled("meta-grid");
  const logs = [];
  const r = await fx.labelCandles(CSV, { targetPips: [5, 20], stopPips: [5, 7.5], horizons: [30], dir, onLog: (m) => logs.push(m) });
  assert.deepEqual(r.skipped.map((p) => path.basename(p)), ["T5_S5_H30.parquet"]);
  assert.deepEqual(r.written.map((p) => path.basename(p)).sort(), ["T20_S5_H30.parquet", "T20_S7.5_H30.parquet", "T5_S7.5_H30.parquet"]);
  assert.ok(logs.some((m) => /found 1\/4 already saved/.test(m)), logs.join("\n"));
  const after = snapshot(dir);
  for (const [name, s] of Object.entries(before)) assert.deepEqual(after[name], s, `${name} untouched`);
  assert.deepEqual(finalFiles(dir), ["T10_S5_H30.parquet", "T20_S5_H30.parquet", "T20_S7.5_H30.parquet", "T5_S5_H30.parquet", "T5_S7.5_H30.parquet"]);
});

test("a file under another config's name is refused (config differs)", async () => {
  const { dir } = await labeled("meta-renamed");
  copyFileSync(path.join(dir, "T10_S5_H30.parquet"), path.join(dir, "T5_S5_H30.parquet"));
  const before = snapshot(dir);
  await assert.rejects(fx.labelCandles(CSV, { ...GRID, dir }), (e) => e.kind === "mismatch" && /config differs \(file: T10_S5_H30, this run: T5_S5_H30\)/.test(e.message));
  assert.deepEqual(snapshot(dir), before);
});

// Patches one metadata value in a file's footer (same length, so the
// footer stays valid Parquet).
function patchMeta(file, key, from, to) {
  const b = readFileSync(file);
  const at = b.indexOf(Buffer.from(from), b.indexOf(Buffer.from(key)));
  assert.ok(at > 0, `${key} = ${from} found`);
  Buffer.from(to).copy(b, at);
  writeFileSync(file, b);
}

test("another label format version is refused; another library version is not", async () => {
  const { dir } = await labeled("meta-version");
  const file = path.join(dir, "T5_S5_H30.parquet");
  const meta = await fx.readMetadata(readFileSync(file));
  patchMeta(file, "fxlabel.library", meta["fxlabel.library"], meta["fxlabel.library"].replace(/\d/, "9"));
  const r = await fx.labelCandles(CSV, { ...GRID, dir });
  assert.equal(r.skipped.length, 2, "the library version is information only");
  patchMeta(file, "fxlabel.format_version", `\u0001${meta["fxlabel.format_version"]}`, "\u00019");
  const before = snapshot(dir);
  await assert.rejects(fx.labelCandles(CSV, { ...GRID, dir }), (e) => e.kind === "mismatch" && /label format version differs \(file: 9, this run: 1\)/.test(e.message));
  assert.deepEqual(snapshot(dir), before);
});

test("compression and row group size do not change a row: files are kept", async () => {
  const { dir, before } = await labeled("meta-codec");
  for (const options of [{ compression: "snappy" }, { compression: "none" }, { rowGroupSize: 1000 }]) {
    const r = await fx.labelCandles(CSV, { ...GRID, ...options, dir });
    assert.equal(r.skipped.length, 2, JSON.stringify(options));
  }
  assert.deepEqual(snapshot(dir), before);
});

test("a file that is not a label file, or is truncated, under a final name is refused", async () => {
  const { dir } = await labeled("meta-foreign");
  const file = path.join(dir, "T5_S5_H30.parquet");
  const good = readFileSync(file);
  for (const bytes of [Buffer.from("not parquet"), good.subarray(0, good.length - 1), good.subarray(0, 100), Buffer.alloc(0)]) {
    writeFileSync(file, bytes);
    const before = snapshot(dir);
    await assert.rejects(fx.labelCandles(CSV, { ...GRID, dir }), (e) => e.kind === "mismatch" && /not a complete label file/.test(e.message));
    assert.deepEqual(snapshot(dir), before);
  }
});
