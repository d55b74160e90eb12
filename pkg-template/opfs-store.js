// A label store in the browser's Origin Private File System (OPFS): the
// I/O primitives of the core's run protocol (see host.js), which decides
// everything else. One run per folder is kept by a Web Lock (the store's
// lock service) instead of a lock file.
//
// Each file is written to `.<name>.tmp-<id>` and then renamed with
// FileSystemFileHandle.move(). What the engine offers is found by trying
// it once (opfsSupport(), never by user agent): bytes go through a
// FileSystemSyncAccessHandle where it works (dedicated workers of Chromium
// and Firefox), else through createWritable() (pages; WebKit, whose sync
// handles throw NotSupportedError); the rename is move(name) where the
// engine has it, else move(folder, name) (WebKit). A run killed mid-write
// (tab closed, reload) leaves at most a temporary name, which the next run
// removes.
//
// This file imports nothing, so it also runs as a wasm-bindgen test snippet
// (wasm/tests/opfs_worker.rs).

// Stands in for the pid of the Node store: tells this store's temporary
// files from another run's (host.js removes stale ones before writing).
const newId = () => Math.random().toString(36).slice(2, 10);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let support = null;

/**
 * What this realm's OPFS can do, found once by trying it on a probe file in
 * the OPFS root (removed again): `{sync, move}` where `sync` says whether
 * sync access handles work here and `move` is "name" (move(newName)) or
 * "folder" (move(folder, newName)); null when there is no usable OPFS
 * (no API, a private window, a WebKit session without storage) or no move().
 * @returns {Promise<{sync: boolean, move: "name"|"folder"}|null>}
 */
export function opfsSupport() {
  return (support ??= (async () => {
    if (typeof navigator === "undefined" || typeof navigator.storage?.getDirectory !== "function") return null;
    let root;
    try {
      root = await navigator.storage.getDirectory();
    } catch {
      return null; // SecurityError (private window), UnknownError (WebKit without storage)
    }
    const name = `.fxlabel-probe-${newId()}`;
    try {
      const h = await root.getFileHandle(name, { create: true });
      let sync = false;
      if (typeof h.createSyncAccessHandle === "function") {
        try {
          (await h.createSyncAccessHandle()).close();
          sync = true;
        } catch {} // InvalidStateError on a page, NotSupportedError in WebKit
      }
      if (typeof h.move !== "function") return null;
      let move = "name";
      try {
        await h.move(`${name}-moved`);
      } catch {
        await h.move(root, `${name}-moved`); // WebKit: TypeError for move(name)
        move = "folder";
      }
      return { sync, move };
    } catch {
      return null;
    } finally {
      for (const n of [name, `${name}-moved`]) await root.removeEntry(n).catch(() => {});
    }
  })());
}

/**
 * A folder's lock as a store offers it (the store's lock service): lock()
 * takes the Web Lock `name` without waiting and resolves false when
 * another holder has it; unlock() resolves once it is free again. Without
 * Web Locks there is nothing to hold.
 */
export function webLock(name) {
  let release = null; // while held
  return {
    async lock() {
      if (!globalThis.navigator?.locks) return true;
      let done;
      const held = new Promise((r) => (done = r));
      let request;
      const got = await new Promise((resolve, reject) => {
        request = navigator.locks.request(name, { ifAvailable: true }, (lock) => {
          resolve(lock !== null);
          return lock ? held : undefined; // kept until unlock()
        });
        request.catch(reject);
      });
      if (got) release = { done, request };
      return got;
    },
    // The lock manager frees the lock after the held promise settles (a
    // task later in Firefox), and a run started right after this one must
    // find it free.
    async unlock() {
      const r = release;
      release = null;
      r?.done();
      await r?.request;
    },
  };
}

/**
 * A store error keeps the DOMException's name (QuotaExceededError, ...)
 * in its message (the core adds what was being done, and the config); a
 * quota error is flagged for pages.
 */
export function storeError(err) {
  const quota = err?.name === "QuotaExceededError";
  return Object.assign(new Error(`${quota ? "storage quota exceeded: " : ""}${err?.name ?? "Error"}: ${err?.message ?? err}`, { cause: err }), { quota });
}

/**
 * An OPFS folder of label files.
 * @param {string} [dir="labels"] folder under the OPFS root; "a/b" nests
 * @param {object} [opts]
 * @param {"auto"|"sync"|"writable"} [opts.mode="auto"] how bytes are written: "sync"
 *   (sync access handle; dedicated workers of engines that have them), "writable"
 *   (createWritable), or the fastest that works here (opfsSupport())
 * @param {FileSystemDirectoryHandle} [opts.root] OPFS root (default navigator.storage.getDirectory())
 */
