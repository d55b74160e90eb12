// A dedicated Web Worker that owns one fxlabel wasm instance and labels
// into the browser's store (OPFS, else IndexedDB, else memory: see
// browser-store.js), so the page never freezes while a config is encoded.
// Start it as a module worker (browser-client.js does):
//   new Worker(new URL("fxlabel/worker.js", import.meta.url), { type: "module" })
//
// Messages from the page:
//   {type: "start", input, options, dir?, pauseMs?}
//       input: a File/Blob (CSV or Parquet), CSV text, Parquet bytes
//       (ArrayBuffer/Uint8Array) or {url} to fetch; options: labelCandles
//       options (grid, pipValue, sides, tie, overwrite, timeColumn, ...).
//   {type: "cancel"}   stop after the config in flight; finished files stay
//   {type: "ipc", id, name, dir?}   a label file of the store as Arrow IPC stream bytes
//   {type: "ask", id, question, arg} the core's answer: question "keys" (arg:
//                                   options) or "files" (arg: names in a folder)
// Messages to the page:
//   {type: "ready", version, memoryBytes, storage}  storage: browserStorage()
//   {type: "reading", loaded, size}        input bytes read so far
//   {type: "log", message}                 e.g. "found 4/6 already saved, resuming"
//   {type: "progress", done, total, key, skipped, elapsedMs, bytes, memoryBytes}
//   {type: "done", summary, memoryBytes}   summary.cancelled is true after a cancel
//   {type: "error", message, kind, row, column, param, key, quota, inputFormat}
//   {type: "ipc", id, bytes} / {type: "ipc", id, error}
//   {type: "answer", id, value} / {type: "answer", id, error}
import init, * as wasm from "./fxlabel.js";
import { createHost } from "./host.js";
import { browserStorage, storeOf } from "./browser-store.js";
import { runWebPool } from "./web-pool.js";
import { errorToData } from "./errors.js";

const exportsReady = init({ module_or_path: new URL("./fxlabel_bg.wasm", import.meta.url) });
// Linear memory only grows, so its size after a run is the run's peak.
let memory = null;
const memoryBytes = () => memory?.buffer.byteLength ?? 0;

// Where files go, found once; one store per folder (a memory store keeps
// its files for the worker's life).
let storageKind = null;
const storageReady = browserStorage().then((s) => ((storageKind = s.kind), s));
const stores = new Map();
const storeFor = (dir) => stores.get(dir) ?? stores.set(dir, storeOf(storageKind, dir)).get(dir);

// options.workers > 1: Parquet output over two row groups or more is
// shared by rows among that many Web Workers (web-pool.js).
const host = createHost(wasm, (opts) => storeFor(opts.dir ?? "labels"), { runPool: runWebPool });
let running = null; // the AbortController of the run in flight

const post = (msg, transfer) => self.postMessage(msg, transfer ?? []);
// `inputFormat` ("csv" or "parquet", when known) lets a page turn an input
// error's row into a line of the file.
const errorMessage = (err, inputFormat) => ({ type: "error", ...errorToData(err, undefined), inputFormat });
let inputFormat; // of the run in flight

const READ_REPORT_BYTES = 8 << 20; // a "reading" message every 8 MiB

// The input as labelCandles takes it. A CSV Blob is streamed (its chunks
// go to wasm one at a time: no second full copy, progress reported); a
// Parquet Blob goes as it is: the host reads it by row group (footer
// first) through Blob.slice, and pool workers can read it too.
async function inputOf(input, signal) {
  if (input && typeof input === "object" && typeof input.url === "string") {
    const res = await fetch(input.url, { signal });
    if (!res.ok) throw new Error(`cannot fetch ${input.url}: HTTP ${res.status}`);
    input = await res.blob();
  }
  // Parquet or CSV, as the core tells from the name and first bytes.
  const bytes =
    input instanceof Blob ? new Uint8Array(await input.slice(0, 4).arrayBuffer())
    : ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, Math.min(4, input.byteLength))
    : input instanceof ArrayBuffer ? new Uint8Array(input, 0, Math.min(4, input.byteLength))
    : null; // text: CSV
  inputFormat = bytes && host.call(() => wasm.isParquet(bytes, input.name)) ? "parquet" : "csv";
  if (!(input instanceof Blob) || inputFormat === "parquet") return input;
  return (async function* () {
    const reader = input.stream().getReader();
    let loaded = 0;
    let reported = 0;
    try {
      for (;;) {
        // Reading a large CSV takes a while: honour a cancel here too (the
        // host then frees the partial input; nothing has been written).
        if (signal.aborted) throw Object.assign(new Error("cancelled while reading the input; nothing was written"), { name: "AbortError", kind: "cancelled" });
        const { done, value } = await reader.read();
        if (done) break;
        loaded += value.length;
        if (loaded - reported >= READ_REPORT_BYTES) {
          reported = loaded;
          post({ type: "reading", loaded, size: input.size });
        }
        yield value;
      }
      post({ type: "reading", loaded, size: input.size });
    } finally {
      reader.releaseLock();
    }
  })();
}

