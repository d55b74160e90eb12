// Which store a browser gets, by feature detection (never by user agent):
// OPFS where it is usable (sync access handles in workers where they work,
// createWritable + move elsewhere: see opfs-store.js); IndexedDB where OPFS
// is missing or refused (private windows, a WebKit session without
// storage); memory, lost with the page, where neither opens.
import { memoryStore } from "./host.js";
import { idbStore, idbSupport } from "./idb-store.js";
import { opfsStore, opfsSupport } from "./opfs-store.js";

/**
 * What this realm (page or worker) stores label files in:
 * `{kind: "opfs", writeMode: "sync"|"writable", move: "name"|"folder"}`,
 * `{kind: "indexeddb"}` or `{kind: "memory"}`.
 */
export async function browserStorage() {
  const opfs = await opfsSupport();
  if (opfs) return { kind: "opfs", writeMode: opfs.sync ? "sync" : "writable", move: opfs.move };
  if (await idbSupport()) return { kind: "indexeddb" };
  return { kind: "memory" };
}

/** The store of folder `dir` for a storage kind ("opfs", "indexeddb" or "memory"). */
export function storeOf(kind, dir = "labels") {
  switch (kind) {
    case "opfs": return opfsStore(dir);
    case "indexeddb": return idbStore(dir);
    case "memory": return memoryStore();
    default: throw new Error(`unknown storage kind '${kind}' (opfs, indexeddb, memory)`);
  }
}

/** The best store this browser offers for folder `dir` (see browserStorage()). */
export async function browserStore(dir = "labels") {
  return storeOf((await browserStorage()).kind, dir);
}
