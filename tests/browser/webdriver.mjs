// A page in Firefox (Debian's firefox-esr) driven over W3C WebDriver by
// geckodriver (from crates.io), with the two calls the OPFS store tests
// use: goto(url) and evaluate(fn, arg). Playwright's Firefox is a patched
// build that cannot be downloaded here; WebDriver drives the real one.
import { spawn } from "node:child_process";
import net from "node:net";

const FIREFOX = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Starts geckodriver and a headless Firefox session; returns {page, close()}. */
export async function startFirefox() {
  const port = await freePort();
  const driver = spawn("geckodriver", ["--port", String(port), "--log", "error"], { stdio: ["ignore", "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    const res = await fetch(base + path, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await res.json();
    if (json.value?.error) throw new Error(`WebDriver ${path}: ${json.value.error}: ${json.value.message}`);
    return json.value;
  };
  // geckodriver takes a moment to listen.
  for (let i = 0; ; i++) {
    try {
      await call("GET", "/status");
      break;
    } catch (err) {
      if (i > 100) throw new Error(`geckodriver did not start: ${err.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const session = await call("POST", "/session", {
    capabilities: { alwaysMatch: { browserName: "firefox", "moz:firefoxOptions": { binary: FIREFOX, args: ["-headless"] } } },
  });
  const id = session.sessionId;
  await call("POST", `/session/${id}/timeouts`, { script: 600_000, pageLoad: 60_000 });
  const page = {
    engine: `firefox ${session.capabilities.browserVersion}`,
    goto: (url) => call("POST", `/session/${id}/url`, { url }),
    /** Runs `fn(arg)` in the page (awaited) and returns its JSON result. */
    async evaluate(fn, arg) {
      const script = `const done = arguments[arguments.length - 1];
        Promise.resolve().then(() => (${fn})(arguments[0])).then((v) => done({ ok: true, v: v === undefined ? null : v }), (e) => done({ ok: false, e: String(e && e.stack || e) }));`;
      const r = await call("POST", `/session/${id}/execute/async`, { script, args: [arg ?? null] });
      if (!r.ok) throw new Error(r.e);
      return r.v;
    },
  };
  return {
    page,
    async close() {
      await call("DELETE", `/session/${id}`).catch(() => {});
      driver.kill();
    },
  };
}
