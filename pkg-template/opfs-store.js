// A label store in the browser's Origin Private File System (OPFS), with
// the contract of the Node folder store (see host.js): a file becomes
// visible under its final name only when complete, so the resume logic can
// trust every final name it lists.
//
// Each file is written to `.<name>.tmp-<id>` and then renamed with
// FileSystemFileHandle.move(). In a dedicated worker the bytes go through a
// FileSystemSyncAccessHandle (the fast path OPFS offers only there); on the
// page, through createWritable(). A run killed mid-write (tab closed,
// reload) leaves at most a temporary name, which the next run removes.
//
// This file imports nothing, so it also runs as a wasm-bindgen test snippet
// (wasm/tests/opfs_worker.rs).

// Stands in for the pid of the Node store: tells this store's temporary
// files from another run's (host.js removes stale ones before writing).
const newId = () => Math.random().toString(36).slice(2, 10);

// Sync access handles exist only in dedicated workers.
const canSync = () => typeof FileSystemFileHandle !== "undefined" && typeof FileSystemFileHandle.prototype.createSyncAccessHandle === "function";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * An OPFS folder of label files.
 * @param {string} [dir="labels"] folder under the OPFS root; "a/b" nests
 * @param {object} [opts]
 * @param {"auto"|"sync"|"writable"} [opts.mode="auto"] how bytes are written: "sync"
 *   (sync access handle; dedicated workers only), "writable" (createWritable), or the
 *   fastest available
 * @param {FileSystemDirectoryHandle} [opts.root] OPFS root (default navigator.storage.getDirectory())
 */
