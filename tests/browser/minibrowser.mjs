// A page in WebKitGTK's MiniBrowser (Debian's libwebkit2gtk-4.1-0) under
// Xvfb, with the two calls the browser tests use: goto(url) and
// evaluate(fn, arg). WebKitWebDriver sessions are private and get no OPFS,
// so MiniBrowser is started directly, with its own data folder and OPFS
// switched on, and driven through the page itself: every HTML page the
// server sends gets a small agent script that long-polls the server for
// work and POSTs back results.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { serve } from "../../scripts/serve-www.mjs";

export const MINIBROWSER = process.env.MINIBROWSER_PATH ?? `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/webkit2gtk-4.1/MiniBrowser`;
// Off by default in WebKitGTK 2.50: OPFS, its writable streams, the storage
// manager and sync access handles.
export const FEATURES = "+FileSystem,+FileSystemWritableStream,+StorageAPI,+StorageAPIEstimate,+AccessHandle";

// The user agent string of WebKitGTK is frozen: ask the package manager.
export function webkitVersion() {
  try {
    return execFileSync("dpkg-query", ["-W", "-f", "${Version}", "libwebkit2gtk-4.1-0"], { encoding: "utf8" }).split("-")[0];
  } catch {
    return "(version unknown)";
  }
}

// The agent: runs in every page, asks for the next job, answers it.
const AGENT = `
const id = Math.random().toString(36).slice(2);
const AsyncFunction = (async () => {}).constructor;
(async () => {
  for (;;) {
    let job;
    try {
      const res = await fetch("/__fx/next?page=" + id, { cache: "no-store" });
      if (res.status === 204) continue;
      job = await res.json();
    } catch { await new Promise((r) => setTimeout(r, 200)); continue; }
    if (job.nav) { location.href = job.nav; return; }
    if (job.reload) { location.reload(); return; }
    let reply;
    try {
      const fn = new AsyncFunction("arg", "return (" + job.src + ")(arg);");
      const v = await fn(job.arg);
      reply = { seq: job.seq, ok: true, v: v === undefined ? null : v };
    } catch (e) {
      reply = { seq: job.seq, ok: false, e: String((e && e.stack) || e) + (e && e.name ? " [" + e.name + "]" : "") };
    }
    await fetch("/__fx/result", { method: "POST", body: JSON.stringify(reply) });
  }
})();
`;

/**
 * Serves `root` and opens it in MiniBrowser; returns {url, page, engine,
 * pid, close()}. The page (the agent page, then whatever goto() loads)
 * offers goto(url), reload() and evaluate(fn, arg) as the other engines' pages do.
 */
export async function startMiniBrowser(root) {
  const jobs = []; // waiting for a page to take them
  let waiting = null; // a page's pending /__fx/next response
  let pageSeen = null; // resolves when a page (re)connects
  const results = new Map(); // seq -> resolve
  let seq = 0;
  const seen = new Set(); // ids of the pages that connected
  const onPage = [];

  const give = () => {
    if (!waiting || jobs.length === 0) return;
    const res = waiting;
    waiting = null;
    clearTimeout(res.fxTimer);
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(jobs.shift()));
  };
  const route = (req, res) => {
    const url = new URL(req.url, "http://x");
    if (!url.pathname.startsWith("/__fx/")) return false;
    const headers = { "cache-control": "no-store", "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" };
    if (url.pathname === "/__fx/agent.js") {
      res.writeHead(200, { ...headers, "content-type": "text/javascript" });
      res.end(AGENT);
    } else if (url.pathname === "/__fx/agent.html") {
      res.writeHead(200, { ...headers, "content-type": "text/html" });
      res.end(`<!doctype html><meta charset="utf-8"><title>fxlabel test page</title><script type="module" src="/__fx/agent.js"></script>`);
    } else if (url.pathname === "/__fx/next") {
      const page = url.searchParams.get("page");
      if (waiting) {
        // A page that went away (navigation) left a poll open: drop it.
        waiting.writeHead(204, headers);
        waiting.end();
      }
      if (!seen.has(page)) {
        seen.add(page);
        onPage.splice(0).forEach((f) => f());
      }
      waiting = res;
      res.fxPage = page;
      res.fxTimer = setTimeout(() => {
        if (waiting !== res) return;
        waiting = null;
        res.writeHead(204, headers);
        res.end();
      }, 20_000);
      give();
    } else if (url.pathname === "/__fx/result" && req.method === "POST") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const r = JSON.parse(body);
        results.get(r.seq)?.(r);
        results.delete(r.seq);
        res.writeHead(204, headers);
        res.end();
      });
    } else {
      res.writeHead(404, headers);
      res.end();
    }
    return true;
  };
  const { server, url } = await serve({ root, port: 0, route, inject: `<script type="module" src="/__fx/agent.js"></script>` });
  const nextPage = () => new Promise((r) => onPage.push(r));

  const home = mkdtempSync(path.join(os.tmpdir(), "fxlabel-webkit-"));
  const env = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, "data"), XDG_CACHE_HOME: path.join(home, "cache"), XDG_CONFIG_HOME: path.join(home, "config"), WEBKIT_DISABLE_COMPOSITING_MODE: "1" };
  const first = nextPage();
  const proc = spawn("xvfb-run", ["-a", "-s", "-screen 0 1280x1024x24", MINIBROWSER, `--features=${FEATURES}`, "--enable-write-console-messages-to-stdout=true", `${url}__fx/agent.html`], {
    env,
    detached: true,
    stdio: ["ignore", process.env.FXLABEL_WEBKIT_LOG ? "inherit" : "ignore", process.env.FXLABEL_WEBKIT_LOG ? "inherit" : "ignore"],
  });
  let exited = false;
  proc.on("exit", () => (exited = true));
  await Promise.race([
    first,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`MiniBrowser (${MINIBROWSER}) did not open the page within 60 s`)), 60_000)),
  ]);

  const send = (job) => {
    jobs.push(job);
    give();
  };
  const page = {
    engine: "webkitgtk",
    async goto(to) {
      // Only HTML pages carry the agent: anything else is reached as the agent page of its origin.
      const target = /\.(html?)$|\/$/.test(new URL(to).pathname) ? to : `${new URL(to).origin}/__fx/agent.html`;
      const next = nextPage();
      send({ nav: target });
      await next;
    },
    async reload() {
      const next = nextPage();
      send({ reload: true });
      await next;
    },
    /** Runs `fn(arg)` in the page (awaited) and returns its JSON result. */
    async evaluate(fn, arg) {
      if (exited) throw new Error("MiniBrowser has exited");
      const s = ++seq;
      const r = await new Promise((resolve) => {
        results.set(s, resolve);
        send({ seq: s, src: fn.toString(), arg: arg ?? null });
      });
      if (!r.ok) throw new Error(r.e);
      return r.v;
    },
  };
  page.engine = `webkitgtk ${webkitVersion()}`;
  return {
    url,
    page,
    engine: page.engine,
    pid: proc.pid,
    async close() {
      try {
        process.kill(-proc.pid, "SIGTERM");
      } catch {}
      await new Promise((r) => (exited ? r() : proc.on("exit", r)));
      if (waiting) waiting.destroy();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
      rmSync(home, { recursive: true, force: true });
    },
  };
}
