// One Web Worker of the browser pool (web-pool.js): keeps the candles of
// its shard of rows and sends its part of each config's file, piece by
// piece (transferred), then what the part holds for the footer.
import init, * as wasm from "./fxlabel.js";
import { createHost } from "./host.js";
import { sendPart } from "./pool-core.js";

const ready = init({ module_or_path: new URL("./fxlabel_bg.wasm", import.meta.url) });
const host = createHost(wasm, () => null);
let labeler = null;
const queue = [];
let busy = false;

async function start({ input, wasmOptions, shard }) {
  try {
    await ready;
    const candles = input.blob ? input.blob : input.bytes;
    labeler = await host.openLabeler(candles, wasmOptions, shard);
    self.postMessage({ ready: true });
  } catch (err) {
    self.postMessage({ error: { message: err?.message ?? String(err), kind: err?.kind ?? "io" } });
  }
}

async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const m = queue.shift();
    if (m.init) {
      await start(m.init);
      continue;
    }
    if (m.stop) {
      labeler?.free();
      self.postMessage({ exited: true });
      self.close();
      return;
    }
    try {
      sendPart(labeler, m.key, (msg, t) => self.postMessage(msg, t), host.call);
    } catch (err) {
      self.postMessage({ key: m.key, error: { message: `${m.key}: ${err?.message ?? err}`, kind: err?.kind ?? "io" } });
    }
  }
  busy = false;
}

self.onmessage = ({ data }) => {
  queue.push(data);
  pump();
};
