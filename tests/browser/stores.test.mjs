// The browser stores inside a real dedicated worker and on the page: the
// OPFS store (pkg/opfs-store.js; sync access handles in a worker where the
// engine has them, createWritable elsewhere) or, with FXLABEL_STORE=idb,
// the IndexedDB store (pkg/idb-store.js). Write, list, readTail, replace,
// remove; a write failing midway and a worker killed midway leave no final
// name; a quota error names the config; the host resumes and refuses a
// file made with other settings; the Web Worker pool; the run protocol's
// conformance cases. In headless Chromium, Firefox (FXLABEL_BROWSER=firefox)
// or WebKitGTK (FXLABEL_BROWSER=webkit): see package.json's test scripts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { openPage } from "./helpers.mjs";

const STORE = process.env.FXLABEL_STORE ?? "opfs";
if (!["opfs", "idb"].includes(STORE)) throw new Error(`FXLABEL_STORE: opfs or idb, not ${STORE}`);
const MAKE_STORE = STORE === "idb" ? "idbStore" : "opfsStore";

let env;
let page;
before(async () => {
  env = await openPage();
  ({ page } = env);
  console.log(`# engine: ${env.engine}, store: ${STORE}`);
  // Any page of the server: a secure context (http://127.0.0.1), cross-origin
  // isolated as the demo is.
  await page.goto(env.url + "vendor/client-zip.LICENSE.txt");
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
});
after(async () => {
  await env?.close();
});

/**
 * Runs `fn(ctx)` in a new module worker and returns its result. ctx holds
 * opfsStore, idbStore, makeStore (the store under test), breakWrites,
 * createHost, the initialised wasm module and csv(rows), a tiny
 * candle CSV. With `detach`, resolves once the worker posts "ready to be
 * killed" and returns the Worker's id instead (see kill()).
 */
async function inWorker(fn, { detach = false, data = null } = {}) {
  return page.evaluate(
    async ({ src, base, detach, data, MAKE_STORE }) => {
      const code = `
        import { opfsStore } from "${base}pkg/opfs-store.js";
        import { idbStore } from "${base}pkg/idb-store.js";
        import { createHost, memoryStore } from "${base}pkg/host.js";
        import { runWebPool } from "${base}pkg/web-pool.js";
        import init, * as wasm from "${base}pkg/fxlabel.js";
        await init({ module_or_path: new URL("${base}pkg/fxlabel_bg.wasm") });
        const csv = (n, step = 0.0003) => {
          let s = "timestamp,open,high,low,close\\n";
          for (let i = 0; i < n; i++) {
            const c = 1.1 + step * Math.sin(i / 7);
            s += (1704067200000 + i * 60000) + "," + c + "," + (c + 0.0004) + "," + (c - 0.0004) + "," + c + "\\n";
          }
          return s;
        };
        const signalKill = () => postMessage({ killable: true });
        // Makes the store's writes fail from the (handles+1)-th file on:
        // throw DOMException(error), after writing half of the piece when
        // half; with hang, block until the worker is killed instead.
        // Patches what the store writes with: a sync access handle, a
        // writable stream or an IndexedDB put.
        const breakWrites = async (store, { handles = 0, error = ["InvalidStateError", "simulated I/O failure"], half = false, hang = false }) => {
          const mode = (await store.capabilities()).writeMode;
          let n = 0;
          const fail = () => {
            if (hang) {
              signalKill();
              for (;;) {} // until terminate()
            }
            throw new DOMException(error[1], error[0]);
          };
          if (mode === "sync") {
            const P = FileSystemSyncAccessHandle.prototype, write = P.write;
            P.write = function (buf, opts) {
              this.fxNumber ??= ++n;
              if (this.fxNumber <= handles) return write.call(this, buf, opts);
              if (half) {
                write.call(this, buf.subarray(0, buf.length >> 1), opts);
                this.flush();
              }
              fail();
            };
            return () => (P.write = write);
          }
          if (mode === "writable") {
            const P = FileSystemWritableFileStream.prototype, write = P.write;
            P.write = async function (data) {
              this.fxNumber ??= ++n;
              if (this.fxNumber <= handles) return write.call(this, data);
              if (half) await write.call(this, data.subarray(0, data.length >> 1));
              fail();
            };
            return () => (P.write = write);
          }
          const P = IDBObjectStore.prototype, put = P.put;
          P.put = function (value, key) {
            // The bytes of a temporary file (not its metadata, not a rename).
            if (this.name !== "files" || !String(key).includes(".tmp-") || ++n <= handles) return put.call(this, value, key);
            fail();
          };
          return () => (P.put = put);
        };
        const ctx = { opfsStore, idbStore, makeStore: ${MAKE_STORE}, breakWrites, createHost, memoryStore, runWebPool, wasm, csv, data: ${JSON.stringify(data)}, signalKill };
        try {
          postMessage({ ok: true, value: await (${src})(ctx) });
        } catch (err) {
          postMessage({ ok: false, error: String(err?.message ?? err), name: err?.name, quota: err?.quota, kind: err?.kind });
        }`;
      const w = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })), { type: "module" });
      const reply = await new Promise((resolve, reject) => {
        w.onmessage = ({ data }) => resolve(data);
        w.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
      });
      if (detach && reply.killable) {
        // Simulates a tab closed mid-write: the worker dies, its handles are released.
        w.terminate();
        return { killed: true };
      }
      w.terminate();
      return reply;
    },
    { src: fn.toString(), base: env.url, detach, data, MAKE_STORE },
  );
}
// How the store writes in this engine: what the worker and page tests expect.
// WebKit's sync access handles throw NotSupportedError: it writes with createWritable.
const ENGINE_SYNC = (process.env.FXLABEL_BROWSER ?? "chromium") !== "webkit";
const WORKER_MODE = STORE === "idb" ? "indexeddb" : ENGINE_SYNC ? "sync" : "writable";
const PAGE_MODE = STORE === "idb" ? "indexeddb" : "writable";
const ok = (r) => {
  assert.equal(r.ok, true, `worker threw: ${r.error}`);
  return r.value;
};

