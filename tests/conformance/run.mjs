// The run protocol's conformance cases (cases.json) through a JS store:
// the Node folder store (tests/js/conformance.test.mjs) and the OPFS store
// in a browser worker (tests/browser/stores.test.mjs). The native
// store runs the same cases in tests/conformance.rs. Imports nothing, so
// it runs in Node and in a browser worker alike.

/**
 * Runs every case; returns a list of problems (empty when all pass).
 * @param {object} spec the parsed cases.json
 * @param {object} env
 *   labelCandles, memoryStore: the package's
 *   candles: the input (CSV text)
 *   makeStore(n): a store over a fresh, empty folder for case n
 *   put(store, name, bytes): puts a file in the folder as it is
 *   state(store): {name: sha256 hex} of every file in the folder
 *   sha(bytes): sha256 hex
 *   deadOwner: an owner mark of a run that is gone
 *   lock(store, "live" | "dead"): makes the folder look locked by a live
 *     run, or by one that is gone; returns an undo function or nothing
 */
export async function runCases(spec, env) {
  const problems = [];
  const files = async (options) => {
    const store = env.memoryStore();
    await env.labelCandles(env.candles, { ...spec.options, ...options, store });
    return store.files;
  };
  const ref = await files({});
  const other = await files({ tie: "target" });
  for (const [name, bytes] of ref) if ((await env.sha(bytes)) !== spec.sha256[name]) problems.push(`reference ${name} differs from the recorded sha256`);

  for (const [n, c] of spec.cases.entries()) {
    const bad = (m) => problems.push(`${c.name}: ${m}`);
    const store = await env.makeStore(n);
    const undo = [];
    for (const s of c.setup) {
      if (s.file) {
        const key = s.file.replace(/\.parquet$/, "");
        let b = s.from === "ref" ? ref.get(s.file) : s.from === "other" ? other.get(s.file) : new TextEncoder().encode("junk!!\n");
        if (s.cut != null) b = b.subarray(0, s.cut);
        await env.put(store, s.file, b, key);
      } else if (s.temp) {
        await env.put(store, `.${s.temp}.parquet.tmp-${env.deadOwner}`, new TextEncoder().encode("half"));
      } else if (s.lock) {
        const u = await env.lock(store, s.lock);
        if (u) undo.push(u);
      }
    }
    const before = await env.state(store);
    let used = store;
    const failKey = c.fault?.writeTemp;
    if (failKey) {
      used = {
        ...store,
        async writeTemp(name, pieces) {
          if (!name.startsWith(`.${failKey}.parquet.tmp-`)) return store.writeTemp(name, pieces);
          let first = true;
          return store.writeTemp(name, {
            async next() {
              if (!first) throw Object.assign(new Error("no space left on device (injected)"), { code: "ENOSPC" });
              first = false;
              return pieces.next();
            },
          });
        },
      };
    }
    const written = [];
    const skipped = [];
    let error = null;
    try {
      await env.labelCandles(env.candles, {
        ...spec.options,
        store: used,
        overwrite: !!c.overwrite,
        onProgress: (p) => (p.skipped ? skipped : written).push(p.key),
      });
    } catch (err) {
      error = err;
    } finally {
      for (const u of undo) await u();
    }
    const want = c.expect;
    if (want.error) {
      if (!error) bad(`expected a ${want.error} error, the run succeeded`);
      else {
        if (error.kind !== want.error) bad(`error kind ${error.kind}, expected ${want.error}: ${error.message}`);
        for (const s of [want.key, want.message]) if (s && !error.message.includes(s)) bad(`'${error.message}' does not say '${s}'`);
      }
    } else if (error) {
      bad(`failed: ${error.message}`);
    } else {
      if (JSON.stringify(written) !== JSON.stringify(want.written)) bad(`written ${written}, expected ${want.written}`);
      if (JSON.stringify(skipped) !== JSON.stringify(want.skipped)) bad(`skipped ${skipped}, expected ${want.skipped}`);
    }
    const after = await env.state(store);
    if (want.files === "same") {
      if (JSON.stringify(sorted(after)) !== JSON.stringify(sorted(before))) bad(`the folder changed: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    } else {
      const names = Object.keys(after).sort();
      if (JSON.stringify(names) !== JSON.stringify([...want.files].sort())) bad(`files left ${names}, expected ${want.files}`);
      for (const f of want.files) if (after[f] !== spec.sha256[f]) bad(`${f} differs from the reference`);
    }
  }
  return problems;
}

const sorted = (o) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
