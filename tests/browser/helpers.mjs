// Shared helpers of the browser tests: the demo site (built by
// scripts/build-www.mjs into target/www), a loopback static server, and
// Debian's Chromium driven by playwright-core. Headless: no display needed.
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve-www.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SITE = path.join(ROOT, "target", "www");
export const ARTIFACTS = path.join(ROOT, "target", "test-artifacts");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

if (!existsSync(path.join(SITE, "pkg", "worker.js"))) {
  throw new Error(`the demo site is missing in ${SITE}: run 'npm run build && npm run build:www' first`);
}
mkdirSync(ARTIFACTS, { recursive: true });

/** Starts the server and Chromium; returns {url, browser, close()}. */
export async function startBrowser() {
  const { server, url } = await serve({ root: SITE, port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    url,
    browser,
    async close() {
      await browser.close().catch(() => {});
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * The site and one page in `engine`: "chromium" (playwright-core) or
 * "firefox" (geckodriver, see webdriver.mjs); the page offers goto(url)
 * and evaluate(fn, arg) in both. Returns {url, page, engine, close()}.
 */
export async function openPage(engine = process.env.FXLABEL_BROWSER ?? "chromium") {
  if (engine === "firefox") {
    const { startFirefox } = await import("./webdriver.mjs");
    const { server, url } = await serve({ root: SITE, port: 0 });
    const ff = await startFirefox();
    return {
      url,
      page: ff.page,
      engine: ff.page.engine,
      async close() {
        await ff.close();
        server.closeAllConnections?.();
        await new Promise((r) => server.close(r));
      },
    };
  }
  const env = await startBrowser();
  const { page } = await newPage(env.browser);
  return { url: env.url, page, engine: `chromium ${env.browser.version()}`, close: env.close };
}

/** A fresh page whose console errors and page errors are collected. */
export async function newPage(browser, { acceptDownloads = true } = {}) {
  const context = await browser.newContext({ acceptDownloads, viewport: { width: 1180, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("dialog", (d) => d.accept());
  return { context, page, problems };
}
