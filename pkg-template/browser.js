// Browser entry of fxlabel. The wasm module is fetched next to this file
// (bundlers resolve `new URL(..., import.meta.url)` as an asset). Files go
// to OPFS (folder `options.dir`, default "labels") when the browser has it,
// else to memory; any object with the store interface of host.js plugs in
// as `options.store`. To keep the page responsive, label in a worker
// instead: createLabelWorker() (browser-client.js) runs this same host in
// worker.js.
import init, * as wasm from "./fxlabel.js";
import { createHost, memoryStore } from "./host.js";
import { opfsStore } from "./opfs-store.js";
import { runWebPool } from "./web-pool.js";

/** Resolves once the wasm module is ready; the raw classes need it. */
export const ready = init({ module_or_path: new URL("./fxlabel_bg.wasm", import.meta.url) });

const hasOpfs = () => typeof navigator !== "undefined" && typeof navigator.storage?.getDirectory === "function";
// `workers` > 1 shares the rows among that many Web Workers (web-pool.js)
// for a File/Blob, bytes or text input and an OPFS folder.
const host = createHost(wasm, (opts) => (hasOpfs() ? opfsStore(opts.dir ?? "labels") : memoryStore()), { runPool: runWebPool });

/** See index.d.ts. Waits for the wasm module itself. */
export async function labelCandles(candles, options) {
  await ready;
  return host.labelCandles(candles, options);
}

/** A label file's bytes (Parquet or Arrow IPC) as an apache-arrow Table. */
export async function tableFromLabelFile(bytes) {
  await ready;
  return host.tableFromLabelFile(bytes);
}

export { memoryStore, opfsStore };
export { createLabelWorker } from "./browser-client.js";
export { CandleInput, Labeler, footerSize, readMetadata, toIpcStream, parseKey, version, lastPanic } from "./fxlabel.js";
