// The npm CLI on the bundled sample: a real run, resume, refusal of a
// mismatching file, bad input and bad usage.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { SAMPLE, SAMPLE_ROWS, finalFiles, fx, isTemp, runCli, snapshot, tmpDir } from "./helpers.mjs";

const SMALL = ["--targets", "5,10", "--stops", "5,10", "--horizons", "15,60"]; // 8 configs

test("labels the sample with a small grid, then a rerun skips everything", () => {
  const out = path.join(tmpDir("small"), "labels");
  const r = runCli(["label", SAMPLE, "--out", out, ...SMALL]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(finalFiles(out), [
    "T10_S10_H15.parquet", "T10_S10_H60.parquet", "T10_S5_H15.parquet", "T10_S5_H60.parquet",
    "T5_S10_H15.parquet", "T5_S10_H60.parquet", "T5_S5_H15.parquet", "T5_S5_H60.parquet",
  ]);
  // Not a TTY here: progress comes as whole lines, then the summary.
  assert.match(r.stderr, /\] 8\/8 T\S+ [\d.]+ configs\/s ETA/);
  assert.match(r.stderr, /done: 8 configs written, 0 skipped, [\d.]+ kB in .* \([\d.]+s total\)/);
  assert.ok(!r.stderr.includes("\r"), "no carriage returns when stderr is not a terminal");

  const before = snapshot(out);
  const again = runCli(["label", SAMPLE, "--out", out, ...SMALL]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /found 8\/8 already saved, resuming/);
  assert.match(again.stderr, /done: 0 configs written, 8 skipped/);
  assert.deepEqual(snapshot(out), before);
});

