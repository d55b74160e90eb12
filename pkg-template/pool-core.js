// The row-sharded worker pool, shared by the Node pool (pool.js, worker
// threads) and the browser's (web-pool.js, Web Workers): worker k keeps
// only the candles of its rows (plus the longest window after them) and
// sends its part of every config's file, piece by piece; this side joins
// the parts in row order into the store's temporary file, closes it with
// the footer made by the planning labeler, and renames it.
import { errorFromData, errorToData } from "./errors.js";

// Configs handed to every worker ahead of the one being written, so that
// no worker waits for this thread between configs.
const AHEAD = 2;

/**
 * The row-sharded pool, whatever the platform: `spawn(shard)` starts a
 * worker for rows [start, end) and returns an object with
 * postMessage(msg) and on("message" | "error" | "exit", fn) (Node's
 * worker_threads API; web-pool.js adapts Web Workers to it).
 */
export function runShards(spawn, { keys, shards, onWritten, save, footer, shouldStop }) {
  const queue = [...keys];
  const W = shards.length;
  // key -> {parts: [{pieces, done, part}], wake}
  const live = new Map();
  return new Promise((resolve, reject) => {
    let error = null;
    let cancelled = false;
    let ready = 0;
    let exited = 0;
    let settled = false;
    const pool = [];
    const fail = (err) => {
      error ??= err;
      for (const s of live.values()) s.wake?.();
    };
    const finish = () => {
      if (settled || live.size > 0 || (queue.length > 0 && !error && !cancelled)) return;
      settled = true;
      for (const w of pool) w.postMessage({ stop: true });
    };
    const dispatch = () => {
      while (!error && ready === W && live.size < AHEAD && queue.length > 0) {
        if (shouldStop?.()) {
          cancelled = true;
          break;
        }
        const key = queue.shift();
        const state = { parts: shards.map(() => ({ pieces: [], done: false, part: null })), wake: null };
        live.set(key, state);
        for (const w of pool) w.postMessage({ key });
        write(key, state);
      }
      finish();
    };
    // The file's pieces in row order: part 0 as it arrives, later parts
    // (buffered meanwhile) after it, then the footer.
    async function* pieces(key, state) {
      for (const p of state.parts) {
        for (;;) {
          if (error) throw error;
          if (p.pieces.length > 0) yield p.pieces.shift();
          else if (p.done) break;
          else await new Promise((r) => (state.wake = r));
        }
      }
      yield footer(key, state.parts.map((p) => p.part));
    }
    async function write(key, state) {
      try {
        const it = pieces(key, state);
        const r = await save(key, { next: async () => (await it.next()).value });
        onWritten(key, r.path, r.bytes);
      } catch (err) {
        fail(err);
      } finally {
        live.delete(key);
        // Pieces of parts still arriving for this key are dropped.
        dispatch();
      }
    }
    shards.forEach(([start, end], k) => {
      const w = spawn([start, end]);
      pool.push(w);
      w.on("message", (m) => {
        if (m.ready) {
          ready += 1;
          return dispatch();
        }
        if (m.error) {
          fail(errorFromData(m.error));
          if (!m.key) finish();
          return;
        }
        const state = live.get(m.key);
        if (!state) return;
        const p = state.parts[k];
        if (m.piece) p.pieces.push(m.piece);
        if (m.part) {
          p.part = m.part;
          p.done = true;
        }
        state.wake?.();
        state.wake = null;
      });
      w.on("error", (err) => {
        fail(err);
        finish();
      });
      w.on("exit", (code) => {
        if (code !== 0 && !settled) fail(new Error(`a labeling worker exited with code ${code}`));
        if (!settled) {
          // A worker gone early: stop the others once nothing is in flight.
          finish();
        }
        if (++exited < W) return;
        if (error) reject(error);
        else resolve({ cancelled });
      });
    });
  });
}


/**
 * The worker side: sends `key`'s part for this worker's rows with `post(msg,
 * transfer)`, piece by piece (transferred, not copied), then what the part
 * holds for the footer. `call` wraps wasm calls (the host's trap report).
 */
export function sendPart(labeler, key, post, call = (f) => f()) {
  const stream = call(() => labeler.streamPart(key));
  try {
    for (let piece; (piece = call(() => stream.next())) !== undefined; ) post({ key, piece }, [piece.buffer]);
    const part = call(() => stream.part());
    post({ key, part }, [part.buffer]);
  } finally {
    stream.free();
  }
}

/**
 * A pool worker's loop, shared by Node's (pool-worker.js) and the
 * browser's (web-pool-worker.js): messages are handled one at a time, in
 * order. `handle(msg)` does one (may be async); `{stop: true}` calls
 * `stop()` and ends the loop. A failure is posted as `{key, error}`.
 */
export function workerLoop(handle, post, stop) {
  const queue = [];
  let busy = false;
  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length > 0) {
      const m = queue.shift();
      if (m.stop) return stop();
      try {
        await handle(m);
      } catch (err) {
        const error = errorToData(err);
        if (m.key && !error.message.includes(m.key)) error.message = `${m.key}: ${error.message}`;
        post({ key: m.key, error });
      }
    }
    busy = false;
  }
  return (m) => {
    queue.push(m);
    pump();
  };
}
