// The platform-independent run loop of fxlabel: feed candles to the wasm
// module in chunks, decide what to resume from the store, label each
// missing config and hand its bytes to the store the moment it is ready.
//
// The store is the only platform part (a folder on disk in Node, memory or
// OPFS in the browser). Its interface, all methods async:
//   list()                  -> names in the folder ([] when it does not exist)
//   readTail(name, n)       -> the last min(n, size) bytes of a file
//   writeAtomic(name, bytes)-> writes under a temporary name, then renames;
//                              returns where the file now is (path or name)
//   remove(name)            -> deletes a file (no error when already gone)
// and optionally (the Node folder store has them):
//   lock()                  -> takes the folder for this run (throws a
//                              `kind: "busy"` error when another run has it);
//                              returns the function that releases it
//   isStale(tempName)       -> false for another live run's temporary file

// apache-arrow is loaded only when tables are asked for: labeling needs
// none of it, and a browser worker (which has no import maps) can then run
// this file without resolving the bare "apache-arrow" specifier.
let arrowModule = null;
const arrow = () => (arrowModule ??= import("apache-arrow"));

// Options of the host; every other option goes to the core (the wasm
// CandleInput), which knows their names and refuses unknown ones.
const HOST_OPTIONS = new Set(["store", "dir", "overwrite", "returnTables", "onProgress", "onLog", "signal", "workers"]);

// Rows per appendColumns call and bytes per appendCsv call: large enough
// that call overhead is nil, small enough that no giant copy is made.
const COLUMN_CHUNK_ROWS = 1 << 16;
const CSV_CHUNK_BYTES = 1 << 20;
// First read of an existing file's tail: covers every label file's footer
// in one read; a larger footer is read again at its exact size.
const TAIL_GUESS_BYTES = 64 * 1024;

// Same rule as the native CLI (src/store.rs): `.T10_S5_H30.parquet.tmp-<pid>`.
export function isTempName(name) {
  return name.startsWith(".") && name.includes(".tmp-");
}

// Error with the fields the CLI uses to pick an exit code.
function hostError(message, kind, extra = {}) {
  return Object.assign(new Error(message), { kind }, extra);
}

const PARQUET_MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"
function isParquet(bytes) {
  return bytes.length >= 4 && PARQUET_MAGIC.every((b, i) => bytes[i] === b);
}

function toBytes(chunk) {
  if (typeof chunk === "string") return new TextEncoder().encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw hostError(`candle chunks must be strings or bytes, got ${typeof chunk}`, "param", { param: "candles" });
}

/** The chunks of `parts` (Uint8Arrays) as one Uint8Array. */
function concatBytes(parts) {
  const all = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of parts) {
    all.set(b, off);
    off += b.length;
  }
  return all;
}

/**
 * Builds the host around an initialised wasm module.
 * @param {object} wasm the wasm-bindgen exports (CandleInput, footerSize, ...)
 * @param {() => object} defaultStore makes the store used when options give none
 */
