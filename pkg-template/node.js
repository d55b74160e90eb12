// Node entry of fxlabel: the wasm module initialised once at import, a
// store that is a folder on disk, and readers for the files it holds.
import { createReadStream, readFileSync } from "node:fs";
import { runPool } from "./pool.js";
import fsSync from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import init, * as wasm from "./fxlabel.js";
import { createHost, isTempName, memoryStore } from "./host.js";

// Node's fetch cannot read file: URLs, so the bytes are handed to init.
await init({ module_or_path: readFileSync(new URL("./fxlabel_bg.wasm", import.meta.url)) });

export const DEFAULT_DIR = "labels";

// One run per folder, shared with the native CLI (src/store.rs, DirLock):
// DIR/.fxlabel.lock holds the owner's pid. It is written whole under a
// temporary name and hard-linked into place, which fails when a lock exists
// (atomic "create if absent", never a half-written lock). A lock whose pid
// is not running is stale (a killed run) and is taken over.
export const LOCK_NAME = ".fxlabel.lock";
// Lock files held by this process: the pid cannot tell two runs of one
// process apart (and they would share temporary names), this set can.
const heldLocks = new Set();

function busyError(dir, who) {
  return Object.assign(new Error(`another fxlabel run (${who}) is writing to ${dir}: wait for it to finish (if no fxlabel run is active, remove ${path.join(dir, LOCK_NAME)})`), { kind: "busy" });
}

