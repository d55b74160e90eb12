#!/usr/bin/env node
// Random-kill soak: SIGKILL the CLI at random moments, rerun after each
// kill, and prove that no work is ever lost or corrupted.
//
//   node scripts/soak.mjs [--kills 50] [--rows 50000] [--cli npm|native|both]
//                         [--seed 1] [--max-seconds 900]
//
// On a generated input with a small grid (18 configs), an uninterrupted run
// of each CLI is the reference. Then, on a fresh folder, the CLI is started
// and killed after a random delay drawn over the time the run still needs
// (start-up and shared work, encoding, writing, between a rename and the
// next config), and rerun; when a run completes, a new folder is started.
// Checked after every kill: every file with a final name is byte for byte
// the reference's (so no later run can skip a half-written file); checked
// on every rerun: its "found K/T already saved" counts exactly the final
// files present; checked after every completed run: all files present and
// equal, no temporary file, no lock file. Prints `N kills survived, M
// mismatches` and exits 1 when M > 0.
//
// Bounded: at most --kills kills and --max-seconds seconds (the soak stops
// early, saying so, when time runs out). The native CLI is
// target/debug/fxlabel (built with `cargo build --features cli` if cargo is
// there).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// Small row groups: inputs span several, so npm runs use the row-sharded pool.
export const GRID = ["--targets", "5,10,20", "--stops", "5,10", "--horizons", "15,60,240", "--row-group-size", "4000"];
const isTemp = (n) => n.startsWith(".") && n.includes(".tmp-");
const isFinal = (n) => /^T.*\.(parquet|arrow)$/.test(n);
const LOCK = ".fxlabel.lock";