test(`in a worker (${WORKER_MODE}): writeTemp in pieces, rename (replacing), list, readTail, remove`, async () => {
  const v = ok(
    await inWorker(async ({ makeStore }) => {
      const s = makeStore("opfs-test/basic");
      await s.clear();
      const empty = await s.list();
      const put = async (name, bytes) => {
        const pieces = [bytes.subarray(0, 1000), bytes.subarray(1000)];
        await s.writeTemp(`.${name}.tmp-t`, { next: async () => pieces.shift() });
        await s.rename(`.${name}.tmp-t`, name);
      };
      const a = new Uint8Array(300_000).map((_, i) => i % 251);
      await put("T1_S1_H1.parquet", a);
      const names = await s.list();
      const tail = await s.readTail("T1_S1_H1.parquet", 10);
      const all = await s.readTail("T1_S1_H1.parquet", 1e9);
      await put("T1_S1_H1.parquet", new Uint8Array(1000).fill(7)); // replaces the file
      const replaced = await s.readTail("T1_S1_H1.parquet", 1e9);
      await s.remove("T1_S1_H1.parquet");
      await s.remove("T1_S1_H1.parquet"); // already gone: no error
      return {
        mode: (await s.capabilities()).writeMode,
        empty,
        names,
        tail: [...tail],
        allOk: all.length === a.length && all.every((x, i) => x === a[i]),
        replaced: replaced.length === 1000 && replaced.every((x) => x === 7),
        end: await s.list(),
      };
    }),
  );
  assert.equal(v.mode, WORKER_MODE);
  assert.deepEqual(v.empty, []);
  assert.deepEqual(v.names, ["T1_S1_H1.parquet"]);
  assert.deepEqual(v.tail, [...Array(10)].map((_, k) => (299_990 + k) % 251));
  assert.equal(v.allOk, true);
  assert.equal(v.replaced, true);
  assert.deepEqual(v.end, []);
});

