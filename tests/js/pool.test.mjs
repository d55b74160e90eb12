// The Node worker pool sharing rows: each worker labels a range of row
// groups of every config, the main thread joins the parts. Files must be
// byte-identical to a one-thread run, whatever the number of workers, and
// resume, cancel and the temporary-name guarantee must hold as before.
import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fx, SAMPLE, SAMPLE_ROWS, tmpDir, finalFiles, isTemp } from "./helpers.mjs";

// Small row groups so that the 8,000-row sample spans several.
const GRID = { targetPips: [5, 10], stopPips: [5, 15], horizons: [1, 60, 240], rowGroupSize: 1500 };
const KEYS = 12;

function filesOf(dir) {
  const m = new Map();
  for (const name of finalFiles(dir)) m.set(name, readFileSync(path.join(dir, name)));
  return m;
}

async function reference() {
  const dir = tmpDir("pool-ref");
  await fx.labelCandles({ path: SAMPLE }, { ...GRID, dir, workers: 1 });
  return filesOf(dir);
}

test("row-sharded pool: files equal a one-thread run for 2, 3 and 6 workers", async () => {
  const want = await reference();
  assert.equal(want.size, KEYS);
  for (const workers of [2, 3, 6]) {
    const dir = tmpDir(`pool-${workers}`);
    const logs = [];
    const r = await fx.labelCandles({ path: SAMPLE }, { ...GRID, dir, workers, onLog: (m) => logs.push(m) });
    assert.equal(r.written.length, KEYS);
    assert.equal(r.rows, SAMPLE_ROWS);
    // 8,000 rows in groups of 1,500: 6 groups, so at most 6 shards.
    const shardLog = logs.find((m) => /workers, rows /.test(m));
    assert.ok(shardLog, `no shard plan logged: ${logs.join(" | ")}`);
    assert.equal(shardLog.match(/rows \d+-\d+/g).length, Math.min(workers, 6));
    const got = filesOf(dir);
    assert.deepEqual([...got.keys()], [...want.keys()]);
    for (const [name, bytes] of want) assert.ok(got.get(name).equals(bytes), `${workers} workers: ${name}`);
    assert.deepEqual(readdirSync(dir).filter(isTemp), []);
  }
});

test("row-sharded pool: bytes input, resume after deleting files, then cancel and resume", async () => {
  const want = await reference();
  const dir = tmpDir("pool-resume");
  const bytes = readFileSync(SAMPLE);
  await fx.labelCandles(bytes, { ...GRID, dir, workers: 2 });
  const names = [...want.keys()];
  const gone = [names[0], names[5], names[11]];
  for (const n of gone) rmSync(path.join(dir, n));
  const kept = new Map(names.filter((n) => !gone.includes(n)).map((n) => [n, readFileSync(path.join(dir, n))]));
  const r = await fx.labelCandles(bytes, { ...GRID, dir, workers: 3 });
  assert.equal(r.written.length, 3);
  assert.equal(r.skipped.length, KEYS - 3);
  for (const [name, b] of filesOf(dir)) assert.ok(b.equals(want.get(name)), name);
  for (const [name, b] of kept) assert.ok(readFileSync(path.join(dir, name)).equals(b), `untouched ${name}`);

  // Cancel after a few configs: what is saved is complete, no temp file
  // is left, and a rerun finishes the set.
  const dir2 = tmpDir("pool-cancel");
  const ac = new AbortController();
  const r2 = await fx.labelCandles({ path: SAMPLE }, {
    ...GRID,
    dir: dir2,
    workers: 2,
    signal: ac.signal,
    onProgress: (p) => {
      if (p.done >= 3) ac.abort();
    },
  });
  assert.equal(r2.cancelled, true);
  assert.ok(r2.written.length >= 3 && r2.written.length < KEYS, `${r2.written.length} written`);
  assert.deepEqual(readdirSync(dir2).filter(isTemp), []);
  for (const [name, b] of filesOf(dir2)) assert.ok(b.equals(want.get(name)), `cancelled run ${name}`);
  const r3 = await fx.labelCandles({ path: SAMPLE }, { ...GRID, dir: dir2, workers: 2 });
  assert.equal(r3.skipped.length, r2.written.length);
  for (const [name, b] of filesOf(dir2)) assert.ok(b.equals(want.get(name)), `resumed ${name}`);
  assert.equal(filesOf(dir2).size, KEYS);
});

test("row-sharded pool: a write failing mid-file stops the run with no finished-looking file, and a rerun completes", async () => {
  const want = await reference();
  const dir = tmpDir("pool-fail");
  // The real folder store, whose 5th file fails after its first piece
  // (as a full disk would).
  const real = fx.fsStore(dir);
  let calls = 0;
  const store = {
    ...real,
    writeTemp(name, pieces) {
      const n = ++calls;
      let k = 0;
      return real.writeTemp(name, {
        next: async () => {
          if (n === 5 && ++k === 2) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
          return pieces.next();
        },
      });
    },
  };
  await assert.rejects(fx.labelCandles({ path: SAMPLE }, { ...GRID, store, workers: 3 }), (err) => {
    assert.equal(err.kind, "io");
    assert.match(err.message, /no space left on device/);
    return true;
  });
  assert.deepEqual(readdirSync(dir).filter(isTemp), [], "no temporary file left");
  const partial = filesOf(dir);
  assert.ok(partial.size >= 4 && partial.size < KEYS, `${partial.size} files`);
  for (const [name, b] of partial) assert.ok(b.equals(want.get(name)), `complete ${name}`);
  await fx.labelCandles({ path: SAMPLE }, { ...GRID, dir, workers: 3 });
  const got = filesOf(dir);
  assert.equal(got.size, KEYS);
  for (const [name, b] of want) assert.ok(got.get(name).equals(b), name);
});
