// Hostile input through the built package: random and corrupt bytes,
// extreme columns, hostile options and keys. The wasm instance must never
// trap (a trap kills it: every later call fails): every input ends in a
// resolved run or a thrown Error. Seeded, bounded; more on demand with
// FXLABEL_FUZZ_CASES=N (default 200 per family) and FXLABEL_FUZZ_SEED.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { SAMPLE, fx, nativeCli, tmpDir } from "./helpers.mjs";

const CASES = Number(process.env.FXLABEL_FUZZ_CASES ?? 200);
const SEED = Number(process.env.FXLABEL_FUZZ_SEED ?? 20240601);
const GRID = { targetPips: [5, 10], stopPips: [5], horizons: [3, 30] };
const CSV = readFileSync(SAMPLE);

function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (a) => a[int(a.length)], bytes: (n) => Uint8Array.from({ length: n }, () => int(256)) };
}

// Counts inputs and fails on the first trap, naming the input.
function harness(t, family) {
  let tried = 0;
  const trapped = (err) => err instanceof WebAssembly.RuntimeError || err?.cause instanceof WebAssembly.RuntimeError || /panicked|failed earlier/.test(err?.message ?? "");
  return {
    async run(what, fn) {
      tried += 1;
      try {
        await fn();
      } catch (err) {
        assert.ok(err instanceof Error, `${what}: threw a non-Error ${err}`);
        assert.ok(!trapped(err), `${what}: the wasm instance trapped: ${err.message}`);
      }
    },
    done() {
      assert.equal(fx.lastPanic() ?? null, null, "no panic was recorded");
      t.diagnostic(`${family}: ${tried} inputs, 0 traps`);
      return tried;
    },
  };
}

// The instance still works after everything above.
async function stillWorks() {
  const r = await fx.labelCandles(CSV, { ...GRID, returnTables: true });
  assert.equal(r.size, 4);
}

test("CSV: random bytes, mutated CSV, any chunking: errors only", async (t) => {
  const r = rng(SEED);
  const h = harness(t, "CSV bytes");
  const text = CSV.subarray(0, 20_000);
  for (let i = 0; i < CASES; i++) {
    let bytes;
    switch (i % 3) {
      case 0:
        bytes = r.bytes(r.int(2000));
        break;
      case 1: {
        bytes = Uint8Array.from(text);
        for (let k = r.int(20); k > 0; k--) bytes[r.int(bytes.length)] = r.pick([0, 0x22, 0x2c, 0x0a, 0x0d, 0x2e, 0x2d, 0x65, 0xff, 0xef, r.int(256)]);
        break;
      }
      default:
        bytes = new TextEncoder().encode(`\ufefftimestamp,open,high,low,close\n${Array.from({ length: r.int(30) }, (_, j) => [j * 60000, ...Array.from({ length: r.int(6) }, () => r.pick(["NaN", "Infinity", "-1e308", "1e309", "", "1.1", "0x10", "1_0", "\"1.1\"", String(r.next()), "9".repeat(40)]))].join(",")).join("\n")}`);
    }
    // Random chunk boundaries, empty chunks included.
    const chunks = [];
    for (let at = 0; at < bytes.length; ) {
      const n = r.int(5) === 0 ? 0 : 1 + r.int(600);
      chunks.push(bytes.subarray(at, at + n));
      at += n;
    }
    await h.run(`CSV case ${i}`, () => fx.labelCandles(chunks, { ...GRID, store: fx.memoryStore() }));
  }
  h.done();
  await stillWorks();
});

test("Parquet: truncated, footer-mutated, byte-flipped and random files: errors only", async (t) => {
  const r = rng(SEED + 1);
  const h = harness(t, "Parquet bytes");
  const file = path.join(tmpDir("hostile"), "candles.parquet");
  const s = spawnSync(nativeCli(), ["synth", "600", file], { encoding: "utf8" });
  assert.equal(s.status, 0, s.stderr);
  const good = readFileSync(file);
  const n = good.length;
  const footer = good.readUInt32LE(n - 8) + 8;
  // Every truncation point in the footer, a spread of others.
  for (let cut = n - footer; cut < n; cut++) await h.run(`truncated at ${cut}`, () => fx.labelCandles(good.subarray(0, cut), { ...GRID, store: fx.memoryStore() }));
  for (let i = 0; i < CASES; i++) {
    const b = Buffer.from(good);
    let what;
    if (i % 4 === 0) {
      const k = n - footer + r.int(footer - 8);
      b[k] = r.pick([0, 1, 0x7f, 0x80, 0xff, b[k] ^ 0x40]);
      what = `footer byte ${k}`;
    } else if (i % 4 === 1) {
      for (let k = 1 + r.int(6); k > 0; k--) b[r.int(n)] = r.int(256);
      what = `flips ${i}`;
    } else if (i % 4 === 2) {
      what = `random ${i}`;
      const noise = r.bytes(r.int(3000));
      await h.run(what, () => fx.labelCandles(Buffer.concat([Buffer.from("PAR1"), noise, Buffer.from("PAR1")]), { ...GRID, store: fx.memoryStore() }));
      continue;
    } else {
      // The footer length field at its extremes (32-bit overflow on wasm32).
      b.writeUInt32LE(r.pick([0, 1, 7, 8, 0xfffffff7, 0xfffffff8, 0xffffffff, n, n - 8]), n - 8);
      what = `footer length ${b.readUInt32LE(n - 8)}`;
    }
    await h.run(what, () => fx.labelCandles(b, { ...GRID, store: fx.memoryStore() }));
  }
  h.done();
  await stillWorks();
});

