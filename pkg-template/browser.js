// Browser entry of fxlabel. The wasm module is fetched next to this file
// (bundlers resolve `new URL(..., import.meta.url)` as an asset). Files go
// to folder `options.dir` (default "labels") of the best store the browser
// offers (browser-store.js: OPFS, else IndexedDB, else memory); any object
// with the store interface of host.js plugs in as `options.store`. To keep
// the page responsive, label in a worker instead: createLabelWorker()
// (browser-client.js) runs this same host in worker.js.
import init, * as wasm from "./fxlabel.js";
import { createHost, memoryStore } from "./host.js";
import { browserStorage, browserStore, storeOf } from "./browser-store.js";
import { idbStore } from "./idb-store.js";
import { opfsStore } from "./opfs-store.js";
import { runWebPool } from "./web-pool.js";

/** Resolves once the wasm module is ready; the raw classes need it. */
export const ready = init({ module_or_path: new URL("./fxlabel_bg.wasm", import.meta.url) });

let storageKind = null;
const storageReady = browserStorage().then((s) => ((storageKind = s.kind), s));
// `workers` > 1 shares the rows among that many Web Workers (web-pool.js)
// for a File/Blob, bytes or text input and an OPFS or IndexedDB folder.
const host = createHost(wasm, (opts) => storeOf(storageKind, opts.dir ?? "labels"), { runPool: runWebPool });

/** See index.d.ts. Waits for the wasm module and the store detection itself. */
export async function labelCandles(candles, options) {
  await Promise.all([ready, storageReady]);
  return host.labelCandles(candles, options);
}

/** A label file's bytes (Parquet or Arrow IPC) as an apache-arrow Table. */
export async function tableFromLabelFile(bytes) {
  await ready;
  return host.tableFromLabelFile(bytes);
}

export { memoryStore, opfsStore, idbStore, browserStorage, browserStore, storeOf };
export { createLabelWorker } from "./browser-client.js";
export { CandleInput, Labeler, footerSize, readMetadata, toIpcStream, parseKey, version, lastPanic } from "./fxlabel.js";
