// Node worker pool: the configs of one run shared out to worker_threads,
// each with its own wasm instance.
//
// wasm threads are not available on stable Rust, so wasm memories cannot be
// shared. Two ways to share the work:
//
// - by rows (`shards`, Parquet output, inputs of two row groups or more):
//   worker k keeps only the candles of its rows (plus the longest window
//   after them) and writes its part of *every* config's file, row group by
//   row group; this thread joins the parts in row order into the temporary
//   file, closes it with the footer made by the planning labeler, and
//   renames it. Memory: one copy of the candles and tables in all, split
//   between the workers; the shared work is split too.
// - by configs (Arrow output, or a single row group): each worker holds
//   the whole input and writes whole files, taking keys from one queue.
//
// The input crosses once, as a file path each worker reads (Parquet by row
// group, CSV streamed), or as bytes in one SharedArrayBuffer. The run's
// lock, resume plan and stale-file cleanup stay with the main thread, and
// files keep their temporary name until complete.
import { Worker } from "node:worker_threads";
import { runShards } from "./pool-core.js";
import { errorFromData } from "./errors.js";

/**
 * Labels `keys` into `dir` with `workers` threads.
 * @param {{path?: string, bytes?: Uint8Array}} source the input, re-readable
 * @param {object} o {wasmOptions, folder (the store's, for the run protocol), dir, keys, workers, onWritten(key, path, bytes),
 *   shards?: [start, end][] (row ranges, one worker each), save?(key, pieces) -> {path, bytes}
 *   (writes an async piece source to the store), footer?(key, parts) -> Uint8Array,
 *   shouldStop?() -> boolean (checked before each config is handed out)}
 * @returns {Promise<{cancelled: boolean}>} resolves when every key is written (or the run
 *   was stopped between configs); rejects with the first error once the configs in flight
 *   are done (no temporary file is left behind)
 */
export function runPool(source, o) {
  if (!o.shards) return runConfigs(source, o);
  const shared = source.bytes ? toShared(source.bytes) : null;
  return runShards((shard) => spawn(source, shared, o, { shard }), o);
}

function spawn(source, shared, o, extra) {
  return new Worker(new URL("./pool-worker.js", import.meta.url), {
    workerData: { path: source.path ?? null, shared, wasmOptions: o.wasmOptions, folder: o.folder, dir: o.dir, ...extra },
  });
}

function runConfigs(source, { wasmOptions, folder, dir, keys, workers, onWritten, shouldStop }) {
  const shared = source.bytes ? toShared(source.bytes) : null;
  const queue = [...keys];
  const n = Math.max(1, Math.min(workers, queue.length));
  return new Promise((resolve, reject) => {
    let live = n;
    let error = null;
    let cancelled = false;
    // On the first error no more keys are handed out, but the configs in
    // flight are finished (or fail cleanly): killing a worker mid-write
    // would leave its temporary file behind.
    const fail = (err) => {
      error ??= err;
    };
    const next = (w) => {
      if (!error && queue.length > 0 && shouldStop?.()) cancelled = true;
      const key = error || cancelled ? undefined : queue.shift();
      if (key === undefined) w.postMessage({ stop: true });
      else w.postMessage({ key });
    };
    for (let i = 0; i < n; i++) {
      const w = spawn(source, shared, { wasmOptions, folder, dir }, { shard: null });
      w.on("message", (m) => {
        if (m.error) fail(errorFromData(m.error));
        else if (m.key) onWritten(m.key, m.path, m.bytes);
        next(w);
      });
      w.on("error", fail);
      w.on("exit", (code) => {
        if (code !== 0) fail(new Error(`a labeling worker exited with code ${code}`));
        if (--live > 0) return;
        if (error) reject(error);
        else resolve({ cancelled });
      });
    }
  });
}

function toShared(bytes) {
  const sab = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(sab).set(bytes);
  return sab;
}
