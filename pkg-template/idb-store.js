// A label store in IndexedDB: for browsers, or windows, where OPFS is
// missing or refused (private windows, a WebKit session without storage).
// The same I/O primitives of the core's run protocol as opfs-store.js, and
// the same guarantees: one run per folder (a Web Lock), a file gets its
// final name only complete (the rename is one transaction: the temporary
// record is read, stored under the final name and deleted together), a
// quota error names the config (the core adds it to the store's error).
//
// Two object stores keyed "<dir>/<name>": "files" holds each file's bytes
// (one Blob, or an ArrayBuffer where the engine cannot store Blobs in
// IndexedDB: WebKit's private sessions, found by trying), "meta" its
// {size, lastModified}, so listing a folder reads no file. A write or a
// rename updates both in one transaction. Folders are the keys' prefixes.
import { storeError, webLock } from "./opfs-store.js";

const DB_VERSION = 2;
const FILES = "files";
const META = "meta";
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
      req.onupgradeneeded = () => {
        const db = req.result;
        // Version 1 (never released) kept the metadata with the bytes.
        for (const n of [FILES, META]) if (db.objectStoreNames.contains(n)) db.deleteObjectStore(n);
        db.createObjectStore(FILES);
        db.createObjectStore(META);
      };
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => db.close();
        // Can a Blob be stored? (Not in WebKit's private sessions.)
        const t = db.transaction(FILES, "readwrite");
        const probe = "\u0000fxlabel-probe";
        t.objectStore(FILES).put(new Blob([new Uint8Array(1)]), probe);
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

  // fn(files, meta) in one transaction over both object stores.
  async function tx(mode, fn) {
    const t = (await openDb(database)).db.transaction([FILES, META], mode);
    const result = Promise.resolve(fn(t.objectStore(FILES), t.objectStore(META)));
    result.catch(() => {}); // reported by the transaction too
    await committed(t);
    return result;
  }
  const keys = async () => (await tx("readonly", (_, m) => done(m.getAllKeys(range())))).filter(own);
  const missing = (file) => Object.assign(new DOMException(`no file named ${file} in IndexedDB ${name}/`, "NotFoundError"), { code: "ENOENT" });
  // A file's bytes as a Blob, and its metadata.
  const record = async (file) => {
    const [bytes, m] = await tx("readonly", (f, m) => Promise.all([done(f.get(key(file))), done(m.get(key(file)))]));
    if (bytes === undefined || !m) throw missing(file);
    return { ...m, blob: bytes instanceof Blob ? bytes : new Blob([bytes]) };
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
        const bytes = (await openDb(database)).blobs ? blob : await blob.arrayBuffer();
        await tx("readwrite", (f, m) => {
          f.put(bytes, key(file));
          m.put({ size, lastModified: Date.now() }, key(file));
        });
      } catch (err) {
        throw storeError(err);
      }
      return size;
    },

    /** Moves `from` to `to`, replacing `to`: one transaction, so `to` is old or complete. */
    async rename(from, to) {
      let found = true;
      try {
        await tx("readwrite", (f, m) => {
          const [bytes, meta] = [f.get(key(from)), m.get(key(from))];
          meta.onsuccess = () => {
            if (bytes.result === undefined || !meta.result) return (found = false);
            f.put(bytes.result, key(to));
            m.put({ ...meta.result, lastModified: Date.now() }, key(to));
            f.delete(key(from));
            m.delete(key(from));
          };
        });
      } catch (err) {
        throw storeError(err);
      }
      if (!found) throw storeError(missing(from));
    },

    async remove(file) {
      await tx("readwrite", (f, m) => {
        f.delete(key(file));
        m.delete(key(file));
      });
    },

    syncDir() {}, // a committed transaction is durable

    location: (file) => file,

    // ---- beyond the store interface: as opfsStore, for pages ----

    /** `{name, size, lastModified}` of every file (temporary ones included). */
    async entries() {
      const [ks, ms] = await tx("readonly", (_, m) => Promise.all([done(m.getAllKeys(range())), done(m.getAll(range()))]));
      return ks.map((k, i) => own(k) && { name: k.slice(prefix.length), ...ms[i] }).filter(Boolean);
    },

    /** A file as a File. */
    async file(file) {
      const { blob, lastModified } = await record(file);
      return new File([blob], file, { lastModified });
    },

    /** Removes every file of the folder (and of folders under it). */
    async clear() {
      await tx("readwrite", (f, m) => {
        f.delete(range());
        m.delete(range());
      });
    },
  };
  return store;
}
