#!/usr/bin/env node
// A small static file server for the browser demo: loopback only, GET and
// HEAD only, no directory listings, nothing outside its root. It sends
// `.wasm` as application/wasm (streaming compilation needs it) and the two
// cross-origin-isolation headers, which let the page measure its memory
// with performance.measureUserAgentSpecificMemory().
//
// usage: node scripts/serve-www.mjs [--root target/www] [--port 8787] [--exit-after SECONDS]
import { createReadStream, readFileSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".csv": "text/csv; charset=utf-8",
  ".parquet": "application/vnd.apache.parquet",
  ".png": "image/png",
  ".txt": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

/**
 * Starts the server; resolves with {server, url}. Port 0 picks a free one.
 * A test harness may pass `route(req, res)`, which answers a request by
 * returning true, and `inject`, a tag added to the head of every HTML page.
 */
export function serve({ root, port = 0, host = "127.0.0.1", route = null, inject = "" }) {
  root = path.resolve(root);
  const server = http.createServer((req, res) => {
    const send = (code, text) => {
      res.writeHead(code, { "content-type": "text/plain; charset=utf-8" });
      res.end(text);
    };
    if (route?.(req, res)) return;
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed");
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      return send(400, "bad path");
    }
    if (rel.endsWith("/")) rel += "index.html";
    const file = path.join(root, rel);
    if (file !== root && !file.startsWith(root + path.sep)) return send(403, "forbidden");
    let st;
    try {
      st = statSync(file);
    } catch {
      return send(404, "not found");
    }
    if (!st.isFile()) return send(404, "not found");
    const type = TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
    const body = inject && type.startsWith("text/html") ? Buffer.from(readFileSync(file, "utf8").replace("<head>", `<head>${inject}`)) : null;
    res.writeHead(200, {
      "content-type": type,
      "content-length": body?.length ?? st.size,
      "cache-control": "no-store", // a rebuilt demo is picked up on reload
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
    });
    if (req.method === "HEAD") return res.end();
    if (body) return res.end(body);
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve({ server, url: `http://${host}:${server.address().port}/` }));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = arg("--root", path.join(here, "..", "target", "www"));
  const { server, url } = await serve({ root, port: Number(arg("--port", 8787)) });
  console.log(`fxlabel demo: ${url}  (serving ${root}; Ctrl-C to stop)`);
  const exitAfter = Number(arg("--exit-after", 0));
  if (exitAfter > 0) setTimeout(() => process.exit(0), exitAfter * 1000);
}
