// A page that uses the installed fxlabel package as an app would, bundled
// by Vite (tests/browser/bundler.test.mjs): labels a small CSV on the page
// into memory, and in the package's worker with a pool of 2 Web Workers
// into the browser's store, then reports each file's SHA-256.
import { browserStorage, labelCandles, memoryStore } from "fxlabel";
import { createLabelWorker, storeOf } from "fxlabel/client";

let csv = "timestamp,open,high,low,close\n";
for (let i = 0; i < 6000; i++) {
  const c = 1.1 + 0.0009 * Math.sin(i / 17) + 0.0003 * Math.sin(i / 3);
  csv += `${1704067200000 + i * 60000},${c.toFixed(5)},${(c + 0.0004).toFixed(5)},${(c - 0.0004).toFixed(5)},${c.toFixed(5)}\n`;
}
const options = { targetPips: [5, 10], stopPips: [5], horizons: [15, 60], rowGroupSize: 2000 };

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha = async (bytes) => hex(await crypto.subtle.digest("SHA-256", bytes));

async function main() {
  // On the page, into memory.
  const mem = memoryStore();
  await labelCandles(csv, { ...options, store: mem });
  const page = {};
  for (const [name, bytes] of mem.files) if (name.endsWith(".parquet")) page[name] = await sha(bytes);

  // In the package's worker, rows shared by 2 pool workers, into the browser's store.
  const fx = createLabelWorker();
  const { storage } = await fx.ready;
  const store = storeOf(storage.kind, "bundled");
  await store.clear?.();
  const logs = [];
  // As bytes: the pool workers each read them (a CSV File would be streamed to one worker).
  await fx.run(new TextEncoder().encode(csv), { ...options, workers: 2 }, { dir: "bundled", onLog: (m) => logs.push(m) });
  const worker = {};
  for (const name of (await store.list()).filter((n) => n.endsWith(".parquet")).sort()) {
    worker[name] = await sha(await (await store.file(name)).arrayBuffer());
  }
  fx.terminate();
  return { pageStorage: await browserStorage(), storage, logs, page, worker };
}

main().then(
  (r) => {
    window.fxResult = r;
    document.getElementById("status").textContent = "done";
  },
  (err) => {
    window.fxResult = { error: String(err?.stack ?? err) };
    document.getElementById("status").textContent = `failed: ${err}`;
  },
);
