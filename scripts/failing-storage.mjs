#!/usr/bin/env node
// Failing storage: disk full, permission denied, a failing rename, an
// unreadable folder. Every time, the run must stop with an error that
// names the config and the cause, leave no finished-looking file (every
// file with a final name is complete: equal to an uninterrupted run's),
// and the next run on healthy storage must resume and finish.
//
//   node scripts/failing-storage.mjs [--every] [--rows 20000]
//
// Scenarios (the default fails at the first, a middle and the last config;
// --every fails at every config of the 18-config grid):
//   api/*     labelCandles with an injected store (the `store` option) that
//             wraps the real folder store and fails: ENOSPC after writing
//             half a temporary file (left behind), EACCES on create, EXDEV
//             on rename, EIO reading an existing file, EACCES listing;
//   fsstore/* the real Node folder store with node:fs/promises made to fail
//             (ENOSPC mid-write, EXDEV on rename): it must clean up itself;
//   tmpfs/*   the npm and native CLIs writing to a real, too small tmpfs
//             (needs root and mount; skipped otherwise), then resumed after
//             it is remounted bigger;
//   fsize/*   the CLIs with a file size limit (ulimit -f): EFBIG mid-write;
//   readonly  a folder the CLI may not write (chmod 555; as root, where
//             permissions do not stop writes, the CLI runs as nobody);
//   native/*  the output path is a file; a folder sits where a final file
//             belongs.
// Prints one line per scenario and exits 1 on any problem.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { GRID, cliCommand, generateInput } from "./soak.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// The same grid and row groups as GRID (scripts/soak.mjs).
const OPTIONS = { targetPips: [5, 10, 20], stopPips: [5, 10], horizons: [15, 60, 240], rowGroupSize: 4000 };
const isTemp = (n) => n.startsWith(".") && n.includes(".tmp-");
const isFinal = (n) => /^T.*\.(parquet|arrow)$/.test(n);
const listDir = (dir) => (existsSync(dir) ? readdirSync(dir) : []);
const fsError = (code, what) => Object.assign(new Error(`${code}: ${what}`), { code });

