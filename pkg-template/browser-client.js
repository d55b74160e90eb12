// Page side of the labeling worker (worker.js): starts it, turns its
// messages into a promise per run and callbacks, and cancels. Loads no
// wasm itself, so the page stays light and responsive.
//
//   import { createLabelWorker } from "fxlabel/client";
//   const fx = createLabelWorker();
//   const summary = await fx.run(file, { targetPips: [10, 20], stopPips: [10] }, {
//     onProgress: (p) => bar.value = p.done / p.total,
//     onLog: (m) => console.log(m),          // "found 4/6 already saved, resuming"
//   });
//   fx.cancel();                             // stops after the config in flight
import { errorFromData } from "./errors.js";
import { browserStorage, browserStore, storeOf } from "./browser-store.js";
import { idbStore } from "./idb-store.js";
import { opfsStore } from "./opfs-store.js";

export { opfsStore, idbStore, browserStorage, browserStore, storeOf };

/**
 * @param {object} [opts]
 * @param {string|URL} [opts.url] the worker script (default: worker.js next to this file)
 */
export function createLabelWorker({ url = null } = {}) {
  // Written out as `new Worker(new URL(...))` so that bundlers (Vite,
  // webpack 5, Parcel) find the worker and bundle it with its imports.
  const worker = url ? new Worker(url, { type: "module" }) : new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  let job = null; // {resolve, reject, callbacks} of the run in flight
  const waiters = new Map();
  let nextId = 1;
  let readyResolve, readyReject;
  const ready = new Promise((ok, fail) => ((readyResolve = ok), (readyReject = fail)));

  const toError = ({ type, ...data }) => errorFromData(data);

  worker.onmessage = ({ data: m }) => {
    switch (m.type) {
      case "ready":
        return readyResolve({ version: m.version, memoryBytes: m.memoryBytes, storage: m.storage });
      case "reading":
        return job?.callbacks.onReading?.(m);
      case "log":
        return job?.callbacks.onLog?.(m.message);
      case "progress":
        return job?.callbacks.onProgress?.(m);
      case "done": {
        const j = job;
        job = null;
        return j?.resolve({ ...m.summary, memoryBytes: m.memoryBytes });
      }
      case "error": {
        const err = toError(m);
        if (!job) return readyReject(err); // e.g. the wasm module failed to load
        const j = job;
        job = null;
        return j.reject(err);
      }
      case "ipc": {
        const w = waiters.get(m.id);
        waiters.delete(m.id);
        return m.error ? w?.reject(new Error(m.error)) : w?.resolve(m.bytes);
      }
      case "answer": {
        const w = waiters.get(m.id);
        waiters.delete(m.id);
        return m.error ? w?.reject(errorFromData(m.error)) : w?.resolve(m.value);
      }
    }
  };
  // A worker that cannot even load (missing file, syntax error).
  worker.onerror = (ev) => {
    const err = new Error(`fxlabel worker failed: ${ev.message || "could not load worker.js"}`);
    readyReject(err);
    job?.reject(err);
    job = null;
  };
  ready.catch(() => {}); // reported through run() as well

  // A question to the core in the worker, answered by message.
  function ask(question, arg) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiters.set(id, { resolve, reject });
      worker.postMessage({ type: "ask", id, question, arg });
    });
  }

  return {
    worker,
    /**
     * Resolves with {version, memoryBytes, storage} once the wasm module is
     * loaded; storage (browserStorage() in the worker) says where files go:
     * read them on the page with storeOf(storage.kind, dir).
     */
    ready,
    /** True while a run is in flight. */
    get busy() {
      return job !== null;
    },
    /**
     * Labels `input` into folder `dir` (default "labels") of the worker's store.
     * Resolves with the summary ({written, skipped, bytes, rows, elapsedMs,
     * memoryBytes, cancelled?}); rejects with an Error carrying kind, row,
     * column, param or key as labelCandles does.
     */
    run(input, options = {}, { dir = "labels", pauseMs = 0, onProgress, onLog, onReading } = {}) {
      if (job) return Promise.reject(new Error("a run is already in progress"));
      return new Promise((resolve, reject) => {
        job = { resolve, reject, callbacks: { onProgress, onLog, onReading } };
        worker.postMessage({ type: "start", input, options, dir, pauseMs });
      });
    },
    /** Stops the run after the config in flight; its promise resolves with `cancelled: true`. */
    cancel() {
      worker.postMessage({ type: "cancel" });
    },
    /** A label file of the worker's store as Arrow IPC stream bytes (for apache-arrow's tableFromIPC). */
    ipcBytes(name, { dir = "labels" } = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiters.set(id, { resolve, reject });
        worker.postMessage({ type: "ipc", id, name, dir });
      });
    },
    /** The config keys of the grid `options` give, in grid order, as the core makes them. */
    keys: (options) => ask("keys", options),
    /** The label files among `names`, in grid order: `{name, key, config}` each. */
    labelFiles: (names) => ask("files", names),
    /** Stops the worker at once (a run in flight leaves at most a temporary file). */
    terminate() {
      worker.terminate();
      job?.reject(Object.assign(new Error("worker terminated"), { kind: "cancelled" }));
      job = null;
    },
  };
}