test("the default 210-config grid through the CLI, and a rerun writes nothing", async () => {
  const out = path.join(tmpDir("default"), "labels");
  const r = runCli(["label", SAMPLE, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const files = finalFiles(out);
  assert.equal(files.length, 210);
  assert.ok(files.includes("T50_S30_H1440.parquet") && files.includes("T5_S5_H1.parquet"));
  // Non-TTY progress: about one line per tenth, not one per config.
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("["));
  assert.ok(lines.length >= 10 && lines.length <= 11, `${lines.length} progress lines`);
  assert.match(r.stderr, /done: 210 configs written, 0 skipped/);

  const listed = await fx.listLabelResults({ dir: out });
  assert.equal(listed.length, 210);
  assert.deepEqual(listed.slice(0, 2).map((e) => e.key), ["T5_S5_H1", "T5_S5_H5"]); // grid order
  const t = await fx.loadLabelResults("T10_S5_H30", { dir: out });
  assert.equal(t.numRows, SAMPLE_ROWS);

  const before = snapshot(out);
  const again = runCli(["label", SAMPLE, "--out", out]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /found 210\/210 already saved, resuming/);
  assert.match(again.stderr, /done: 0 configs written, 210 skipped/);
  assert.deepEqual(snapshot(out), before);
});

test("resume: after deleting 3 files only those 3 are made, the rest untouched byte for byte", () => {
  const out = path.join(tmpDir("resume"), "labels");
  assert.equal(runCli(["label", SAMPLE, "--out", out, ...SMALL, "-q"]).code, 0);
  const full = snapshot(out);
  const gone = ["T5_S5_H15.parquet", "T10_S5_H60.parquet", "T10_S10_H15.parquet"];
  for (const n of gone) unlinkSync(path.join(out, n));
  // A stale temporary file of an interrupted run is cleaned up too.
  writeFileSync(path.join(out, ".T5_S5_H15.parquet.tmp-999999"), "partial");
  const kept = snapshot(out);

  const r = runCli(["label", SAMPLE, "--out", out, ...SMALL]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /found 5\/8 already saved, resuming/);
  assert.match(r.stderr, /done: 3 configs written, 5 skipped/);
  const after = snapshot(out);
  assert.deepEqual(Object.keys(after), Object.keys(full), "same files, no temp file left");
  for (const [name, s] of Object.entries(after)) {
    if (gone.includes(name)) {
      assert.equal(s.bytes, full[name].bytes, `${name} remade identically`);
    } else if (!isTemp(name)) {
      assert.deepEqual(s, kept[name], `${name} untouched (bytes and mtime)`);
    }
  }
});

test("a file made with another --pip is refused (naming pip_value); --overwrite relabels", () => {
  const out = path.join(tmpDir("mismatch"), "labels");
  const grid = ["--targets", "10", "--stops", "5", "--horizons", "30,60"];
  assert.equal(runCli(["label", SAMPLE, "--out", out, ...grid, "-q"]).code, 0);
  const before = snapshot(out);

  const r = runCli(["label", SAMPLE, "--out", out, ...grid, "--pip", "0.01"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /fxlabel: error: existing file for T10_S5_H30 was made with other settings or data: pip_value differs \(file: 0.0001, this run: 0.01\)/);
  assert.deepEqual(snapshot(out), before, "nothing changed by a refused run");

  const o = runCli(["label", SAMPLE, "--out", out, ...grid, "--pip", "0.01", "--overwrite"]);
  assert.equal(o.code, 0, o.stderr);
  assert.match(o.stderr, /done: 2 configs written, 0 skipped/);
  const meta = fx.readMetadata(readFileSync(path.join(out, "T10_S5_H30.parquet")));
  assert.equal(JSON.parse(meta["fxlabel.settings"]).pip_value, 0.01);

  // A file that is not a label file at all is refused the same way.
  writeFileSync(path.join(out, "T10_S5_H60.parquet"), "not parquet");
  const bad = runCli(["label", SAMPLE, "--out", out, ...grid, "--pip", "0.01"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /T10_S5_H60\.parquet is not a complete label file/);
});

test("bad input exits 2, names row and column, and leaves the folder exactly as it was", () => {
  const dir = tmpDir("badinput");
  const out = path.join(dir, "labels");
  assert.equal(runCli(["label", SAMPLE, "--out", out, "--targets", "10", "--stops", "5", "--horizons", "30", "-q"]).code, 0);
  writeFileSync(path.join(out, ".T5_S5_H1.parquet.tmp-4242"), "stale"); // must survive too
  const before = snapshot(out);

  // Data row 100 (0-based, header excluded) gets high < low.
  const lines = readFileSync(SAMPLE, "utf8").split("\n");
  const f = lines[101].split(",");
  f[2] = (Number(f[3]) - 0.001).toFixed(5); // high below low
  lines[101] = f.join(",");
  const bad = path.join(dir, "bad.csv");
  writeFileSync(bad, lines.join("\n"));

  const r = runCli(["label", bad, "--out", out]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /fxlabel: error: invalid input at row 100, column 'high': high .* is below low/);
  assert.deepEqual(snapshot(out), before);

  // A folder that did not exist is not created by a rejected run.
  const fresh = path.join(dir, "never");
  assert.equal(runCli(["label", bad, "--out", fresh]).code, 2);
  assert.deepEqual(snapshot(fresh), {});

  // Bad parameters: same rules.
  const p = runCli(["label", SAMPLE, "--out", out, "--targets=-5"]);
  assert.equal(p.code, 2);
  assert.match(p.stderr, /invalid parameter '--targets'/);
  const s = runCli(["label", SAMPLE, "--out", out, "--sides", "up"]);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /invalid parameter '--sides': unknown value 'up'/);
  assert.deepEqual(snapshot(out), before);
});

test("CSV headers are case-insensitive and datetime text is accepted", () => {
  const dir = tmpDir("csvtext");
  const lines = readFileSync(SAMPLE, "utf8").trim().split("\n").slice(0, 501);
  const text = ["Date,OPEN,High,low,Close,Volume"]
    .concat(lines.slice(1).map((l) => {
      const [ts, ...rest] = l.split(",");
      return [new Date(Number(ts)).toISOString().replace("T", " ").replace(".000Z", ""), ...rest].join(",");
    }))
    .join("\n");
  writeFileSync(path.join(dir, "dt.csv"), text);
  const copy = path.join(dir, "ms.csv");
  writeFileSync(copy, lines.join("\n") + "\n");
  const grid = ["--targets", "10", "--stops", "5", "--horizons", "30", "-q"];
  assert.equal(runCli(["label", path.join(dir, "dt.csv"), "--out", path.join(dir, "a"), ...grid]).code, 0);
  assert.equal(runCli(["label", copy, "--out", path.join(dir, "b"), ...grid]).code, 0);
  const a = readFileSync(path.join(dir, "a", "T10_S5_H30.parquet"));
  const b = readFileSync(path.join(dir, "b", "T10_S5_H30.parquet"));
  assert.ok(a.equals(b), "datetime text and epoch ms give the same file");

  // --time-column for another name.
  writeFileSync(path.join(dir, "when.csv"), text.replace(/^Date/, "when"));
  assert.equal(runCli(["label", path.join(dir, "when.csv"), "--out", path.join(dir, "c"), ...grid]).code, 2);
  assert.equal(runCli(["label", path.join(dir, "when.csv"), "--out", path.join(dir, "c"), ...grid, "--time-column", "when"]).code, 0);
  assert.ok(readFileSync(path.join(dir, "c", "T10_S5_H30.parquet")).equals(a));
});

test("Parquet input and Arrow output", () => {
  const dir = tmpDir("pq");
  // A label file is itself Parquet with a timestamp column, but no prices:
  // the error must name the missing column.
  const out = path.join(dir, "labels");
  assert.equal(runCli(["label", SAMPLE, "--out", out, "--targets", "10", "--stops", "5", "--horizons", "30", "-q"]).code, 0);
  const miss = runCli(["label", path.join(out, "T10_S5_H30.parquet"), "--out", path.join(dir, "x")]);
  assert.equal(miss.code, 2);
  assert.match(miss.stderr, /column 'open'/);

  const arrow = path.join(dir, "arrow");
  const r = runCli(["label", SAMPLE, "--out", arrow, "--targets", "10", "--stops", "5", "--horizons", "30", "--format", "arrow", "-q"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(finalFiles(arrow), ["T10_S5_H30.arrow"]);
  assert.equal(readFileSync(path.join(arrow, "T10_S5_H30.arrow")).subarray(0, 6).toString(), "ARROW1");
});

test("usage: --help, --version, and usage errors exit 2", () => {
  const h = runCli(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Usage: fxlabel label INPUT/);
  for (const flag of ["--out", "--targets", "--stops", "--horizons", "--unit", "--pip", "--sides", "--tie", "--extras", "--format", "--compression", "--overwrite", "--time-column", "--quiet"]) {
    assert.ok(h.stdout.includes(flag), `help mentions ${flag}`);
  }
  const v = runCli(["--version"]);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), `fxlabel ${fx.version()}`);

  for (const [args, msg] of [
    [[], /no command given/],
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["label"], /needs an INPUT/],
    [["label", SAMPLE, "--bogus"], /Unknown option '--bogus'/],
    [["label", SAMPLE, "--targets", "5,x"], /--targets: 'x' is not a number/],
    [["label", "/nonexistent/candles.csv"], /cannot read \/nonexistent\/candles.csv/],
    [["label", SAMPLE, "--compression", "brotli"], /invalid parameter '--compression'/],
  ]) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
});

test("the README line: default --out is labels/ in the working directory", () => {
  const cwd = tmpDir("cwd");
  mkdirSync(path.join(cwd, "data"));
  copyFileSync(SAMPLE, path.join(cwd, "data", "sample.csv"));
  const r = runCli(["label", "data/sample.csv", "--targets", "10", "--stops", "5", "--horizons", "30", "-q"], { cwd });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "", "--quiet prints nothing");
  assert.deepEqual(finalFiles(path.join(cwd, "labels")), ["T10_S5_H30.parquet"]);
  rmSync(path.join(cwd, "labels"), { recursive: true });
});
