// The JS API: labelCandles on every input form, returnTables, stores,
// errors, and reading results back with apache-arrow.
import assert from "node:assert/strict";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { PKG, SAMPLE, SAMPLE_ROWS, fx, tableColumns, tmpDir } from "./helpers.mjs";

const GRID = { targetPips: [5, 10], stopPips: [5], horizons: [30, 60] };
const CSV = readFileSync(SAMPLE, "utf8");

function sampleColumns() {
  const rows = CSV.trim().split("\n").slice(1).map((l) => l.split(",").map(Number));
  const col = (k) => Float64Array.from(rows, (r) => r[k]);
  return { timestamps: BigInt64Array.from(rows, (r) => BigInt(r[0])), open: col(1), high: col(2), low: col(3), close: col(4) };
}

// The contract's columns, in order, with their apache-arrow types.
function expectedSchema(sides, extras = false) {
  const out = [["timestamp", "Timestamp<MILLISECOND, UTC>"]];
  for (const s of sides) {
    out.push([`${s}_label`, "Int8"], [`${s}_exit_offset`, "Uint32"], [`${s}_return_pips`, "Float32"], [`${s}_ambiguous`, "Bool"]);
    if (extras) out.push([`${s}_mfe_pips`, "Float32"], [`${s}_mae_pips`, "Float32"]);
  }
  return out;
}

test("returnTables: apache-arrow Tables with the contract's columns and types, nothing written", async () => {
  const dir = path.join(tmpDir("tables"), "labels");
  const progress = [];
  const tables = await fx.labelCandles(CSV, { ...GRID, returnTables: true, dir, onProgress: (p) => progress.push(p) });
  assert.ok(tables instanceof Map);
  assert.deepEqual([...tables.keys()], ["T5_S5_H30", "T5_S5_H60", "T10_S5_H30", "T10_S5_H60"]);
  for (const t of tables.values()) {
    assert.equal(t.numRows, SAMPLE_ROWS);
    assert.deepEqual(t.schema.fields.map((f) => [f.name, String(f.type)]), expectedSchema(["long", "short"]));
  }
  assert.equal(existsSync(dir), false, "returnTables writes nothing");
  assert.deepEqual(progress.map((p) => [p.done, p.total, p.key, p.skipped]), [
    [1, 4, "T5_S5_H30", false], [2, 4, "T5_S5_H60", false], [3, 4, "T10_S5_H30", false], [4, 4, "T10_S5_H60", false],
  ]);

  // One side, extras, bars.
  const one = await fx.labelCandles(CSV, { targetPips: [7.5], stopPips: [5], horizons: [10], horizonUnit: "bars", sides: ["short"], extras: true, returnTables: true });
  const t = one.get("T7.5_S5_H10");
  assert.deepEqual(t.schema.fields.map((f) => [f.name, String(f.type)]), expectedSchema(["short"], true));
  const c = tableColumns(t);
  // Rule checks from the contract: labels in {1,-1,0,null}; +T / -S returns;
  // the last 10 bars (bars mode, H=10) have an unknown outcome or a hit.
  c.short_label[2].forEach((lab, i) => {
    assert.ok([1, -1, 0, null].includes(lab));
    if (lab === 1) assert.equal(c.short_return_pips[2][i], 7.5);
    if (lab === -1) assert.equal(c.short_return_pips[2][i], -5);
    if (lab === null) assert.equal(c.short_mfe_pips[2][i], null);
    if (lab !== null) assert.ok(c.short_mfe_pips[2][i] >= 0 && c.short_mae_pips[2][i] >= 0);
  });
  assert.equal(c.short_label[2][SAMPLE_ROWS - 1], null, "the last candle's outcome is not known yet");
});

