#!/usr/bin/env node
// The benchmark suite: the default grid over N synthetic 1-minute EURUSD
// candles (src/synth.rs: ~0.5 pip/min with intraday seasonality, fat tails,
// 5-decimal quotes, weekend gaps, ~0.5% missing minutes), through
//   - the native CLI, one thread and one per core;
//   - the wasm module in Node, phase by phase (input, shared work, labeling,
//     encoding, writing), in this process;
//   - the npm CLI end to end;
// with peak RSS, wasm memory, bytes written and config-rows per second.
// Figures are printed and written to bench-out/bench.json.
//
//   - with --baseline, the old design (cargo bench --bench grid -- N
//     --baseline: every config walks every window bar by bar), and the
//     speed-up of each run over it.
//
// usage: node scripts/bench.mjs [--rows 1000000] [--configs 210|21] [--jobs 1,2]
//                               [--skip-native] [--skip-wasm] [--skip-npm] [--baseline]
//                               [--python target/pyenv/bin/python] [--peer ../shared/peer]
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    configs: { type: "string", default: "210" },
    out: { type: "string", default: path.join(root, "bench-out") },
    "skip-native": { type: "boolean", default: false },
    "skip-npm": { type: "boolean", default: false },
    "skip-wasm": { type: "boolean", default: false },
    baseline: { type: "boolean", default: false },
    jobs: { type: "string" }, // e.g. "2": the worker counts to run (default: 1 and the cores)
    python: { type: "string" }, // a Python with fxlabel installed: also time label_dataframe
    peer: { type: "string" }, // the peer's folder ("" for ../shared/peer): run it and give ratios to it
  },
});
const rows = Number(args.rows.replaceAll("_", ""));
// 21 configs: 3 targets x 1 stop x the 7 default horizons.
const grid21 = ["--targets", "5,10,20", "--stops", "10"];
const gridArgs = args.configs === "21" ? grid21 : [];
const cores = os.availableParallelism?.() ?? os.cpus().length;
const jobList = args.jobs ? args.jobs.split(",").map(Number) : [...new Set([1, cores])];
fs.mkdirSync(args.out, { recursive: true });
const native = path.join(root, "target/release/fxlabel");
const results = { machine: { cores, cpu: os.cpus()[0]?.model, node: process.version, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1) }, rows, configs: Number(args.configs) };

function say(line) {
  console.log(line);
}
const mb = (b) => (b / 1e6).toFixed(1);
const dirBytes = (d) => fs.readdirSync(d).reduce((n, f) => n + fs.statSync(path.join(d, f)).size, 0);

