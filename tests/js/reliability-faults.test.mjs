// The reliability scripts at a small size (CI): the random-kill soak,
// failing storage and concurrent runs. Larger runs on demand:
// `npm run soak` (50 kills), `node scripts/failing-storage.mjs --every`,
// `node scripts/concurrency.mjs --rounds 10`.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { concurrency } from "../../scripts/concurrency.mjs";
import { failingStorage } from "../../scripts/failing-storage.mjs";
import { soak } from "../../scripts/soak.mjs";
import { SAMPLE, finalFiles, fx, isTemp, tmpDir } from "./helpers.mjs";

test("soak: 10 random SIGKILLs of the npm and native CLIs, each followed by a rerun", async (t) => {
  const r = await soak({ kills: 10, rows: 30_000, cli: "both", seed: 7, maxSeconds: 300, log: (m) => t.diagnostic(m) });
  t.diagnostic(`kills by moment: ${JSON.stringify(r.phases)}; ${r.completedRuns} runs completed`);
  t.diagnostic(`${r.survived} kills survived, ${r.mismatches} mismatches`);
  assert.deepEqual(r.problems, []);
  assert.equal(r.kills, 10);
  assert.equal(r.survived, 10);
});

test("failing storage: disk full, permission denied, failing rename; the error names the config, the next run resumes", async (t) => {
  const r = await failingStorage({ log: (m) => t.diagnostic(m) });
  for (const s of r.skipped) t.diagnostic(`skipped ${s.name}: ${s.why}`);
  assert.deepEqual(r.problems, []);
  assert.ok(r.results.length >= 17, `${r.results.length} scenarios ran`);
});

test("concurrent runs on one folder: never the same config twice, nothing corrupted, a clear message", async (t) => {
  const r = await concurrency({ rounds: 1, rows: 30_000, cli: "both", log: (m) => t.diagnostic(m) });
  t.diagnostic(`outcomes: ${JSON.stringify(r.outcomes)}`);
  assert.deepEqual(r.problems, []);
  assert.equal(r.outcomes["live lock refused"], 2);
});

const GRID = { targetPips: [5, 10], stopPips: [5], horizons: [30, 60] };
const CSV = readFileSync(SAMPLE, "utf8");

test("two runs in one process on one folder: the second is refused, the first finishes", async () => {
  const dir = path.join(tmpDir("inproc"), "labels");
  const results = await Promise.allSettled([fx.labelCandles(CSV, { ...GRID, dir }), fx.labelCandles(CSV, { ...GRID, dir })]);
  const failed = results.filter((x) => x.status === "rejected");
  assert.equal(failed.length, 1, JSON.stringify(results.map((x) => x.reason?.message)));
  assert.equal(failed[0].reason.kind, "busy");
  assert.match(failed[0].reason.message, /another fxlabel run \(in this process\) is writing to/);
  assert.equal(finalFiles(dir).length, 4);
  assert.deepEqual(readdirSync(dir).filter((n) => isTemp(n) || n === ".fxlabel.lock"), []);
  const again = await fx.labelCandles(CSV, { ...GRID, dir });
  assert.equal(again.skipped.length, 4, "the lock was released");
});

test("a stale lock (this pid, left by an earlier process) is taken over; a lock taken away mid-run stops the run", async () => {
  const dir = path.join(tmpDir("lost"), "labels");
  // The pid in a lock can be reused: ours, but not held by this process.
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, ".fxlabel.lock"), `${process.pid}\n`);
  await fx.labelCandles(CSV, { ...GRID, dir, targetPips: [5] });
  assert.equal(existsSync(path.join(dir, ".fxlabel.lock")), false);
  // Another process (here: pid 1, always alive) takes the lock during the
  // run: the next rename is refused, and nothing half-done is left.
  let n = 0;
  await assert.rejects(
    fx.labelCandles(CSV, {
      ...GRID,
      dir,
      onProgress: () => {
        if (++n === 3) writeFileSync(path.join(dir, ".fxlabel.lock"), "1\n");
      },
    }),
    (e) => e.kind === "busy" && /lost the lock on .* now names pid 1/.test(e.message),
  );
  assert.deepEqual(readdirSync(dir).filter(isTemp), []);
  assert.equal(readFileSync(path.join(dir, ".fxlabel.lock"), "utf8"), "1\n", "the other run's lock is left alone");
  assert.equal(finalFiles(dir).length, 3);
});
