// A page driven over W3C WebDriver, with the calls the browser tests use:
// goto(url), reload() and evaluate(fn, arg). Firefox (Debian's firefox-esr)
// through geckodriver (from crates.io): Playwright's Firefox is a patched
// build that cannot be downloaded here. WebKitGTK's MiniBrowser through
// WebKitWebDriver under Xvfb: its sessions are private and get no OPFS, so
// they are where the IndexedDB store is tested as a page meets it.
import { spawn } from "node:child_process";
import { FEATURES, MINIBROWSER, webkitVersion } from "./minibrowser.mjs";
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
export const startFirefox = () => startWebDriver("firefox");

/** Starts WebKitWebDriver (under Xvfb) and a MiniBrowser session; returns {page, close()}. */
export const startWebKitDriver = () => startWebDriver("webkit");

async function startWebDriver(engine) {
  const port = await freePort();
  const driver =
    engine === "firefox"
      ? spawn("geckodriver", ["--port", String(port), "--log", "error"], { stdio: ["ignore", "ignore", "inherit"] })
      : spawn("xvfb-run", ["-a", "WebKitWebDriver", `--port=${port}`], { stdio: ["ignore", "ignore", "ignore"], detached: true });
  const stopDriver = () => {
    try {
      if (engine === "firefox") driver.kill();
      else process.kill(-driver.pid, "SIGTERM");
    } catch {}
  };
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
      if (i > 200) throw new Error(`${engine === "firefox" ? "geckodriver" : "WebKitWebDriver"} did not start: ${err.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const capabilities =
    engine === "firefox"
      ? { browserName: "firefox", "moz:firefoxOptions": { binary: FIREFOX, args: ["-headless"] } }
      : { browserName: "MiniBrowser", "webkitgtk:browserOptions": { binary: MINIBROWSER, args: ["--automation", `--features=${FEATURES}`] } };
  const session = await call("POST", "/session", { capabilities: { alwaysMatch: capabilities } });
  const id = session.sessionId;
  await call("POST", `/session/${id}/timeouts`, { script: 600_000, pageLoad: 60_000 });
  const page = {
    engine: engine === "firefox" ? `firefox ${session.capabilities.browserVersion}` : `webkitgtk ${webkitVersion()} (WebDriver session)`,
    goto: (url) => call("POST", `/session/${id}/url`, { url }),
    reload: () => call("POST", `/session/${id}/refresh`, {}),
    /** Runs `fn(arg)` in the page (awaited) and returns its JSON result. */
    async evaluate(fn, arg) {
      const script = `const done = arguments[arguments.length - 1];
        Promise.resolve().then(() => (${fn})(arguments[0])).then((v) => done({ ok: true, v: v === undefined ? null : v }), (e) => done({ ok: false, e: String(e) + (e && e.stack ? "\\n" + e.stack : "") }));`;
      const r = await call("POST", `/session/${id}/execute/async`, { script, args: [arg ?? null] });
      if (!r.ok) throw new Error(r.e);
      return r.v;
    },
  };
  return {
    page,
    async close() {
      await call("DELETE", `/session/${id}`).catch(() => {});
      stopDriver();
    },
  };
}