test("label files found in the folder or loaded back: corrupt ones are refused, not trusted", async (t) => {
  const r = rng(SEED + 2);
  const h = harness(t, "label files");
  const made = { parquet: fx.memoryStore(), arrow: fx.memoryStore() };
  await fx.labelCandles(CSV, { ...GRID, store: made.parquet });
  await fx.labelCandles(CSV, { ...GRID, format: "arrow", store: made.arrow });
  const dir = tmpDir("hostile-load");
  for (let i = 0; i < CASES; i++) {
    const format = i % 2 ? "arrow" : "parquet";
    const [name, good] = r.pick([...made[format].files]);
    const b = Uint8Array.from(good);
    const n = b.length;
    switch (r.int(4)) {
      case 0:
        b[n - 1 - r.int(Math.min(n, 4000))] = r.int(256); // near the footer
        break;
      case 1: {
        // Arrow IPC: anywhere. Parquet: the footer (what the resume check
        // reads); damaged Parquet *data pages* can still panic inside the
        // parquet crate when a file is loaded back (docs/reliability.md).
        const from = format === "arrow" ? 0 : n - 8 - new DataView(b.buffer).getUint32(n - 8, true);
        for (let k = 1 + r.int(6); k > 0; k--) b[from + r.int(n - from)] = r.int(256);
        break;
      }
      case 2:
        new DataView(b.buffer).setUint32(n - (format === "arrow" ? 10 : 8), r.pick([0xffffffff, 0xfffffff8, 0xfffffff6, n, 0]), true);
        break;
      default:
        b.fill(0, r.int(n));
    }
    // Resume check: the file sits under its final name in the store. Arrow
    // files with data damage can still be readable: resolving is fine too.
    const store = fx.memoryStore(new Map([[name, b]]));
    await h.run(`${format} ${name} in the store`, () => fx.labelCandles(CSV, { ...GRID, format, store }));
    // Loading it back (loadLabelResults reads from a folder).
    const base = name.replace(/\.(parquet|arrow)$/, "");
    writeFileSync(path.join(dir, name), b);
    await h.run(`${format} ${name} loaded`, () => fx.loadLabelResults(base, { dir }));
    await h.run(`${format} ${name} tableFromLabelFile`, () => fx.tableFromLabelFile(b));
    await h.run(`${format} footerSize/readMetadata`, async () => {
      fx.footerSize(b.subarray(Math.max(0, n - 10)));
    });
    await h.run(`${format} readMetadata`, async () => fx.readMetadata(b));
  }
  h.done();
  await stillWorks();
});

test("column chunks: NaN, infinities, huge values, extreme times, wrong types and lengths", async (t) => {
  const r = rng(SEED + 3);
  const h = harness(t, "columns");
  const values = [NaN, Infinity, -Infinity, 1e308, -1e308, 5e-324, 0, -0, 1.1, 1.2, 1.0, Number.MAX_SAFE_INTEGER, 2 ** 63, -(2 ** 63)];
  const times = [0, 60000, -1, 2 ** 53, -(2 ** 53), 9e15, 9.1e15, 1e300, NaN, Infinity, 1.5, -0];
  const bigs = [0n, 60000n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 62n];
  for (let i = 0; i < CASES; i++) {
    const len = r.int(40);
    const col = (lenDelta = 0) => Float64Array.from({ length: Math.max(0, len + lenDelta) }, () => (r.int(3) ? 1.1 + r.next() * 0.001 : r.pick(values)));
    const ts = r.int(2) ? BigInt64Array.from({ length: len }, (_, k) => (r.int(4) ? BigInt(k * 60000) : r.pick(bigs))) : Float64Array.from({ length: len }, (_, k) => (r.int(4) ? k * 60000 : r.pick(times)));
    const cols = { timestamps: ts, open: col(), high: col(), low: col(), close: col(r.int(6) === 0 ? -1 : 0) };
    if (r.int(8) === 0) cols.high = Array.from({ length: len }, () => r.pick(["1.1", null, undefined, {}, [], 1.1]));
    if (r.int(8) === 0) cols.timestamps = Array.from({ length: len }, (_, k) => r.pick([new Date(k * 60000), new Date(NaN), k * 60000, BigInt(k), "x"]));
    if (r.int(10) === 0) delete cols.low;
    await h.run(`columns case ${i}`, () => fx.labelCandles(cols, { ...GRID, extras: true, pipValue: r.pick([0.0001, 1e-300, 1e300]), store: fx.memoryStore() }));
  }
  h.done();
  await stillWorks();
});