// Whether a process is running; when it cannot be told, "alive" (refusing
// to start is safer than taking over a live run's lock).
function pidAlive(pid) {
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

const lockPid = (text) => {
  const m = /^\s*(\d+)/.exec(text ?? "");
  return m ? Number(m[1]) : null;
};
const readOrNull = (p) => {
  try {
    return fsSync.readFileSync(p, "utf8");
  } catch (err) {
    if (err.code === "ENOENT") return null;
    throw err;
  }
};

// The pid of a temporary name (`.X.tmp-<pid>`, `.fxlabel.lock.tmp-<pid>`).
function tempPid(name) {
  const m = /\.tmp-(\d+)/.exec(name.slice(name.lastIndexOf(".tmp-")));
  return m ? Number(m[1]) : null;
}

/**
 * Takes `dir`'s lock (the folder is created if missing); returns the
 * function that releases it (and removes the folder again when the lock
 * created it and nothing was written). Throws `kind: "busy"` when another
 * run holds it. Sync calls: a handful of tiny file operations.
 */
function acquireLock(dir) {
  const lock = path.join(dir, LOCK_NAME);
  const createdDir = !fsSync.existsSync(dir);
  fsSync.mkdirSync(dir, { recursive: true });
  const key = fsSync.realpathSync(dir);
  if (heldLocks.has(key)) throw busyError(dir, "in this process");
  const me = process.pid;
  const tmp = path.join(dir, `${LOCK_NAME}.tmp-${me}`);
  fsSync.writeFileSync(tmp, `${me}\n`);
  try {
    claim(dir, lock, tmp, me);
  } catch (err) {
    try {
      if (createdDir) fsSync.rmdirSync(dir);
    } catch {}
    throw err;
  } finally {
    fsSync.rmSync(tmp, { force: true });
  }
  heldLocks.add(key);
  return {
    // A safety net for a lock removed by hand or lost in a takeover race:
    // checked before every rename, so a run that lost the lock stops.
    check() {
      const text = readOrNull(lock);
      if (lockPid(text) !== me) {
        throw Object.assign(new Error(`lost the lock on ${dir}: ${text == null ? `${lock} was removed` : `${lock} now names pid ${text.trim()}`}`), { kind: "busy" });
      }
    },
    release() {
      heldLocks.delete(key);
      try {
        if (lockPid(readOrNull(lock)) === me) fsSync.rmSync(lock, { force: true });
        if (createdDir) fsSync.rmdirSync(dir); // only when empty
      } catch {}
    },
  };
}

function claim(dir, lock, tmp, me) {
  // Bounded: each round wins, meets a live owner, or removes a stale lock;
  // only runs racing for the same stale lock go round again.
  for (let round = 0; round < 8; round++) {
    try {
      fsSync.linkSync(tmp, lock);
      return;
    } catch (err) {
      if (err.code !== "EEXIST") {
        // No hard links on this filesystem: exclusive create instead.
        try {
          fsSync.writeFileSync(lock, `${me}\n`, { flag: "wx" });
          return;
        } catch (err2) {
          if (err2.code !== "EEXIST") throw new Error(`cannot create ${lock}: ${err2.message}`, { cause: err2 });
        }
      }
    }
    const seen = readOrNull(lock);
    if (seen == null) continue;
    const pid = lockPid(seen);
    if (pid != null && pid !== me && pidAlive(pid)) throw busyError(dir, `pid ${pid}`);
    // Stale (dead owner, unreadable lock, or our pid left by an earlier
    // process): move it aside under a name of our own, then look at what
    // was moved: if another run replaced the stale lock in between, its
    // live lock is put back.
    const aside = `${tmp}-stale`;
    try {
      fsSync.renameSync(lock, aside);
    } catch {
      continue;
    }
    if (readOrNull(aside) !== seen) {
      try {
        fsSync.linkSync(aside, lock);
      } catch {}
    }
    fsSync.rmSync(aside, { force: true });
  }
  throw busyError(dir, "racing for a stale lock");
}

/**
 * A folder of label files. Each file is written to `.<name>.tmp-<pid>`,
 * fsynced, then renamed, so a file with a final name is always complete
 * (the same rule as the native CLI, so both can resume each other's runs).
 */
export function fsStore(dir = DEFAULT_DIR) {
  const at = (name) => path.join(dir, name);
  let held = null; // the lock, while a run holds it
  // Writes a file under a temporary name, flushes it to disk, then renames
  // it: a file with a final name is always complete.
  async function commit(name, fill) {
    // Created only when the first file is written: a rejected run leaves
    // no empty folder behind.
    await fs.mkdir(dir, { recursive: true });
    const tmp = at(`.${name}.tmp-${process.pid}`);
    const fin = at(name);
    let bytes;
    try {
      const fh = await fs.open(tmp, "w");
      try {
        bytes = await fill(fh);
        await fh.sync(); // the data is on disk before the name says "done"
        bytes ??= (await fh.stat()).size;
      } finally {
        await fh.close();
      }
      held?.check();
      await fs.rename(tmp, fin);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      if (err.kind === "busy") throw err;
      throw new Error(`cannot write ${fin}: ${err.message}`, { cause: err });
    }
    await syncDir(dir);
    return { path: fin, bytes };
  }
  return {
    dir,
    // Called by the host before it looks at the folder; returns release().
    async lock() {
      try {
        held = acquireLock(dir);
      } catch (err) {
        if (err.kind === "busy") throw err;
        throw Object.assign(new Error(`cannot take the lock of ${dir}: ${err.message}`, { cause: err }), { kind: "io", code: err.code });
      }
      const mine = held;
      return async () => {
        mine.release();
        if (held === mine) held = null;
      };
    },
    // Temporary files of a live process are another run's (one that
    // ignores the lock, or is taking it this instant): not stale.
    isStale(name) {
      const pid = tempPid(name);
      return !(pid != null && pid !== process.pid && pidAlive(pid));
    },
    async list() {
      try {
        return await fs.readdir(dir);
      } catch (err) {
        if (err.code === "ENOENT") return []; // nothing saved yet
        throw new Error(`cannot list ${dir}: ${err.message}`, { cause: err });
      }
    },
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
    async writeAtomic(name, bytes) {
      return (await commit(name, (fh) => fh.writeFile(bytes))).path;
    },
    // Writes `pieces.next()` (Uint8Array, then undefined at the end) as
    // they come, under the same temporary-name-then-rename rule.
    async writeStream(name, pieces) {
      return commit(name, async (fh) => {
        let n = 0;
        // `pieces.next()` may return a promise (the pool's joined parts).
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
        return n;
      });
    },
    async remove(name) {
      await fs.rm(at(name), { force: true });
    },
    location: at,
  };
}

// Makes the rename itself durable. Windows cannot open a folder for fsync,
// and there a rename is already journaled by NTFS, so it is skipped.
async function syncDir(dir) {
  if (process.platform === "win32") return;
  const fh = await fs.open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
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
  return head.toString("latin1") === "PAR1" ? { parquetFile: parquetFile(p, size) } : createReadStream(p, { highWaterMark: 1 << 20 });
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
/** A label file's bytes (Parquet or Arrow IPC) as an apache-arrow Table (async, as in the browser). */
export async function tableFromLabelFile(bytes) {
  return host.tableFromLabelFile(bytes);
}

const FILE_RE = /^(T[0-9.]+_S[0-9.]+_H[0-9]+)\.(parquet|arrow)$/;

/**
 * The label files in `dir`, in grid order (target, stop, horizon), as
 * `{key, name, path, bytes}`. Temporary and foreign files are left out.
 */
export async function listLabelResults({ dir = DEFAULT_DIR } = {}) {
  const out = [];
  for (const name of await fsStore(dir).list()) {
    const m = FILE_RE.exec(name);
    if (!m || isTempName(name)) continue;
    let config;
    try {
      config = wasm.parseKey(m[1]); // only canonical keys are label files
    } catch {
      continue;
    }
    const { size } = await fs.stat(path.join(dir, name));
    out.push({ key: m[1], name, path: path.join(dir, name), bytes: size, config });
  }
  const order = (a, b) => a.config.target_pips - b.config.target_pips || a.config.stop_pips - b.config.stop_pips || a.config.horizon - b.config.horizon || a.name.localeCompare(b.name);
  return out.sort(order).map(({ config, ...rest }) => rest);
}

/**
 * One config's file as an apache-arrow Table. `key` is `T10_S5_H30` (the
 * .parquet file is used, else the .arrow one) or a file name.
 * Memory: the file's bytes, a decoded copy inside wasm while converting,
 * then the Table (about 8 + 10 bytes per row and side).
 */
export async function loadLabelResults(key, { dir = DEFAULT_DIR } = {}) {
  const m = FILE_RE.exec(key);
  const base = m ? m[1] : key;
  host.call(() => wasm.parseKey(base)); // refuses anything but a key: no path tricks
  const names = m ? [key] : [`${base}.parquet`, `${base}.arrow`];
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

export { memoryStore, isTempName };
export const ready = Promise.resolve();
export { CandleInput, Labeler, footerSize, readMetadata, toIpcStream, parseKey, version, lastPanic } from "./fxlabel.js";
