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
  /**
   * The column named by the `spreadColumn` option: each bar's spread in
   * price units (finite, >= 0), under that name.
   */
  [spreadColumn: string]: unknown;
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
  | Iterable<Uint8Array | string>
  /** Node: a CSV or Parquet file on disk (Parquet found by its magic bytes). */
  | { path: string };

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
  /**
   * A constant bid/ask spread in pips (finite, >= 0; default 0). Candles
   * are bid prices: the long side buys at the ask, the short side buys
   * back at the ask.
   */
  spreadPips?: number;
  /** The input column holding each bar's spread in price units (not together with a non-zero `spreadPips`). */
  spreadColumn?: string;
  /** "close" (enter at the candle's close, default) or "next_open" (at the next bar's open). */
  entry?: "close" | "next_open";
  /** Adds {side}_uniqueness: average uniqueness, a sample weight for overlapping labels. Default false. */
  weights?: boolean;
  /** Name of the time column when it is not timestamp/time/date/datetime. */
  timeColumn?: string;
  /** File format. Default "parquet"; "arrow" writes Arrow IPC files. */
  format?: "parquet" | "arrow";
  /** Parquet codec: "zstd" (default), "zstd:LEVEL", "snappy", "lz4", "gzip", "gzip:LEVEL", "none". */
  compression?: string;
  /** Rows per Parquet row group (default 262,144; workers share inputs of two row groups or more by rows). */
  rowGroupSize?: number;
}

/** Reported after every config: those already saved first (grid order), then each as it is written (the configs of one horizon together). */
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
 * Where files go: a folder that performs the I/O steps of fxlabel's run
 * protocol. The protocol (in the wasm core) decides everything: what to
 * skip, refuse and remove, temporary names, the lock, when to rename. A
 * store decides nothing; every method may be async.
 */
export interface LabelStore {
  /** How the protocol sees the folder: its name in messages, its identity in this process, this run's owner mark (a pid) and how one run per folder is kept. */
  folder(): { display: string; id: string; owner: string; lock: "file" | "service" | "none" };
  /** Creates the folder if missing; true when it was created now. */
  makeDir(): Promise<boolean> | boolean;
  /** Removes the folder if it is empty (no error otherwise). */
  removeDir(): Promise<void> | void;
  /** Names in the folder. */
  list(): Promise<string[]> | string[];
  /** Whether the run marked `owner` (in a temporary name or a lock) is running; true when it cannot be told. */
  alive(owner: string): Promise<boolean> | boolean;
  /** The last min(n, size) bytes of a file. */
  readTail(name: string, n: number): Promise<Uint8Array> | Uint8Array;
  /** A small text file (the lock), null when absent. */
  readText(name: string): Promise<string | null> | string | null;
  /** Creates `name` holding `text` only if absent, atomically (write `via`, then hard-link it); false when it exists. */
  createNew(name: string, text: string, via: string): Promise<boolean> | boolean;
  /** Stores with `lock: "service"`: takes the folder's lock (false when another holder has it), and gives it back. */
  lock?(): Promise<boolean> | boolean;
  unlock?(): Promise<void> | void;
  /** Creates or truncates `name`, writes `pieces.next()` (Uint8Array, or a promise of one, then undefined), flushes it to storage; resolves to the bytes written. */
  writeTemp(name: string, pieces: { next(): Uint8Array | undefined | Promise<Uint8Array | undefined> }): Promise<number> | number;
  /** Renames `from` to `to`, replacing `to`. */
  rename(from: string, to: string): Promise<void> | void;
  /** Deletes a file; no error when it is already gone. */
  remove(name: string): Promise<void> | void;
  /** Makes a rename durable (fsync of the folder). */
  syncDir(): Promise<void> | void;
  /** Where a file is (reported in the summary); defaults to its name. */
  location?(name: string): string;
}

export interface LabelOptions extends LabelParams {
  /** Output folder (default "labels"): on disk in Node, in the browser's store (OPFS, else IndexedDB) in the browser. Ignored when `store` is given. */
  dir?: string;
  /** Where to write; defaults to a folder (Node), or the browser's store (OPFS, else IndexedDB, else memory: browserStorage()). */
  store?: LabelStore;
  /** Relabel configs whose existing file was made with other settings or data, instead of throwing. */
  overwrite?: boolean;
  /** Write nothing; return a Map of key -> apache-arrow Table. */
  returnTables?: boolean;
  onProgress?: (p: Progress) => void;
  /** Messages such as "found 4/6 already saved, resuming". */
  onLog?: (message: string) => void;
  /**
   * Checked between configs: once aborted, the run stops after the config in
   * flight (its file is saved) and resolves with `cancelled: true`.
   */
  signal?: AbortSignal;
  /**
   * Worker threads (Node) or Web Workers (browser), default 1. With
   * Parquet output and an input of two row groups or more, each worker
   * keeps only its share of the rows and writes its part of every file
   * (joined by the host): memory stays one copy of the candles in all.
   * Otherwise (Node only) each worker holds the whole input and writes
   * whole files. The input must be re-readable: a `{ path }` (Node), a
   * File/Blob (browser), bytes or a string.
   */
  workers?: number;
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
  /** Present (true) when `signal` stopped the run early; the files written so far stay. */
  cancelled?: true;
}

/**
 * Errors carry `kind`: "input" (with `row`, 0-based, and `column`),
 * "param" (with `param`), "mismatch" (with `key`; an existing file made
 * with other settings or data), "format" (not a readable file),
 * "encoding", "busy" (another run has the folder) or "io"; and
 * `exitCode`, the CLIs' exit code for it (2: the request, 1: the rest).
 */