export function opfsStore(dir = "labels", { mode = "auto", root = null } = {}) {
  if (!["auto", "sync", "writable"].includes(mode)) throw new Error(`opfsStore: unknown mode '${mode}' (auto, sync, writable)`);
  const parts = String(dir).split("/").filter(Boolean);
  const id = newId();
  let caps = null;

  // How this store writes and renames, from what the engine offers.
  function capabilities() {
    return (caps ??= opfsSupport().then((s) => {
      if (!s) throw new Error("this browser offers no usable OPFS here (no navigator.storage.getDirectory(), storage refused, or no FileSystemFileHandle.move()); use idbStore() or browserStore()");
      return { writeMode: mode === "auto" ? (s.sync ? "sync" : "writable") : mode, move: s.move };
    }));
  }

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

  // Writes `pieces.next()` (a Uint8Array or a promise of one, then
  // undefined) into `handle` and flushes it; returns the bytes written.
  async function writePieces(handle, pieces) {
    let at = 0;
    if ((await capabilities()).writeMode === "sync") {
      const h = await handle.createSyncAccessHandle();
      try {
        h.truncate(0);
        for (let p; (p = await pieces.next()) !== undefined; ) {
          // write() may write less than asked (it returns the count).
          for (let off = 0; off < p.length; ) {
            const n = h.write(p.subarray(off), { at });
            if (!(n > 0)) throw new Error(`wrote ${at} bytes, then nothing`);
            off += n;
            at += n;
          }
        }
        h.flush(); // data durable before the name says "done"
      } finally {
        h.close();
      }
      return at;
    }
    const w = await handle.createWritable();
    try {
      for (let p; (p = await pieces.next()) !== undefined; ) {
        // WebKitGTK 2.50 writes a view's whole ArrayBuffer, not the view:
        // hand it bytes that fill their buffer.
        await w.write(p.byteOffset === 0 && p.byteLength === p.buffer.byteLength ? p : p.slice());
        at += p.length;
      }
      await w.close();
    } catch (err) {
      await w.abort().catch(() => {});
      throw err;
    }
    return at;
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

    /** Resolves with `{writeMode: "sync"|"writable", move: "name"|"folder"}`: how this store writes here. */
    capabilities,

    folder: () => ({ display: `OPFS ${store.dir}/`, id: `opfs:${store.dir}`, owner: id, lock: "service" }),

    /** Creates the folder; true when it did not exist. */
    async makeDir() {
      const existed = (await folder(false)) !== null;
      await folder(true);
      return !existed;
    },

    /** Removes the folder when it is empty. */
    async removeDir() {
      const d = await folder(false);
      if (!d || parts.length === 0) return;
      for await (const _ of d.keys()) return; // not empty
      let parent = root ?? (await navigator.storage.getDirectory());
      for (const p of parts.slice(0, -1)) parent = await parent.getDirectoryHandle(p);
      await parent.removeEntry(parts.at(-1)).catch(() => {});
    },

    /** Names in the folder; [] when it does not exist. */
    async list() {
      const d = await folder(false);
      if (!d) return [];
      const names = [];
      for await (const name of d.keys()) names.push(name);
      return names;
    },

    /** Another run's temporary files are stale: the Web Lock keeps live runs out. */
    alive: () => false,

    /** The last min(n, size) bytes of a file. */
    async readTail(name, n) {
      const f = await store.file(name);
      return new Uint8Array(await f.slice(Math.max(0, f.size - n)).arrayBuffer());
    },

    readText: () => null, // no lock file here

    createNew() {
      throw new Error("an OPFS store keeps its lock with Web Locks, not a lock file");
    },

    // lock() / unlock(): the folder for one run (a Web Lock), so a second
    // tab cannot label into the same folder and remove this run's
    // temporary files as stale.
    ...webLock(`fxlabel:${parts.join("/")}`),

    /** Writes a temporary file from its pieces, flushed. */
    async writeTemp(name, pieces) {
      try {
        return await writePieces(await (await folder(true)).getFileHandle(name, { create: true }), pieces);
      } catch (err) {
        throw storeError(err);
      }
    },

    /** Renames `from` to `to` (same folder), replacing `to`. */
    async rename(from, to) {
      const { move } = await capabilities();
      const d = await folder(true);
      const h = await d.getFileHandle(from);
      const moveTo = () => (move === "name" ? h.move(to) : h.move(d, to));
      try {
        await moveTo();
      } catch (err) {
        // An engine whose move() refuses to replace an existing file:
        // remove the old one first (its absence never looks finished).
        if (err.name !== "InvalidModificationError" && err.name !== "NoModificationAllowedError") throw storeError(err);
        await removeEntry(d, to);
        await moveTo();
      }
    },

    /** Deletes a file; no error when it is already gone. */
    async remove(name) {
      const d = await folder(false);
      if (d) await removeEntry(d, name);
    },

    syncDir() {}, // OPFS makes a move durable itself

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
