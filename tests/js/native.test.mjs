// The npm package against independent readers and the native program:
// results read back with apache-arrow equal the native CLI's output, every
// file reads in pyarrow with the contract's schema, and Parquet input works.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ROOT, SAMPLE, SAMPLE_ROWS, finalFiles, fx, nativeCli, runCli, tableColumns, tmpDir } from "./helpers.mjs";

const PY_CHECK = path.join(ROOT, "tests", "js", "pyarrow_check.py");
const python = spawnSync("python3", ["-c", "import pyarrow"], { encoding: "utf8" });
const NO_PYARROW = python.status === 0 ? false : `python3 cannot import pyarrow (${(python.error?.message ?? python.stderr).trim()}); install it with 'pip install pyarrow' to run this check`;

function pyarrow(args) {
  const r = spawnSync("python3", [PY_CHECK, ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, `pyarrow_check ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Runs, each with the same flags for both CLIs.
const RUNS = {
  minutes: ["--targets", "5,7.5,20", "--stops", "5,10", "--horizons", "1,30,240"],
  barsExtrasTarget: ["--targets", "10", "--stops", "5,15", "--horizons", "15,60", "--unit", "bars", "--extras", "--tie", "target"],
  shortArrow: ["--targets", "10", "--stops", "10", "--horizons", "60", "--sides", "short", "--format", "arrow"],
};

test("results read back with apache-arrow equal the native CLI's output", async (t) => {
  const native = nativeCli();
  const dir = tmpDir("native");
  for (const [name, flags] of Object.entries(RUNS)) {
    await t.test(name, async () => {
      const a = path.join(dir, `${name}-npm`);
      const b = path.join(dir, `${name}-native`);
      const r = runCli(["label", SAMPLE, "--out", a, "-q", ...flags]);
      assert.equal(r.code, 0, r.stderr);
      const n = spawnSync(native, ["label", SAMPLE, "--out", b, "-q", ...flags], { encoding: "utf8" });
      assert.equal(n.status, 0, `native CLI: ${n.stderr}`);
      assert.deepEqual(finalFiles(a), finalFiles(b));
      let identical = 0;
      for (const file of finalFiles(a)) {
        const ta = await fx.loadLabelResults(file, { dir: a });
        const tb = await fx.loadLabelResults(file, { dir: b });
        assert.equal(ta.numRows, SAMPLE_ROWS);
        assert.deepEqual(tableColumns(ta), tableColumns(tb), `${name}/${file}`);
        assert.deepEqual(Object.fromEntries(ta.schema.metadata), Object.fromEntries(tb.schema.metadata));
        if (readFileSync(path.join(a, file)).equals(readFileSync(path.join(b, file)))) identical += 1;
      }
      t.diagnostic(`${name}: ${finalFiles(a).length} files equal as tables, ${identical} also byte-identical`);
    });
  }

  await t.test("each CLI resumes the other's folder", () => {
    const a = path.join(dir, "minutes-npm");
    const n = spawnSync(native, ["label", SAMPLE, "--out", a, ...RUNS.minutes], { encoding: "utf8" });
    assert.equal(n.status, 0, n.stderr);
    assert.match(n.stderr, /found 18\/18 already saved/);
    const r = runCli(["label", SAMPLE, "--out", path.join(dir, "minutes-native"), ...RUNS.minutes]);
    assert.match(r.stderr, /done: 0 configs written, 18 skipped/);
  });
});

test("pyarrow reads every file with the contract's schema, types and row count", { skip: NO_PYARROW }, () => {
  const dir = tmpDir("pyarrow");
  const out = path.join(dir, "default");
  assert.equal(runCli(["label", SAMPLE, "--out", out, "-q"]).code, 0);
  assert.equal(pyarrow(["check", out, "--rows", String(SAMPLE_ROWS)]).files, 210);

  const extras = path.join(dir, "extras");
  assert.equal(runCli(["label", SAMPLE, "--out", extras, "-q", ...RUNS.barsExtrasTarget, "--compression", "snappy"]).code, 0);
  assert.equal(pyarrow(["check", extras, "--rows", String(SAMPLE_ROWS), "--extras"]).files, 4);

  const arrow = path.join(dir, "arrow");
  assert.equal(runCli(["label", SAMPLE, "--out", arrow, "-q", ...RUNS.shortArrow]).code, 0);
  assert.equal(pyarrow(["check", arrow, "--rows", String(SAMPLE_ROWS), "--sides", "short"]).files, 1);

  const nat = path.join(dir, "native");
  const n = spawnSync(nativeCli(), ["label", SAMPLE, "--out", nat, "-q", ...RUNS.minutes], { encoding: "utf8" });
  assert.equal(n.status, 0, n.stderr);
  const npm = path.join(dir, "npm");
  assert.equal(runCli(["label", SAMPLE, "--out", npm, "-q", ...RUNS.minutes]).code, 0);
  assert.equal(pyarrow(["check", npm, "--rows", String(SAMPLE_ROWS), "--compare", nat]).compared, 18);
});

test("Parquet candles (timestamp[us, UTC], written by pyarrow) label like the CSV", { skip: NO_PYARROW }, async () => {
  const dir = tmpDir("pqin");
  const candles = path.join(dir, "candles.parquet");
  pyarrow(["candles", SAMPLE, candles]);
  const flags = ["--targets", "10", "--stops", "5", "--horizons", "30,60", "-q"];
  assert.equal(runCli(["label", SAMPLE, "--out", path.join(dir, "csv"), ...flags]).code, 0);
  assert.equal(runCli(["label", candles, "--out", path.join(dir, "pq"), ...flags]).code, 0);
  for (const f of finalFiles(path.join(dir, "csv"))) {
    assert.ok(readFileSync(path.join(dir, "pq", f)).equals(readFileSync(path.join(dir, "csv", f))), f);
  }
  // The function: whole bytes, and a stream of the file's chunks.
  const grid = { targetPips: [10], stopPips: [5], horizons: [30] };
  const expected = readFileSync(path.join(dir, "csv", "T10_S5_H30.parquet"));
  for (const input of [readFileSync(candles), createReadStream(candles, { highWaterMark: 4096 })]) {
    const store = fx.memoryStore();
    await fx.labelCandles(input, { ...grid, store });
    assert.ok(Buffer.from(store.files.get("T10_S5_H30.parquet")).equals(expected));
  }
});

test("both CLIs: the same failures give the same exit code and the same message", async () => {
  const native = nativeCli();
  const dir = tmpDir("exit-codes");
  const small = ["--targets", "5", "--stops", "5", "--horizons", "30", "-q"];
  const notAFolder = path.join(dir, "file");
  writeFileSync(notAFolder, "x");
  const bad = path.join(dir, "bad.csv");
  writeFileSync(bad, "timestamp,open,high,low,close\n1704067200000,1.1,1.0,1.1,1.1\n");
  const locked = path.join(dir, "locked");
  mkdirSync(locked);
  writeFileSync(path.join(locked, ".fxlabel.lock"), `${process.pid}\n`); // this test runner: alive
  const made = path.join(dir, "made");
  assert.equal(runCli(["label", SAMPLE, "--out", made, ...small]).code, 0);
  // Each failure: [args (after --out DIR), expected code, what the message says].
  const cases = {
    "a bad parameter": [[SAMPLE, "--out", path.join(dir, "p"), ...small, "--pip=-1"], 2, /invalid parameter '--pip': /],
    "a bad option value": [[SAMPLE, "--out", path.join(dir, "q"), ...small, "--row-group-size", "0"], 2, /invalid parameter '--row-group-size': /],
    "bad input": [[bad, "--out", path.join(dir, "i"), ...small], 2, /invalid input at row 0, column 'high'/],
    "a mismatching file": [[SAMPLE, "--out", made, ...small, "--tie", "target"], 2, /existing file for T5_S5_H30 was made with other settings or data: tie differs/],
    "a folder held by a live run": [[SAMPLE, "--out", locked, ...small], 1, new RegExp(`another fxlabel run \\(pid ${process.pid}\\) is writing to`)],
    "an output path that is a file": [[SAMPLE, "--out", notAFolder, ...small], 1, /cannot create .*file/],
  };
  for (const [what, [args, code, says]] of Object.entries(cases)) {
    const n = spawnSync(native, ["label", ...args], { encoding: "utf8" });
    const j = runCli(["label", ...args]);
    assert.equal(n.status, code, `native, ${what}: ${n.stderr}`);
    assert.equal(j.code, code, `npm, ${what}: ${j.stderr}`);
    assert.match(n.stderr, says, `native, ${what}`);
    assert.match(j.stderr, says, `npm, ${what}`);
  }
});