export interface FxlabelError extends Error {
  kind?: "input" | "param" | "mismatch" | "format" | "encoding" | "io" | "busy" | "cancelled";
  exitCode?: 1 | 2;
  row?: number | null;
  column?: string;
  param?: string;
  key?: string;
}

export function labelCandles(candles: Candles, options: LabelOptions & { returnTables: true }): Promise<Map<string, Table>>;
export function labelCandles(candles: Candles, options?: LabelOptions): Promise<LabelSummary>;

/** A label file's bytes (Parquet or Arrow IPC) as an apache-arrow Table. */
export function tableFromLabelFile(bytes: Uint8Array): Promise<Table>;

/** A store keeping files in a Map (the browser's last resort when neither OPFS nor IndexedDB opens; tests). */
export function memoryStore(files?: Map<string, Uint8Array>): LabelStore & { files: Map<string, Uint8Array>; file(name: string): Blob };

/** Resolves when the wasm module is ready (Node initialises it at first use). */
export const ready: Promise<unknown>;

// ---- Browser only ----

/** A browser folder store (OPFS or IndexedDB); also lists, reads and clears for pages that show the files. */
export interface OpfsStore extends LabelStore {
  /** The folder under the OPFS root (or the IndexedDB key prefix). */
  dir: string;
  /**
   * How this store writes here, found by trying the engine once: "sync"
   * (sync access handles: dedicated workers of Chromium and Firefox) or
   * "writable" (createWritable), the rename by move(name) or move(folder,
   * name) (WebKit); an IndexedDB store says "indexeddb" and "transaction".
   */
  capabilities(): Promise<{ writeMode: "sync" | "writable" | "indexeddb"; move: "name" | "folder" | "transaction" }>;
  /** Every file (temporary ones included) with its size. */
  entries(): Promise<Array<{ name: string; size: number; lastModified: number }>>;
  /** One file as a disk-backed File. */
  file(name: string): Promise<File>;
  /** Removes the folder and everything in it. */
  clear(): Promise<void>;
  /** Takes the folder for one run (a Web Lock); false when another tab or worker has it. */
  lock(): Promise<boolean>;
  unlock(): Promise<void>;
}

/**
 * Browser: a store in the Origin Private File System. Files are written to
 * `.<name>.tmp-<id>` (through a sync access handle in a dedicated worker,
 * createWritable otherwise) and renamed when complete.
 */
export function opfsStore(dir?: string, options?: { mode?: "auto" | "sync" | "writable"; root?: FileSystemDirectoryHandle }): OpfsStore;

/**
 * Browser: a store in IndexedDB (one record per file, a finished file
 * written by one transaction), for browsers or windows without a usable
 * OPFS. Same guarantees as opfsStore.
 */
export function idbStore(dir?: string, options?: { database?: string }): OpfsStore;

/** Where label files go in this page or worker, found by feature detection. */
export type BrowserStorage =
  | { kind: "opfs"; writeMode: "sync" | "writable"; move: "name" | "folder" }
  | { kind: "indexeddb" }
  | { kind: "memory" };

/** Browser: what this realm can store files in: OPFS, else IndexedDB, else memory. */
export function browserStorage(): Promise<BrowserStorage>;

/** Browser: the store of that kind for folder `dir`. */
export function storeOf(kind: BrowserStorage["kind"], dir?: string): OpfsStore | LabelStore;

/** Browser: the best store this browser offers for folder `dir` (see browserStorage()). */
export function browserStore(dir?: string): Promise<OpfsStore | LabelStore>;

export interface WorkerProgress extends Progress {
  /** Size of the worker's wasm memory (it only grows: the peak so far). */
  memoryBytes: number;
}

/** Browser: labeling in a dedicated worker (worker.js) that writes to the browser's store (OPFS, else IndexedDB). */
export interface LabelWorker {
  worker: Worker;
  /** Resolves once the worker's wasm module is loaded. */
  ready: Promise<{ version: string; memoryBytes: number; storage: BrowserStorage }>;
  /** True while a run is in flight. */
  readonly busy: boolean;
  /**
   * Labels `input` (a File/Blob of CSV or Parquet, CSV text, Parquet bytes,
   * or `{url}` to fetch) into folder `dir` (default "labels") of the worker's store; resumes
   * from the files already there. Rejects with an FxlabelError (kind
   * "input" names row and column).
   */
  run(
    input: Blob | string | ArrayBuffer | Uint8Array | { url: string },
    options?: LabelParams & { overwrite?: boolean },
    callbacks?: {
      dir?: string;
      /** Pause after each written file (demos and tests interrupt a run with it). */
      pauseMs?: number;
      onProgress?: (p: WorkerProgress) => void;
      onLog?: (message: string) => void;
      onReading?: (r: { loaded: number; size: number }) => void;
    },
  ): Promise<LabelSummary & { memoryBytes: number }>;
  /** Stops after the config in flight; the run resolves with `cancelled: true`. */
  cancel(): void;
  /** A label file of the worker's store as Arrow IPC stream bytes (for apache-arrow's tableFromIPC). */
  ipcBytes(name: string, options?: { dir?: string }): Promise<Uint8Array>;
  /** Stops the worker at once. */
  terminate(): void;
}

/** Browser: starts the labeling worker (`fxlabel/client`; also exported by the browser entry). */
export function createLabelWorker(options?: { url?: string | URL }): LabelWorker;

// ---- Node only ----

export const DEFAULT_DIR: string;

/** Node: a folder on disk, the store `labelCandles` uses for `dir` (the same protocol and lock file as the native CLI). */
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
