// The package as users install it: `npm pack`, installed into a fresh
// project, then loaded with `import` and with `require` (CommonJS; the
// module initialises its wasm lazily, so there is no top-level await that
// require() would refuse), labeling the sample the same way from both.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { PKG, SAMPLE, tmpDir } from "./helpers.mjs";

const npm = (args, cwd) => {
  const r = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { cwd, encoding: "utf8" });
  assert.equal(r.status, 0, `npm ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

const LABEL = (fx) => `
  const csv = require("node:fs").readFileSync(${JSON.stringify(SAMPLE)}, "utf8");
  const store = fx.memoryStore();
  fx.labelCandles(csv, { targetPips: [5, 10], stopPips: [5], horizons: [30], store }).then((r) => {
    const sizes = [...store.files].map(([n, b]) => n + ":" + b.length).sort();
    console.log(JSON.stringify({ version: fx.version(), written: r.written, sizes }));
  });`;

test("the packed package loads from import and from require, and labels the same", () => {
  const dir = tmpDir("pack");
  npm(["pack", PKG, "--pack-destination", dir], dir);
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  assert.ok(tarball, "npm pack made a tarball");
  const proj = path.join(dir, "project");
  mkdirSync(proj);
  writeFileSync(path.join(proj, "package.json"), JSON.stringify({ name: "uses-fxlabel", private: true }));
  npm(["install", path.join(dir, tarball)], proj);
  writeFileSync(path.join(proj, "a.cjs"), `const fx = require("fxlabel");${LABEL("fx")}`);
  writeFileSync(path.join(proj, "b.mjs"), `import { createRequire } from "node:module"; const require = createRequire(import.meta.url); import * as fx from "fxlabel";${LABEL("fx")}`);
  const run = (file) => {
    const r = spawnSync(process.execPath, [file], { cwd: proj, encoding: "utf8" });
    assert.equal(r.status, 0, `${file}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").at(-1));
  };
  const fromRequire = run("a.cjs");
  const fromImport = run("b.mjs");
  assert.deepEqual(fromRequire, fromImport);
  assert.deepEqual(fromImport.written, ["T5_S5_H30.parquet", "T10_S5_H30.parquet"]);
  // The CLI of the installed package runs too.
  const cli = spawnSync(path.join(proj, "node_modules", ".bin", "fxlabel"), ["--version"], { encoding: "utf8" });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /^fxlabel \d/);
});