/** Resolves to {results: [{name, ok, detail}], skipped: [{name, why}], problems}. */
export async function failingStorage({ every = false, rows = 20_000, log = () => {} } = {}) {
  const fx = await import(pathToFileURL(path.join(ROOT, "pkg", "node.js")).href);
  const work = mkdtempSync(path.join(os.tmpdir(), "fxlabel-fail-"));
  const results = [];
  const skipped = [];
  const problems = [];
  try {
    const input = path.join(work, "candles.csv");
    generateInput(input, rows, 3);
    const csv = readFileSync(input);
    const refDir = path.join(work, "reference");
    // The order a run writes the configs in (the core's plan: by horizon).
    const order = [];
    await fx.labelCandles(csv, { ...OPTIONS, dir: refDir, onProgress: (p) => order.push(p.key) });
    const reference = new Map(readdirSync(refDir).filter(isFinal).map((n) => [n, readFileSync(path.join(refDir, n))]));
    const keys = [...reference.keys()].map((n) => n.replace(/\.parquet$/, ""));
    const total = order.length;
    const points = every ? order.map((_, i) => i) : [0, Math.floor(total / 2), total - 1];
    let folder = 0;
    const fresh = () => path.join(work, `f${++folder}`);

    // What every scenario must end with.
    function expectFolder(dir) {
      const bad = [];
      const names = listDir(dir);
      for (const n of names.filter(isFinal)) {
        if (!readFileSync(path.join(dir, n)).equals(reference.get(n))) bad.push(`${n} has a final name but is not complete`);
      }
      return { names, bad };
    }
    function record(name, bad, detail) {
      results.push({ name, ok: bad.length === 0, detail });
      for (const b of bad) problems.push(`${name}: ${b}`);
      log(`${bad.length ? "FAIL" : "ok  "} ${name}${detail ? ` (${detail})` : ""}${bad.length ? `: ${bad.join("; ")}` : ""}`);
    }
    // The next run on healthy storage resumes from the files present.
    async function resumeApi(dir) {
      const present = listDir(dir).filter(isFinal).length;
      const logs = [];
      const r = await fx.labelCandles(csv, { ...OPTIONS, dir, onLog: (m) => logs.push(m) });
      const bad = [];
      if (r.skipped.length !== present) bad.push(`the next run skipped ${r.skipped.length}, ${present} files were complete`);
      const { names, bad: b2 } = expectFolder(dir);
      bad.push(...b2);
      if (names.filter(isFinal).length !== total) bad.push(`after resuming, ${names.filter(isFinal).length}/${total} files`);
      if (names.some((n) => isTemp(n) || n === ".fxlabel.lock")) bad.push(`after resuming, left ${names.filter((n) => isTemp(n) || n === ".fxlabel.lock").join(", ")}`);
      return bad;
    }
    // The error thrown names the config and the cause.
    function expectError(err, key, cause) {
      const bad = [];
      if (!err) return ["the run did not fail"];
      if (key && !err.message.includes(key)) bad.push(`the error does not name ${key}: ${err.message}`);
      if (!cause.test(err.message)) bad.push(`the error does not give the cause ${cause}: ${err.message}`);
      return bad;
    }
    const attempt = (p) => p.then(() => null, (e) => e);

    // 1. Injected stores: the real folder store with one method failing.
    const injected = {
      "ENOSPC mid-write (half a temp file left behind)": (store, failName) => ({
        async writeTemp(name, pieces) {
          const n = await store.writeTemp(name, pieces);
          if (name !== `.${failName}.tmp-${process.pid}`) return n;
          // A store that dies mid-write and cannot even clean up.
          truncateSync(path.join(store.dir, name), n >> 1);
          throw fsError("ENOSPC", "no space left on device, write");
        },
      }),
      "EACCES creating the file": (store, failName) => ({
        async writeTemp(name, pieces) {
          if (name === `.${failName}.tmp-${process.pid}`) throw fsError("EACCES", `permission denied, open '${name}'`);
          return store.writeTemp(name, pieces);
        },
      }),
      "EXDEV on rename": (store, failName) => ({
        async rename(from, to) {
          if (to === failName) throw fsError("EXDEV", `cross-device link not permitted, rename '${from}' -> '${to}'`);
          return store.rename(from, to);
        },
      }),
    };
    for (const [what, wrap] of Object.entries(injected)) {
      for (const k of points) {
        const dir = fresh();
        const failName = `${order[k]}.parquet`;
        const base = fx.fsStore(dir);
        const store = { ...base, ...wrap(base, failName) };
        const err = await attempt(fx.labelCandles(csv, { ...OPTIONS, store }));
        const cause = new RegExp(what.split(" ")[0]);
        const bad = expectError(err, order[k], cause);
        if (err && err.kind !== "io") bad.push(`kind is ${err.kind}, not io`);
        const { names, bad: b2 } = expectFolder(dir);
        bad.push(...b2);
        if (names.includes(failName)) bad.push(`${failName} exists after its save failed`);
        if (names.filter(isFinal).length !== k) bad.push(`${names.filter(isFinal).length} files before the failure, expected ${k}`);
        bad.push(...(await resumeApi(dir)));
        record(`api/${what} at config ${k + 1}/${total}`, bad, err?.message);
      }
    }

    // 2. Reading an existing file fails (EIO) or listing fails (EACCES):
    //    the run stops before changing anything.
    {
      const dir = fresh();
      await fx.labelCandles(csv, { ...OPTIONS, dir, targetPips: [5] });
      const before = readdirSync(dir).sort();
      const base = fx.fsStore(dir);
      const eio = { ...base, readTail: async (name) => { throw fsError("EIO", `i/o error, read '${name}'`); } };
      let err = await attempt(fx.labelCandles(csv, { ...OPTIONS, store: eio }));
      const bad = expectError(err, order[0], /EIO/);
      if (JSON.stringify(readdirSync(dir).sort()) !== JSON.stringify(before)) bad.push("the folder changed");
      record("api/EIO reading an existing file", bad, err?.message);
      const eacces = { ...base, list: async () => { throw fsError("EACCES", `permission denied, scandir '${dir}'`); } };
      err = await attempt(fx.labelCandles(csv, { ...OPTIONS, store: eacces }));
      const bad2 = expectError(err, null, /EACCES/);
      if (JSON.stringify(readdirSync(dir).sort()) !== JSON.stringify(before)) bad2.push("the folder changed");
      bad2.push(...(await resumeApi(dir)));
      record("api/EACCES listing the folder", bad2, err?.message);
    }

    // 3. The real folder store with node:fs/promises failing underneath:
    //    its own clean-up is what is tested.
    for (const k of points) {
      for (const what of ["ENOSPC", "EXDEV"]) {
        const dir = fresh();
        const failName = `${order[k]}.parquet`;
        const restore = [];
        if (what === "EXDEV") {
          const rename = fsp.rename;
          fsp.rename = async (from, to) => {
            if (path.basename(to) === failName) throw fsError("EXDEV", `cross-device link not permitted, rename '${from}' -> '${to}'`);
            return rename(from, to);
          };
          restore.push(() => (fsp.rename = rename));
        } else {
          // Handles opened for this config's temporary file fail half-way.
          const open = fsp.open;
          fsp.open = async (p, ...rest) => {
            const fh = await open(p, ...rest);
            if (path.basename(String(p)).startsWith(`.${failName}.tmp-`)) fh.fxFail = true;
            return fh;
          };
          restore.push(() => (fsp.open = open));
          const probe = await open(path.join(work, "probe"), "w");
          const proto = Object.getPrototypeOf(probe);
          await probe.close();
          const writeFile = proto.writeFile;
          proto.writeFile = async function (data, ...rest) {
            if (!this.fxFail) return writeFile.call(this, data, ...rest);
            await writeFile.call(this, data.subarray(0, data.length >> 1), ...rest);
            throw fsError("ENOSPC", "no space left on device, write");
          };
          restore.push(() => (proto.writeFile = writeFile));
          // Streamed writes: like a disk filling up, one short write (no
          // error), then ENOSPC.
          const write = proto.write;
          proto.write = async function (buf, offset = 0, length = buf.length - offset, ...rest) {
            if (!this.fxFail) return write.call(this, buf, offset, length, ...rest);
            if (this.fxShort) throw fsError("ENOSPC", "no space left on device, write");
            this.fxShort = true;
            return write.call(this, buf, offset, Math.max(1, length >> 1), ...rest);
          };
          restore.push(() => (proto.write = write));
        }
        let err;
        try {
          err = await attempt(fx.labelCandles(csv, { ...OPTIONS, dir }));
        } finally {
          restore.forEach((f) => f());
        }
        const bad = expectError(err, order[k], new RegExp(what));
        const { names, bad: b2 } = expectFolder(dir);
        bad.push(...b2);
        if (names.some(isTemp)) bad.push(`the store left ${names.filter(isTemp).join(", ")}`);
        if (names.includes(".fxlabel.lock")) bad.push("the lock was not released");
        if (names.filter(isFinal).length !== k) bad.push(`${names.filter(isFinal).length} files before the failure, expected ${k}`);
        bad.push(...(await resumeApi(dir)));
        record(`fsstore/${what} at config ${k + 1}/${total}`, bad, err?.message);
      }
    }

    // The CLIs, as subprocesses.
    const clis = { npm: cliCommand("npm"), native: cliCommand("native") };
    const cli = (kind, dir, { prefix = [] } = {}) => {
      const cmd = [...clis[kind], "label", input, "--out", dir, ...GRID];
      const r = prefix.length ? spawnSync("bash", ["-c", `${prefix.join(" ")} "$@"`, "bash", ...cmd], { encoding: "utf8" }) : spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
      return { code: r.status, stderr: r.stderr ?? "" };
    };
    // The failed run's error line names a config of the grid and the cause.
    function expectCli(r, cause, { key = true } = {}) {
      const bad = [];
      if (r.code !== 1) bad.push(`exit ${r.code}, expected 1: ${r.stderr.trim()}`);
      const line = r.stderr.split("\n").find((l) => l.startsWith("fxlabel: error:")) ?? "";
      if (key && !keys.some((k) => line.includes(k))) bad.push(`the error names no config: ${line}`);
      if (!cause.test(line)) bad.push(`the error does not give the cause ${cause}: ${line}`);
      return { bad, line };
    }
    function resumeCli(kind, dir) {
      const present = listDir(dir).filter(isFinal).length;
      const r = cli(kind, dir);
      const bad = [];
      if (r.code !== 0) bad.push(`the next run failed: ${r.stderr.trim()}`);
      const m = /found (\d+)\/\d+ already saved/.exec(r.stderr);
      if (present > 0 && Number(m?.[1]) !== present) bad.push(`the next run did not resume the ${present} complete files`);
      const names = listDir(dir);
      const { bad: b2 } = expectFolder(dir);
      bad.push(...b2);
      if (names.filter(isFinal).length !== total) bad.push(`after resuming, ${names.filter(isFinal).length}/${total} files`);
      if (names.some((n) => isTemp(n) || n === ".fxlabel.lock")) bad.push(`after resuming, left ${names.filter((n) => isTemp(n) || n === ".fxlabel.lock").join(", ")}`);
      return bad;
    }

    // 4. A real tmpfs that is too small, remounted bigger for the resume.
    const refBytes = [...reference.values()].reduce((n, b) => n + b.length, 0);
    for (const kind of ["npm", "native"]) {
      const mnt = fresh();
      mkdirSync(mnt);
      const size = Math.round(refBytes * 0.45);
      const m = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mnt], { encoding: "utf8" });
      if (m.status !== 0) {
        skipped.push({ name: `tmpfs/${kind}`, why: `cannot mount a tmpfs here: ${(m.stderr || m.error?.message || "").trim()}` });
        continue;
      }
      try {
        const dir = path.join(mnt, "labels");
        const r = cli(kind, dir);
        const { bad, line } = expectCli(r, /ENOSPC|No space left/);
        const { names, bad: b2 } = expectFolder(dir);
        bad.push(...b2);
        // The failed run cleans up after itself (the npm CLI's worker
        // threads finish the configs in flight first).
        if (names.some(isTemp)) bad.push(`left ${names.filter(isTemp).join(", ")}`);
        const done = names.filter(isFinal).length;
        spawnSync("mount", ["-o", `remount,size=${refBytes * 3}`, mnt]);
        bad.push(...resumeCli(kind, dir));
        record(`tmpfs/${kind}: disk full after ${done}/${total} files`, bad, line);
      } finally {
        spawnSync("umount", [mnt]);
      }
    }

    // 5. A file size limit: writes past it fail with EFBIG (SIGXFSZ is
    //    ignored by the native CLI's shell and handled in Node).
    const limitKiB = Math.floor(Math.min(...[...reference.values()].map((b) => b.length)) / 1024 / 2);
    for (const kind of ["npm", "native"]) {
      const dir = fresh();
      const handler = kind === "npm" ? ["--import", "data:text/javascript,process.on('SIGXFSZ',()=>{})"] : [];
      const cmd = kind === "npm" ? [clis.npm[0], ...handler, clis.npm[1]] : clis.native;
      const r = spawnSync("bash", ["-c", `trap '' XFSZ; ulimit -f ${limitKiB}; exec "$@"`, "bash", ...cmd, "label", input, "--out", dir, ...GRID], { encoding: "utf8" });
      const { bad, line } = expectCli({ code: r.status, stderr: r.stderr }, /EFBIG|File too large/);
      const { names, bad: b2 } = expectFolder(dir);
      bad.push(...b2);
      if (names.some(isTemp)) bad.push(`left ${names.filter(isTemp).join(", ")}`);
      if (names.filter(isFinal).length !== 0) bad.push("a file was finished past the size limit");
      bad.push(...resumeCli(kind, dir));
      record(`fsize/${kind}: file size limit ${limitKiB} KiB`, bad, line);
    }

    // 6. A folder this user may not write: chmod 555, or, as root (whom
    //    permissions do not stop), the CLI run as user nobody via setpriv.
    const root = process.getuid?.() === 0;
    const asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    if (root && spawnSync(asNobody[0], ["--version"]).status !== 0) {
      skipped.push({ name: "readonly", why: "running as root without setpriv: chmod does not stop root's writes" });
    } else {
      if (root) chmodSync(work, 0o755); // nobody must reach the input and the folder
      for (const kind of ["npm", "native"]) {
        const dir = fresh();
        mkdirSync(dir);
        if (!root) chmodSync(dir, 0o555);
        const cmd = [...(root ? asNobody : []), ...clis[kind], "label", input, "--out", dir, ...GRID];
        const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
        chmodSync(dir, 0o755);
        const { bad, line } = expectCli({ code: r.status, stderr: r.stderr ?? "" }, /EACCES|ermission denied/, { key: false });
        if (readdirSync(dir).length) bad.push("the read-only folder changed");
        bad.push(...resumeCli(kind, dir));
        record(`readonly/${kind}${root ? " (as nobody)" : ""}`, bad, line);
      }
    }

    // 7. Native: the output path is a file; a folder where a final file goes.
    {
      const file = path.join(work, "not-a-folder");
      writeFileSync(file, "x");
      const r = cli("native", file);
      const { bad, line } = expectCli(r, /ot a directory|exists/, { key: false });
      if (readFileSync(file, "utf8") !== "x") bad.push("the file was changed");
      record("native/output path is a file", bad, line);
      const r2 = cli("npm", file);
      const e2 = expectCli(r2, /ENOTDIR|EEXIST|ot a directory/, { key: false });
      record("npm/output path is a file", e2.bad, e2.line);
    }
    for (const kind of ["native", "npm"]) {
      const dir = fresh();
      mkdirSync(path.join(dir, `${order[1]}.parquet`), { recursive: true });
      writeFileSync(path.join(dir, `${order[1]}.parquet`, "x"), "x");
      const r = cli(kind, dir);
      const { bad, line } = expectCli(r, /directory|EISDIR/);
      if (readdirSync(dir).filter(isFinal).length !== 1) bad.push("files were written although the run stopped");
      rmSync(path.join(dir, `${order[1]}.parquet`), { recursive: true });
      bad.push(...resumeCli(kind, dir));
      record(`${kind}/a folder named ${order[1]}.parquet`, bad, line);
    }
    return { results, skipped, problems };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const { values: v } = parseArgs({ options: { every: { type: "boolean" }, rows: { type: "string", default: "20000" } } });
  const r = await failingStorage({ every: v.every, rows: Number(v.rows), log: (m) => console.log(m) });
  for (const s of r.skipped) console.log(`skip ${s.name}: ${s.why}`);
  console.log(`${r.results.length} failing-storage scenarios, ${r.results.filter((x) => x.ok).length} passed, ${r.skipped.length} skipped, ${r.problems.length} problems`);
  process.exitCode = r.problems.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`failing-storage: ${err.stack ?? err}`);
    process.exitCode = 2;
  });
}
