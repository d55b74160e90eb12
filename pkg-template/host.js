// The platform-independent run loop of fxlabel: feed candles to the wasm
// module in chunks, then step the core's run protocol (the plan, each
// config's commit, the release) through a store, labeling each config the
// moment the protocol asks for its bytes.
//
// The store is the only platform part (a folder on disk in Node, OPFS or
// memory in the browser) and decides nothing: it performs the protocol's
// steps (see `perform` and index.d.ts's LabelStore; all may be async).

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

// Error with the fields the CLI uses to pick an exit code.
function hostError(message, kind, extra = {}) {
  return Object.assign(new Error(message), { kind }, extra);
}

const PARQUET_MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1", the footer's end

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
  // runPool(source, options) to share configs out to worker threads, and
  // ensure() to initialise the wasm module at first use.
  const { openPath, runPool, ensure } = platform;
  // A trap leaves the wasm instance in an unknown state: report the panic
  // message (the trap itself only says "unreachable") and refuse later calls.
  let poisoned = null;
  function call(fn) {
    ensure?.();
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

  function appendColumns(input, c) {
    // The column holding each bar's spread, when the options name one.
    const spreadColumn = input.spreadColumn;
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

  // Parquet or CSV, as the core tells from the name (if any) and first bytes.
  const isParquet = (bytes, name) => call(() => wasm.isParquet(bytes.subarray(0, 4), name));

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

  async function feed(input, candles) {
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
      if (isParquet(head, candles.name)) {
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
      return appendColumns(input, candles);
    }
    throw hostError("candles must be {timestamps, open, high, low, close} arrays, Parquet bytes, CSV text or bytes, or an (async) iterable of CSV/Parquet chunks", "param", { param: "candles" });
  }

  // Performs one step of the core's run protocol (src/run/) on a store.
  function perform(store, step, pieces) {
    switch (step.op) {
      case "makeDir": return store.makeDir();
      case "removeDir": return store.removeDir();
      case "list": return store.list();
      case "alive": return store.alive(step.owner);
      case "readTail": return store.readTail(step.name, step.bytes);
      case "readText": return store.readText(step.name);
      case "createNew": return store.createNew(step.name, step.text, step.via);
      case "lock": return store.lock();
      case "unlock": return store.unlock();
      case "writeTemp": return store.writeTemp(step.name, pieces);
      case "rename": return store.rename(step.from, step.to);
      case "remove": return store.remove(step.name);
      case "syncDir": return store.syncDir();
      default: throw new Error(`unknown store step '${step.op}'`);
    }
  }

  /**
   * Steps a protocol task (`run.plan()`, `run.commit(key)`,
   * `run.release()`) through `store` to its end; `pieces` feeds a
   * commit's file. Resolves to the task's value; rejects with the core's
   * error (a store failure is reported by the core, naming the config).
   */
  async function drive(task, store, pieces) {
    let failed = null; // the store's last error, kept as the cause
    try {
      let reply;
      let failure;
      for (;;) {
        const step = call(() => task.next(reply, failure));
        if (step.done) return step.value;
        reply = failure = undefined;
        try {
          reply = await perform(store, step, pieces);
        } catch (err) {
          failure = failed = err ?? new Error("the store failed");
        }
      }
    } catch (err) {
      if (failed && err.kind === "io") Object.assign(err, { cause: failed, code: failed.code, quota: failed.quota });
      throw err;
    } finally {
      if (!poisoned) task.free();
    }
  }

  /** A config's pieces, streamed from wasm (freed at once when done). */
  function configPieces(labeler, key) {
    const stream = call(() => labeler.stream(key));
    return {
      next: () => call(() => stream.next()),
      free: () => poisoned || stream.free(),
    };
  }

  /** Writes one config through the protocol; resolves to its size. */
  async function commit(run, store, labeler, key) {
    const pieces = configPieces(labeler, key);
    try {
      return await drive(run.commit(key), store, pieces);
    } finally {
      pieces.free();
    }
  }

  // The user's options split into the host's and the core's.
  function splitOptions(options) {
    const wasmOptions = {};
    const host = {};
    for (const [k, v] of Object.entries(options ?? {})) {
      if (v !== undefined) (HOST_OPTIONS.has(k) ? host : wasmOptions)[k] = v;
    }
    return { wasmOptions, host };
  }

  /** The config keys of the grid `options` give, in grid order (throws on bad options). */
  function configKeys(options) {
    return call(() => wasm.configKeys(splitOptions(options).wasmOptions));
  }

  /**
   * Labels candles over a grid of configs; see index.d.ts for the options.
   */
  async function labelCandles(candles, options = {}) {
    const t0 = Date.now();
    const { wasmOptions, host } = splitOptions(options);
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

    // 1. Input and parameters: every error is thrown here, before the
    //    store is looked at.
    const input = call(() => new wasm.CandleInput(wasmOptions));
    // (A pool that only writes files in parts, the browser's, needs
    // Parquet output.)
    const partsOnly = !!runPool?.partsOnly && input.extension !== "parquet";
    const pooled = workers > 1 && !!runPool && !!source && !!store?.dir && !partsOnly;
    try {
      if (pooled) call(() => input.keep(0, 0));
      await feed(input, candles);
    } catch (err) {
      if (!poisoned) input.free(); // after a trap the instance is dead anyway
      throw err;
    }
    // finish() consumes the input, whether it succeeds or throws.
    const labeler = call(() => input.finish());
    let run = null; // the core's run protocol, once there is a store
    let planned = false; // the folder is held until release
    try {
      const keys = call(() => labeler.configs());
      const fileName = (key) => call(() => labeler.fileName(key));
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

      // 2. The plan, decided by the core before anything is changed: the
      //    folder is taken (one run per folder), existing files are checked
      //    (a mismatching one stops the run here unless overwrite), stale
      //    temporary files are removed.
      run = call(() => labeler.run(store.folder(), !!host.overwrite));
      const plan = await drive(run.plan(), store);
      planned = true;
      for (const key of plan.relabeled) log(`${fileName(key)} was made with other settings or data; relabeling it (overwrite)`);
      if (plan.skip.length > 0) log(`found ${plan.skip.length}/${total} already saved, resuming`);

      // 3. Label and write each missing config as soon as it is ready.
      const where = (key) => store.location?.(fileName(key)) ?? fileName(key);
      const skip = new Set(plan.skip);
      const written = [];
      const skipped = [];
      let bytesWritten = 0;
      let cancelled = false;
      let done = 0;
      const report = (key, bytes) => progress({ done: ++done, total, key, skipped: skip.has(key), elapsedMs: Date.now() - t0, bytes });
      // The files already saved first, then the others in the plan's
      // order (the configs of one horizon together: they share its work).
      const todo = plan.todo;
      for (const key of plan.skip) {
        skipped.push(where(key));
        report(key, 0);
      }
      if (pooled) {
        const rows = labeler.rows;
        // By rows when the core's shard plan says so: each worker keeps only
        // its rows' candles. Else by configs, each worker with the input.
        const shards = labeler.shards(workers);
        if (shards) log(`${shards.length} workers, ${shards.map(([a, b]) => `rows ${a}-${b - 1}`).join(", ")}`);
        else log(runPool.partsOnly ? "1 worker (the input is one row group)" : `${Math.min(workers, todo.length)} workers, each with the whole input`);
        if (todo.length > 0) {
          const r = await runPool(source, {
            wasmOptions,
            folder: store.folder(),
            dir: store.dir,
            keys: todo,
            workers,
            rows,
            shards,
            save: async (key, pieces) => ({ path: where(key), bytes: await drive(run.commit(key), store, pieces) }),
            footer: (key, parts) => call(() => labeler.footer(key, parts)),
            shouldStop: () => !!host.signal?.aborted,
            onWritten(key, path, bytes) {
              written.push(path);
              bytesWritten += bytes;
              report(key, bytes);
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
      if (workers > 1 && todo.length > 1) log(`workers: ${workers} needs an input the workers can each read (a file path, a Parquet File/Blob, bytes or text) and a folder store; labeling on one thread`);
      for (const key of todo) {
        // Cancellation is checked between configs only: the config in
        // flight is finished and saved, so no work is thrown away and no
        // partial file is left.
        if (host.signal?.aborted) {
          cancelled = true;
          log(`cancelled after ${done}/${total} configs`);
          break;
        }
        const bytes = await commit(run, store, labeler, key);
        written.push(where(key));
        bytesWritten += bytes;
        report(key, bytes);
      }
      const summary = { written, skipped, bytes: bytesWritten, rows: labeler.rows, elapsedMs: Date.now() - t0 };
      return cancelled ? { ...summary, cancelled } : summary;
    } finally {
      if (planned && !poisoned) await drive(run.release(), store);
      if (!poisoned) {
        run?.free();
        labeler.free();
      }
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
      await feed(input, candles);
    } catch (err) {
      if (!poisoned) input.free();
      throw err;
    }
    return call(() => input.finish());
  }

  return { labelCandles, configKeys, tableFromLabelFile, call, openLabeler, drive, commit };
}

let memoryStores = 0;

/** A store that keeps files in a Map (the browser without OPFS, tests). */
export function memoryStore(files = new Map()) {
  const id = `memory:${++memoryStores}`;
  const file = (name) => {
    const f = files.get(name);
    if (!f) throw Object.assign(new Error(`no file named ${name}`), { code: "ENOENT" });
    return f;
  };
  return {
    files,
    folder: () => ({ display: "memory", id, owner: "0", lock: "none" }),
    makeDir: () => false,
    removeDir() {},
    list: () => [...files.keys()],
    alive: () => false,
    readTail(name, n) {
      const f = file(name);
      return f.subarray(Math.max(0, f.length - n));
    },
    readText: (name) => (files.has(name) ? new TextDecoder().decode(files.get(name)) : null),
    createNew(name, text) {
      if (files.has(name)) return false;
      files.set(name, new TextEncoder().encode(text));
      return true;
    },
    async writeTemp(name, pieces) {
      const all = [];
      for (let p; (p = await pieces.next()) !== undefined; ) all.push(p);
      const bytes = concatBytes(all);
      files.set(name, bytes);
      return bytes.length;
    },
    rename(from, to) {
      files.set(to, file(from));
      files.delete(from);
    },
    remove(name) {
      files.delete(name);
    },
    syncDir() {},
    location: (name) => name,
    /** A file as a Blob, as the browser stores give (pages read files this way). */
    file: (name) => new Blob([file(name)]),
  };
}
