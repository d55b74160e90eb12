// Errors crossing a worker boundary: postMessage clones plain data only,
// so an Error travels as its message and the fields the API documents
// (index.d.ts, FxlabelError), and is rebuilt on the other side. Used by
// every worker and pool (Node and browser). Imports nothing.

const FIELDS = ["kind", "exitCode", "row", "column", "param", "key", "code", "quota"];

/** An error (or anything thrown) as plain data: {message, kind, ...}. */
export function errorToData(err, fallbackKind = "io") {
  const data = { message: err?.message ?? String(err) };
  for (const f of FIELDS) if (err?.[f] !== undefined) data[f] = err[f];
  data.kind ??= err?.name === "AbortError" ? "cancelled" : fallbackKind;
  return data;
}

/** The Error that `errorToData` described. */
export function errorFromData(data) {
  const { message, ...fields } = data ?? {};
  return Object.assign(new Error(message ?? "unknown error"), fields);
}
