// Node entry of fxlabel: the wasm module, initialised at first use (no
// top-level await, so `require("fxlabel")` works from CommonJS too), a
// store that is a folder on disk, and readers for the files it holds.
import { createReadStream, readFileSync } from "node:fs";
import { runPool } from "./pool.js";
import fsSync from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { initSync } from "./fxlabel.js";
import * as wasm from "./fxlabel.js";
import { createHost, memoryStore } from "./host.js";

let initialised = false;
/** Compiles and instantiates the wasm module once (synchronously: Node allows it at any size). */
function ensure() {
  if (!initialised) {
    initSync({ module: readFileSync(new URL("./fxlabel_bg.wasm", import.meta.url)) });
    initialised = true;
  }
}

export const DEFAULT_DIR = "labels";

// Whether a process is running; when it cannot be told, "alive" (refusing
// to take over a live run's lock is the safe answer).
function pidAlive(pid) {
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code !== "ESRCH";
  }
  try {
    // Linux: a killed process not yet reaped by its parent (zombie) is dead.
    const stat = fsSync.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(") ") + 2)[0] !== "Z";
  } catch {
    return true;
  }
}

/**
 * A folder of label files on disk: the I/O primitives of the core's run
 * protocol (the same protocol and lock file as the native CLI, so each
 * resumes the other's runs). Its owner mark is the process id.
 */
export function fsStore(dir = DEFAULT_DIR) {
  const at = (name) => path.join(dir, name);
  return {
    dir,
    folder: () => ({ display: dir, id: path.resolve(dir), owner: String(process.pid), lock: "file" }),
    makeDir() {
      const existed = fsSync.existsSync(dir);
      fsSync.mkdirSync(dir, { recursive: true });
      return !existed;
    },
    removeDir() {
      try {
        fsSync.rmdirSync(dir); // only when empty
      } catch {}
    },
    list: () => fsSync.readdirSync(dir),
    alive: (owner) => pidAlive(Number(owner)),
    async readTail(name, n) {
      const fh = await fs.open(at(name), "r");
      try {
        const { size } = await fh.stat();
        const len = Math.min(n, size);
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, size - len);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    readText(name) {
      try {
        return fsSync.readFileSync(at(name), "utf8");
      } catch (err) {
        if (err.code === "ENOENT") return null;
        throw err;
      }
    },
    // Whole under `via`, then hard-linked into place (fails when `name`
    // exists); an exclusive create where hard links are missing.
    createNew(name, text, via) {
      fsSync.writeFileSync(at(via), text);
      try {
        fsSync.linkSync(at(via), at(name));
        return true;
      } catch (err) {
        if (err.code === "EEXIST") return false;
        try {
          fsSync.writeFileSync(at(name), text, { flag: "wx" });
          return true;
        } catch (err2) {
          if (err2.code === "EEXIST") return false;
          throw err2;
        }
      } finally {
        fsSync.rmSync(at(via), { force: true });
      }
    },
    // `pieces.next()`: a Uint8Array (or a promise of one), then undefined.
    async writeTemp(name, pieces) {
      const fh = await fs.open(at(name), "w");
      try {
        let n = 0;
        for (let p; (p = await pieces.next()) !== undefined; ) {
          // One write call may write less than asked (disk full, a file
          // size limit): write the rest, which then fails with the cause,
          // instead of renaming a short file (found by
          // scripts/failing-storage.mjs).
          for (let off = 0; off < p.length; ) {
            const { bytesWritten } = await fh.write(p, off, p.length - off);
            if (!(bytesWritten > 0)) throw new Error("no bytes written (the disk accepts no more)");
            off += bytesWritten;
          }
          n += p.length;
        }
        await fh.sync(); // the data is on disk before the name says "done"
        return n;
      } finally {
        await fh.close();
      }
    },
    rename: (from, to) => fs.rename(at(from), at(to)),
    remove: (name) => fs.rm(at(name), { force: true }),
    // Windows cannot open a folder to flush it (NTFS journals renames).
    async syncDir() {
      if (process.platform === "win32") return;
      const fh = await fs.open(dir, "r");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    location: at,
  };
}

/**
 * A candle file as host input: CSV streamed; Parquet (by its magic bytes)
 * as `{parquetFile: {size, read(offset, length), close()}}`, which the host
 * reads by row group (footer first), so the file is never held whole. The
 * file is opened at the first read and closed by close().
 */
export function openPath(p) {
  const fd = fsSync.openSync(p, "r");
  const head = Buffer.alloc(4);
  let size;
  try {
    fsSync.readSync(fd, head, 0, 4, 0);
    size = fsSync.fstatSync(fd).size;
  } finally {
    fsSync.closeSync(fd);
  }
  ensure();
  return wasm.isParquet(head, String(p)) ? { parquetFile: parquetFile(p, size) } : createReadStream(p, { highWaterMark: 1 << 20 });
}

// Random access to a file by offset and length (sync reads of an fd).
// One buffer serves every read (the host hands each range to wasm, which
// copies it, before the next read), so JS holds one row group at a time.
function parquetFile(p, size) {
  let fd = null;
  let buf = Buffer.alloc(0);
  return {
    size,
    read(offset, length) {
      fd ??= fsSync.openSync(p, "r");
      if (buf.length < length) buf = Buffer.allocUnsafe(length);
      for (let got = 0; got < length; ) {
        const n = fsSync.readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) throw Object.assign(new Error(`${p}: ${length} bytes at offset ${offset} expected, the file ends at ${offset + got} (was it changed while being read?)`), { kind: "io" });
        got += n;
      }
      return buf.subarray(0, length);
    },
    close() {
      if (fd != null) fsSync.closeSync(fd);
      fd = null;
      buf = Buffer.alloc(0);
    },
  };
}

const host = createHost(wasm, (opts) => fsStore(opts.dir ?? DEFAULT_DIR), {
  ensure,
  // `{path}` input: Parquet is read by row group (footer first), CSV is
  // streamed.
  openPath,
  runPool,
});

/**
 * Labels candles over the grid into `options.dir` (default `labels/`), or
 * into `options.store`; with `returnTables: true` writes nothing and
 * returns a Map of key -> apache-arrow Table. See index.d.ts.
 */
export const labelCandles = host.labelCandles;
/** Feeds candles into a labeler without writing anything (pool workers, tools). */
export const openLabeler = host.openLabeler;
/** Writes one config of `run` (labeler.run(...)) to a store through the core's protocol (pool workers). */
export const commit = host.commit;
/** A label file's bytes (Parquet or Arrow IPC) as an apache-arrow Table (async, as in the browser). */
export async function tableFromLabelFile(bytes) {
  return host.tableFromLabelFile(bytes);
}

/**
 * The label files in `dir`, in grid order (target, stop, horizon), as
 * `{key, name, path, bytes}`. Temporary and foreign files are left out.
 */
export async function listLabelResults({ dir = DEFAULT_DIR } = {}) {
  const out = [];
  let names;
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (err.code === "ENOENT") return []; // nothing saved yet
    throw new Error(`cannot list ${dir}: ${err.message}`, { cause: err });
  }
  ensure();
  for (const [name, key] of wasm.labelFiles(names)) {
    const { size } = await fs.stat(path.join(dir, name));
    out.push({ key, name, path: path.join(dir, name), bytes: size });
  }
  return out;
}

