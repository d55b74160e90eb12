// Browser entry of fxlabel. The wasm module is fetched next to this file
// (bundlers resolve `new URL(..., import.meta.url)` as an asset). Until the
// OPFS store lands, files go to an in-memory store unless `options.store`
// is given; any object with the store interface of host.js plugs in.
import init, * as wasm from "./fxlabel.js";
import { createHost, isTempName, memoryStore } from "./host.js";

/** Resolves once the wasm module is ready; the raw classes need it. */
export const ready = init({ module_or_path: new URL("./fxlabel_bg.wasm", import.meta.url) });

const host = createHost(wasm, () => memoryStore());

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

export { memoryStore, isTempName };
export { CandleInput, Labeler, footerSize, readMetadata, toIpcStream, parseKey, version, lastPanic } from "./fxlabel.js";
