// The fxlabel demo page. Labeling runs in the package's worker
// (pkg/worker.js, which owns the wasm instance and writes to the browser's
// store: OPFS, else IndexedDB); this page only sends settings, shows
// progress, and reads the files back for the table, the downloads and the
// heat map.
//
// URL parameter ?pause=MS pauses the worker after each written file, so a
// test (or a presenter) can reload mid-run at a known point.
import { createLabelWorker, storeOf } from "./pkg/browser-client.js";
import { tableFromIPC } from "apache-arrow";
import { downloadZip } from "client-zip";
import { drawHeatMap } from "./heatmap.js";

const DIR = "labels"; // folder of the label files in the store
const EXPORT_DIR = "fxlabel-export"; // OPFS folder of the zip being built
const SETTINGS_KEY = "fxlabel-demo-settings";
const pauseMs = Math.max(0, Number(new URLSearchParams(location.search).get("pause")) || 0);

const $ = (id) => document.getElementById(id);
const fx = createLabelWorker();
// The worker's store (it tells which when ready): the page reads and
// clears it; the worker writes.
let storage = null; // browserStorage() in the worker
let store = null;
const STORE_NAMES = { opfs: "OPFS", indexeddb: "IndexedDB", memory: "memory" };
const where = () => STORE_NAMES[storage?.kind] ?? "the store";
const rows = new Map(); // config key -> {status, size}
let files = []; // label files in the store: {name, key, t, s, h, size, lastModified}
const state = { phase: "idle", summary: null, error: null, skippedInRun: 0 };
window.fxlabelDemo = state; // read by the browser tests and the benchmark

const setPhase = (p) => {
  state.phase = p;
  document.body.dataset.phase = p;
};

// ---------- formatting ----------
const fmtBytes = (n) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
function fmtDuration(s) {
  if (!Number.isFinite(s)) return "–";
  s = Math.round(s);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
function log(msg) {
  const li = document.createElement("li");
  li.textContent = msg;
  $("log").append(li);
  li.scrollIntoView({ block: "nearest" });
}

// ---------- settings ----------
// The labeling workers asked for on the page (1 to 16).
const workerCount = () => Math.max(1, Math.min(16, Math.floor(Number($("workers").value)) || 1));
const FIELDS = ["targets", "stops", "horizons", "unit", "pair", "pip", "tie", "spread-preset", "spread", "spread-column", "entry", "workers"];
const CHECKS = ["long", "short", "weights", "overwrite"];
function saveSettings() {
  const s = { source: document.querySelector("input[name=source]:checked").value };
  for (const f of FIELDS) s[f] = $(f).value;
  for (const c of CHECKS) s[c] = $(c).checked;
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
}
function restoreSettings() {
  let s;
  try {
    s = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? "null");
  } catch {
    s = null;
  }
  if (!s) return;
  for (const f of FIELDS) if (s[f] != null) $(f).value = s[f];
  for (const c of CHECKS) if (s[c] != null) $(c).checked = s[c];
  // A picked file does not survive a reload; the sample does.
  document.querySelector("input[name=source][value=sample]").checked = true;
}

const settingError = (param, message) => Object.assign(new Error(message), { kind: "param", param });
function parseList(id, name) {
  const words = $(id).value.split(/[\s,;]+/).filter(Boolean);
  if (words.length === 0) throw settingError(name, `${name}: give at least one value`);
  const vals = words.map((w) => {
    const v = Number(w);
    if (!Number.isFinite(v)) throw settingError(name, `${name}: '${w}' is not a number`);
    return v;
  });
  return [...new Set(vals)].sort((a, b) => a - b);
}
// The options of labelCandles; positivity and the rest are checked by the wasm module.
function readOptions() {
  const sides = ["long", "short"].filter((s) => $(s).checked);
  if (sides.length === 0) throw settingError("sides", "sides: tick long, short or both");
  const pip = Number($("pip").value);
  if (!Number.isFinite(pip)) throw settingError("pipValue", `pip value: '${$("pip").value}' is not a number`);
  const spread = Number($("spread").value || 0);
  if (!Number.isFinite(spread)) throw settingError("spreadPips", `spread: '${$("spread").value}' is not a number`);
  const spreadColumn = $("spread-column").value.trim();
  return {
    targetPips: parseList("targets", "targets"),
    stopPips: parseList("stops", "stops"),
    horizons: parseList("horizons", "horizons"),
    horizonUnit: $("unit").value,
    pipValue: pip,
    sides,
    tie: $("tie").value,
    spreadPips: spread,
    spreadColumn: spreadColumn || undefined,
    entry: $("entry").value,
    weights: $("weights").checked,
    overwrite: $("overwrite").checked,
    // Web Workers sharing the rows (inputs of two row groups or more).
    workers: workerCount(),
  };
}
// The grid's config keys, in grid order, as the core makes them (asked of
// the worker: the page loads no wasm). `gridKeys` holds the last answer.
let gridKeys = [];
async function refreshKeys() {
  try {
    gridKeys = await fx.keys(readOptions());
  } catch {
    gridKeys = []; // an unfinished edit of the grid: show what the store holds
  }
  renderTable();
}
function readInput() {
  if (document.querySelector("input[name=source]:checked").value === "sample") {
    // The worker fetches it (its own URL is /pkg/worker.js: give an absolute one).
    return { input: { url: new URL("sample.csv", location.href).href }, label: "sample.csv" };
  }
  const f = $("file").files[0];
  if (!f) throw settingError("file", "choose a CSV or Parquet file, or the bundled sample");
  return { input: f, label: f.name };
}