test("options: NaN/Infinity, negative or zero pips, 100,000 configs, unknown and odd names: param errors", async (t) => {
  const r = rng(SEED + 4);
  const h = harness(t, "options");
  const odd = [NaN, Infinity, -Infinity, -1, 0, -0, 1e-320, 1e308, 2 ** 32, 2 ** 53, 1.5, "5", null, {}, [], true, -0.0001];
  const lists = () => r.pick([[], [r.pick(odd)], Array.from({ length: r.int(5) }, () => (r.int(2) ? 1 + r.int(50) : r.pick(odd))), "5,10", null, { 0: 5 }]);
  const strings = ["", "long", "short", "up", "../x", "stop", "target", "bars", "minutes", "zstd:99", "gzip:-1", "snappy", "parquet", "arrow", "../../etc", "\u0000", null, 5];
  for (let i = 0; i < CASES; i++) {
    const o = {};
    for (const k of ["targetPips", "stopPips", "horizons"]) if (r.int(2)) o[k] = lists();
    if (r.int(2)) o.pipValue = r.pick(odd);
    if (r.int(3) === 0) o.sides = r.pick([[r.pick(strings)], r.pick(strings), []]);
    for (const k of ["tie", "horizonUnit", "format", "compression", "timeColumn"]) if (r.int(4) === 0) o[k] = r.pick(strings);
    if (r.int(4) === 0) o.rowGroupSize = r.pick(odd);
    if (r.int(6) === 0) o.extras = r.pick([true, "yes", 1, null]);
    if (r.int(8) === 0) o[r.pick(["__proto__", "constructor", "targetpips", "dir ", "toString"])] = 1;
    await h.run(`options ${JSON.stringify(o)}`, () => fx.labelCandles(CSV, { ...o, store: fx.memoryStore() }));
  }
  // 100,000 configs: refused by name, before any work.
  const many = Array.from({ length: 100 }, (_, k) => k + 1);
  await assert.rejects(fx.labelCandles(CSV, { targetPips: many, stopPips: many, horizons: many.slice(0, 10), store: fx.memoryStore() }), (e) => e.kind === "param" && e.param === "grid" && /100000 configs/.test(e.message));
  // JSON options with NaN/Infinity spelled out (what a config file gives).
  for (const json of ['{"pipValue": NaN}', '{"targetPips": [Infinity]}', '{"horizons": [1e400]}']) {
    let o;
    try {
      o = JSON.parse(json);
    } catch {
      o = { pipValue: Number(json.match(/(NaN|Infinity|1e400)/)[1]) };
    }
    await h.run(`json ${json}`, () => fx.labelCandles(CSV, { ...o, store: fx.memoryStore() }));
  }
  h.done();
  await stillWorks();
});

test("keys and names that try to leave the output folder are refused everywhere", async (t) => {
  const h = harness(t, "keys");
  const dir = tmpDir("hostile-keys");
  const bad = ["../x", "T5_S5_H1/../../etc", "T5_S5_H30/../../../etc/passwd", "/etc/passwd", "..", ".", "", "T5_S5_H30\u0000", "T5_S5_H30\\..\\x", "T05_S5_H30", "T+5_S5_H30", "TNaN_S5_H30", "T1e3_S5_H30", "../T5_S5_H30.parquet"];
  const input = new fx.CandleInput(GRID);
  input.appendCsv(CSV);
  const labeler = input.finish();
  const run = labeler.run({ display: "x", id: "hostile", owner: "1", lock: "none" }, false);
  try {
    for (const k of bad) {
      assert.throws(() => fx.parseKey(k), (e) => e.kind === "param", k);
      assert.throws(() => labeler.fileName(k), (e) => e instanceof Error, k);
      assert.throws(() => labeler.label(k), (e) => e instanceof Error, k);
      await assert.rejects(fx.loadLabelResults(k, { dir }), (e) => e instanceof Error && !/ENOENT/.test(e.message), k);
      assert.throws(() => run.commit(k), (e) => e.kind === "param", k);
    }
    // Not a string at all: wasm-bindgen's glue would read a bogus length
    // (a trap); the skin checks the type first.
    for (const v of [5, {}, [], null, true, 5n]) {
      await h.run(`parseKey(${typeof v})`, async () => fx.parseKey(v));
      await h.run(`label(${typeof v})`, async () => labeler.label(v));
      await h.run(`fileName(${typeof v})`, async () => labeler.fileName(v));
      await h.run(`commit(${typeof v})`, async () => run.commit(v));
      await h.run(`run(${typeof v})`, async () => labeler.run(v, false));
      await h.run(`new CandleInput(${typeof v})`, async () => new fx.CandleInput(v).free());
      await h.run(`loadLabelResults(${typeof v})`, () => fx.loadLabelResults(v, { dir }));
      await h.run(`timeColumn ${typeof v}`, () => fx.labelCandles(CSV, { ...GRID, timeColumn: v, store: fx.memoryStore() }));
    }
  } finally {
    run.free();
    labeler.free();
  }
  h.done();
});
