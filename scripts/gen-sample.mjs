#!/usr/bin/env node
// Deterministic synthetic 1-minute EURUSD candles as CSV, for the bundled
// sample and tests: a random walk with ~0.5 pip/min volatility, intraday
// seasonality, occasional fat-tailed jumps, 5-decimal quotes, a weekend
// gap and ~0.5% missing minutes.
//
// usage: node scripts/gen-sample.mjs [ROWS=6000] [SEED=1] > data/sample.csv
const rows = Number(process.argv[2] ?? 6000);
let seed = Number(process.argv[3] ?? 1) >>> 0;
function rnd() {
  // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function gauss() {
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}
const pip = 0.0001;
const round5 = (x) => Math.round(x * 1e5) / 1e5;
let t = Date.UTC(2024, 0, 1, 0, 0); // Monday
let price = 1.1;
const out = ["timestamp,open,high,low,close,volume"];
while (out.length <= rows) {
  const d = new Date(t);
  const dow = d.getUTCDay();
  const hour = d.getUTCHours();
  // Weekend: Friday 22:00 to Sunday 22:00 UTC has no candles.
  if ((dow === 5 && hour >= 22) || dow === 6 || (dow === 0 && hour < 22)) {
    t += 60000;
    continue;
  }
  if (rnd() < 0.005) {
    t += 60000;
    continue;
  }
  const season = 0.6 + 0.8 * Math.exp(-(((hour - 13) / 4) ** 2));
  const sigma = 0.5 * pip * season;
  const open = round5(price);
  let path = [open];
  let p = open;
  for (let k = 0; k < 4; k++) {
    p += sigma * 0.5 * gauss() * (rnd() < 0.01 ? 6 : 1);
    path.push(p);
  }
  const close = round5(p);
  const high = round5(Math.max(...path, close) + Math.abs(gauss()) * sigma * 0.3);
  const low = round5(Math.min(...path, close) - Math.abs(gauss()) * sigma * 0.3);
  out.push(`${t},${open.toFixed(5)},${high.toFixed(5)},${low.toFixed(5)},${close.toFixed(5)},${1 + Math.floor(rnd() * 200)}`);
  price = close;
  t += 60000;
}
process.stdout.write(out.join("\n") + "\n");
