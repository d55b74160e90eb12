// Browser worker pool: the rows of one run shared out to Web Workers
// (web-pool-worker.js, each with its own wasm instance), joined by
// pool-core.js exactly as in Node. Used by the host in worker.js and
// browser.js when `workers` > 1, the output is Parquet and the input spans
// two row groups or more; the input crosses as the File/Blob itself (each
// worker reads it by row group with Blob.slice) or as bytes.
import { runShards } from "./pool-core.js";

// A Web Worker dressed as a Node worker for pool-core.js.
function spawnWeb(init) {
  // Written out as `new Worker(new URL(...))` so that bundlers find the
  // worker and bundle it with its imports.
  const w = new Worker(new URL("./web-pool-worker.js", import.meta.url), { type: "module" });
  const handlers = { message: [], error: [], exit: [] };
  const emit = (ev, v) => handlers[ev].forEach((f) => f(v));
  let exited = false;
  const exit = (code) => {
    if (exited) return;
    exited = true;
    w.terminate();
    emit("exit", code);
  };
  w.onmessage = ({ data }) => {
    if (data?.exited) return exit(0);
    emit("message", data);
  };
  w.onerror = (e) => {
    e.preventDefault?.();
    emit("error", new Error(`a labeling worker failed: ${e.message ?? e}`));
    exit(1);
  };
  w.postMessage({ init });
  return {
    postMessage: (m) => {
      if (!exited) w.postMessage(m);
    },
    on: (ev, f) => handlers[ev].push(f),
  };
}

/**
 * runPool for the browser host: by rows only (files are written in parts);
 * an input of one row group goes to one worker whole.
 */
export function runWebPool(source, o) {
  const shards = o.shards ?? [[0, o.rows]];
  const input = source.blob ? { blob: source.blob } : { bytes: source.bytes };
  return runShards((shard) => spawnWeb({ input, wasmOptions: o.wasmOptions, shard }), { ...o, shards });
}
runWebPool.partsOnly = true;