async function run({ input, options = {}, dir = "labels", pauseMs = 0 }) {
  const ctl = new AbortController();
  running = ctl;
  try {
    const base = storeFor(dir);
    // pauseMs slows a run down after each written file, so that a demo or
    // a test can interrupt it at a known point; 0 in normal use.
    const pausing = async (from, to) => {
      await base.rename(from, to); // a file is complete
      await new Promise((ok) => setTimeout(ok, pauseMs));
    };
    const store = pauseMs > 0 ? { ...base, rename: pausing } : base;
    // The store's lock() (a Web Lock, taken by the host) keeps a second tab
    // out of the same folder.
    const summary = await host.labelCandles(await inputOf(input, ctl.signal), {
      ...options,
      store,
      signal: ctl.signal,
      onLog: (message) => post({ type: "log", message }),
      onProgress: (p) => post({ type: "progress", ...p, memoryBytes: memoryBytes() }),
    });
    post({ type: "done", summary, memoryBytes: memoryBytes() });
  } catch (err) {
    post(errorMessage(err, inputFormat));
  } finally {
    running = null;
    inputFormat = undefined;
  }
}

// What the page asks of the core (it loads no wasm itself).
const QUESTIONS = {
  // The config keys of a grid, in grid order.
  keys: (options) => host.configKeys(options),
  // The label files among names, in grid order, with their configs.
  files: (names) => host.call(() => wasm.labelFiles(names).map(([name, key]) => ({ name, key, config: wasm.parseKey(key) }))),
};

function answer({ id, question, arg }) {
  try {
    if (!Object.hasOwn(QUESTIONS, question)) throw Object.assign(new Error(`unknown question '${question}'`), { kind: "param" });
    post({ type: "answer", id, value: QUESTIONS[question](arg) });
  } catch (err) {
    post({ type: "answer", id, error: errorToData(err) });
  }
}

async function toIpc({ id, name, dir = "labels" }) {
  try {
    const file = new Uint8Array(await (await storeFor(dir).file(name)).arrayBuffer());
    const bytes = host.call(() => wasm.toIpcStream(file));
    post({ type: "ipc", id, bytes }, [bytes.buffer]);
  } catch (err) {
    post({ type: "ipc", id, error: err?.message ?? String(err) });
  }
}

self.onmessage = async ({ data }) => {
  try {
    await exportsReady;
    await storageReady;
  } catch (err) {
    return post({ type: "error", message: `cannot load fxlabel's wasm module: ${err?.message ?? err}`, kind: "format" });
  }
  if (data?.type === "start") {
    if (running) return post({ type: "error", message: "a run is already in progress in this worker", kind: "busy" });
    return run(data);
  }
  if (data?.type === "cancel") return running?.abort();
  if (data?.type === "ipc") return toIpc(data);
  if (data?.type === "ask") return answer(data);
  post({ type: "error", message: `unknown message type '${data?.type}'`, kind: "param" });
};

Promise.all([exportsReady, storageReady]).then(
  ([exports, storage]) => {
    memory = exports.memory;
    post({ type: "ready", version: wasm.version(), memoryBytes: memoryBytes(), storage });
  },
  (err) => post({ type: "error", message: `cannot load fxlabel's wasm module: ${err?.message ?? err}`, kind: "format" }),
);
