#!/usr/bin/env node
// The npm command-line program: the same flags, messages and exit codes as
// the native CLI (src/bin/fxlabel.rs).
// Exit codes: 0 done, 1 a labeling or I/O error, 2 bad usage, input,
// parameters or a mismatching existing file (nothing on disk is changed then).
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { stat } from "node:fs/promises";
import { parseArgs } from "node:util";

const HELP = `fxlabel: triple-barrier labels for 1-minute FX candles, one file per (target, stop, horizon) config

Usage: fxlabel label INPUT [options]
       fxlabel --help | --version

INPUT is a .parquet or .csv file with timestamp, open, high, low, close
(CSV headers are matched case-insensitively; timestamps may be epoch
milliseconds or datetime text).

Options:
  --out DIR            output folder, created if missing (default: labels)
  --targets LIST       take-profit distances in pips (default: 5,10,15,20,30,50)
  --stops LIST         stop-loss distances in pips (default: 5,10,15,20,30)
  --horizons LIST      vertical barriers, in --unit (default: 1,5,15,30,60,240,1440)
  --unit UNIT          minutes (clock time from the timestamps) or bars (default: minutes)
  --pip VALUE          price of one pip, 0.01 for JPY pairs (default: 0.0001)
  --sides LIST         directions to label (default: long,short)
  --tie POLICY         a bar touching both barriers counts as: stop or target (default: stop)
  --extras             add {side}_mfe_pips and {side}_mae_pips
  --spread-pips X      a constant bid/ask spread in pips; candles are bid prices (default: 0)
  --spread-column NAME the input column holding each bar's spread, in price units
  --entry WHERE        close (enter at the candle's close) or next_open (default: close)
  --weights            add {side}_uniqueness: sample weights for overlapping labels
  --format FORMAT      parquet or arrow (Arrow IPC file) (default: parquet)
  --compression CODEC  zstd[:level], snappy, lz4, gzip[:level], none (default: zstd)
  --row-group-size N   Parquet rows per row group (default: 262144)
  --overwrite          replace existing files made with other settings or data
  --time-column NAME   the time column when it is not timestamp/time/date/datetime
  -j, --jobs N         worker threads (default: cores); with Parquet output and two row
                       groups or more each keeps only its share of the rows
  -q, --quiet          no progress output
  -h, --help           this text
  -V, --version        the version

Existing files whose metadata match this run are skipped, so rerunning an
interrupted run resumes it.
Exit codes: 0 done, 1 labeling or I/O error, 2 bad usage, input or parameters.`;