// ---------- files, table ----------
async function refreshFiles() {
  const all = new Map((await store.entries()).map((e) => [e.name, e]));
  // The label files among them, in grid order, as the core tells.
  files = (await fx.labelFiles([...all.keys()])).map(({ name, key, config }) => ({ ...all.get(name), key, t: config.target_pips, s: config.stop_pips, h: config.horizon }));
  const total = files.reduce((n, f) => n + f.size, 0);
  $("store-summary").textContent = `${where()} ${DIR}/: ${files.length} files, ${fmtBytes(total)}`;
  $("zip").disabled = state.phase === "running" || files.length === 0;
  renderTable();
  fillHorizons();
}

function renderTable() {
  const keys = gridKeys;
  const onDisk = new Map(files.map((f) => [f.key, f]));
  const order = [...keys, ...files.map((f) => f.key).filter((k) => !keys.includes(k))];
  const body = document.createElement("tbody");
  for (const key of order) {
    const r = rows.get(key);
    const f = onDisk.get(key);
    const status = r?.status ?? (f ? (keys.includes(key) ? `in ${where()}` : `in ${where()} (other grid)`) : "not labeled");
    const tr = document.createElement("tr");
    tr.dataset.key = key;
    tr.className = { written: "written", "saved before": "saved", "labeling…": "running" }[status] ?? "";
    const cell = (text, cls) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
      return td;
    };
    cell(key);
    cell(status);
    cell(f ? fmtBytes(f.size) : r?.size ? fmtBytes(r.size) : "", "num");
    const td = cell("");
    if (f) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "download";
      b.className = "download";
      b.onclick = () => downloadOne(f.name);
      td.append(b);
    }
    body.append(tr);
  }
  $("configs").tBodies[0].replaceWith(body);
}

function saveBlob(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}
async function downloadOne(name) {
  saveBlob(await store.file(name), name);
}

// Streams every label file into one zip in OPFS (client-zip writes Zip64
// when needed), then downloads that: a multi-GB set never sits in memory.
async function downloadAll() {
  $("zip").disabled = true;
  try {
    const finals = files.map((f) => f.name);
    log(`zipping ${finals.length} files…`);
    async function* entries() {
      for (const name of finals) yield { name, input: await store.file(name) };
    }
    let zip;
    if (storage.kind === "opfs") {
      // Streamed into OPFS, then downloaded: a multi-GB set never sits in memory.
      const root = await navigator.storage.getDirectory();
      const dir = await root.getDirectoryHandle(EXPORT_DIR, { create: true });
      const handle = await dir.getFileHandle("fxlabel-labels.zip", { create: true });
      await downloadZip(entries()).body.pipeTo(await handle.createWritable());
      zip = await handle.getFile();
    } else {
      zip = await downloadZip(entries()).blob(); // IndexedDB: the browser keeps the Blob (on disk when large)
    }
    log(`zip ready: ${finals.length} files, ${fmtBytes(zip.size)}`);
    saveBlob(zip, "fxlabel-labels.zip");
  } catch (err) {
    showError(err);
  } finally {
    $("zip").disabled = files.length === 0;
  }
}

