// Parquet input read by row group: a `{path}` Parquet file is read footer
// first, then one row group's byte range at a time (never whole), and
// labels exactly like the same candles as CSV; errors in a later row group
// name the row over the whole file; the file is closed afterwards.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { SAMPLE, SAMPLE_ROWS, fx, tmpDir } from "./helpers.mjs";

const python = spawnSync("python3", ["-c", "import pyarrow"], { encoding: "utf8" });
const NO_PYARROW = python.status === 0 ? false : `python3 cannot import pyarrow (${(python.error?.message ?? python.stderr).trim()}); install it with 'pip install pyarrow' to run this check`;

const GRID = { targetPips: [5, 10], stopPips: [5], horizons: [30, 60] };
const GROUP = 1000; // rows per row group: the sample's 8000 rows make 8

// Writes the sample candles as Parquet with pyarrow (an independent
// writer): time as timestamp[ms, UTC], a column not read between the time
// and the prices, row groups of GROUP rows; `nullAt` makes one 'low' null.
// Returns the file's path and row-group count.
function writeParquet(dir, name, nullAt = -1) {
  const file = path.join(dir, name);
  const script = `
import sys, json
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
t = pacsv.read_csv(sys.argv[1])
ts = pa.array(t["timestamp"].to_pylist(), pa.timestamp("ms", tz="UTC"))
low = t["low"].to_pylist()
k = int(sys.argv[3])
if k >= 0:
    low[k] = None
t = pa.table({"timestamp": ts, "volume": t["volume"], "open": t["open"], "high": t["high"], "low": pa.array(low, pa.float64()), "close": t["close"]})
pq.write_table(t, sys.argv[2], row_group_size=${GROUP})
print(json.dumps({"groups": pq.ParquetFile(sys.argv[2]).metadata.num_row_groups}))
`;
  const r = spawnSync("python3", ["-c", script, SAMPLE, file, String(nullAt)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return { file, groups: JSON.parse(r.stdout).groups };
}

const openFds = () => (existsSync("/proc/self/fd") ? readdirSync("/proc/self/fd").length : 0);

async function labelInto(candles, options = {}) {
  const store = fx.memoryStore();
  const r = await fx.labelCandles(candles, { ...GRID, ...options, store });
  return { r, files: store.files };
}

test("a Parquet path with several row groups labels like the same candles as CSV", { skip: NO_PYARROW }, async () => {
  const dir = tmpDir("pqstream");
  const { file, groups } = writeParquet(dir, "candles.parquet");
  assert.equal(groups, SAMPLE_ROWS / GROUP);

  const csv = await labelInto(readFileSync(SAMPLE, "utf8"));
  assert.equal(csv.files.size, 4);

  // openPath gives a row-group reader, not the file's bytes.
  const opened = fx.openPath(file);
  assert.ok(!(opened instanceof Uint8Array) && typeof opened.parquetFile?.read === "function");
  assert.equal(opened.parquetFile.size, readFileSync(file).length);
  opened.parquetFile.close();

  const fds = openFds();
  const fromPath = await labelInto({ path: file });
  assert.equal(openFds(), fds, "the Parquet file is closed after reading");
  const fromBytes = await labelInto(readFileSync(file));
  for (const run of [fromPath, fromBytes]) {
    assert.equal(run.r.rows, SAMPLE_ROWS);
    assert.deepEqual([...run.files.keys()], [...csv.files.keys()]);
    for (const [name, bytes] of csv.files) {
      assert.ok(Buffer.from(run.files.get(name)).equals(Buffer.from(bytes)), name);
    }
  }

  // Pool workers read the path by row group too.
  const out = path.join(dir, "pool");
  const pooled = await fx.labelCandles({ path: file }, { ...GRID, dir: out, workers: 2 });
  assert.equal(pooled.written.length, 4);
  for (const [name, bytes] of csv.files) {
    assert.ok(readFileSync(path.join(out, name)).equals(Buffer.from(bytes)), `pool ${name}`);
  }
});

test("an error in a later row group names the row over the whole file, and the file is closed", { skip: NO_PYARROW }, async () => {
  const dir = tmpDir("pqstream-err");
  const row = 2 * GROUP + 345; // in the third row group
  const { file } = writeParquet(dir, "bad.parquet", row);
  const fds = openFds();
  for (const candles of [{ path: file }, readFileSync(file)]) {
    await assert.rejects(fx.labelCandles(candles, { ...GRID, store: fx.memoryStore() }), (err) => {
      assert.equal(err.kind, "input");
      assert.equal(err.row, row);
      assert.equal(err.column, "low");
      assert.match(err.message, new RegExp(`row ${row}, column 'low'`));
      return true;
    });
  }
  assert.equal(openFds(), fds, "the Parquet file is closed after the error");
  // The instance still works.
  assert.equal((await labelInto({ path: writeParquet(dir, "good.parquet").file })).files.size, 4);
});

test("the wasm row-group methods refuse bad tails, lengths and calls", async () => {
  // The wasm methods directly, over a file written by the package itself:
  // a label file has no price columns, so the plan names the missing one.
  const store = fx.memoryStore();
  await fx.labelCandles(readFileSync(SAMPLE, "utf8"), { targetPips: [5], stopPips: [5], horizons: [30], rowGroupSize: 1000, store });
  const label = store.files.get("T5_S5_H30.parquet");
  const input = new fx.CandleInput();
  try {
    assert.throws(() => input.parquetRowGroups(label, label.length), /column 'open' is missing/);
    assert.throws(() => input.appendParquetRowGroup(0, new Uint8Array(8)), /before parquetRowGroups/);
    assert.throws(() => input.parquetRowGroups(label.subarray(label.length - 8), label.length), /footer needs/);
    assert.throws(() => input.parquetRowGroups(label, -1), /fileLength/);
    assert.throws(() => input.parquetRowGroups(label, label.length - 1), /longer than the file/);
  } finally {
    input.free();
  }
});