/** Runs a command under GNU time for wall time and peak RSS. */
function timed(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...argv], { encoding: "utf8", maxBuffer: 1 << 26 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed:\n${r.stderr}`);
  const rssKb = Number(r.stderr.trim().split("\n").pop());
  return { secs, rssMB: rssKb / 1024 };
}

say(`fxlabel benchmark: ${rows} candles, ${args.configs} configs, ${cores} cores, ${results.machine.cpu}`);
execFileSync("cargo", ["build", "--quiet", "--release", "--features", "cli"], { cwd: root, stdio: "inherit" });
const input = path.join(args.out, `candles-${rows}.parquet`);
if (!fs.existsSync(input)) execFileSync(native, ["synth", String(rows), input]);
results.inputBytes = fs.statSync(input).size;

// Native CLI, 1 thread then all cores.
if (!args["skip-native"]) {
  results.native = [];
  for (const jobs of jobList) {
    const dir = path.join(args.out, `native-${jobs}`);
    fs.rmSync(dir, { recursive: true, force: true });
    const r = timed(native, ["label", input, "--out", dir, "--jobs", String(jobs), "-q", ...gridArgs]);
    const bytes = dirBytes(dir);
    results.native.push({ jobs, ...r, bytes, configRowsPerSec: (rows * results.configs) / r.secs });
    say(`native CLI, ${jobs} thread(s): ${r.secs.toFixed(2)} s, peak RSS ${r.rssMB.toFixed(0)} MiB, ${mb(bytes)} MB written, ${((rows * results.configs) / r.secs / 1e6).toFixed(1)} M config-rows/s`);
  }
}

// wasm in Node, phase by phase, in this process.
if (!args["skip-wasm"]) {
  const pkg = path.join(root, process.env.FXLABEL_PKG ?? "pkg");
  const wasmUrl = path.join(pkg, "fxlabel_bg.wasm");
  const mod = await import(path.join(pkg, "fxlabel.js"));
  const exports = await mod.default({ module_or_path: fs.readFileSync(wasmUrl) });
  const wasmBytes = fs.statSync(wasmUrl).size;
  const phases = {};
  let t = performance.now();
  const lap = (name) => {
    const now = performance.now();
    phases[name] = (phases[name] ?? 0) + (now - t) / 1000;
    t = now;
  };
  const opts = args.configs === "21" ? { targetPips: [5, 10, 20], stopPips: [10] } : {};
  const input_ = new mod.CandleInput(opts);
  const file = fs.readFileSync(input);
  input_.parquetRowGroups(file, file.length).forEach(([offset, length], i) => input_.appendParquetRowGroup(i, file.subarray(offset, offset + length)));
  lap("input");
  const labeler = input_.finish();
  lap("shared");
  const keys = labeler.configs();
  // (benchLabelPass is missing from older builds: the split is then skipped.)
  if (typeof labeler.benchLabelPass === "function") for (const k of keys) labeler.benchLabelPass(k);
  lap("labeling");
  const dir = path.join(args.out, "wasm");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  let bytes = 0;
  let peakWasm = 0;
  for (const k of keys) {
    const stream = labeler.stream(k);
    const tmp = path.join(dir, `.${k}.parquet.tmp-${process.pid}`);
    const fd = fs.openSync(tmp, "w");
    for (let piece; (piece = stream.next()) !== undefined; ) {
      lap("labeling+encoding");
      fs.writeSync(fd, piece);
      bytes += piece.length;
      lap("writing");
    }
    stream.free();
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, path.join(dir, `${k}.parquet`));
    lap("writing");
    peakWasm = Math.max(peakWasm, exports.memory.buffer.byteLength);
  }
  labeler.free();
  const total = Object.values(phases).reduce((a, b) => a + b, 0) - phases.labeling; // labeling pass was extra
  const encoding = phases["labeling+encoding"] - phases.labeling;
  results.wasm = {
    wasmBytes,
    phases: { input: phases.input, shared: phases.shared, labeling: phases.labeling, encoding, writing: phases.writing },
    totalSecs: total,
    bytes,
    wasmMemoryMB: peakWasm / 2 ** 20,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    configRowsPerSec: (rows * keys.length) / total,
  };
  const p = results.wasm.phases;
  say(`wasm in Node (1 thread): input ${p.input.toFixed(2)} s, shared ${p.shared.toFixed(2)} s, labeling ${p.labeling.toFixed(2)} s, encoding ${p.encoding.toFixed(2)} s, writing ${p.writing.toFixed(2)} s = ${total.toFixed(2)} s`);
  say(`  ${mb(bytes)} MB written, wasm memory ${results.wasm.wasmMemoryMB.toFixed(0)} MiB, peak RSS ${results.wasm.peakRssMB.toFixed(0)} MiB, ${((rows * keys.length) / total / 1e6).toFixed(1)} M config-rows/s`);
}

// The npm CLI end to end, one worker then one per core.
if (!args["skip-npm"]) {
  results.npm = [];
  for (const jobs of jobList) {
    const dir = path.join(args.out, `npm-${jobs}`);
    fs.rmSync(dir, { recursive: true, force: true });
    const r = timed(process.execPath, [path.join(root, "pkg/cli.js"), "label", input, "--out", dir, "--quiet", "--jobs", String(jobs), ...gridArgs]);
    const bytes = dirBytes(dir);
    results.npm.push({ jobs, ...r, bytes, configRowsPerSec: (rows * results.configs) / r.secs });
    say(`npm CLI, ${jobs} worker(s): ${r.secs.toFixed(2)} s, peak RSS ${r.rssMB.toFixed(0)} MiB, ${mb(bytes)} MB written, ${((rows * results.configs) / r.secs / 1e6).toFixed(1)} M config-rows/s`);
    const nat = results.native?.find((x) => x.jobs === jobs);
    if (nat) say(`  npm CLI / native CLI time ratio at ${jobs} worker(s): ${(r.secs / nat.secs).toFixed(2)}`);
  }
}

// The Python package's label_dataframe (a path, and a pandas DataFrame
// read from it), with --python PY: the interpreter that has fxlabel
// installed (scripts/setup.sh makes target/pyenv/bin/python).
if (args.python) {
  results.python = [];
  const grid = args.configs === "21" ? "target_pips=[5, 10, 20], stop_pips=[10]," : "";
  for (const jobs of jobList) {
    for (const how of ["path", "pandas"]) {
      const dir = path.join(args.out, `python-${how}-${jobs}`);
      fs.rmSync(dir, { recursive: true, force: true });
      const df = how === "path" ? JSON.stringify(input) : `__import__("pandas").read_parquet(${JSON.stringify(input)})`;
      const code = `import fxlabel; fxlabel.label_dataframe(${df}, ${grid} out_dir=${JSON.stringify(dir)}, jobs=${jobs})`;
      const r = timed(args.python, ["-c", code]);
      const bytes = dirBytes(dir);
      results.python.push({ jobs, input: how, ...r, bytes });
      say(`Python label_dataframe(${how === "path" ? "path" : "pandas DataFrame, read_parquet included"}), ${jobs} thread(s): ${r.secs.toFixed(2)} s, peak RSS ${r.rssMB.toFixed(0)} MiB, ${mb(bytes)} MB written`);
      const nat = results.native?.find((x) => x.jobs === jobs);
      if (nat) say(`  Python / native CLI time ratio at ${jobs} thread(s): ${(r.secs / nat.secs).toFixed(2)}`);
    }
  }
}

// The peer (../shared/peer/: the design users ran before, a Numba loop per
// config, pandas, pyarrow zstd) on the same candles, in this run, and every
// fxlabel run's speed-up over it. Its virtual environment is made on first
// use (bench-out/.venv-peer, from its requirements.txt).
if (args.peer !== undefined) {
  const peerDir = path.resolve(root, args.peer || "../shared/peer");
  const venv = path.join(args.out, ".venv-peer");
  const py = path.join(venv, "bin", "python");
  if (!fs.existsSync(py)) {
    say(`installing the peer's environment into ${venv}`);
    execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    execFileSync(path.join(venv, "bin", "pip"), ["install", "--quiet", "-r", path.join(peerDir, "requirements.txt")], { stdio: "inherit" });
  }
  const dir = path.join(args.out, "peer");
  fs.rmSync(dir, { recursive: true, force: true });
  const peerGrid = args.configs === "21" ? ["--targets", "5,10,20", "--stops", "10"] : [];
  const r = timed(py, [path.join(peerDir, "peer_seed.py"), input, "--out", dir, ...peerGrid]);
  results.peer = { ...r, bytes: dirBytes(dir) };
  say(`peer (${peerDir}): ${r.secs.toFixed(1)} s, peak RSS ${r.rssMB.toFixed(0)} MiB, ${mb(results.peer.bytes)} MB written`);
  for (const [what, runs, unit] of [["native CLI", results.native, "thread"], ["npm CLI", results.npm, "worker"], ["Python", results.python, "thread"]]) {
    for (const x of runs ?? []) {
      x.speedupVsPeer = r.secs / x.secs;
      say(`  ${what}${x.input ? ` (${x.input})` : ""}, ${x.jobs} ${unit}(s): ${x.speedupVsPeer.toFixed(1)}x the peer`);
    }
  }
}

