// Node entry of fxlabel: the wasm module initialised once at import, a
// store that is a folder on disk, and readers for the files it holds.
import { readFileSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import init, * as wasm from "./fxlabel.js";
import { createHost, isTempName, memoryStore } from "./host.js";

// Node's fetch cannot read file: URLs, so the bytes are handed to init.
await init({ module_or_path: readFileSync(new URL("./fxlabel_bg.wasm", import.meta.url)) });

export const DEFAULT_DIR = "labels";

/**
 * A folder of label files. Each file is written to `.<name>.tmp-<pid>`,
 * fsynced, then renamed, so a file with a final name is always complete
 * (the same rule as the native CLI, so both can resume each other's runs).
 */
export function fsStore(dir = DEFAULT_DIR) {
  const at = (name) => path.join(dir, name);
  return {
    dir,
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
      // Created only when the first file is written: a rejected run leaves
      // no empty folder behind.
      await fs.mkdir(dir, { recursive: true });
      const tmp = at(`.${name}.tmp-${process.pid}`);
      const fin = at(name);
      try {
        const fh = await fs.open(tmp, "w");
        try {
          await fh.writeFile(bytes);
          await fh.sync(); // the data is on disk before the name says "done"
        } finally {
          await fh.close();
        }
        await fs.rename(tmp, fin);
      } catch (err) {
        await fs.rm(tmp, { force: true });
        throw new Error(`cannot write ${fin}: ${err.message}`, { cause: err });
      }
      await syncDir(dir);
      return fin;
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

const host = createHost(wasm, (opts) => fsStore(opts.dir ?? DEFAULT_DIR));

/**
 * Labels candles over the grid into `options.dir` (default `labels/`), or
 * into `options.store`; with `returnTables: true` writes nothing and
 * returns a Map of key -> apache-arrow Table. See index.d.ts.
 */
export const labelCandles = host.labelCandles;
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
