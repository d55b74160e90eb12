// A label store in IndexedDB: for browsers, or windows, where OPFS is
// missing or refused (private windows, a WebKit session without storage).
// The same I/O primitives of the core's run protocol as opfs-store.js, and
// the same guarantees: one run per folder (a Web Lock), a file gets its
// final name only complete (the rename is one transaction: the temporary
// record is read, stored under the final name and deleted together), a
// quota error names the config (the core adds it to the store's error).
//
// Records live in one object store, keyed "<dir>/<name>", each
// {size, lastModified, blob} (a finished file is one Blob, written by one
// transaction) or, where the engine cannot store Blobs in IndexedDB
// (WebKit's private sessions: found by trying), {size, lastModified,
// bytes} with an ArrayBuffer. Folders are the keys' prefixes.
import { storeError, webLock } from "./opfs-store.js";

const DB_VERSION = 1;
const FILES = "files";
const newId = () => Math.random().toString(36).slice(2, 10);

// IDBRequest / IDBTransaction as promises.
const done = (req) => new Promise((ok, fail) => ((req.onsuccess = () => ok(req.result)), (req.onerror = () => fail(req.error))));
const committed = (tx) =>
  new Promise((ok, fail) => {
    tx.oncomplete = () => ok();
    tx.onerror = (e) => fail(e.target?.error ?? tx.error ?? new DOMException("the transaction failed", "UnknownError"));
    tx.onabort = () => fail(tx.error ?? new DOMException("the transaction was aborted", "AbortError"));
  });

// Resolves with {db, blobs}: blobs says whether Blobs can be stored here.
const databases = new Map();
function openDb(name) {
  if (!databases.has(name)) {
    const p = new Promise((ok, fail) => {
      if (typeof indexedDB === "undefined") return fail(new Error("this browser has no IndexedDB here"));
      const req = indexedDB.open(name, DB_VERSION);
      req.onupgradeneeded = () => req.result.createObjectStore(FILES);
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => db.close();
        // Can a Blob be stored? (Not in WebKit's private sessions.)
        const t = db.transaction(FILES, "readwrite");
        const probe = "\u0000fxlabel-probe";
        t.objectStore(FILES).put({ blob: new Blob([new Uint8Array(1)]) }, probe);
        t.objectStore(FILES).delete(probe);
        committed(t).then(
          () => ok({ db, blobs: true }),
          () => ok({ db, blobs: false }),
        );
      };
      req.onerror = () => fail(req.error);
      req.onblocked = () => fail(new Error(`IndexedDB database '${name}' is held open by an older version of this page in another tab`));
    });
    p.catch(() => databases.delete(name));
    databases.set(name, p);
  }
  return databases.get(name);
}

/**
 * True when IndexedDB opens here (false in a few locked-down contexts).
 * @returns {Promise<boolean>}
 */
export async function idbSupport(database = "fxlabel") {
  try {
    await openDb(database);
    return true;
  } catch {
    return false;
  }
}

/**
 * An IndexedDB "folder" of label files.
 * @param {string} [dir="labels"] folder name; "a/b" nests
 * @param {object} [opts]
 * @param {string} [opts.database="fxlabel"] IndexedDB database name
 */
export function idbStore(dir = "labels", { database = "fxlabel" } = {}) {
  const name = String(dir).split("/").filter(Boolean).join("/");
  const prefix = `${name}/`;
  const key = (file) => prefix + file;
  // Keys of this folder only: "<dir>/x" but not "<dir>/sub/x".
  const range = () => IDBKeyRange.bound(prefix, `${prefix}\uffff`);
  const own = (k) => !k.slice(prefix.length).includes("/");
  const id = newId();

  async function tx(mode, fn) {
    const t = (await openDb(database)).db.transaction(FILES, mode);
    const result = Promise.resolve(fn(t.objectStore(FILES)));
    result.catch(() => {}); // reported by the transaction too
    await committed(t);
    return result;
  }
  const keys = async () => (await tx("readonly", (s) => done(s.getAllKeys(range())))).filter(own);
  const missing = (file) => Object.assign(new DOMException(`no file named ${file} in IndexedDB ${name}/`, "NotFoundError"), { code: "ENOENT" });
  const record = async (file) => {
    const r = await tx("readonly", (s) => done(s.get(key(file))));
    if (!r) throw missing(file);
    return { ...r, blob: r.blob ?? new Blob([r.bytes]) };
  };

  const store = {
    dir: name,

    capabilities: async () => ({ writeMode: "indexeddb", move: "transaction" }),

    folder: () => ({ display: `IndexedDB ${name}/`, id: `idb:${database}:${name}`, owner: id, lock: "service" }),

    /** True when the folder holds nothing yet (a folder is its keys' prefix). */
    async makeDir() {
      return (await keys()).length === 0;
    },

    removeDir() {}, // an empty folder is no records

    async list() {
      return (await keys()).map((k) => k.slice(prefix.length));
    },

    /** Another run's temporary files are stale: the Web Lock keeps live runs out. */
    alive: () => false,

    async readTail(file, n) {
      const { blob } = await record(file);
      return new Uint8Array(await blob.slice(Math.max(0, blob.size - n)).arrayBuffer());
    },

    readText: () => null, // no lock file here

    createNew() {
      throw new Error("an IndexedDB store keeps its lock with Web Locks, not a lock file");
    },

    ...webLock(`fxlabel-idb:${database}:${name}`),

    /** Gathers the pieces into one Blob and stores it in one transaction. */
    async writeTemp(file, pieces) {
      const parts = [];
      let size = 0;
      // Each piece is copied into a Blob at once (a piece may be a view of
      // memory the writer reuses).
      for (let p; (p = await pieces.next()) !== undefined; ) {
        parts.push(new Blob([p]));
        size += p.length;
      }
      try {
        const blob = new Blob(parts);
        const content = (await openDb(database)).blobs ? { blob } : { bytes: await blob.arrayBuffer() };
        await tx("readwrite", (s) => s.put({ size, lastModified: Date.now(), ...content }, key(file)));
      } catch (err) {
        throw storeError(err);
      }
      return size;
    },

    /** Moves `from` to `to`, replacing `to`: one transaction, so `to` is old or complete. */
    async rename(from, to) {
      let found = true;
      try {
        await tx("readwrite", (s) => {
          const get = s.get(key(from));
          get.onsuccess = () => {
            if (!get.result) return (found = false);
            s.put({ ...get.result, lastModified: Date.now() }, key(to));
            s.delete(key(from));
          };
        });
      } catch (err) {
        throw storeError(err);
      }
      if (!found) throw storeError(missing(from));
    },

    async remove(file) {
      await tx("readwrite", (s) => s.delete(key(file)));
    },

    syncDir() {}, // a committed transaction is durable

    location: (file) => file,

    // ---- beyond the store interface: as opfsStore, for pages ----

    /** `{name, size, lastModified}` of every file (temporary ones included). */
    async entries() {
      const out = [];
      await tx("readonly", (s) => {
        const req = s.openCursor(range());
        req.onsuccess = () => {
          const c = req.result;
          if (!c) return;
          if (own(c.key)) out.push({ name: c.key.slice(prefix.length), size: c.value.size, lastModified: c.value.lastModified });
          c.continue();
        };
      });
      return out;
    },

    /** A file as a File. */
    async file(file) {
      const { blob, lastModified } = await record(file);
      return new File([blob], file, { lastModified });
    },

    /** Removes every file of the folder (and of folders under it). */
    async clear() {
      await tx("readwrite", (s) => s.delete(range()));
    },
  };
  return store;
}
