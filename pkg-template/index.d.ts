// Types of the fxlabel npm package (both the node and the browser entry).
import type { Table } from "apache-arrow";
export { CandleInput, Labeler, footerSize, readMetadata, toIpcStream, parseKey, version, lastPanic } from "./fxlabel.js";

/** Candles as columns, one value per bar, sorted by time. */
export interface CandleColumns {
  /** Epoch milliseconds UTC (BigInt64Array, Float64Array, numbers, bigints or Dates). `timestamp` is accepted too. */
  timestamps: BigInt64Array | Float64Array | ArrayLike<number> | ArrayLike<bigint> | ArrayLike<Date>;
  open: Float64Array | ArrayLike<number>;
  high: Float64Array | ArrayLike<number>;
  low: Float64Array | ArrayLike<number>;
  close: Float64Array | ArrayLike<number>;
}

/**
 * What labelCandles reads: columns, a Parquet file's bytes, CSV text or
 * bytes (header first), or an (async) iterable of CSV chunks or of the
 * chunks of one Parquet file (e.g. a Node read stream or a fetch body).
 */
export type Candles =
  | CandleColumns
  | Uint8Array
  | ArrayBuffer
  | string
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

/** The settings of a run; each defaults to the label contract's value. */
export interface LabelParams {
  /** Take-profit distances in pips. Default [5, 10, 15, 20, 30, 50]. */
  targetPips?: number[];
  /** Stop-loss distances in pips. Default [5, 10, 15, 20, 30]. */
  stopPips?: number[];
  /** Vertical barriers, whole numbers in `horizonUnit`. Default [1, 5, 15, 30, 60, 240, 1440]. */
  horizons?: number[];
  /** "minutes" (clock time from the timestamps, default) or "bars". */
  horizonUnit?: "minutes" | "bars";
  /** Price of one pip. Default 0.0001 (0.01 for JPY pairs). */
  pipValue?: number;
  /** Directions to label. Default ["long", "short"]. */
  sides?: Array<"long" | "short">;
  /** A bar touching both barriers counts as the stop (default) or the target. */
  tie?: "stop" | "target";
  /** Adds {side}_mfe_pips and {side}_mae_pips. Default false. */
  extras?: boolean;
  /** File format. Default "parquet"; "arrow" writes Arrow IPC files. */
  format?: "parquet" | "arrow";
  /** Parquet codec: "zstd" (default), "zstd:LEVEL", "snappy", "lz4", "gzip", "gzip:LEVEL", "none". */
  compression?: string;
  /** Rows per Parquet row group. */
  rowGroupSize?: number;
}

/** Reported after every config, in grid order. */
export interface Progress {
  /** Configs handled so far (written or skipped), 1..total. */
  done: number;
  total: number;
  /** The config just handled, e.g. "T10_S5_H30". */
  key: string;
  /** True when the config was already saved with matching metadata. */
  skipped: boolean;
  /** Milliseconds since labelCandles was called. */
  elapsedMs: number;
  /** Size of the file just written (0 when skipped). */
  bytes: number;
}

/**
 * Where files go. Every method may be async. Files must become visible
 * under their final name only when complete (write a temporary name, then
 * rename): the resume logic trusts any file with a final name.
 */
export interface LabelStore {
  /** Names in the folder; [] when it does not exist yet. */
  list(): Promise<string[]> | string[];
  /** The last min(n, size) bytes of a file. */
  readTail(name: string, n: number): Promise<Uint8Array> | Uint8Array;
  /** Stores a complete file atomically; returns where it now is (path or name). */
  writeAtomic(name: string, bytes: Uint8Array): Promise<string> | string;
  /** Deletes a file; no error when it is already gone. */
  remove(name: string): Promise<void> | void;
  /** Where a file is (used to report skipped files); defaults to its name. */
  location?(name: string): string;
}

export interface LabelOptions extends LabelParams {
  /** Node: output folder (default "labels"). Ignored when `store` is given. */
  dir?: string;
  /** Where to write; defaults to a folder (Node) or memory (browser). */
  store?: LabelStore;
  /** Relabel configs whose existing file was made with other settings or data, instead of throwing. */
  overwrite?: boolean;
  /** Write nothing; return a Map of key -> apache-arrow Table. */
  returnTables?: boolean;
  /** Name of the time column when it is not timestamp/time/date/datetime. */
  timeColumn?: string;
  onProgress?: (p: Progress) => void;
  /** Messages such as "found 4/6 already saved, resuming". */
  onLog?: (message: string) => void;
}

export interface LabelSummary {
  /** Paths (Node) or names of the files written by this run. */
  written: string[];
  /** Paths or names of the files that were already saved. */
  skipped: string[];
  /** Bytes written by this run. */
  bytes: number;
  /** Candles labeled. */
  rows: number;
  elapsedMs: number;
}

/**
 * Errors carry `kind`: "input" (with `row`, 0-based, and `column`),
 * "param" (with `param`), "mismatch" (with `key`; an existing file made
 * with other settings or data), "format" (not a readable file).
 */
export interface FxlabelError extends Error {
  kind?: "input" | "param" | "mismatch" | "format";
  row?: number | null;
  column?: string;
  param?: string;
  key?: string;
}

export function labelCandles(candles: Candles, options: LabelOptions & { returnTables: true }): Promise<Map<string, Table>>;
export function labelCandles(candles: Candles, options?: LabelOptions): Promise<LabelSummary>;

/** A label file's bytes (Parquet or Arrow IPC) as an apache-arrow Table. */
export function tableFromLabelFile(bytes: Uint8Array): Promise<Table>;

/** A store keeping files in a Map (the browser default until OPFS lands). */
export function memoryStore(files?: Map<string, Uint8Array>): LabelStore & { files: Map<string, Uint8Array> };

/** True for the temporary names of files being written (`.T10_S5_H30.parquet.tmp-123`). */
export function isTempName(name: string): boolean;

/** Resolves when the wasm module is ready (already resolved in Node). */
export const ready: Promise<unknown>;

// ---- Node only ----

export const DEFAULT_DIR: string;

/** Node: a folder store (temporary name, fsync, rename). */
export function fsStore(dir?: string): LabelStore & { dir: string };

export interface LabelFileEntry {
  key: string;
  name: string;
  path: string;
  bytes: number;
}

/** Node: the label files in `dir` (default "labels"), in grid order. */
export function listLabelResults(options?: { dir?: string }): Promise<LabelFileEntry[]>;

/** Node: one config's file as an apache-arrow Table; `key` like "T10_S5_H30" or a file name. */
export function loadLabelResults(key: string, options?: { dir?: string }): Promise<Table>;

/**
 * Node: every label file in `dir` as a Map key -> Table. Holds all tables
 * at once: about rows x (8 + 10 x sides) bytes per config (~5.7 GB for the
 * default 210-config grid on 1M candles).
 */
export function loadAllLabelResults(options?: { dir?: string }): Promise<Map<string, Table>>;
