// One worker of the Node pool (pool.js). With a `shard` [start, end), it
// keeps only the candles of those rows (and the longest window after them)
// and sends its part of each config's file to the main thread, piece by
// piece (transferred, not copied), then what the part holds for the
// footer. Without, it holds the whole input and writes whole files itself
// through the core's run protocol (temporary name, flush, lock check,
// rename), as the main thread would.
import { parentPort, workerData } from "node:worker_threads";
import { commit, openLabeler, openPath, fsStore } from "./node.js";
import { sendPart, workerLoop } from "./pool-core.js";
import { errorToData } from "./errors.js";

const { path, shared, wasmOptions, folder, dir, shard } = workerData;
const store = fsStore(dir);
const post = (m, t) => parentPort.postMessage(m, t);
let labeler;
let run;
try {
  const candles = shared ? new Uint8Array(shared) : openPath(path);
  labeler = await openLabeler(candles, wasmOptions, shard ?? undefined);
  // The main thread planned the run and holds the folder; this worker
  // only commits the configs it is given.
  if (!shard) run = labeler.run(folder, false);
  post({ ready: true });
} catch (err) {
  post({ error: errorToData(err) });
}

parentPort.on(
  "message",
  workerLoop(
    async ({ key }) => {
      if (shard) return sendPart(labeler, key, post);
      const bytes = await commit(run, store, labeler, key);
      post({ key, path: store.location(labeler.fileName(key)), bytes });
    },
    post,
    () => {
      run?.free();
      labeler?.free();
      parentPort.close();
    },
  ),
);
