// Node worker pool: the configs of one run shared out to worker_threads,
// each with its own wasm instance and labeler, taking keys from one queue.
//
// wasm threads are not available on stable Rust, so wasm memories cannot be
// shared: every worker holds its own copy of the candles and the shared
// tables (~56 bytes per candle). The input itself crosses once, as a file
// path that each worker reads, or as bytes in one SharedArrayBuffer. Each
// worker holds at most one config's output at a time, and the run's lock,
// resume plan and stale-file cleanup stay with the main thread.
import { Worker } from "node:worker_threads";

/**
 * Labels `keys` into `dir` with `workers` threads.
 * @param {{path?: string, bytes?: Uint8Array}} source the input, re-readable
 * @param {object} o {wasmOptions, timeColumn, dir, keys, workers, onWritten(key, path, bytes)}
 * @returns {Promise<void>} resolves when every key is written; rejects with
 *   the first error once the configs in flight are done (no temporary file
 *   is left behind)
 */
export function runPool(source, { wasmOptions, timeColumn, dir, keys, workers, onWritten }) {
  const shared = source.bytes ? toShared(source.bytes) : null;
  const queue = [...keys];
  const n = Math.max(1, Math.min(workers, queue.length));
  const pool = [];
  return new Promise((resolve, reject) => {
    let live = n;
    let error = null;
    // On the first error no more keys are handed out, but the configs in
    // flight are finished (or fail cleanly): killing a worker mid-write
    // would leave its temporary file behind.
    const fail = (err) => {
      error ??= err;
    };
    const next = (w) => {
      const key = error ? undefined : queue.shift();
      if (key === undefined) w.postMessage({ stop: true });
      else w.postMessage({ key });
    };
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL("./pool-worker.js", import.meta.url), {
        workerData: { path: source.path ?? null, shared, wasmOptions, timeColumn: timeColumn ?? null, dir },
      });
      pool.push(w);
      w.on("message", (m) => {
        if (m.error) fail(Object.assign(new Error(m.error.message), m.error));
        else if (m.key) onWritten(m.key, m.path, m.bytes);
        next(w);
      });
      w.on("error", fail);
      w.on("exit", (code) => {
        if (code !== 0) fail(new Error(`a labeling worker exited with code ${code}`));
        if (--live > 0) return;
        if (error) reject(error);
        else resolve();
      });
    }
  });
}

function toShared(bytes) {
  const sab = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(sab).set(bytes);
  return sab;
}