// The old design, timed by the Rust bench on the same synthetic candles
// (one config per horizon walked, extrapolated to the grid; labeling only,
// so the speed-ups below are conservative).
if (args.baseline) {
  const r = spawnSync("cargo", ["bench", "--quiet", "--features", "cli", "--bench", "grid", "--", String(rows), "--baseline"], { cwd: root, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`cargo bench failed:\n${r.stderr}`);
  const m = r.stdout.match(/the grid ~([\d.]+) s/);
  if (!m) throw new Error(`no baseline figure in:\n${r.stdout}`);
  const secs = Number(m[1]) * (results.configs / 210);
  results.oldDesign = { secs, note: "labeling only, extrapolated from one config per horizon" };
  say(`old design (walk every window, per config): ~${secs.toFixed(0)} s for the labeling alone`);
  for (const [what, runs] of [["native CLI", results.native], ["npm CLI", results.npm]]) {
    for (const x of runs ?? []) {
      x.speedupVsOld = secs / x.secs;
      say(`  ${what}, ${x.jobs} ${what === "npm CLI" ? "worker" : "thread"}(s), whole job to disk: ${x.speedupVsOld.toFixed(1)}x faster`);
    }
  }
}

fs.writeFileSync(path.join(args.out, "bench.json"), JSON.stringify(results, null, 2) + "\n");
say(`figures written to ${path.relative(root, path.join(args.out, "bench.json"))}`);