async function clearStore() {
  if (!confirm(`Delete the ${files.length} label files kept in this browser (${where()} ${DIR}/)?`)) return;
  await store.clear();
  if (storage.kind === "opfs") await storeOf("opfs", EXPORT_DIR).clear();
  rows.clear();
  heatCache.clear();
  log("store cleared");
  await refreshFiles();
  await drawHeat();
}

// ---------- errors ----------
function showError(err) {
  const box = $("error");
  let head = "";
  if (err.kind === "input") {
    const where = [err.row != null ? `row ${err.row}` : null, err.column ? `column '${err.column}'` : null].filter(Boolean).join(", ");
    head = `Bad input${where ? ` at ${where}` : ""}`;
    if (err.row != null && err.inputFormat === "csv") head += ` (line ${err.row + 2} of the file, the header being line 1)`;
  } else if (err.kind === "param") head = `Bad setting${err.param ? ` '${err.param}'` : ""}`;
  else if (err.kind === "mismatch") head = `The files in ${where()} were made with other settings or data: tick “relabel” or clear the store`;
  else if (err.quota) head = "The browser's storage is full: download and clear the store, or free space";
  else if (err.kind === "busy") head = "Another run is in progress";
  else head = "Error";
  box.textContent = `${head}\n${err.message}`;
  box.dataset.kind = err.kind ?? "";
  box.dataset.row = err.row ?? "";
  box.dataset.column = err.column ?? "";
  box.hidden = false;
  state.error = { message: err.message, kind: err.kind, row: err.row, column: err.column };
}
const hideError = () => ($("error").hidden = true);

// ---------- a run ----------
function setRunning(on) {
  for (const el of $("settings").querySelectorAll("input, select")) el.disabled = on;
  $("start").disabled = on;
  $("clear").disabled = on;
  $("cancel").disabled = !on;
  $("zip").disabled = on || files.length === 0;
}

async function start(ev) {
  ev.preventDefault();
  hideError();
  let options, src;
  try {
    options = readOptions();
    src = readInput();
  } catch (err) {
    return showError(err);
  }
  saveSettings();
  state.summary = null;
  state.error = null;
  state.skippedInRun = 0;
  setPhase("running");
  setRunning(true);
  rows.clear();
  let keys;
  try {
    keys = gridKeys = await fx.keys(options);
  } catch (err) {
    setPhase("idle");
    setRunning(false);
    return showError(err);
  }
  const onDisk = new Set(files.map((f) => f.key));
  for (const k of keys) rows.set(k, { status: onDisk.has(k) ? `in ${where()}` : "pending" });
  renderTable();
  $("bar").value = 0;
  $("progress-text").textContent = `reading ${src.label}…`;
  log(`start: ${keys.length} configs on ${src.label}`);

  let tLabel = null; // when the first config started (after reading and the shared work)
  let written = 0;
  let skipped = 0;
  const t0 = performance.now();
  try {
    const summary = await fx.run(src.input, options, {
      dir: DIR,
      pauseMs,
      onReading: ({ loaded, size }) => {
        $("bar").value = size ? loaded / size : 0;
        $("progress-text").textContent = `reading ${src.label}: ${fmtBytes(loaded)} of ${fmtBytes(size)}`;
      },
      onLog: (m) => {
        log(m);
        if (m.startsWith("read ")) tLabel = performance.now();
      },
      onProgress: (p) => {
        tLabel ??= performance.now();
        if (p.skipped) skipped++;
        else written++;
        state.skippedInRun = skipped;
        rows.set(p.key, { status: p.skipped ? "saved before" : "written", size: p.bytes });
        const next = keys[p.done];
        if (next && rows.get(next)?.status === "pending") rows.set(next, { status: "labeling…" });
        $("bar").value = p.done / p.total;
        const secs = (performance.now() - tLabel) / 1000;
        const rate = written / Math.max(secs, 1e-3);
        const eta = (p.total - p.done) / rate;
        $("progress-text").textContent =
          `${p.done}/${p.total} configs` + (skipped ? ` (${skipped} saved before)` : "") +
          ` · ${written ? rate.toFixed(rate < 10 ? 2 : 0) : "–"} configs/s · ETA ${written ? fmtDuration(eta) : "–"}` +
          ` · wasm memory ${fmtBytes(p.memoryBytes)}`;
        // Every tenth of the run: new files and sizes in the table. The
        // picture waits for the end (reading files back would compete with
        // the labeling for the CPU); Redraw draws it at any time.
        if (p.done === p.total || p.done % Math.max(1, Math.round(p.total / 10)) === 0) refreshFiles().catch(showError);
        else renderTable();
      },
    });
    const secs = (performance.now() - t0) / 1000;
    state.summary = { ...summary, wallSeconds: secs };
    setPhase(summary.cancelled ? "cancelled" : "done");
    const what = `${summary.written.length} written, ${summary.skipped.length} saved before, ${fmtBytes(summary.bytes)}, ${summary.rows.toLocaleString("en")} candles in ${secs.toFixed(1)} s · wasm memory ${fmtBytes(summary.memoryBytes)}`;
    $("progress-text").textContent = `${summary.cancelled ? "cancelled" : "done"}: ${what}`;
    log(`${summary.cancelled ? "cancelled" : "done"}: ${what}`);
  } catch (err) {
    if (err.kind === "cancelled") {
      // Cancelled while the input was being read: nothing was written.
      setPhase("cancelled");
      $("progress-text").textContent = err.message;
      log(err.message);
    } else {
      setPhase("error");
      showError(err);
      $("progress-text").textContent = `stopped by an error (files already finished stay in ${where()})`;
    }
  } finally {
    for (const [k, r] of rows) if (r.status === "labeling…" || r.status === "pending") rows.set(k, { status: "not labeled" });
    setRunning(false);
    await refreshFiles();
    await drawHeat();
  }
}