export function createHost(wasm, defaultStore, platform = {}) {
  // Platform extras (Node): openPath(path) -> candles for `{path}` input,
  // and runPool(source, options) to share configs out to worker threads.
  const { openPath, runPool } = platform;
  // A trap leaves the wasm instance in an unknown state: report the panic
  // message (the trap itself only says "unreachable") and refuse later calls.
  let poisoned = null;
  function call(fn) {
    if (poisoned) throw new Error(`fxlabel's wasm instance failed earlier and cannot be used again (restart the process): ${poisoned}`);
    try {
      return fn();
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) {
        poisoned = wasm.lastPanic() ?? err.message;
        throw new Error(poisoned, { cause: err });
      }
      throw err;
    }
  }

  // `spreadColumn`: the name of the column holding each bar's spread.
  function appendColumns(input, c, spreadColumn) {
    const ts = c.timestamps ?? c.timestamp;
    const cols = { timestamps: ts, open: c.open, high: c.high, low: c.low, close: c.close };
    if (spreadColumn != null) cols[spreadColumn] = c[spreadColumn];
    for (const [name, col] of Object.entries(cols)) {
      if (col == null || typeof col.length !== "number") {
        throw hostError(`invalid input, column '${name === "timestamps" ? "timestamp" : name}': missing (expected an array or typed array)`, "input", { row: null, column: name === "timestamps" ? "timestamp" : name });
      }
      if (col.length !== ts.length) {
        throw hostError(`invalid input, column '${name}': ${col.length} values, but timestamps has ${ts.length}`, "input", { row: Math.min(col.length, ts.length), column: name });
      }
    }
    // Typed arrays are sliced without copying; plain arrays are converted
    // one chunk at a time.
    const f64 = (a, i, j) => (a instanceof Float64Array ? a.subarray(i, j) : Float64Array.from(a.slice(i, j)));
    const time = (i, j) => {
      if (ts instanceof BigInt64Array || ts instanceof Float64Array) return ts.subarray(i, j);
      const part = ts.slice(i, j);
      if (typeof part[0] === "bigint") return BigInt64Array.from(part);
      return Float64Array.from(part, (t) => (t instanceof Date ? t.getTime() : t));
    };
    // A missing spread value (null, undefined) becomes NaN, which the core
    // rejects naming its row.
    const spread = (i, j) => (spreadColumn == null ? undefined : cols[spreadColumn] instanceof Float64Array ? cols[spreadColumn].subarray(i, j) : Float64Array.from(cols[spreadColumn].slice(i, j), (x) => x ?? NaN));
    for (let i = 0; i < ts.length; i += COLUMN_CHUNK_ROWS) {
      const j = Math.min(i + COLUMN_CHUNK_ROWS, ts.length);
      call(() => input.appendColumns(time(i, j), f64(c.open, i, j), f64(c.high, i, j), f64(c.low, i, j), f64(c.close, i, j), spread(i, j)));
    }
  }

  function appendCsvString(input, text) {
    const enc = new TextEncoder();
    for (let i = 0; i < text.length; ) {
      let j = Math.min(i + CSV_CHUNK_BYTES, text.length);
      // Never split a surrogate pair between two chunks.
      if (j < text.length && /[\uD800-\uDBFF]/.test(text[j - 1])) j -= 1;
      const bytes = enc.encode(text.slice(i, j));
      call(() => input.appendCsv(bytes));
      i = j;
    }
  }

  function appendCsvBytes(input, bytes) {
    for (let i = 0; i < bytes.length; i += CSV_CHUNK_BYTES) {
      call(() => input.appendCsv(bytes.subarray(i, i + CSV_CHUNK_BYTES)));
    }
  }

  // A Parquet file read by row group: its last 8 bytes, then its footer,
  // then each row group's byte range, in order; neither JS nor wasm memory
  // holds the whole file. `file` is {size, read(offset, length) ->
  // Uint8Array or a promise of one (used before the next read: it may be
  // reused), close?()} (Node's openPath, or bytes already in memory); it
  // is closed when done, also on error.
  async function appendParquetFile(input, file) {
    try {
      const size = file.size;
      let tail = await file.read(Math.max(0, size - 8), Math.min(size, 8));
      if (size >= 8 && PARQUET_MAGIC.every((b, i) => tail[4 + i] === b)) {
        // The footer length; a bad one is refused by wasm from these 8 bytes.
        const len = (tail[0] | (tail[1] << 8) | (tail[2] << 16) | (tail[3] << 24)) >>> 0;
        if (len + 8 <= size) tail = await file.read(size - len - 8, len + 8);
      }
      const groups = call(() => input.parquetRowGroups(tail, size));
      tail = null;
      for (let i = 0; i < groups.length; i++) {
        const [offset, length] = groups[i];
        const bytes = await file.read(offset, length);
        call(() => input.appendParquetRowGroup(i, bytes));
      }
    } finally {
      file.close?.();
    }
  }

  // Parquet bytes already in memory, through the same row-group path: wasm
  // memory holds one row group's copy at a time, not the whole file.
  function appendParquetBytes(input, bytes) {
    return appendParquetFile(input, { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) });
  }

  async function feed(input, candles, spreadColumn) {
    if (candles == null) throw hostError("no candles given", "param", { param: "candles" });
    if (typeof candles === "string") return appendCsvString(input, candles);
    if (candles instanceof Uint8Array || candles instanceof ArrayBuffer) {
      const bytes = toBytes(candles);
      return isParquet(bytes) ? appendParquetBytes(input, bytes) : appendCsvBytes(input, bytes);
    }
    // A Parquet file on disk (Node's openPath): read by row group.
    if (typeof candles === "object" && candles.parquetFile && typeof candles.parquetFile.read === "function") {
      return appendParquetFile(input, candles.parquetFile);
    }
    if (typeof Blob !== "undefined" && candles instanceof Blob) {
      // A File/Blob (browser): Parquet by row group through Blob.slice,
      // CSV streamed.
      const head = new Uint8Array(await candles.slice(0, 4).arrayBuffer());
      if (isParquet(head)) {
        return appendParquetFile(input, {
          size: candles.size,
          read: async (offset, length) => new Uint8Array(await candles.slice(offset, offset + length).arrayBuffer()),
          close() {},
        });
      }
      const reader = candles.stream().getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          appendCsvBytes(input, value);
        }
      } finally {
        reader.releaseLock();
      }
    }
    if (typeof candles[Symbol.asyncIterator] === "function" || (typeof candles[Symbol.iterator] === "function" && !ArrayBuffer.isView(candles))) {
      // A stream of chunks: CSV goes straight through; Parquet needs the
      // whole file (its footer is at the end), so its chunks are joined.
      let parquet = null;
      let first = true;
      for await (const chunk of candles) {
        const bytes = toBytes(chunk);
        if (first && bytes.length > 0) {
          first = false;
          if (isParquet(bytes)) parquet = [];
        }
        if (parquet) parquet.push(bytes);
        else if (bytes.length > 0) appendCsvBytes(input, bytes);
      }
      if (parquet) await appendParquetBytes(input, concatBytes(parquet));
      return;
    }
    if (typeof candles === "object" && ("close" in candles || "timestamps" in candles || "timestamp" in candles)) {
      return appendColumns(input, candles, spreadColumn);
    }
    throw hostError("candles must be {timestamps, open, high, low, close} arrays, Parquet bytes, CSV text or bytes, or an (async) iterable of CSV/Parquet chunks", "param", { param: "candles" });
  }

  // A store failure (disk full, permission denied, a failed rename, a
  // folder where a file should be) names the config and keeps the cause;
  // `kind: "io"`, so the CLI exits 1. Lock errors pass through as they are.
  function storeError(err, key, name, what) {
    if (err?.kind === "busy") return err;
    return hostError(`cannot ${what} ${key} (${name}): ${err?.message ?? err}`, "io", { key, cause: err, code: err?.code ?? err?.cause?.code });
  }

  async function saveFile(store, key, name, bytes) {
    try {
      return await store.writeAtomic(name, bytes);
    } catch (err) {
      throw storeError(err, key, name, "save");
    }
  }

  // Writes a file given as pieces (`pieces.next()`: a Uint8Array, or a
  // promise of one, then undefined): streamed when the store can, else
  // joined and written whole. Resolves to {path, bytes}.
  async function saveStream(store, key, name, pieces) {
    if (!store.writeStream) {
      const all = [];
      for (let p; (p = await pieces.next()) !== undefined; ) all.push(p);
      const bytes = concatBytes(all);
      return { path: await saveFile(store, key, name, bytes), bytes: bytes.length };
    }
    try {
      return await store.writeStream(name, pieces);
    } catch (err) {
      throw storeError(err, key, name, "save");
    }
  }

  async function readTail(store, key, name, n) {
    try {
      return await store.readTail(name, n);
    } catch (err) {
      throw storeError(err, key, name, "read the existing file of");
    }
  }

  // Reads enough of a file's end for its metadata and checks it against
  // this run; throws a `kind: "mismatch"` error naming the difference.
  async function checkExisting(store, labeler, key, name) {
    let tail = await readTail(store, key, name, TAIL_GUESS_BYTES);
    const incomplete = (why) => hostError(`existing file for ${key} (${name}) is not a complete label file: ${why} (use overwrite to replace it)`, "mismatch", { key });
    let need;
    try {
      need = call(() => wasm.footerSize(tail.subarray(Math.max(0, tail.length - 10))));
    } catch (err) {
      throw incomplete(err.message);
    }
    if (need > tail.length) {
      tail = await readTail(store, key, name, need);
      if (need > tail.length) throw incomplete(`its footer needs ${need} bytes, the file has ${tail.length}`);
    }
    try {
      call(() => labeler.checkFile(key, tail));
    } catch (err) {
      if (err.kind === "mismatch") throw err;
      throw incomplete(err.message); // an unreadable footer: not ours to trust
    }
  }

  /**
   * Labels candles over a grid of configs; see index.d.ts for the options.
   */
  async function labelCandles(candles, options = {}) {
    const t0 = Date.now();
    const wasmOptions = {};
    const host = {};
    for (const [k, v] of Object.entries(options ?? {})) {
      if (v !== undefined) (HOST_OPTIONS.has(k) ? host : wasmOptions)[k] = v;
    }
    for (const cb of ["onProgress", "onLog"]) {
      if (host[cb] != null && typeof host[cb] !== "function") throw hostError(`invalid parameter '${cb}': expected a function`, "param", { param: cb });
    }
    const log = host.onLog ?? (() => {});
    const progress = host.onProgress ?? (() => {});

    // A `{path}` input (Node) is read from disk; it, or bytes, can be
    // read again by pool workers.
    let source = null;
    if (candles && typeof candles.path === "string" && openPath) {
      source = { path: candles.path };
      candles = openPath(candles.path);
    } else if (typeof Blob !== "undefined" && candles instanceof Blob) {
      source = { blob: candles };
    } else if (typeof candles === "string" || candles instanceof Uint8Array) {
      source = { bytes: typeof candles === "string" ? new TextEncoder().encode(candles) : candles };
    }

    // Worker threads (Node, a re-readable input, a folder store): this
    // thread then only plans the run. Its labeler keeps no candles (they
    // are validated and fingerprinted as they pass), so memory holds the
    // workers' copies and nothing more.
    const workers = Math.max(1, Math.floor(host.workers ?? 1));
    const store = host.returnTables ? null : (host.store ?? defaultStore(host));
    // (A pool that only writes files in parts, the browser's, needs
    // Parquet output.)
    const partsOnly = !!runPool?.partsOnly && String(wasmOptions.format ?? "parquet").toLowerCase() !== "parquet";
    const pooled = workers > 1 && !!runPool && !!source && !!store?.dir && !partsOnly;

    // 1. Input and parameters: every error is thrown here, before the
    //    store is looked at.
    const input = call(() => new wasm.CandleInput(wasmOptions));
    try {
      if (pooled) call(() => input.keep(0, 0));
      await feed(input, candles, wasmOptions.spreadColumn);
    } catch (err) {
      if (!poisoned) input.free(); // after a trap the instance is dead anyway
      throw err;
    }
    // finish() consumes the input, whether it succeeds or throws.
    const labeler = call(() => input.finish());
    let release = null; // the store's lock, once taken
    try {
      const keys = call(() => labeler.configs());
      const total = keys.length;
      log(`read ${labeler.rows} candles; shared work for ${total} configs done in ${((Date.now() - t0) / 1000).toFixed(1)}s (${(labeler.sharedBytes / 2 ** 20).toFixed(1)} MiB held)`);

      if (host.returnTables) {
        const { tableFromIPC } = await arrow();
        const tables = new Map();
        keys.forEach((key, i) => {
          const bytes = call(() => labeler.label(key));
          tables.set(key, tableFromIPC(call(() => wasm.toIpcStream(bytes))));
          progress({ done: i + 1, total, key, skipped: false, elapsedMs: Date.now() - t0, bytes: bytes.length });
        });
        return tables;
      }

      // 2. Resume plan, decided before anything is changed: a mismatching
      //    file stops the run here unless overwrite.
      // One run per folder: a second run stops here with a clear message
      // instead of writing the same configs (and removing this run's
      // temporary files as stale).
      release = (await store.lock?.()) ?? null;
      const names = new Set(await store.list());
      const skip = new Set();
      const fileName = (key) => call(() => labeler.fileName(key));
      for (const key of keys) {
        const name = fileName(key);
        if (!names.has(name)) continue;
        try {
          await checkExisting(store, labeler, key, name);
          skip.add(key);
        } catch (err) {
          if (!(err.kind === "mismatch" && host.overwrite)) throw err;
          log(`${name} was made with other settings or data; relabeling it (overwrite)`);
        }
      }
      if (skip.size > 0) log(`found ${skip.size}/${total} already saved, resuming`);

      // 3. Stale temporary files of interrupted runs.
      for (const name of names) if (isTempName(name) && (store.isStale?.(name) ?? true)) await store.remove(name);

      // 4. Label and write each missing config as soon as it is ready.
      const written = [];
      const skipped = [];
      let bytesWritten = 0;
      let cancelled = false;
      const todo = keys.filter((k) => !skip.has(k));
      if (pooled) {
        let done = 0;
        for (const key of keys.filter((k) => skip.has(k))) {
          skipped.push(store.location?.(fileName(key)) ?? fileName(key));
          progress({ done: ++done, total, key, skipped: true, elapsedMs: Date.now() - t0, bytes: 0 });
        }
        const rows = labeler.rows;
        // By rows when the output is Parquet and the input spans two row
        // groups or more: each worker keeps only its rows' candles. Else
        // by configs, each worker with the whole input.
        const groupRows = labeler.rowGroupSize;
        const groups = Math.ceil(rows / groupRows);
        const n = Math.min(workers, groups);
        let shards = null;
        if (labeler.extension === "parquet" && n >= 2) {
          shards = [];
          for (let k = 0; k < n; k++) {
            const a = Math.floor((groups * k) / n) * groupRows;
            const b = k === n - 1 ? rows : Math.floor((groups * (k + 1)) / n) * groupRows;
            shards.push([a, b]);
          }
          log(`${n} workers, ${shards.map(([a, b]) => `rows ${a}-${b - 1}`).join(", ")}`);
        } else {
          log(runPool.partsOnly ? "1 worker (the input is one row group)" : `${Math.min(workers, todo.length)} workers, each with the whole input`);
        }
        if (todo.length > 0) {
          const r = await runPool(source, {
            wasmOptions,
            dir: store.dir,
            keys: todo,
            workers,
            rows,
            shards,
            save: (key, pieces) => saveStream(store, key, fileName(key), pieces),
            footer: (key, parts) => call(() => labeler.footer(key, parts)),
            shouldStop: () => !!host.signal?.aborted,
            onWritten(key, where, bytes) {
              written.push(where);
              bytesWritten += bytes;
              progress({ done: ++done, total, key, skipped: false, elapsedMs: Date.now() - t0, bytes });
            },
          });
          if (r?.cancelled) {
            cancelled = true;
            log(`cancelled after ${done}/${total} configs`);
          }
        }
        const summary = { written, skipped, bytes: bytesWritten, rows, elapsedMs: Date.now() - t0 };
        return cancelled ? { ...summary, cancelled } : summary;
      }
      if (workers > 1 && todo.length > 1) log(`workers: ${workers} needs Node and a file path or bytes as input; labeling on one thread`);
      for (let i = 0; i < total; i++) {
        // Cancellation is checked between configs only: the config in
        // flight is finished and saved, so no work is thrown away and no
        // partial file is left.
        if (host.signal?.aborted) {
          cancelled = true;
          log(`cancelled after ${i}/${total} configs`);
          break;
        }
        const key = keys[i];
        const name = fileName(key);
        let bytes = 0;
        if (skip.has(key)) {
          skipped.push(store.location?.(name) ?? name);
        } else {
          if (store.writeStream) {
            // Piece by piece: wasm memory never holds the whole file.
            const stream = call(() => labeler.stream(key));
            try {
              const r = await saveStream(store, key, name, { next: () => call(() => stream.next()) });
              written.push(r.path);
              bytes = r.bytes;
            } finally {
              if (!poisoned) stream.free();
            }
          } else {
            const file = call(() => labeler.label(key));
            written.push(await saveFile(store, key, name, file));
            bytes = file.length;
          }
          bytesWritten += bytes;
        }
        progress({ done: i + 1, total, key, skipped: skip.has(key), elapsedMs: Date.now() - t0, bytes });
      }
      const summary = { written, skipped, bytes: bytesWritten, rows: labeler.rows, elapsedMs: Date.now() - t0 };
      return cancelled ? { ...summary, cancelled } : summary;
    } finally {
      await release?.();
      if (!poisoned) labeler.free();
    }
  }

  /** A label file's bytes (Parquet or Arrow IPC) as an apache-arrow Table (async: loads apache-arrow). */
  async function tableFromLabelFile(bytes) {
    const { tableFromIPC } = await arrow();
    return tableFromIPC(call(() => wasm.toIpcStream(bytes)));
  }

  /** Feeds candles and finishes them into a labeler (pool workers); `keep`: [start, end) rows to keep. */
  async function openLabeler(candles, wasmOptions, keep) {
    const input = call(() => new wasm.CandleInput(wasmOptions));
    try {
      if (keep) call(() => input.keep(keep[0], keep[1]));
      await feed(input, candles, wasmOptions.spreadColumn);
    } catch (err) {
      if (!poisoned) input.free();
      throw err;
    }
    return call(() => input.finish());
  }

  return { labelCandles, tableFromLabelFile, call, openLabeler };
}

/** A store that keeps files in a Map (browser placeholder, tests). */
export function memoryStore(files = new Map()) {
  return {
    files,
    async list() {
      return [...files.keys()];
    },
    async readTail(name, n) {
      const f = files.get(name);
      if (!f) throw new Error(`no file named ${name}`);
      return f.subarray(Math.max(0, f.length - n));
    },
    async writeAtomic(name, bytes) {
      files.set(name, bytes); // a Map update is already all-or-nothing
      return name;
    },
    async remove(name) {
      files.delete(name);
    },
    location(name) {
      return name;
    },
  };
}
