// The contract's version 2 settings (spread, entry at the next open,
// sample weights) through the npm package: the same bytes as the native
// CLI, on one thread and with workers sharing the rows; column input with
// a spread column; bad spreads and changed settings refused by name.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { SAMPLE, SAMPLE_ROWS, finalFiles, fx, nativeCli, runCli, snapshot, tmpDir } from "./helpers.mjs";

// The sample with a spread column (price units), varying by row.
function sampleWithSpread(dir, spreadOf = (i) => (0.00008 + (i % 5) * 0.00001).toFixed(5), name = "spread.csv") {
  const lines = readFileSync(SAMPLE, "utf8").trimEnd().split("\n");
  const out = lines.map((l, i) => (i === 0 ? `${l},spread` : `${l},${spreadOf(i - 1)}`));
  const file = path.join(dir, name);
  writeFileSync(file, `${out.join("\n")}\n`);
  return file;
}

const GRID = ["--targets", "5,10", "--stops", "5,7.5", "--horizons", "30,240"];
const RUNS = {
  column: ["--spread-column", "spread", "--entry", "next_open", "--weights", "--extras"],
  constShortBars: ["--spread-pips", "1.2", "--sides", "short", "--unit", "bars", "--weights", "--tie", "target"],
  nextOpen: ["--entry", "next_open"],
};

test("version 2 runs write the native CLI's bytes, on one thread and with workers sharing rows", async (t) => {
  const native = nativeCli();
  const dir = tmpDir("v2");
  const input = sampleWithSpread(dir);
  for (const [name, flags] of Object.entries(RUNS)) {
    await t.test(name, () => {
      const b = path.join(dir, `${name}-native`);
      const n = spawnSync(native, ["label", input, "--out", b, "-q", ...GRID, ...flags], { encoding: "utf8" });
      assert.equal(n.status, 0, `native CLI: ${n.stderr}`);
      // Small row groups: with -j 3 the workers share the input by rows,
      // each keeping the margin its settings need.
      for (const jobs of ["1", "3"]) {
        const a = path.join(dir, `${name}-npm-${jobs}`);
        const r = runCli(["label", input, "--out", a, "-q", "-j", jobs, "--row-group-size", "1500", ...GRID, ...flags]);
        assert.equal(r.code, 0, r.stderr);
        const c = path.join(dir, `${name}-native-rg`);
        spawnSync(native, ["label", input, "--out", c, "-q", "--row-group-size", "1500", ...GRID, ...flags]);
        assert.deepEqual(finalFiles(a), finalFiles(c));
        for (const f of finalFiles(a)) assert.ok(readFileSync(path.join(a, f)).equals(readFileSync(path.join(c, f))), `${name} -j ${jobs}: ${f}`);
      }
    });
  }
  const table = await fx.loadLabelResults("T10_S5_H30", { dir: path.join(dir, "column-native") });
  assert.equal(table.numRows, SAMPLE_ROWS);
  assert.deepEqual(
    table.schema.fields.map((f) => f.name),
    ["timestamp", "long_label", "long_exit_offset", "long_return_pips", "long_ambiguous", "long_mfe_pips", "long_mae_pips", "long_uniqueness", "short_label", "short_exit_offset", "short_return_pips", "short_ambiguous", "short_mfe_pips", "short_mae_pips", "short_uniqueness"],
  );
  const settings = JSON.parse(table.schema.metadata.get("fxlabel.settings"));
  assert.deepEqual([settings.spread_column, settings.entry, settings.weights], ["spread", "next_open", true]);
  const u = table.getChild("long_uniqueness").toArray();
  assert.ok(u.every((x) => x === 0 || (x > 0 && x <= 1)), "uniqueness in (0, 1]");
  assert.equal(table.getChild("long_label").get(SAMPLE_ROWS - 1), null, "the last row has no next open");
});

test("columns with a spread column label like the CSV; a missing spread names its row", async () => {
  const dir = tmpDir("v2cols");
  const csv = readFileSync(sampleWithSpread(dir), "utf8");
  const rows = csv.trimEnd().split("\n").slice(1).map((l) => l.split(","));
  const col = (k) => Float64Array.from(rows, (r) => Number(r[k]));
  const columns = { timestamps: col(0), open: col(1), high: col(2), low: col(3), close: col(4), spread: col(6) };
  const opts = { targetPips: [10], stopPips: [5], horizons: [30], spreadColumn: "spread", entry: "next_open", weights: true };
  const fromCsv = fx.memoryStore();
  await fx.labelCandles(csv, { ...opts, store: fromCsv });
  const fromCols = fx.memoryStore();
  await fx.labelCandles(columns, { ...opts, store: fromCols });
  assert.ok(Buffer.from(fromCols.files.get("T10_S5_H30.parquet")).equals(Buffer.from(fromCsv.files.get("T10_S5_H30.parquet"))));
  // A plain array with a hole: the hole is a missing spread.
  const holes = Array.from(columns.spread);
  holes[42] = null;
  await assert.rejects(fx.labelCandles({ ...columns, spread: holes }, { ...opts, store: fx.memoryStore() }), (e) => e.kind === "input" && e.row === 42 && e.column === "spread");
  await assert.rejects(fx.labelCandles({ ...columns, spread: undefined }, { ...opts, store: fx.memoryStore() }), (e) => e.kind === "input" && e.column === "spread");
  for (const [bad, param] of [
    [{ spreadPips: -1 }, "spreadPips"],
    [{ spreadPips: 1 }, "spreadColumn"],
    [{ entry: "open" }, "entry"],
    [{ weights: "yes" }, "weights"],
    [{ spread_pips: 1 }, "spread_pips"],
  ]) {
    await assert.rejects(fx.labelCandles(csv, { ...opts, ...bad, store: fx.memoryStore() }), (e) => e.kind === "param" && e.param === param, JSON.stringify(bad));
  }
});

test("npm CLI: bad spreads exit 2 naming row and column; other settings are refused by name", () => {
  const dir = tmpDir("v2cli");
  const out = path.join(dir, "labels");
  const input = sampleWithSpread(dir);
  assert.equal(runCli(["label", input, "--out", out, "-q", ...GRID, ...RUNS.column]).code, 0);
  const before = snapshot(out);
  const bad = sampleWithSpread(dir, (i) => (i === 3 ? "-0.0001" : "0.0001"), "bad.csv");
  let r = runCli(["label", bad, "--out", out, ...GRID, ...RUNS.column]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /row 3, column 'spread'/);
  for (const [flags, setting] of [
    [["--spread-column", "spread", "--entry", "close", "--weights", "--extras"], "entry"],
    [["--spread-column", "spread", "--entry", "next_open", "--extras"], "weights"],
    [["--spread-pips", "0.8", "--entry", "next_open", "--weights", "--extras"], "spread_pips"],
  ]) {
    r = runCli(["label", input, "--out", out, ...GRID, ...flags]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${setting} differs`));
  }
  assert.deepEqual(snapshot(out), before);
});
