// The whole Vite set-up an app needs for fxlabel: module workers (the
// package's workers import modules). The wasm file and the workers are
// found through `new URL(..., import.meta.url)`: nothing to copy by hand.
export default {
  worker: { format: "es" },
  build: { target: "es2022" },
};
