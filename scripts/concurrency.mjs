#!/usr/bin/env node
// Concurrent runs on one output folder: two (or three) CLI processes
// started at the same instant must never write the same config at the
// same time, and must leave the folder complete and uncorrupted.
//
//   node scripts/concurrency.mjs [--rounds 10] [--rows 50000] [--cli both|npm|native]
//
// Scenarios, each --rounds times on a fresh folder:
//   pair     two runs at once (npm+npm, native+native, npm+native): one
//            writes, the other exits 1 with "another fxlabel run (pid N) is
//            writing to DIR" (or, when it starts after the first ended,
//            skips everything);
//   stale    three runs at once on a folder whose lock names a dead
//            process (a killed run): exactly one takes the lock over;
//   live     a lock held by a live process: refused, the folder untouched;
//            once that process ends, the next run takes the lock over.
// Checked every time: the configs written across all runs add up to the
// grid exactly (no config written twice), every file equals an
// uninterrupted run's byte for byte, no temporary or lock file is left.
// Prints a summary and exits 1 on any problem. Bounded by --rounds.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { GRID, cliCommand, generateInput } from "./soak.mjs";

const isTemp = (n) => n.startsWith(".") && n.includes(".tmp-");
const isFinal = (n) => /^T.*\.(parquet|arrow)$/.test(n);
const LOCK = ".fxlabel.lock";
const BUSY = /another fxlabel run \(pid (\d+)\) is writing to/;

function run(cmd, input, out) {
  const child = spawn(cmd[0], [...cmd.slice(1), "label", input, "--out", out, ...GRID], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ pid: child.pid, code, stderr, written: Number(/done: (\d+) configs written/.exec(stderr)?.[1] ?? 0) })));
}

/** A pid that is certainly not running: a process that has exited. */
function deadPid() {
  return spawnSync(process.execPath, ["-e", ""]).pid;
}