/** The command line of a CLI: [executable, ...leading args]. */
export function cliCommand(kind) {
  if (kind === "npm") {
    const cli = path.join(ROOT, "pkg", "cli.js");
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run 'npm run build' first`);
    return [process.execPath, cli];
  }
  const bin = path.join(ROOT, "target", "debug", "fxlabel");
  const r = spawnSync("cargo", ["build", "--features", "cli"], { cwd: ROOT, encoding: "utf8" });
  if (r.error?.code !== "ENOENT" && r.status !== 0) throw new Error(`cargo build --features cli failed:\n${r.stderr}`);
  if (!existsSync(bin)) throw new Error(`${bin} is missing`);
  return [bin];
}

/** Writes `rows` generated candles as CSV (scripts/gen-sample.mjs). */
export function generateInput(file, rows, seed) {
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "gen-sample.mjs"), String(rows), String(seed)], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`gen-sample failed: ${r.stderr}`);
  writeFileSync(file, r.stdout);
}

function start(cmd, input, out) {
  const child = spawn(cmd[0], [...cmd.slice(1), "label", input, "--out", out, ...GRID], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })));
  return { child, exited };
}

/** A deterministic random number generator (mulberry32): a seed replays a soak. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const listDir = (dir) => (existsSync(dir) ? readdirSync(dir) : []);

/**
 * Runs the soak; resolves to {kills, survived, mismatches, completedRuns,
 * phases, problems, seconds, stoppedEarly}. `log` receives progress lines.
 */
export async function soak({ kills = 50, rows = 50_000, cli = "npm", seed = 1, maxSeconds = 900, log = () => {} } = {}) {
  const t0 = Date.now();
  const deadline = t0 + maxSeconds * 1000;
  const work = mkdtempSync(path.join(os.tmpdir(), "fxlabel-soak-"));
  const random = rng(seed);
  const problems = [];
  const problem = (m) => {
    problems.push(m);
    log(`MISMATCH: ${m}`);
  };
  try {
    const input = path.join(work, "candles.csv");
    generateInput(input, rows, seed);
    const kinds = cli === "both" ? ["npm", "native"] : [cli];

    // 1. References: one uninterrupted run per CLI, timed (to the first
    //    file, and in all) so that kill delays can be spread over a run.
    const refs = {};
    for (const kind of kinds) {
      const cmd = cliCommand(kind);
      const out = path.join(work, `reference-${kind}`);
      const began = Date.now();
      const run = start(cmd, input, out);
      let firstFile = null;
      let done = null;
      run.exited.then((r) => (done = r));
      while (!done) {
        if (firstFile == null && listDir(out).some(isFinal)) firstFile = Date.now() - began;
        await sleep(2);
      }
      const total = Date.now() - began;
      if (done.code !== 0) throw new Error(`the reference run of the ${kind} CLI failed: ${done.stderr}`);
      const files = new Map(listDir(out).filter(isFinal).map((n) => [n, readFileSync(path.join(out, n))]));
      refs[kind] = { cmd, files, total, firstFile: firstFile ?? total };
      log(`${kind} reference: ${files.size} files, ${total} ms (first file after ${firstFile} ms)`);
    }
    if (kinds.length === 2) {
      const same = [...refs.npm.files].every(([n, b]) => refs.native.files.get(n)?.equals(b)) && refs.npm.files.size === refs.native.files.size;
      log(`npm and native references are ${same ? "identical byte for byte" : "DIFFERENT"}`);
    }

    // Every final file must be the reference's, byte for byte.
    const verify = (kind, dir, when) => {
      const ref = refs[kind].files;
      let bad = 0;
      for (const n of listDir(dir).filter(isFinal)) {
        const want = ref.get(n);
        if (!want || !readFileSync(path.join(dir, n)).equals(want)) {
          bad += 1;
          problem(`${when}: ${n} in ${dir} differs from the reference`);
        }
      }
      return bad;
    };

    // 2. Kill, rerun, kill... A cycle is one folder filled from empty.
    const phases = { "start-up / shared work": 0, "writing a file (temp present)": 0, "encoding or between files": 0 };
    let killed = 0;
    let survived = 0;
    let completedRuns = 0;
    let cycle = 0;
    let streak = 0; // runs in a row that completed before their kill
    const open = new Map(); // kind -> folder of the current cycle
    const newCycle = (kind) => {
      const dir = path.join(work, `cycle-${++cycle}-${kind}`);
      open.set(kind, dir);
      return dir;
    };
    while (killed < kills && Date.now() < deadline) {
      const kind = kinds[killed % kinds.length];
      const { cmd, total, firstFile, files } = refs[kind];
      const out = open.get(kind) ?? newCycle(kind);
      const before = listDir(out).filter(isFinal).length;
      // The time this run still needs: start-up, then its share of configs.
      const need = firstFile + ((total - firstFile) * (files.size - before)) / files.size;
      const delay = random() * need * (streak > 2 ? 0.5 : 1.05);
      const began = Date.now();
      const run = start(cmd, input, out);
      const result = await Promise.race([run.exited, sleep(delay).then(() => null)]);
      const check = (stderr) => {
        const m = /found (\d+)\/(\d+) already saved/.exec(stderr);
        if (m && Number(m[1]) !== before) problem(`a rerun found ${m[1]} files already saved, ${before} were complete`);
        if (!m && before > 0 && /done:/.test(stderr)) problem(`a completed rerun did not report the ${before} saved files`);
      };
      if (result) {
        // Completed before the kill: the folder must be whole and clean.
        streak += 1;
        completedRuns += 1;
        check(result.stderr);
        if (result.code !== 0) problem(`an uninterrupted rerun failed (exit ${result.code}): ${result.stderr}`);
        const names = listDir(out);
        if (names.filter(isFinal).length !== files.size) problem(`a completed run left ${names.filter(isFinal).length}/${files.size} files`);
        if (names.some(isTemp) || names.includes(LOCK)) problem(`a completed run left ${names.filter((n) => isTemp(n) || n === LOCK).join(", ")}`);
        verify(kind, out, "after a completed run");
        open.delete(kind);
        continue;
      }
      streak = 0;
      run.child.kill("SIGKILL");
      const { signal, stderr } = await run.exited;
      if (signal !== "SIGKILL") {
        // It finished in the instant before the kill: treat as completed.
        open.delete(kind);
        completedRuns += 1;
        continue;
      }
      killed += 1;
      check(stderr);
      const names = listDir(out);
      const phase = names.some(isTemp) ? "writing a file (temp present)" : Date.now() - began < firstFile && names.filter(isFinal).length === before ? "start-up / shared work" : "encoding or between files";
      phases[phase] += 1;
      if (verify(kind, out, `after kill ${killed}`) === 0) survived += 1;
      if (killed % 10 === 0) log(`${killed}/${kills} kills, ${problems.length} mismatches`);
    }
    const stoppedEarly = killed < kills;

    // 3. Finish every open folder with an uninterrupted run.
    for (const [kind, out] of open) {
      const before = listDir(out).filter(isFinal).length;
      const r = await start(refs[kind].cmd, input, out).exited;
      completedRuns += 1;
      const m = /found (\d+)\/(\d+) already saved/.exec(r.stderr);
      if (r.code !== 0) problem(`the final rerun failed (exit ${r.code}): ${r.stderr}`);
      if (before > 0 && (!m || Number(m[1]) !== before)) problem(`the final rerun did not resume the ${before} saved files`);
      const names = listDir(out);
      if (names.filter(isFinal).length !== refs[kind].files.size) problem("the final rerun left missing files");
      if (names.some(isTemp) || names.includes(LOCK)) problem(`the final rerun left ${names.filter((n) => isTemp(n) || n === LOCK).join(", ")}`);
      verify(kind, out, "after the final rerun");
    }
    return { kills: killed, survived, mismatches: problems.length, completedRuns, cycles: cycle, phases, problems, seconds: (Date.now() - t0) / 1000, stoppedEarly };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const { values: v } = parseArgs({
    options: {
      kills: { type: "string", default: "50" },
      rows: { type: "string", default: "50000" },
      cli: { type: "string", default: "npm" },
      seed: { type: "string", default: String(Date.now() % 1e6) },
      "max-seconds": { type: "string", default: "900" },
    },
  });
  if (!["npm", "native", "both"].includes(v.cli)) throw new Error("--cli must be npm, native or both");
  console.log(`soak: ${v.kills} kills of the ${v.cli} CLI on ${v.rows} candles, ${GRID.join(" ")}, seed ${v.seed}`);
  const r = await soak({ kills: Number(v.kills), rows: Number(v.rows), cli: v.cli, seed: Number(v.seed), maxSeconds: Number(v["max-seconds"]), log: (m) => console.log(`  ${m}`) });
  console.log(`kills by moment: ${Object.entries(r.phases).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  console.log(`${r.completedRuns} runs completed (${r.cycles} folders filled), ${r.seconds.toFixed(0)} s${r.stoppedEarly ? " (stopped early: time limit)" : ""}`);
  console.log(`${r.survived} kills survived, ${r.mismatches} mismatches`);
  process.exitCode = r.mismatches > 0 || r.survived < r.kills ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`soak: ${err.stack ?? err}`);
    process.exitCode = 2;
  });
}
