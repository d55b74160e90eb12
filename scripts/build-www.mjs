#!/usr/bin/env node
// Assembles the browser demo as a static site in target/www/ (run
// `npm run build` first): www/ + the built package (pkg/ -> /pkg/) + the
// bundled sample + the two browser libraries it uses, copied from
// node_modules so the demo works offline (no CDN at run time):
//   vendor/apache-arrow.mjs  apache-arrow's self-contained bundle, wrapped as an ES module
//   vendor/client-zip.js     client-zip (streaming ZIP with Zip64) as shipped
// usage: node scripts/build-www.mjs [OUT_DIR=target/www]
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.resolve(root, process.argv[2] ?? "target/www");
const from = (...p) => path.join(root, ...p);

for (const f of ["pkg/worker.js", "pkg/fxlabel_bg.wasm", "pkg/browser-client.js"]) {
  if (!existsSync(from(f))) {
    console.error(`build-www: ${f} is missing: run 'npm run build' first`);
    process.exit(1);
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, "pkg"), { recursive: true });
mkdirSync(path.join(out, "vendor"), { recursive: true });
cpSync(from("www"), out, { recursive: true });
cpSync(from("data", "sample.csv"), path.join(out, "sample.csv"));
// Only what the browser loads: the JS modules (not the Node entry and CLI) and the wasm file.
for (const f of readdirSync(from("pkg"))) {
  if ((f.endsWith(".js") && f !== "node.js" && f !== "cli.js") || f.endsWith(".wasm")) cpSync(from("pkg", f), path.join(out, "pkg", f));
}

// apache-arrow's ESM files import flatbuffers, tslib, ... by bare name,
// which a browser cannot resolve without a bundler; its UMD bundle is
// self-contained. Run as a module, the UMD takes its CommonJS branch when
// `exports` and `module` exist, so it is wrapped with both and re-exported.
const umd = readFileSync(from("node_modules", "apache-arrow", "Arrow.esnext.min.js"), "utf8").replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
writeFileSync(
  path.join(out, "vendor", "apache-arrow.mjs"),
  `// apache-arrow ${JSON.parse(readFileSync(from("node_modules", "apache-arrow", "package.json"), "utf8")).version} (Apache-2.0, see apache-arrow.LICENSE.txt), UMD bundle wrapped as an ES module by scripts/build-www.mjs\n` +
    `const exports = {};\nconst module = { exports };\n${umd}\nexport default exports;\nexport const { tableFromIPC, Table, Vector, Type } = exports;\n`,
);
cpSync(from("node_modules", "apache-arrow", "LICENSE.txt"), path.join(out, "vendor", "apache-arrow.LICENSE.txt"));
cpSync(from("node_modules", "client-zip", "index.js"), path.join(out, "vendor", "client-zip.js"));
cpSync(from("node_modules", "client-zip", "LICENSE.txt"), path.join(out, "vendor", "client-zip.LICENSE.txt"));
console.log(`build-www: demo assembled in ${path.relative(root, out) || "."}/`);