test(`on the page (${PAGE_MODE}): same contract`, async () => {
  const v = await page.evaluate(async ({ base, MAKE_STORE }) => {
    const mod = await import(`${base}pkg/${MAKE_STORE === "idbStore" ? "idb" : "opfs"}-store.js`);
    const s = mod[MAKE_STORE]("opfs-test/page");
    await s.clear();
    const pieces = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])];
    await s.writeTemp(".T2.tmp-t", { next: () => pieces.shift() });
    await s.rename(".T2.tmp-t", "T2_S2_H2.parquet");
    const r = { mode: (await s.capabilities()).writeMode, names: await s.list(), tail: [...(await s.readTail("T2_S2_H2.parquet", 2))] };
    await s.clear();
    r.cleared = await s.list();
    return r;
  }, { base: env.url, MAKE_STORE });
  assert.deepEqual(v, { mode: PAGE_MODE, names: ["T2_S2_H2.parquet"], tail: [4, 5], cleared: [] });
});

test("lock(): one holder per folder (a Web Lock) until unlock()", async () => {
  const v = await page.evaluate(async ({ base, MAKE_STORE }) => {
    const mod = await import(`${base}pkg/${MAKE_STORE === "idbStore" ? "idb" : "opfs"}-store.js`);
    const [a, b, other] = [mod[MAKE_STORE]("opfs-test/lock"), mod[MAKE_STORE]("opfs-test/lock"), mod[MAKE_STORE]("opfs-test/other")];
    const r = { first: await a.lock(), second: await b.lock(), other: await other.lock() };
    await other.unlock();
    await a.unlock();
    r.again = await b.lock(); // free again
    await b.unlock();
    return r;
  }, { base: env.url, MAKE_STORE });
  assert.deepEqual(v, { first: true, second: false, other: true, again: true });
});

test("a write failing midway throws with the browser's cause and leaves an older complete file intact", async () => {
  const v = ok(
    await inWorker(async ({ makeStore, breakWrites }) => {
      const s = makeStore("opfs-test/fail");
      await s.clear();
      const one = (bytes) => {
        let sent = false;
        return { next: () => (sent ? undefined : ((sent = true), bytes)) };
      };
      await s.writeTemp(".T3.tmp-t", one(new Uint8Array(100).fill(1)));
      await s.rename(".T3.tmp-t", "T3_S3_H3.parquet"); // an older, complete file
      // The disk "fails" after half of the bytes of the next write.
      const restore = await breakWrites(s, { half: true });
      let error = null;
      try {
        await s.writeTemp(".T3.tmp-t", one(new Uint8Array(5000).fill(2)));
      } catch (err) {
        error = err.message;
      }
      restore();
      const old = await s.readTail("T3_S3_H3.parquet", 1e9);
      return { error, names: (await s.list()).sort(), old: old.length === 100 && old.every((x) => x === 1) };
    }),
  );
  assert.match(v.error, /^InvalidStateError: simulated I\/O failure/);
  // The temporary file (OPFS makes it before the first byte) is the
  // protocol's to remove (tests/conformance); IndexedDB never stored it.
  assert.deepEqual(v.names, STORE === "idb" ? ["T3_S3_H3.parquet"] : [".T3.tmp-t", "T3_S3_H3.parquet"]);
  assert.equal(v.old, true);
});

