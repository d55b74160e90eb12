// Shared helpers of the Node tests. Every test runs against the BUILT
// package in pkg/ (npm run build first), the way users get it.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const PKG = path.join(ROOT, "pkg");
export const CLI = path.join(PKG, "cli.js");
export const SAMPLE = path.join(ROOT, "data", "sample.csv");
export const SAMPLE_ROWS = 8000;

if (!existsSync(path.join(PKG, "node.js")) || !existsSync(path.join(PKG, "fxlabel_bg.wasm"))) {
  throw new Error(`the built package is missing in ${PKG}: run 'npm run build' first`);
}

/** The package, imported the way a user imports it (node condition). */
export const fx = await import(path.join(PKG, "node.js"));

/** A fresh temporary folder, removed when the process exits. */
export function tmpDir(tag = "t") {
  const d = mkdtempSync(path.join(os.tmpdir(), `fxlabel-${tag}-`));
  process.on("exit", () => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Runs the npm CLI to completion: {code, stdout, stderr}. */
export function runCli(args, opts = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", ...opts });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the npm CLI without waiting (for the kill test). */
export function startCli(args) {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
}

/** name -> {size, mtimeMs, bytes} of every entry of a folder ({} if missing). */
export function snapshot(dir) {
  if (!existsSync(dir)) return {};
  const out = {};
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    const st = statSync(p);
    out[name] = { size: st.size, mtimeMs: st.mtimeMs, bytes: readFileSync(p).toString("base64") };
  }
  return out;
}

export const isTemp = (name) => name.startsWith(".") && name.includes(".tmp-");
export const finalFiles = (dir) => readdirSync(dir).filter((n) => /^T.*\.(parquet|arrow)$/.test(n)).sort();

/** CSV text of `rows` generated candles (scripts/gen-sample.mjs). */
export function genCsv(rows, seed) {
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "gen-sample.mjs"), String(rows), String(seed)], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`gen-sample failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * The native CLI, target/debug/fxlabel. `cargo build --features cli` runs
 * first (a no-op when it is up to date) so that a stale binary is never
 * compared; without cargo an existing binary is used as it is.
 */
export function nativeCli() {
  const bin = path.join(ROOT, "target", "debug", process.platform === "win32" ? "fxlabel.exe" : "fxlabel");
  const r = spawnSync("cargo", ["build", "--features", "cli"], { cwd: ROOT, encoding: "utf8" });
  const cargoMissing = r.error?.code === "ENOENT";
  if (!cargoMissing && (r.error || r.status !== 0)) {
    throw new Error(`cannot build the native CLI with 'cargo build --features cli':\n${r.error?.message ?? r.stderr}`);
  }
  if (!existsSync(bin)) throw new Error(`the native CLI ${bin} is missing and cargo is not on PATH to build it`);
  return bin;
}

/** Column name -> [type, values] of an apache-arrow Table, nulls as null. */
export function tableColumns(table) {
  const out = {};
  for (const f of table.schema.fields) {
    out[f.name] = [String(f.type), f.nullable, [...table.getChild(f.name)]];
  }
  return out;
}
