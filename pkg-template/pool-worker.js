// One worker of the Node pool (pool.js): builds its own labeler over the
// run's input, then writes the configs the main thread hands it, one at a
// time, streaming each file to disk under a temporary name.
import { parentPort, workerData } from "node:worker_threads";
import { openLabeler, openPath, fsStore } from "./node.js";

const { path, shared, wasmOptions, timeColumn, dir } = workerData;
const store = fsStore(dir);
let labeler;
try {
  const candles = shared ? new Uint8Array(shared) : openPath(path);
  labeler = await openLabeler(candles, wasmOptions, timeColumn ?? undefined);
  parentPort.postMessage({ ready: true });
} catch (err) {
  parentPort.postMessage({ error: { message: err.message, kind: err.kind ?? "io" } });
}

parentPort.on("message", async ({ key, stop }) => {
  if (stop) {
    labeler?.free();
    parentPort.close();
    return;
  }
  try {
    const name = labeler.fileName(key);
    const { path: where, bytes } = await store.writeStream(name, labeler.stream(key));
    parentPort.postMessage({ key, path: where, bytes });
  } catch (err) {
    parentPort.postMessage({ key, error: { message: `${key}: ${err.message}`, kind: err.kind ?? "io" } });
  }
});