// Parquet input is tested in native.test.mjs (pyarrow writes the candles).
test("every input form gives the same files: CSV text, bytes, stream, columns, plain arrays", async () => {
  const cols = sampleColumns();
  const plain = { timestamp: [...cols.timestamps].map(Number), open: [...cols.open], high: [...cols.high], low: [...cols.low], close: [...cols.close] };
  const forms = {
    text: CSV,
    bytes: readFileSync(SAMPLE),
    stream: createReadStream(SAMPLE, { highWaterMark: 777 }), // chunks end mid-line
    columns: cols,
    floatTimes: { ...cols, timestamps: Float64Array.from(cols.timestamps, Number) },
    plain,
  };
  const files = {};
  for (const [name, candles] of Object.entries(forms)) {
    const store = fx.memoryStore();
    const r = await fx.labelCandles(candles, { ...GRID, store });
    assert.equal(r.rows, SAMPLE_ROWS, name);
    // In the order written: the configs of one horizon together.
    assert.deepEqual(r.written, ["T5_S5_H30.parquet", "T10_S5_H30.parquet", "T5_S5_H60.parquet", "T10_S5_H60.parquet"]);
    files[name] = store.files;
  }
  for (const [name, f] of Object.entries(files)) {
    for (const [key, bytes] of f) assert.ok(Buffer.from(bytes).equals(Buffer.from(files.text.get(key))), `${name}: ${key}`);
  }

  const arrowStore = fx.memoryStore();
  await fx.labelCandles(CSV, { ...GRID, format: "arrow", store: arrowStore });
  const ta = await fx.tableFromLabelFile(arrowStore.files.get("T5_S5_H30.arrow"));
  const tp = await fx.tableFromLabelFile(files.text.get("T5_S5_H30.parquet"));
  assert.deepEqual(tableColumns(ta), tableColumns(tp), "Arrow and Parquet outputs hold the same table");
});

test("the Node store: written paths, resume log, skipped list, load/list helpers", async () => {
  const dir = path.join(tmpDir("store"), "labels");
  const logs = [];
  const r = await fx.labelCandles(CSV, { ...GRID, dir, onLog: (m) => logs.push(m) });
  assert.deepEqual(r.written, ["T5_S5_H30", "T10_S5_H30", "T5_S5_H60", "T10_S5_H60"].map((k) => path.join(dir, `${k}.parquet`)));
  assert.deepEqual(r.skipped, []);
  assert.ok(r.bytes > 0);

  const six = { ...GRID, horizons: [15, 30, 60] };
  const progress = [];
  const r2 = await fx.labelCandles(CSV, { ...six, dir, onLog: (m) => logs.push(m), onProgress: (p) => progress.push(p) });
  assert.ok(logs.includes("found 4/6 already saved, resuming"), logs.join("\n"));
  assert.deepEqual(r2.written, [path.join(dir, "T5_S5_H15.parquet"), path.join(dir, "T10_S5_H15.parquet")]);
  assert.equal(r2.skipped.length, 4);
  // The saved configs are reported first, then the others as written.
  assert.deepEqual(progress.map((p) => [p.key, p.skipped]), [
    ["T5_S5_H30", true], ["T5_S5_H60", true], ["T10_S5_H30", true], ["T10_S5_H60", true],
    ["T5_S5_H15", false], ["T10_S5_H15", false],
  ]);
  assert.ok(progress.every((p) => (p.skipped ? p.bytes === 0 : p.bytes > 0) && p.elapsedMs >= 0));

  const listed = await fx.listLabelResults({ dir });
  assert.deepEqual(listed.map((e) => e.key), ["T5_S5_H15", "T5_S5_H30", "T5_S5_H60", "T10_S5_H15", "T10_S5_H30", "T10_S5_H60"]);
  const all = await fx.loadAllLabelResults({ dir });
  assert.equal(all.size, 6);
  const one = await fx.loadLabelResults("T10_S5_H15", { dir });
  assert.deepEqual(tableColumns(one), tableColumns(all.get("T10_S5_H15")));
  assert.equal(one.schema.metadata.get("fxlabel.key"), "T10_S5_H15");
  await assert.rejects(fx.loadLabelResults("T99_S5_H15", { dir }), /no label file for T99_S5_H15/);
  await assert.rejects(fx.loadLabelResults("../etc/passwd", { dir }), /not a config key/);
});

