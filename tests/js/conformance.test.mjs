// The run protocol's conformance cases (tests/conformance/cases.json)
// through the Node folder store, as labelCandles drives it; the native and
// OPFS stores run the same cases (tests/conformance.rs,
// tests/browser/stores.test.mjs).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCases } from "../conformance/run.mjs";
import { fx, tmpDir } from "./helpers.mjs";

const DIR = new URL("../conformance/", import.meta.url);
const sha = (b) => createHash("sha256").update(b).digest("hex");
const deadPid = () => spawnSync("true").pid;

test("the Node folder store meets every conformance case", async () => {
  const spec = JSON.parse(readFileSync(new URL("cases.json", DIR), "utf8"));
  const root = tmpDir("conformance");
  const problems = await runCases(spec, {
    labelCandles: fx.labelCandles,
    memoryStore: fx.memoryStore,
    candles: readFileSync(new URL(spec.input, DIR), "utf8"),
    makeStore(n) {
      const dir = path.join(root, `case${n}`);
      mkdirSync(dir, { recursive: true });
      return fx.fsStore(dir);
    },
    put: (store, name, bytes) => writeFileSync(path.join(store.dir, name), bytes),
    state: (store) => Object.fromEntries(readdirSync(store.dir).map((n) => [n, sha(readFileSync(path.join(store.dir, n)))])),
    sha,
    deadOwner: deadPid(),
    lock(store, kind) {
      writeFileSync(path.join(store.dir, ".fxlabel.lock"), `${kind === "live" ? process.ppid : deadPid()}\n`);
    },
  });
  assert.deepEqual(problems, []);
});
