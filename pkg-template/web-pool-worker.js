// One Web Worker of the browser pool (web-pool.js): keeps the candles of
// its shard of rows and sends its part of each config's file, piece by
// piece (transferred), then what the part holds for the footer.
import init, * as wasm from "./fxlabel.js";
import { createHost } from "./host.js";
import { sendPart, workerLoop } from "./pool-core.js";
import { errorToData } from "./errors.js";

const ready = init({ module_or_path: new URL("./fxlabel_bg.wasm", import.meta.url) });
const host = createHost(wasm, () => null);
const post = (m, t) => self.postMessage(m, t ?? []);
let labeler = null;

async function start({ input, wasmOptions, shard }) {
  try {
    await ready;
    const candles = input.blob ? input.blob : input.bytes;
    labeler = await host.openLabeler(candles, wasmOptions, shard);
    post({ ready: true });
  } catch (err) {
    post({ error: errorToData(err) });
  }
}

const loop = workerLoop(
  (m) => (m.init ? start(m.init) : sendPart(labeler, m.key, post, host.call)),
  post,
  () => {
    labeler?.free();
    post({ exited: true });
    self.close();
  },
);
self.onmessage = ({ data }) => loop(data);