test("a worker killed mid-write leaves only a temporary name; the next run removes it and completes", async () => {
  const killed = await inWorker(
    async ({ makeStore, breakWrites }) => {
      const s = makeStore("opfs-test/kill");
      await s.clear();
      await breakWrites(s, { half: true, hang: true }); // half written, then blocked until killed
      const pieces = [new Uint8Array(10_000).fill(3)];
      await s.writeTemp(".T5_S5_H5.parquet.tmp-gone", { next: () => pieces.shift() });
    },
    { detach: true },
  );
  assert.deepEqual(killed, { killed: true });
  const v = ok(
    await inWorker(async ({ makeStore, createHost, wasm, csv }) => {
      const s = makeStore("opfs-test/kill");
      const left = await s.entries();
      const host = createHost(wasm, () => s);
      const logs = [];
      const summary = await host.labelCandles(csv(300), { targetPips: [5], stopPips: [5], horizons: [5], onLog: (m) => logs.push(m) });
      return { left, after: await s.list(), written: summary.written };
    }),
  );
  if (STORE === "idb") {
    assert.deepEqual(v.left, [], "IndexedDB: the unfinished file's transaction never ran");
  } else {
    assert.equal(v.left.length, 1, JSON.stringify(v.left));
    assert.match(v.left[0].name, /^\.T5_S5_H5\.parquet\.tmp-[a-z0-9]+$/, "only a temporary name after the kill");
    // A sync access handle wrote half; an unclosed writable stream commits nothing.
    assert.equal(v.left[0].size, WORKER_MODE === "sync" ? 5000 : 0, "the temporary file holds what was written");
  }
  assert.deepEqual(v.after, ["T5_S5_H5.parquet"], "stale temporary file removed, the final file written");
  assert.deepEqual(v.written, ["T5_S5_H5.parquet"]);
});

test("a quota error stops the run with the config's name; nothing partial is left", async () => {
  const v = ok(
    await inWorker(async ({ makeStore, breakWrites, createHost, wasm, csv }) => {
      const s = makeStore("opfs-test/quota");
      await s.clear();
      const host = createHost(wasm, () => s);
      // The first file fits; the second hits the quota.
      const restore = await breakWrites(s, { handles: 1, error: ["QuotaExceededError", "The operation failed because it would cause the application to exceed its storage quota."] });
      let error = null;
      try {
        await host.labelCandles(csv(300), { targetPips: [5, 10], stopPips: [5], horizons: [5] });
      } catch (err) {
        error = { message: err.message, quota: err.quota ?? err.cause?.quota };
      }
      restore();
      return { error, names: await s.list() };
    }),
  );
  assert.match(v.error.message, new RegExp(`cannot save T10_S5_H5: cannot write \\.T10_S5_H5\\.parquet\\.tmp-\\w+ in ${STORE === "idb" ? "IndexedDB" : "OPFS"} opfs-test/quota/: storage quota exceeded: QuotaExceededError`));
  assert.equal(v.error.quota, true);
  assert.deepEqual(v.names, ["T5_S5_H5.parquet"], "the finished config stays; no partial file of the failed one");
});

test("the host resumes from the store and refuses a file made with other settings", async () => {
  const v = ok(
    await inWorker(async ({ makeStore, createHost, wasm, csv }) => {
      const s = makeStore("opfs-test/resume");
      await s.clear();
      const host = createHost(wasm, () => s);
      const opts = { targetPips: [5, 10], stopPips: [5], horizons: [5, 15] };
      const first = await host.labelCandles(csv(400), opts);
      await s.remove("T10_S5_H15.parquet");
      const logs = [];
      const second = await host.labelCandles(csv(400), { ...opts, onLog: (m) => logs.push(m) });
      let mismatch = null;
      try {
        await host.labelCandles(csv(400), { ...opts, pipValue: 0.01 });
      } catch (err) {
        mismatch = { kind: err.kind, message: err.message };
      }
      return { first: first.written.length, second, logs, mismatch, names: (await s.list()).sort() };
    }),
  );
  assert.equal(v.first, 4);
  assert.deepEqual(v.second.written, ["T10_S5_H15.parquet"]);
  assert.equal(v.second.skipped.length, 3);
  assert.ok(v.logs.includes("found 3/4 already saved, resuming"), v.logs.join("\n"));
  assert.equal(v.mismatch.kind, "mismatch");
  assert.match(v.mismatch.message, /pip_value differs/);
  assert.deepEqual(v.names, ["T10_S5_H15.parquet", "T10_S5_H5.parquet", "T5_S5_H15.parquet", "T5_S5_H5.parquet"]);
});