function cancel() {
  fx.cancel();
  $("cancel").disabled = true;
  $("progress-text").textContent += " · cancelling after the config in flight…";
}

// ---------- heat map ----------
const heatCache = new Map(); // "name|size|mtime|side" -> {hits, known} or null (side not in the file)

// Share of label == 1 among the non-null labels of one side's column.
function countHits(table, side) {
  const col = table.getChild(`${side}_label`);
  if (!col) return null;
  let hits = 0;
  let known = 0;
  for (const d of col.data) {
    const v = d.values; // already sliced to this chunk; the bitmap is not
    const bits = d.nullCount > 0 ? d.nullBitmap : null;
    for (let i = 0; i < d.length; i++) {
      if (bits && !((bits[(d.offset + i) >> 3] >> ((d.offset + i) & 7)) & 1)) continue;
      known++;
      if (v[i] === 1) hits++;
    }
  }
  return { hits, known };
}

function fillHorizons() {
  const sel = $("hm-horizon");
  let hs = files.map((f) => f.h);
  try {
    hs = hs.concat(readOptions().horizons);
  } catch {}
  hs = [...new Set(hs)].sort((a, b) => a - b);
  const keep = sel.value;
  if (sel.options.length === hs.length && [...sel.options].every((o, i) => Number(o.value) === hs[i])) return;
  sel.replaceChildren(...hs.map((h) => new Option(`${h} ${$("unit").value === "bars" ? "bars" : "min"}`, h)));
  // Default: 30 when the grid has it (a common research horizon), else the first.
  sel.value = hs.includes(Number(keep)) ? keep : hs.includes(30) ? "30" : String(hs[0] ?? "");
}

let drawing = 0; // only the latest draw paints
async function drawHeat() {
  const my = ++drawing;
  const h = Number($("hm-horizon").value);
  const side = $("hm-side").value;
  const cells = files.filter((f) => f.h === h);
  const rates = new Map();
  try {
    for (const f of cells) {
      const ck = `${f.name}|${f.size}|${f.lastModified}|${side}`;
      if (!heatCache.has(ck)) heatCache.set(ck, countHits(tableFromIPC(await fx.ipcBytes(f.name, { dir: DIR })), side));
      if (my !== drawing) return;
      const c = heatCache.get(ck);
      if (c && c.known > 0) rates.set(`${f.t}|${f.s}`, c.hits / c.known);
    }
  } catch (err) {
    if (my === drawing) showError(err);
    return;
  }
  const targets = [...new Set(cells.map((f) => f.t))].sort((a, b) => a - b);
  const stops = [...new Set(cells.map((f) => f.s))].sort((a, b) => a - b);
  drawHeatMap($("heatmap"), {
    rows: targets,
    cols: stops,
    value: (t, s) => rates.get(`${t}|${s}`) ?? null,
    title: `${side} target-hit rate, horizon ${Number.isFinite(h) ? h : "–"} ${$("unit").value === "bars" ? "bars" : "min"} (${rates.size} files)`,
    rowName: "target (pips)",
    colName: "stop (pips)",
  });
  $("heatmap").dataset.cells = String(rates.size);
  state.heat = { horizon: h, side, rates: Object.fromEntries(rates) };
}