const OPTIONS = {
  out: { type: "string", default: "labels" },
  targets: { type: "string" },
  stops: { type: "string" },
  horizons: { type: "string" },
  unit: { type: "string" },
  pip: { type: "string" },
  sides: { type: "string" },
  tie: { type: "string" },
  extras: { type: "boolean" },
  "spread-pips": { type: "string" },
  "spread-column": { type: "string" },
  entry: { type: "string" },
  weights: { type: "boolean" },
  format: { type: "string" },
  compression: { type: "string" },
  "row-group-size": { type: "string" },
  overwrite: { type: "boolean" },
  "time-column": { type: "string" },
  jobs: { type: "string", short: "j" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
};

class UsageError extends Error {}

// --jobs: worker threads labeling configs at once (default: the cores).
function jobs(text) {
  if (text === undefined) return availableParallelism();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--jobs: '${text}' is not a positive whole number`);
  return n;
}

function numbers(flag, text) {
  if (text === undefined) return undefined;
  return text.split(",").map((s) => {
    const n = Number(s.trim());
    if (s.trim() === "" || Number.isNaN(n)) throw new UsageError(`--${flag}: '${s}' is not a number (expected a comma-separated list like 5,10,15)`);
    return n;
  });
}

function oneNumber(flag, text) {
  if (text === undefined) return undefined;
  if (text.includes(",")) throw new UsageError(`--${flag} takes one number, got '${text}'`);
  return numbers(flag, text)[0];
}

function humanBytes(b) {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MB`;
  if (b >= 2 ** 10) return `${(b / 2 ** 10).toFixed(1)} kB`;
  return `${b} B`;
}

function humanSecs(s) {
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${s.toFixed(1)}s`;
}

// Redraws one line on a terminal; elsewhere (CI logs, files) prints a line
// at every tenth of the run and at the end, so logs stay short.
function progressBar(stream) {
  const tty = Boolean(stream.isTTY);
  let written = 0;
  let lastDecile = 0;
  return ({ done, total, key, skipped, elapsedMs }) => {
    if (!skipped) written += 1;
    const rate = written / Math.max(elapsedMs / 1000, 1e-3);
    const remaining = total - done;
    const eta = rate > 0 ? remaining / rate : 0;
    const width = 30;
    const fill = Math.floor((done * width) / Math.max(total, 1));
    const line = `[${"#".repeat(fill)}${"-".repeat(width - fill)}] ${done}/${total} ${key} ${rate.toFixed(1)} configs/s ETA ${humanSecs(eta)}`;
    const decile = Math.floor((done * 10) / Math.max(total, 1));
    if (tty) {
      stream.write(`\r${line}\x1b[K${done === total ? "\n" : ""}`);
    } else if (decile > lastDecile || done === total) {
      lastDecile = decile;
      stream.write(`${line}\n`);
    }
  };
}

async function label(input, v) {
  const t0 = Date.now();
  const say = v.quiet ? () => {} : (m) => process.stderr.write(`${m}\n`);
  const options = {
    dir: v.out,
    targetPips: numbers("targets", v.targets),
    stopPips: numbers("stops", v.stops),
    horizons: numbers("horizons", v.horizons),
    horizonUnit: v.unit,
    pipValue: oneNumber("pip", v.pip),
    sides: v.sides?.split(",").map((s) => s.trim()),
    tie: v.tie,
    extras: v.extras,
    spreadPips: oneNumber("spread-pips", v["spread-pips"]),
    spreadColumn: v["spread-column"],
    entry: v.entry,
    weights: v.weights,
    format: v.format,
    compression: v.compression,
    rowGroupSize: v["row-group-size"] === undefined ? undefined : Number(v["row-group-size"]),
    overwrite: v.overwrite,
    timeColumn: v["time-column"],
    workers: jobs(v.jobs),
    onLog: say,
    onProgress: v.quiet ? undefined : progressBar(process.stderr),
  };
  let candles;
  try {
    if (!(await stat(input)).isFile()) throw new Error("not a file");
    // The host opens a `{path}` input: CSV streamed in 1 MiB chunks,
    // Parquet read by row group, footer first; worker threads read the
    // file themselves.
    candles = { path: input };
  } catch (err) {
    throw new UsageError(`cannot read ${input}: ${err.message}`);
  }
  // Loaded after the arguments are checked: compiling wasm is the slow part.
  const { labelCandles } = await import("./node.js");
  const r = await labelCandles(candles, options);
  say(`done: ${r.written.length} configs written, ${r.skipped.length} skipped, ${humanBytes(r.bytes)} in ${v.out} (${humanSecs((Date.now() - t0) / 1000)} total)`);
}

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return void process.stdout.write(`${HELP}\n`);
  if (v.version) {
    const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
    return void process.stdout.write(`fxlabel ${pkg.version}\n`);
  }
  const [command, input, ...rest] = positionals;
  if (command !== "label") throw new UsageError(command ? `unknown command '${command}' (expected: label)` : "no command given (expected: label INPUT)");
  if (!input) throw new UsageError("label needs an INPUT file (.parquet or .csv)");
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  await label(input, v);
}

// Errors from the wasm core carry the exit code the core gives their kind
// (the native CLI's: 2 for the request, 1 for I/O, the lock, encoding);
// the host's own errors get the code of their kind from the core too.
main(process.argv.slice(2)).then(
  () => (process.exitCode = 0),
  async (err) => {
    const usage = err instanceof UsageError;
    // A parameter is named as the user typed it: its flag.
    const flag = err.kind === "param" && err.param ? (await import("./node.js")).flagOf(err.param) : undefined;
    if (flag) err.message = err.message.replace(`'${err.param}'`, `'${flag}'`);
    // A newline first ends a progress line left open on a terminal.
    process.stderr.write(`${process.stderr.isTTY ? "\n" : ""}fxlabel: error: ${err.message}${usage ? "\n(run fxlabel --help for usage)" : ""}\n`);
    process.exitCode = usage ? 2 : (err.exitCode ?? (await import("./node.js")).exitCodeOf(err.kind ?? "io"));
  },
);
