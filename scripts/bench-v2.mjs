#!/usr/bin/env node
// What the version 2 settings cost: the default grid over N synthetic
// 1-minute EURUSD candles with a spread column (fxlabel synth --spread),
// through the native and npm CLIs, each run twice on the same input:
//   - "default": every version 2 setting off;
//   - "v2": --spread-column spread --entry next_open --weights;
//   - with --each, also each of the three settings alone;
// printing time, peak RSS and bytes of each, and the v2 / default ratios
// from the same run (these machines are noisy: only ratios side by side
// mean anything). Figures go to bench-out/bench-v2.json too.
//
// usage: node scripts/bench-v2.mjs [--rows 1000000] [--jobs 1,2] [--skip-npm] [--each]
// (the npm package must be built: npm run build)
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
    jobs: { type: "string" },
    out: { type: "string", default: path.join(root, "bench-out") },
    "skip-npm": { type: "boolean", default: false },
    each: { type: "boolean", default: false },
  },
});
const rows = Number(args.rows.replaceAll("_", ""));
const cores = os.availableParallelism?.() ?? os.cpus().length;
const jobList = args.jobs ? args.jobs.split(",").map(Number) : [...new Set([1, cores])];
const native = path.join(root, "target/release/fxlabel");
const npm = path.join(root, "pkg/cli.js");
const SETTINGS = {
  default: [],
  ...(args.each && {
    "spread column": ["--spread-column", "spread"],
    "next open": ["--entry", "next_open"],
    weights: ["--weights"],
  }),
  v2: ["--spread-column", "spread", "--entry", "next_open", "--weights"],
};

/** Runs a command under GNU time for wall time and peak RSS. */
function timed(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...argv], { encoding: "utf8", maxBuffer: 1 << 26 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed:\n${r.stderr}`);
  return { secs, rssMiB: Number(r.stderr.trim().split("\n").pop()) / 1024 };
}
const dirBytes = (d) => fs.readdirSync(d).reduce((n, f) => n + fs.statSync(path.join(d, f)).size, 0);

console.log(`fxlabel version 2 settings benchmark: ${rows} candles, 210 configs, ${cores} cores, ${os.cpus()[0]?.model}, ${new Date().toISOString().slice(0, 10)}`);
execFileSync("cargo", ["build", "--quiet", "--release", "--features", "cli"], { cwd: root, stdio: "inherit" });
fs.mkdirSync(args.out, { recursive: true });
const input = path.join(args.out, `candles-spread-${rows}.parquet`);
if (!fs.existsSync(input)) execFileSync(native, ["synth", String(rows), input, "--spread"]);

const results = [];
const surfaces = [["native CLI", native, []]];
if (!args["skip-npm"]) surfaces.push(["npm CLI", process.execPath, [npm]]);
for (const [name, cmd, pre] of surfaces) {
  for (const jobs of jobList) {
    const run = {};
    for (const [setting, flags] of Object.entries(SETTINGS)) {
      const dir = path.join(args.out, `v2-${setting.replace(" ", "-")}`);
      fs.rmSync(dir, { recursive: true, force: true });
      const r = timed(cmd, [...pre, "label", input, "--out", dir, "-q", "--jobs", String(jobs), ...flags]);
      run[setting] = { ...r, bytes: dirBytes(dir) };
      fs.rmSync(dir, { recursive: true, force: true }); // GBs at 14.6M rows
      console.log(`${name}, ${jobs} job(s), ${setting}: ${r.secs.toFixed(2)} s, peak RSS ${r.rssMiB.toFixed(0)} MiB, ${(run[setting].bytes / 1e6).toFixed(1)} MB`);
    }
    for (const setting of Object.keys(SETTINGS).slice(1)) {
      const r = run[setting];
      const d = r.rssMiB - run.default.rssMiB;
      console.log(`  ${setting} / default: time ${(r.secs / run.default.secs).toFixed(2)}x, peak RSS ${d >= 0 ? '+' : ''}${d.toFixed(0)} MiB`);
    }
    const ratio = run.v2.secs / run.default.secs;
    results.push({ surface: name, jobs, ...run, timeRatio: ratio });
  }
}
fs.writeFileSync(path.join(args.out, "bench-v2.json"), JSON.stringify({ rows, cores, results }, null, 2));
