#!/usr/bin/env node
// Before/after: the default grid over N synthetic candles through the
// native CLI and the npm CLI of two builds, run alternately (old, new, old,
// new, ...) so that the machine's drift hits both alike; prints each run,
// the medians, their ratio, and whether both wrote the same bytes.
//
//   git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build --release --features cli && npm run build)
//   node scripts/bench-ab.mjs --old /tmp/old [--old-target /tmp/old/target] [--rows 1000000] [--rounds 3] [--jobs 2]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: a } = parseArgs({
  options: {
    old: { type: "string" },
    "old-target": { type: "string" },
    rows: { type: "string", default: "1000000" },
    rounds: { type: "string", default: "3" },
    jobs: { type: "string", default: "2" },
  },
});
if (!a.old) throw new Error("--old DIR (a built checkout of the code to compare with) is required");
const rows = Number(a.rows);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "fxlabel-ab-"));
const input = path.join(work, "candles.csv");
const builds = {
  old: { native: path.join(a["old-target"] ?? path.join(a.old, "target"), "release/fxlabel"), npm: path.join(a.old, "pkg/cli.js") },
  new: { native: path.join(root, "target/release/fxlabel"), npm: path.join(root, "pkg/cli.js") },
};
spawnSync(builds.new.native, ["synth", String(rows), input], { stdio: "inherit" });

function run(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...argv], { encoding: "utf8" });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return { secs, rssMiB: Number(r.stderr.trim().split("\n").pop()) / 1024 };
}

function digest(dir) {
  const h = createHash("sha256");
  for (const f of fs.readdirSync(dir).sort()) h.update(f).update(fs.readFileSync(path.join(dir, f)));
  return h.digest("hex").slice(0, 16);
}

const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
const results = {};
for (const surface of ["native", "npm"]) {
  for (let round = 0; round < Number(a.rounds); round++) {
    for (const which of ["old", "new"]) {
      const out = path.join(work, `${surface}-${which}`);
      fs.rmSync(out, { recursive: true, force: true });
      const b = builds[which][surface];
      const flags = surface === "native" ? ["--jobs", a.jobs] : ["--jobs", a.jobs];
      const r = surface === "native" ? run(b, ["label", input, "--out", out, "-q", ...flags]) : run(process.execPath, [b, "label", input, "--out", out, "-q", ...flags]);
      const key = `${surface} ${which}`;
      (results[key] ??= { secs: [], rss: [], digest: null }).secs.push(r.secs);
      results[key].rss.push(r.rssMiB);
      results[key].digest ??= digest(out);
      console.log(`${key.padEnd(11)} round ${round + 1}: ${r.secs.toFixed(2)} s, ${r.rssMiB.toFixed(0)} MiB`);
    }
  }
}
console.log(`\n${rows} candles, default grid, --jobs ${a.jobs}, ${os.cpus()[0]?.model} x ${os.availableParallelism()}, ${new Date().toISOString().slice(0, 10)}`);
for (const surface of ["native", "npm"]) {
  const o = results[`${surface} old`];
  const n = results[`${surface} new`];
  console.log(`${surface}: old ${median(o.secs).toFixed(2)} s / ${median(o.rss).toFixed(0)} MiB, new ${median(n.secs).toFixed(2)} s / ${median(n.rss).toFixed(0)} MiB, new/old ${(median(n.secs) / median(o.secs)).toFixed(3)}, same bytes: ${o.digest === n.digest}`);
}
fs.rmSync(work, { recursive: true, force: true });