test("in a worker: the Web Worker pool shares rows (workers: 3) and writes the same files as one worker", async () => {
  const r = ok(
    await inWorker(async ({ makeStore, createHost, runWebPool, wasm }) => {
      let s = "timestamp,open,high,low,close\n";
      for (let i = 0; i < 9000; i++) {
        const c = 1.1 + 0.0009 * Math.sin(i / 17) + 0.0003 * Math.sin(i / 3);
        s += 1704067200000 + i * 60000 + "," + c.toFixed(5) + "," + (c + 0.0004).toFixed(5) + "," + (c - 0.0004).toFixed(5) + "," + c.toFixed(5) + "\n";
      }
      const blob = new Blob([s]);
      const opts = { targetPips: [5, 10], stopPips: [5], horizons: [15, 240], rowGroupSize: 2000 };
      const read = async (store) => {
        const out = {};
        for (const name of (await store.list()).filter((n) => n.startsWith("T")).sort()) {
          out[name] = Array.from(new Uint8Array(await (await store.file(name)).arrayBuffer()));
        }
        return out;
      };
      const logs = [];
      const host = createHost(wasm, () => null, { runPool: runWebPool });
      const a = makeStore("pool-test/one");
      const b = makeStore("pool-test/three");
      await a.clear();
      await b.clear();
      const r1 = await host.labelCandles(blob, { ...opts, store: a, workers: 1 });
      const r3 = await host.labelCandles(blob, { ...opts, store: b, workers: 3, onLog: (m) => logs.push(m) });
      // Resume through the pool: nothing left to do.
      const again = await host.labelCandles(blob, { ...opts, store: b, workers: 3 });
      const one = await read(a);
      const three = await read(b);
      const left = (await b.list()).filter((n) => n.includes(".tmp-"));
      return { r1: r1.written.length, r3: r3.written.length, skipped: again.skipped.length, logs, same: JSON.stringify(one) === JSON.stringify(three), files: Object.keys(three).length, left };
    }),
  );
  assert.equal(r.r1, 4);
  assert.equal(r.r3, 4);
  assert.equal(r.files, 4);
  assert.equal(r.skipped, 4);
  assert.ok(r.same, "3 workers wrote other bytes than 1");
  assert.deepEqual(r.left, []);
  const plan = r.logs.find((m) => /workers, rows /.test(m));
  assert.ok(plan, r.logs.join(" | "));
  assert.equal(plan.match(/rows \d+-\d+/g).length, 3);
});

test("the store meets every conformance case (tests/conformance/cases.json), in a worker", async () => {
  const dir = new URL("../conformance/", import.meta.url);
  const spec = JSON.parse(readFileSync(new URL("cases.json", dir), "utf8"));
  const data = { spec, candles: readFileSync(new URL(spec.input, dir), "utf8"), runner: readFileSync(new URL("run.mjs", dir), "utf8") };
  const problems = ok(
    await inWorker(
      async ({ makeStore, createHost, memoryStore, wasm, data }) => {
        const { runCases } = await import(URL.createObjectURL(new Blob([data.runner], { type: "text/javascript" })));
        const host = createHost(wasm, () => null);
        const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
        const sha = async (bytes) => hex(await crypto.subtle.digest("SHA-256", bytes));
        return runCases(data.spec, {
          labelCandles: host.labelCandles,
          memoryStore,
          candles: data.candles,
          async makeStore(n) {
            const s = makeStore(`conformance/case${n}`);
            await s.clear();
            await s.makeDir();
            return s;
          },
          async put(store, name, bytes) {
            const pieces = [bytes];
            await store.writeTemp(name, { next: () => pieces.shift() });
          },
          async state(store) {
            const out = {};
            for (const { name } of await store.entries()) out[name] = await sha(await (await store.file(name)).arrayBuffer());
            return out;
          },
          sha,
          deadOwner: "gone",
          // A live run holds the folder's Web Lock; a dead one held it and let go.
          async lock(store, kind) {
            const other = makeStore(store.dir);
            await other.lock();
            if (kind === "live") return () => other.unlock();
            await other.unlock();
          },
        });
      },
      { data },
    ),
  );
  assert.deepEqual(problems, []);
});