// ---------- wiring ----------
$("settings").addEventListener("submit", start);
$("cancel").onclick = cancel;
$("zip").onclick = downloadAll;
$("clear").onclick = clearStore;
$("hm-draw").onclick = drawHeat;
$("hm-horizon").onchange = drawHeat;
$("hm-side").onchange = drawHeat;
$("file").onchange = () => {
  document.querySelector("input[name=source][value=file]").checked = true;
};
$("spread-preset").onchange = () => {
  if ($("spread-preset").value !== "custom") $("spread").value = $("spread-preset").value;
};
$("spread").oninput = () => {
  const v = String(Number($("spread").value));
  $("spread-preset").value = ["0", "0.2", "0.3"].includes(v) ? v : "custom";
};
$("pair").onchange = () => {
  if ($("pair").value !== "custom") $("pip").value = $("pair").value;
};
$("pip").oninput = () => {
  $("pair").value = ["0.0001", "0.01"].includes(String(Number($("pip").value))) ? String(Number($("pip").value)) : "custom";
};
for (const id of ["targets", "stops", "horizons", "unit"]) $(id).addEventListener("change", () => (refreshKeys(), fillHorizons()));

// The engine, for the status line only: the store and the pool are chosen
// by feature detection (browser-store.js), never by this name.
function engineName() {
  const ua = navigator.userAgent;
  const m = ua.match(/Firefox\/([\d.]+)/) ?? ua.match(/(?:Chromium|Chrome)\/([\d.]+)/) ?? ua.match(/Version\/([\d.]+).*Safari/);
  const name = /Firefox\//.test(ua) ? "Firefox (Gecko)" : /Chrome\//.test(ua) ? "Chromium (Blink)" : /AppleWebKit/.test(ua) ? "WebKit" : "unknown engine";
  // WebKit's user agent string is frozen: its version says nothing.
  return m && name !== "WebKit" ? `${name} ${m[1].split(".")[0]}` : name;
}
const STORE_TEXT = {
  opfs: (s) => `OPFS (${s.writeMode === "sync" ? "sync access handles in the worker" : "createWritable"}, then ${s.move === "name" ? "move(name)" : "move(folder, name)"})`,
  indexeddb: () => "IndexedDB (this browser gives no usable OPFS here: each finished file is one transaction; files stay and resume as with OPFS, the zip is built in memory)",
  memory: () => "memory only (this browser offers neither OPFS nor IndexedDB here, e.g. a locked-down private window: files are lost when the page closes)",
};
function showEnvironment() {
  const workers = workerCount();
  $("environment").textContent =
    `${engineName()} · store: ${STORE_TEXT[storage.kind](storage)} · ${workers} labeling worker${workers > 1 ? "s" : ""}` +
    ` (workers read the input as a File: no SharedArrayBuffer needed${globalThis.crossOriginIsolated ? "" : "; this page is not cross-origin isolated"})`;
  document.body.dataset.store = storage.kind;
}
$("workers").addEventListener("change", () => storage && showEnvironment());

restoreSettings();
setPhase("idle");
try {
  ({ storage } = await fx.ready);
  store = storeOf(storage.kind, DIR);
  showEnvironment();
} catch (err) {
  showError(err);
}
if (storage?.kind === "memory") {
  showError(new Error("This browser offers neither OPFS nor IndexedDB to this page (a private window may refuse both): labeling here would keep nothing. Use a normal window of a current Chromium, Firefox or Safari over http://127.0.0.1 or https."));
  $("start").disabled = true;
} else if (storage) {
  await refreshKeys();
  await refreshFiles();
  if (files.length > 0) log(`${where()} holds ${files.length} label files (${fmtBytes(files.reduce((n, f) => n + f.size, 0))}) from an earlier run: Start skips the configs already saved`);
  await drawHeat();
}
fx.ready.then(
  ({ version }) => {
    log(`wasm worker ready (fxlabel ${version})`);
    document.body.dataset.ready = "1";
  },
  (err) => showError(err),
);
