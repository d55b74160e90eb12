// One worker of the Node pool (pool.js). With a `shard` [start, end), it
// keeps only the candles of those rows (and the longest window after them)
// and sends its part of each config's file to the main thread, piece by
// piece (transferred, not copied), then what the part holds for the
// footer. Without, it holds the whole input and writes whole files itself,
// streaming each to disk under a temporary name.
import { parentPort, workerData } from "node:worker_threads";
import { openLabeler, openPath, fsStore } from "./node.js";
import { sendPart } from "./pool-core.js";

const { path, shared, wasmOptions, dir, shard } = workerData;
const store = fsStore(dir);
let labeler;
try {
  const candles = shared ? new Uint8Array(shared) : openPath(path);
  labeler = await openLabeler(candles, wasmOptions, shard ?? undefined);
  parentPort.postMessage({ ready: true });
} catch (err) {
  parentPort.postMessage({ error: { message: err.message, kind: err.kind ?? "io" } });
}

// Configs are handled one at a time, in the order they arrive.
const queue = [];
let busy = false;

async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const { key, stop } = queue.shift();
    if (stop) {
      labeler?.free();
      parentPort.close();
      return;
    }
    try {
      if (shard) sendPart(labeler, key, (m, t) => parentPort.postMessage(m, t));
      else {
        const name = labeler.fileName(key);
        // Freed at once: the stream holds a row group's buffers in wasm
        // memory, which would otherwise wait for the garbage collector.
        const stream = labeler.stream(key);
        try {
          const { path: where, bytes } = await store.writeStream(name, stream);
          parentPort.postMessage({ key, path: where, bytes });
        } finally {
          stream.free();
        }
      }
    } catch (err) {
      parentPort.postMessage({ key, error: { message: `${key}: ${err.message}`, kind: err.kind ?? "io" } });
    }
  }
  busy = false;
}

parentPort.on("message", (m) => {
  queue.push(m);
  pump();
});