/**
 * One config's file as an apache-arrow Table. `key` is `T10_S5_H30` (the
 * .parquet file is used, else the .arrow one) or a file name.
 * Memory: the file's bytes, a decoded copy inside wasm while converting,
 * then the Table (about 8 + 10 bytes per row and side).
 */
export async function loadLabelResults(key, { dir = DEFAULT_DIR } = {}) {
  // A label file's name, or a key (anything else is refused: no path tricks).
  const [file] = host.call(() => wasm.labelFiles([String(key)]));
  const base = file ? file[1] : key;
  const names = file ? [file[0]] : host.call(() => wasm.labelFileNames(key));
  for (const name of names) {
    let bytes;
    try {
      bytes = await fs.readFile(path.join(dir, name));
    } catch (err) {
      if (err.code === "ENOENT") continue;
      throw new Error(`cannot read ${path.join(dir, name)}: ${err.message}`, { cause: err });
    }
    return host.tableFromLabelFile(bytes);
  }
  throw new Error(`no label file for ${base} in ${dir} (looked for ${names.join(", ")})`);
}

/**
 * Every label file of `dir` as a Map key -> apache-arrow Table, in grid
 * order. Memory: all tables at once, about rows x (8 + 10 x sides) bytes
 * per config: the default 210-config grid on 1M candles with both sides is
 * ~5.7 GB. Prefer loadLabelResults one key at a time for large runs.
 */
export async function loadAllLabelResults({ dir = DEFAULT_DIR } = {}) {
  const tables = new Map();
  for (const { key, name } of await listLabelResults({ dir })) {
    if (!tables.has(key)) tables.set(key, await loadLabelResults(name, { dir }));
  }
  return tables;
}

export { memoryStore };
/** Resolves once the wasm module is ready (it is initialised at first use in Node). */
export const ready = Promise.resolve().then(ensure);
// The wasm classes and functions, initialising the module at first use.
export class CandleInput extends wasm.CandleInput {
  constructor(options) {
    ensure();
    super(options);
  }
}
export const Labeler = wasm.Labeler;
const lazy = (f) => (...args) => (ensure(), f(...args));
export const footerSize = lazy(wasm.footerSize);
export const readMetadata = lazy(wasm.readMetadata);
export const toIpcStream = lazy(wasm.toIpcStream);
export const parseKey = lazy(wasm.parseKey);
export const version = lazy(wasm.version);
export const lastPanic = lazy(wasm.lastPanic);
export const exitCodeOf = lazy(wasm.exitCodeOf);
export const flagOf = lazy(wasm.flagOf);