/** Resolves to {rounds: {scenario: n}, outcomes, problems}. */
export async function concurrency({ rounds = 10, rows = 50_000, cli = "both", log = () => {} } = {}) {
  const work = mkdtempSync(path.join(os.tmpdir(), "fxlabel-conc-"));
  const problems = [];
  const problem = (m) => {
    problems.push(m);
    log(`PROBLEM: ${m}`);
  };
  const outcomes = { "one wrote, other refused": 0, "one wrote, other skipped all": 0, "stale lock taken over by one": 0, "live lock refused": 0 };
  const done = {};
  try {
    const input = path.join(work, "candles.csv");
    generateInput(input, rows, 7);
    const cmds = {};
    for (const k of cli === "both" ? ["npm", "native"] : [cli]) cmds[k] = cliCommand(k);
    const refDir = path.join(work, "reference");
    const ref = await run(Object.values(cmds)[0], input, refDir);
    if (ref.code !== 0) throw new Error(`the reference run failed: ${ref.stderr}`);
    const reference = new Map(readdirSync(refDir).filter(isFinal).map((n) => [n, readFileSync(path.join(refDir, n))]));
    const total = reference.size;
    let folder = 0;

    // The folder after every scenario: complete, equal, clean.
    const checkFolder = (dir, what) => {
      const names = readdirSync(dir);
      const finals = names.filter(isFinal);
      if (finals.length !== total) problem(`${what}: ${finals.length}/${total} files`);
      for (const n of finals) if (!readFileSync(path.join(dir, n)).equals(reference.get(n))) problem(`${what}: ${n} differs from the reference`);
      const left = names.filter((n) => isTemp(n) || n === LOCK);
      if (left.length) problem(`${what}: left ${left.join(", ")}`);
    };
    // Runs started together: the writes add up to the grid exactly, and
    // every run either succeeded or was refused with the lock message.
    const checkRuns = (results, what) => {
      const written = results.reduce((n, r) => n + r.written, 0);
      if (written !== total) problem(`${what}: ${written} configs written in all, the grid has ${total}`);
      for (const r of results) {
        if (r.code === 0) continue;
        const m = BUSY.exec(r.stderr);
        if (r.code !== 1 || !m) problem(`${what}: a run failed without the lock message (exit ${r.code}): ${r.stderr.trim()}`);
        else if (!results.some((o) => o.pid === Number(m[1]))) problem(`${what}: the lock message names pid ${m[1]}, not one of the runs`);
      }
      return results.filter((r) => r.code !== 0).length;
    };

    const kinds = Object.keys(cmds);
    const pairs = kinds.length === 2 ? [["npm", "npm"], ["native", "native"], ["npm", "native"]] : [[kinds[0], kinds[0]]];
    for (let i = 0; i < rounds; i++) {
      for (const [a, b] of pairs) {
        const dir = path.join(work, `f${++folder}`);
        const what = `pair ${a}+${b} round ${i + 1}`;
        const results = await Promise.all([run(cmds[a], input, dir), run(cmds[b], input, dir)]);
        const refused = checkRuns(results, what);
        outcomes[refused ? "one wrote, other refused" : "one wrote, other skipped all"] += 1;
        checkFolder(dir, what);
        done.pair = (done.pair ?? 0) + 1;
      }

      // Three runs race for a stale lock (its process is gone).
      {
        const dir = path.join(work, `f${++folder}`);
        const what = `stale lock round ${i + 1}`;
        mkdirSync(dir);
        writeFileSync(path.join(dir, LOCK), `${deadPid()}\n`);
        const k = kinds[i % kinds.length];
        const results = await Promise.all([run(cmds[k], input, dir), run(cmds[kinds[(i + 1) % kinds.length]], input, dir), run(cmds[k], input, dir)]);
        checkRuns(results, what);
        if (results.filter((r) => r.written > 0).length === 1) outcomes["stale lock taken over by one"] += 1;
        checkFolder(dir, what);
        done.stale = (done.stale ?? 0) + 1;
      }
    }

    // A lock held by a live process (any process: here a sleeping node).
    for (const k of kinds) {
      const dir = path.join(work, `f${++folder}`);
      const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
      mkdirSync(dir);
      writeFileSync(path.join(dir, LOCK), `${holder.pid}\n`);
      const r = await run(cmds[k], input, dir);
      const m = BUSY.exec(r.stderr);
      if (r.code !== 1 || !m || Number(m[1]) !== holder.pid) problem(`live lock (${k}): expected exit 1 naming pid ${holder.pid}, got ${r.code}: ${r.stderr.trim()}`);
      const names = readdirSync(dir);
      if (names.length !== 1 || names[0] !== LOCK || readFileSync(path.join(dir, LOCK), "utf8") !== `${holder.pid}\n`) problem(`live lock (${k}): the folder changed: ${names.join(", ")}`);
      else outcomes["live lock refused"] += 1;
      holder.kill("SIGKILL");
      await new Promise((resolve) => holder.on("close", resolve));
      const after = await run(cmds[k], input, dir);
      if (after.code !== 0 || after.written !== total) problem(`live lock (${k}): after the holder ended, the run failed: ${after.stderr.trim()}`);
      checkFolder(dir, `live lock (${k})`);
      done.live = (done.live ?? 0) + 1;
    }
    return { scenarios: done, outcomes, problems };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const { values: v } = parseArgs({
    options: { rounds: { type: "string", default: "10" }, rows: { type: "string", default: "50000" }, cli: { type: "string", default: "both" } },
  });
  const r = await concurrency({ rounds: Number(v.rounds), rows: Number(v.rows), cli: v.cli, log: (m) => console.log(`  ${m}`) });
  console.log(`scenarios run: ${Object.entries(r.scenarios).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  console.log(`outcomes: ${Object.entries(r.outcomes).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  console.log(`${r.problems.length} problems (files corrupted, configs written twice, leftovers)`);
  process.exitCode = r.problems.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`concurrency: ${err.stack ?? err}`);
    process.exitCode = 2;
  });
}