test("errors: input errors carry row and column, param errors the param; the store is never touched", async () => {
  // A store that records every call made to it.
  const touched = [];
  const store = new Proxy({}, { get: (_, name) => (...args) => touched.push(name) });
  const cols = sampleColumns();
  cols.low[3] = cols.high[3] + 0.001;
  await assert.rejects(fx.labelCandles(cols, { ...GRID, store }), (e) => e.kind === "input" && e.row === 3 && e.column === "high" && /row 3, column 'high'/.test(e.message));
  const unsorted = sampleColumns();
  unsorted.timestamps[10] = unsorted.timestamps[9];
  await assert.rejects(fx.labelCandles(unsorted, { store }), (e) => e.kind === "input" && e.row === 10 && e.column === "timestamp");
  const short = sampleColumns();
  await assert.rejects(fx.labelCandles({ ...short, close: short.close.subarray(1) }, { store }), (e) => e.kind === "input" && e.column === "close");
  await assert.rejects(fx.labelCandles({ ...short, open: undefined }, { store }), (e) => e.kind === "input" && e.column === "open");
  await assert.rejects(fx.labelCandles("timestamp,open,high,low,close\n", { store }), (e) => e.kind === "input" && /no rows/.test(e.message));

  await assert.rejects(fx.labelCandles(CSV, { targetPips: [0], store }), (e) => e.kind === "param" && e.param === "targetPips");
  await assert.rejects(fx.labelCandles(CSV, { pipValue: -1, store }), (e) => e.kind === "param" && e.param === "pipValue");
  await assert.rejects(fx.labelCandles(CSV, { horizons: [1.5], store }), (e) => e.kind === "param" && e.param === "horizons");
  await assert.rejects(fx.labelCandles(CSV, { tie: "coin", store }), (e) => e.kind === "param" && e.param === "tie");
  await assert.rejects(fx.labelCandles(CSV, { stopPips: [], store }), (e) => e.kind === "param" && e.param === "stopPips");
  await assert.rejects(fx.labelCandles(CSV, { targetpips: [5], store }), (e) => e.kind === "param" && e.param === "targetpips" && /unknown option/.test(e.message));
  await assert.rejects(fx.labelCandles(CSV, { onProgress: 5, store }), /'onProgress': expected a function/);
  await assert.rejects(fx.labelCandles(42, { store }), (e) => e.kind === "param" && e.param === "candles");
  assert.deepEqual(touched, []);
});

test("a mismatching file in a custom store is refused before any write, and overwrite replaces it", async () => {
  const store = fx.memoryStore();
  await fx.labelCandles(CSV, { ...GRID, store });
  const original = new Map(store.files);
  store.files.set(".T5_S5_H1.parquet.tmp-1", new Uint8Array(3)); // stale: kept when the run is refused
  await assert.rejects(fx.labelCandles(CSV, { ...GRID, tie: "target", store }), (e) => e.kind === "mismatch" && e.key === "T5_S5_H30" && /tie differs/.test(e.message));
  assert.equal(store.files.size, 5);
  const r = await fx.labelCandles(CSV, { ...GRID, tie: "target", store, overwrite: true });
  assert.equal(r.written.length, 4);
  assert.equal(store.files.size, 4, "stale temporary file removed");
  assert.ok(!Buffer.from(store.files.get("T5_S5_H30.parquet")).equals(Buffer.from(original.get("T5_S5_H30.parquet"))));
  // Another input: named as such.
  await assert.rejects(fx.labelCandles(CSV.split("\n").slice(0, 5000).join("\n"), { ...GRID, tie: "target", store }), /input rows differs \(file: 8000, this run: 4999\)/);
});

test("host rules with a fake wasm module: a trap rethrows lastPanic and poisons the instance; the labeler is always freed", async () => {
  const { createHost } = await import(path.join(PKG, "host.js"));
  const freed = [];
  class Labeler {
    configs() { return ["T5_S5_H1", "T5_S5_H5"]; }
    get rows() { return 1; }
    get sharedBytes() { return 0; }
    fileName(k) { return `${k}.parquet`; }
    label() { return new Uint8Array([1, 2, 3]); }
    // The core's run protocol, failing at its first step.
    run() { return { plan: () => ({ next() { throw new Error("disk full"); }, free() {} }), free() {} }; }
    free() { freed.push("labeler"); }
  }
  let trap = false;
  const wasm = {
    CandleInput: class {
      appendCsv() { if (trap) throw new WebAssembly.RuntimeError("unreachable"); }
      finish() { return new Labeler(); }
      free() { freed.push("input"); }
    },
    lastPanic: () => "fxlabel panicked: at src/kernel.rs:1:1: boom",
  };
  const failing = { folder: () => ({ display: "x", id: "x", owner: "1", lock: "none" }) };
  const host = createHost(wasm, () => failing);
  await assert.rejects(host.labelCandles("x"), /disk full/);
  assert.deepEqual(freed, ["labeler"]);

  trap = true;
  await assert.rejects(host.labelCandles("x"), (e) => e.message === "fxlabel panicked: at src/kernel.rs:1:1: boom" && e.cause instanceof WebAssembly.RuntimeError);
  assert.deepEqual(freed, ["labeler"], "a dead instance is not called again, not even to free");
  trap = false;
  await assert.rejects(host.labelCandles("x"), /cannot be used again \(restart the process\): fxlabel panicked/);
});