export function opfsStore(dir = "labels", { mode = "auto", root = null } = {}) {
  if (!["auto", "sync", "writable"].includes(mode)) throw new Error(`opfsStore: unknown mode '${mode}' (auto, sync, writable)`);
  const writeMode = mode === "auto" ? (canSync() ? "sync" : "writable") : mode;
  const parts = String(dir).split("/").filter(Boolean);
  const id = newId();

  // The folder handle; with create false, null when it does not exist
  // (so list() of a fresh origin is [] and creates nothing).
  async function folder(create) {
    let d = root ?? (await navigator.storage.getDirectory());
    try {
      for (const p of parts) d = await d.getDirectoryHandle(p, { create });
    } catch (err) {
      if (!create && err.name === "NotFoundError") return null;
      throw err;
    }
    return d;
  }

  async function writeBytes(handle, bytes) {
    if (writeMode === "sync") {
      const h = await handle.createSyncAccessHandle();
      try {
        h.truncate(0);
        // write() may write less than asked (it returns the count).
        for (let at = 0; at < bytes.length; ) {
          const n = h.write(bytes.subarray(at), { at });
          if (!(n > 0)) throw new Error(`wrote ${at} of ${bytes.length} bytes`);
          at += n;
        }
        h.flush(); // data durable before the name says "done"
      } finally {
        h.close();
      }
    } else {
      const w = await handle.createWritable();
      try {
        await w.write(bytes);
        await w.close();
      } catch (err) {
        await w.abort().catch(() => {});
        throw err;
      }
    }
  }

  // Entries of a file still held by a worker that is being torn down (a
  // reload mid-write) can be locked for a moment: retry briefly.
  async function removeEntry(d, name) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await d.removeEntry(name);
      } catch (err) {
        if (err.name === "NotFoundError") return;
        if (err.name !== "NoModificationAllowedError" || attempt >= 20) throw err;
        await sleep(100);
      }
    }
  }

  const store = {
    dir: parts.join("/"),
    writeMode,

    /** Names in the folder; [] when it does not exist. */
    async list() {
      const d = await folder(false);
      if (!d) return [];
      const names = [];
      for await (const name of d.keys()) names.push(name);
      return names;
    },

    /** The last min(n, size) bytes of a file. */
    async readTail(name, n) {
      const d = await folder(false);
      if (!d) throw new Error(`no file named ${name} in OPFS ${store.dir}/`);
      const f = await (await d.getFileHandle(name)).getFile();
      return new Uint8Array(await f.slice(Math.max(0, f.size - n)).arrayBuffer());
    },

    /** Writes under a temporary name, then renames it to `name`. */
    async writeAtomic(name, bytes) {
      const tmpName = `.${name}.tmp-${id}`;
      let d = null;
      try {
        d = await folder(true); // created with the first file only
        const tmp = await d.getFileHandle(tmpName, { create: true });
        await writeBytes(tmp, bytes);
        if (typeof tmp.move !== "function") throw new Error("this browser's OPFS has no FileSystemFileHandle.move() (needed for the atomic rename)");
        try {
          await tmp.move(name); // same folder: a rename
        } catch (err) {
          // An engine whose move() refuses to replace an existing file:
          // remove the old one first (its absence never looks finished).
          if (err.name !== "InvalidModificationError" && err.name !== "NoModificationAllowedError") throw err;
          await removeEntry(d, name);
          await tmp.move(name);
        }
      } catch (err) {
        if (d) await d.removeEntry(tmpName).catch(() => {});
        // The file name carries the config key, so a quota error says
        // which config could not be saved.
        const quota = err?.name === "QuotaExceededError";
        throw Object.assign(new Error(`cannot write ${name} to OPFS ${store.dir}/: ${quota ? "storage quota exceeded: " : ""}${err?.name ?? "Error"}: ${err?.message ?? err}`, { cause: err }), { kind: "io", quota });
      }
      return name;
    },

    /**
     * Takes the folder for one run (host.js calls it before listing): a Web
     * Lock, so a second tab cannot label into the same folder and remove
     * this run's temporary files as stale. Returns the release function.
     */
    async lock() {
      if (!globalThis.navigator?.locks) return async () => {};
      let release;
      const held = new Promise((r) => (release = r));
      const got = await new Promise((resolve, reject) => {
        navigator.locks
          .request(`fxlabel:${store.dir}`, { ifAvailable: true }, (lock) => {
            resolve(lock !== null);
            return lock ? held : undefined; // kept until release()
          })
          .catch(reject);
      });
      if (!got) throw Object.assign(new Error(`another run is labeling into OPFS ${store.dir}/ (another tab?): wait for it to finish or close it`), { kind: "busy" });
      return async () => release();
    },

    /** Deletes a file; no error when it is already gone. */
    async remove(name) {
      const d = await folder(false);
      if (d) await removeEntry(d, name);
    },

    location(name) {
      return name;
    },

    // ---- beyond the store interface: for pages that show and export files ----

    /** `{name, size, lastModified}` of every file (temporary ones included). */
    async entries() {
      const d = await folder(false);
      if (!d) return [];
      const out = [];
      for await (const [name, h] of d.entries()) {
        if (h.kind !== "file") continue;
        let f;
        try {
          f = await h.getFile();
        } catch (err) {
          if (err.name === "NotFoundError") continue; // renamed or removed meanwhile (a run in flight)
          throw err;
        }
        out.push({ name, size: f.size, lastModified: f.lastModified });
      }
      return out;
    },

    /** A file as a File (disk-backed: reading it does not load it into memory first). */
    async file(name) {
      const d = await folder(false);
      if (!d) throw new Error(`no file named ${name} in OPFS ${store.dir}/`);
      return (await d.getFileHandle(name)).getFile();
    },

    /** Removes the whole folder. */
    async clear() {
      const d = await folder(false);
      if (!d) return;
      let parent = root ?? (await navigator.storage.getDirectory());
      for (const p of parts.slice(0, -1)) parent = await parent.getDirectoryHandle(p);
      if (parts.length === 0) {
        for await (const name of d.keys()) await d.removeEntry(name, { recursive: true });
      } else {
        await parent.removeEntry(parts.at(-1), { recursive: true });
      }
    },
  };
  return store;
}
