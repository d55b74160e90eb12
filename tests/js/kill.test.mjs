// SIGKILL the CLI mid-run, rerun: every final file is complete and equal
// byte for byte to an uninterrupted run's, and no temporary file is left.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { finalFiles, genCsv, isTemp, runCli, startCli, tmpDir } from "./helpers.mjs";

test("SIGKILL mid-run, then rerun: files equal an uninterrupted run's, no temp file left", async (t) => {
  const dir = tmpDir("kill");
  const input = path.join(dir, "candles.csv");
  writeFileSync(input, genCsv(100_000, 42)); // ~3 s for the default grid
  const reference = path.join(dir, "reference");
  const r = runCli(["label", input, "--out", reference, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  const all = finalFiles(reference);
  assert.equal(all.length, 210);

  const out = path.join(dir, "killed");
  const child = startCli(["label", input, "--out", out]);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  // Kill as soon as the first final file appears.
  const deadline = Date.now() + 60_000;
  while (!(existsSync(out) && finalFiles(out).length > 0)) {
    assert.ok(Date.now() < deadline, `no file appeared within 60 s; stderr: ${stderr}`);
    await sleep(2);
  }
  child.kill("SIGKILL");
  const { signal } = await exited;
  assert.equal(signal, "SIGKILL");

  const partial = finalFiles(out);
  const temps = readdirSync(out).filter(isTemp);
  t.diagnostic(`killed with ${partial.length}/210 files done, ${temps.length} temporary file(s) left`);
  assert.ok(partial.length < 210, "the kill happened mid-run");
  for (const name of partial) {
    assert.ok(readFileSync(path.join(out, name)).equals(readFileSync(path.join(reference, name))), `${name} is complete`);
  }

  // A temporary file as a kill during a write leaves it (deterministic
  // even when this kill fell between two writes).
  writeFileSync(path.join(out, `.${all[all.length - 1]}.tmp-${child.pid}`), readFileSync(path.join(reference, all[0])).subarray(0, 100));
  const again = runCli(["label", input, "--out", out]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`found ${partial.length}/210 already saved, resuming`));
  assert.deepEqual(readdirSync(out).filter(isTemp), [], "stale temporary files removed");
  assert.deepEqual(finalFiles(out), all);
  for (const name of all) {
    assert.ok(readFileSync(path.join(out, name)).equals(readFileSync(path.join(reference, name))), `${name} equals the uninterrupted run's`);
  }
});
