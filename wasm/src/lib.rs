//! WebAssembly bindings of fxlabel. This file only converts types between
//! JS and the Rust core; every rule lives in the `fxlabel` crate.
//!
//! ```js
//! import { CandleInput } from "fxlabel";
//! const input = new CandleInput({ targetPips: [10], stopPips: [5], horizons: [30] });
//! input.appendColumns(timestamps, open, high, low, close); // any number of chunks
//! const labeler = input.finish();
//! for (const key of labeler.configs()) {
//!   const bytes = labeler.label(key); // Uint8Array: the whole Parquet file
//!   await store.write(labeler.fileName(key), bytes);
//! }
//! ```

use fxlabel::options::{Options, Spelling};
use fxlabel::{CandlesBuilder, Config, CsvReader, EncodeOptions, ValidParams};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps the message of a panic so the JS host can raise it as an Error
/// (the trap itself only says "unreachable").
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("fxlabel panicked: {info}");
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(msg));
    }));
}

/// The message of the last panic, if any (the instance must be discarded
/// after one).
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// A JS Error with the core's `kind` and `exitCode`, and `row` and
/// `column` for input errors, `param` for parameter errors (spelled for JS
/// by the core) and `key` for mismatches.
fn js_err(e: fxlabel::Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&err, &JsValue::from_str(k), &v);
    };
    set("kind", e.kind().into());
    set("exitCode", e.exit_code().into());
    match &e {
        fxlabel::Error::Input { row, column, .. } => {
            set(
                "row",
                row.map_or(JsValue::NULL, |r| JsValue::from_f64(r as f64)),
            );
            set("column", column.as_str().into());
        }
        fxlabel::Error::Param { name, .. } => set("param", name.as_str().into()),
        fxlabel::Error::Mismatch { key, .. } => set("key", key.as_str().into()),
        _ => {}
    }
    err.into()
}

fn param_err(name: &str, msg: impl std::fmt::Display) -> JsValue {
    js_err(fxlabel::Error::Param {
        name: name.into(),
        message: msg.to_string(),
    })
}

/// A string argument, checked. wasm-bindgen's glue does not check the type
/// of a `&str` parameter: a number or an object there makes it copy from a
/// bogus length, a trap ("memory access out of bounds") that kills the
/// instance (found by tests/js/reliability-hostile.test.mjs). So string
/// parameters arrive as `JsValue` (typed `string` for TypeScript).
fn string_arg(v: &JsValue, name: &str) -> Result<String, JsValue> {
    v.as_string().ok_or_else(|| {
        let ty = v.js_typeof().as_string().unwrap_or_default();
        param_err(name, format!("expected a string, got {ty}"))
    })
}

/// A JS value as JSON for the core (numbers through
/// `fxlabel::options::float_value`, so NaN is refused, not defaulted).
fn json(v: &JsValue) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    if v.is_undefined() || v.is_null() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(x) = v.as_f64() {
        return Ok(fxlabel::options::float_value(x));
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    if js_sys::Array::is_array(v) || js_sys::ArrayBuffer::is_view(v) {
        return js_sys::Array::from(v)
            .iter()
            .map(|x| json(&x))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if v.is_object() && !v.is_function() {
        let mut m = serde_json::Map::new();
        for e in js_sys::Object::entries(v.unchecked_ref()).iter() {
            let e = js_sys::Array::from(&e);
            m.insert(e.get(0).as_string().unwrap_or_default(), json(&e.get(1))?);
        }
        return Ok(Value::Object(m));
    }
    Err(format!(
        "{} is not an option value",
        v.js_typeof().as_string().unwrap_or_default()
    ))
}

/// Candles arriving in chunks (columns, Parquet files or CSV text) for
/// one run's options.
#[wasm_bindgen]
pub struct CandleInput {
    builder: CandlesBuilder,
    csv: Option<CsvReader>,
    params: ValidParams,
    encode: EncodeOptions,
    time_column: Option<String>,
    /// A Parquet file read by row group (parquetRowGroups, then
    /// appendParquetRowGroup for each).
    parquet: Option<fxlabel::input::ParquetPlan>,
}

impl CandleInput {
    /// The input for options already read (Rust callers; JS calls the
    /// checked constructor).
    pub fn new(options: Options, params: ValidParams) -> CandleInput {
        let mut builder = CandlesBuilder::new();
        builder.expect(params.needs());
        CandleInput {
            builder,
            csv: None,
            params,
            encode: options.encode,
            time_column: options.time_column,
            parquet: None,
        }
    }
}

#[wasm_bindgen]
impl CandleInput {
    /// The input of a run with these options (the grid, settings, output
    /// format and `timeColumn`; see the package's types); a string is
    /// taken as `{timeColumn}`. Bad options throw here.
    #[wasm_bindgen(constructor)]
    pub fn js_new(
        #[wasm_bindgen(unchecked_optional_param_type = "object | string")] options: JsValue,
    ) -> Result<CandleInput, JsValue> {
        let value = match options.as_string() {
            Some(tc) => serde_json::json!({ "timeColumn": tc }),
            None => json(&options).map_err(|e| param_err("options", e))?,
        };
        let o = Options::from_json(value, Spelling::Camel).map_err(js_err)?;
        let p = o.validate(Spelling::Camel).map_err(js_err)?;
        Ok(CandleInput::new(o, p))
    }

    /// Rows accepted so far.
    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> usize {
        self.builder.len()
    }

    /// The extension of the files these options write ("parquet" or "arrow").
    #[wasm_bindgen(getter)]
    pub fn extension(&self) -> String {
        self.encode.format.extension().to_string()
    }

    /// The name of the column holding each bar's spread, if the options give one.
    #[wasm_bindgen(getter, js_name = spreadColumn)]
    pub fn spread_column(&self) -> Option<String> {
        self.builder.spread_column().map(str::to_string)
    }

    /// Appends a chunk of columns. `timestamps` is a BigInt64Array of epoch
    /// milliseconds or a Float64Array (floored to the millisecond);
    /// `spread` the chunk of the `spreadColumn` option's column (price
    /// units, NaN for a missing value).
    #[wasm_bindgen(js_name = appendColumns)]
    pub fn append_columns(
        &mut self,
        timestamps: JsValue,
        open: &[f64],
        high: &[f64],
        low: &[f64],
        close: &[f64],
        spread: Option<Vec<f64>>,
    ) -> Result<(), JsValue> {
        let ts: Vec<i64> = if let Some(a) = timestamps.dyn_ref::<js_sys::BigInt64Array>() {
            a.to_vec()
        } else if let Some(a) = timestamps.dyn_ref::<js_sys::Float64Array>() {
            fxlabel::input::epoch_ms(&a.to_vec(), self.builder.len()).map_err(js_err)?
        } else {
            return Err(param_err(
                "timestamps",
                "expected a BigInt64Array or a Float64Array",
            ));
        };
        self.builder
            .push_columns_with(&ts, open, high, low, close, spread.as_deref())
            .map_err(js_err)
    }

    /// Starts reading a Parquet file by row group, so that it is never
    /// held whole: `tail` is the file's last bytes (at least its footer and
    /// the 8 bytes after it, or the whole file), `fileLength` its size in
    /// bytes. Returns the `[offset, length]` byte range of each row group,
    /// in order; append each with `appendParquetRowGroup`.
    #[wasm_bindgen(js_name = parquetRowGroups, unchecked_return_type = "Array<[number, number]>")]
    pub fn parquet_row_groups(
        &mut self,
        tail: &[u8],
        #[wasm_bindgen(js_name = fileLength)] file_length: f64,
    ) -> Result<js_sys::Array, JsValue> {
        if !(file_length.is_finite()
            && file_length >= 0.0
            && file_length.fract() == 0.0
            && file_length <= 9.0e15)
        {
            return Err(param_err(
                "fileLength",
                format!("{file_length} is not a file length in bytes"),
            ));
        }
        let plan = fxlabel::input::ParquetPlan::open(
            tail,
            file_length as u64,
            self.time_column.as_deref(),
            self.builder.spread_column(),
        )
        .map_err(js_err)?;
        let out = js_sys::Array::new();
        for (offset, len) in plan.row_groups() {
            out.push(&js_sys::Array::of2(
                &JsValue::from_f64(offset as f64),
                &JsValue::from_f64(len as f64),
            ));
        }
        self.parquet = Some(plan);
        Ok(out)
    }

    /// Appends the candles of row group `index` (0-based, in order) of the
    /// file given to `parquetRowGroups`, from the bytes of its range.
    #[wasm_bindgen(js_name = appendParquetRowGroup)]
    pub fn append_parquet_row_group(&mut self, index: u32, bytes: Vec<u8>) -> Result<(), JsValue> {
        let plan = self.parquet.as_mut().ok_or_else(|| {
            js_err(fxlabel::Error::Format(
                "appendParquetRowGroup before parquetRowGroups".into(),
            ))
        })?;
        // Owned bytes (one copy from JS), read without another copy.
        plan.read_row_group(index as usize, bytes::Bytes::from(bytes), &mut self.builder)
            .map_err(js_err)
    }

    /// Appends a chunk of CSV text (UTF-8 bytes; may end mid-line). The
    /// first chunk starts with the header line.
    #[wasm_bindgen(js_name = appendCsv)]
    pub fn append_csv(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        let tc = self.time_column.clone();
        let r = self
            .csv
            .get_or_insert_with(|| CsvReader::new(tc.as_deref()));
        r.feed(chunk, &mut self.builder).map_err(js_err)
    }

    /// Keeps only what a worker labeling rows `start..end` needs (those
    /// rows and the margin the options need around them); every row is
    /// still validated and fingerprinted. `start == end` keeps no candles:
    /// a labeler that plans a run (configs, file names, the run protocol) and
    /// closes files written in parts (`footer`). Call it before appending.
    ///
    /// ```js
    /// const input = new CandleInput(options);
    /// input.keep(0, 1 << 18); // the first row group's rows
    /// ```
    pub fn keep(&mut self, start: f64, end: f64) -> Result<(), JsValue> {
        let row = |v: f64, name: &str| {
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
                Ok(v as usize)
            } else {
                Err(param_err(name, format!("{v} is not a row index")))
            }
        };
        let (start, end) = (row(start, "start")?, row(end, "end")?);
        self.builder
            .keep(start, end, self.params.margin())
            .map_err(js_err)
    }

    /// Does the shared work: the labeler. Consumes the input.
    pub fn finish(mut self) -> Result<Labeler, JsValue> {
        if let Some(mut r) = self.csv.take() {
            r.finish(&mut self.builder).map_err(js_err)?;
        }
        // The Parquet reader's buffers go before the shared work is
        // allocated, so that it can reuse their room.
        self.parquet = None;
        let candles = self.builder.finish().map_err(js_err)?;
        let inner = Rc::new(fxlabel::Labeler::new(candles, self.params).map_err(js_err)?);
        Ok(Labeler {
            inner,
            enc: self.encode,
        })
    }
}

/// Labels the configs of one grid over one set of candles.
#[wasm_bindgen]
pub struct Labeler {
    inner: Rc<fxlabel::Labeler>,
    enc: EncodeOptions,
}

impl Labeler {
    /// The config of a key (checked to be a string first, see `string_arg`).
    fn config(&self, key: &JsValue) -> Result<Config, JsValue> {
        self.inner.config(&string_arg(key, "key")?).map_err(js_err)
    }

    fn streaming(
        &self,
        writer: fxlabel::Result<fxlabel::ConfigWriter<Vec<u8>>>,
    ) -> Result<ConfigStream, JsValue> {
        Ok(ConfigStream {
            labeler: Rc::clone(&self.inner),
            writer: writer.map_err(js_err)?,
            done: false,
        })
    }
}

#[wasm_bindgen]
impl Labeler {
    /// Every config key of the grid, in order.
    pub fn configs(&self) -> Vec<String> {
        self.inner.configs().iter().map(Config::key).collect()
    }

    /// Number of candles in the whole input.
    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> usize {
        self.inner.candles().total_rows()
    }

    /// Bytes held by the work shared across configs.
    #[wasm_bindgen(getter, js_name = sharedBytes)]
    pub fn shared_bytes(&self) -> usize {
        self.inner.shared_bytes() + self.inner.candles().heap_bytes()
    }

    /// The file name for a key: `T10_S5_H30.parquet`.
    #[wasm_bindgen(js_name = fileName)]
    pub fn file_name(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<String, JsValue> {
        Ok(fxlabel::run::file_name(
            &self.config(&key)?,
            self.enc.format,
        ))
    }

    /// The whole file of one config.
    pub fn label(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        fxlabel::encode_config(&self.inner, &self.config(&key)?, &self.enc).map_err(js_err)
    }

    /// One config's file in pieces, row group by row group, so that wasm
    /// memory never holds the whole file: call `next()` until it returns
    /// `undefined`, appending each piece to a temporary file.
    pub fn stream(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<ConfigStream, JsValue> {
        let c = self.config(&key)?;
        self.streaming(fxlabel::ConfigWriter::new(
            &self.inner,
            &c,
            &self.enc,
            Vec::new(),
        ))
    }

    /// The part of one config's file for this labeler's `keep` rows, in
    /// pieces like `stream`; once `next()` returns `undefined`, `part()`
    /// describes it for `footer`.
    #[wasm_bindgen(js_name = streamPart)]
    pub fn stream_part(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<ConfigStream, JsValue> {
        let c = self.config(&key)?;
        self.streaming(fxlabel::ConfigWriter::new_part(
            &self.inner,
            &c,
            &self.enc,
            Vec::new(),
        ))
    }

    /// The footer closing `key`'s file made of `parts` (each from
    /// `ConfigStream.part()`, in row order): append it after the parts.
    pub fn footer(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] parts: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let c = self.config(&key)?;
        let bad = || param_err("parts", "expected an array of Uint8Array");
        if !js_sys::Array::is_array(&parts) {
            return Err(bad());
        }
        let parts = js_sys::Array::from(&parts)
            .iter()
            .map(|p| {
                p.dyn_into::<js_sys::Uint8Array>()
                    .map_err(|_| bad())
                    .and_then(|p| fxlabel::Part::from_bytes(&p.to_vec()).map_err(js_err))
            })
            .collect::<Result<Vec<_>, _>>()?;
        fxlabel::file_footer(&self.inner, &c, &self.enc, &parts).map_err(js_err)
    }

    /// Benchmarks only: the labeling pass of one config without encoding
    /// (returns a checksum so the work cannot be skipped).
    #[wasm_bindgen(js_name = benchLabelPass)]
    pub fn bench_label_pass(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<f64, JsValue> {
        let c = self.config(&key)?;
        let mut sum = 0u64;
        self.inner
            .for_each_row(&c, 0..self.inner.rows(), |_, l, s| {
                sum +=
                    l.map_or(0, |o| o.exit_offset as u64) + s.map_or(0, |o| o.exit_offset as u64);
            })
            .map_err(js_err)?;
        Ok(sum as f64)
    }
}

/// The bytes of one config's file, piece by piece (see `Labeler.stream`).
#[wasm_bindgen]
pub struct ConfigStream {
    labeler: Rc<fxlabel::Labeler>,
    writer: fxlabel::ConfigWriter<Vec<u8>>,
    done: bool,
}

#[wasm_bindgen]
impl ConfigStream {
    /// The next piece of the file (never empty), or `undefined` once the
    /// file is complete.
    pub fn next(&mut self) -> Result<Option<Vec<u8>>, JsValue> {
        if self.done {
            return Ok(None);
        }
        // Step until some bytes are ready or the file is complete.
        loop {
            let more = self.writer.step(&self.labeler).map_err(js_err)?;
            let bytes = self.writer.take();
            if !more {
                self.done = true;
            }
            if !bytes.is_empty() || self.done {
                return Ok(if bytes.is_empty() { None } else { Some(bytes) });
            }
        }
    }

    /// For a stream from `streamPart`, once complete: what the part holds
    /// (row groups, offsets, length) in a compact form for
    /// `Labeler.footer`.
    pub fn part(&self) -> Result<Vec<u8>, JsValue> {
        if !self.done {
            return Err(param_err(
                "part",
                "the part is not complete yet: call next() until it returns undefined",
            ));
        }
        self.writer
            .part()
            .map(|p| p.to_bytes())
            .ok_or_else(|| param_err("part", "only Parquet files are written in parts"))
    }
}

/// How many bytes from a label file's end hold its metadata, given at
/// least its last 10 bytes.
#[wasm_bindgen(js_name = footerSize)]
pub fn footer_size(tail: &[u8]) -> Result<usize, JsValue> {
    fxlabel::footer_size(tail).map_err(js_err)
}

/// The key-value metadata of a label file, from its tail or whole bytes.
#[wasm_bindgen(js_name = readMetadata)]
pub fn read_metadata(tail: &[u8]) -> Result<JsValue, JsValue> {
    let m: std::collections::BTreeMap<_, _> = fxlabel::read_metadata(tail)
        .map_err(js_err)?
        .into_iter()
        .collect();
    use serde::Serialize;
    m.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| param_err("tail", e))
}

/// A label file (Parquet or Arrow IPC) as Arrow IPC stream bytes for
/// apache-arrow's `tableFromIPC`.
#[wasm_bindgen(js_name = toIpcStream)]
pub fn to_ipc_stream(bytes: &[u8]) -> Result<Vec<u8>, JsValue> {
    // The core refuses the corrupt layouts the readers would panic on.
    fxlabel::to_ipc_stream(bytes).map_err(js_err)
}

/// Checks a config key (throws unless canonical, e.g. `T10_S5_H30`).
#[wasm_bindgen(js_name = parseKey)]
pub fn parse_key(
    #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
) -> Result<JsValue, JsValue> {
    let c = Config::parse_key(&string_arg(&key, "key")?).map_err(js_err)?;
    serde_wasm_bindgen::to_value(&c).map_err(|e| param_err("key", e))
}

/// The command-line flag of a camelCase option (`targetPips` ->
/// `--targets`), or `undefined` for a name that is not an option's.
#[wasm_bindgen(js_name = flagOf)]
pub fn flag_of(name: &str) -> Option<String> {
    use fxlabel::options::Spelling;
    Spelling::Camel
        .core_name(name)
        .map(|n| Spelling::Flag.spell(&n))
}

/// Whether an input is Parquet rather than CSV, from its file name (if
/// any) and its first bytes.
#[wasm_bindgen(js_name = isParquet)]
pub fn is_parquet(head: &[u8], name: Option<String>) -> bool {
    fxlabel::input::is_parquet(name.as_deref(), head)
}

/// The label files among a folder's `names`, in grid order, as
/// `[name, key]` pairs.
#[wasm_bindgen(js_name = labelFiles, unchecked_return_type = "Array<[string, string]>")]
pub fn label_files(names: Vec<String>) -> JsValue {
    serde_wasm_bindgen::to_value(&fxlabel::run::label_files(&names)).unwrap_or(JsValue::NULL)
}

/// The config keys of the grid these options give, in grid order (the
/// options are validated as `new CandleInput(options)` does).
#[wasm_bindgen(js_name = configKeys)]
pub fn config_keys(options: JsValue) -> Result<Vec<String>, JsValue> {
    let o = Options::from_json(
        json(&options).map_err(|e| param_err("options", e))?,
        Spelling::Camel,
    )
    .map_err(js_err)?;
    let p = o.validate(Spelling::Camel).map_err(js_err)?;
    Ok(p.configs().iter().map(Config::key).collect())
}

/// The names a key's file may have, one per format (Parquet first);
/// throws unless `key` is a canonical config key.
#[wasm_bindgen(js_name = labelFileNames)]
pub fn label_file_names(
    #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
) -> Result<Vec<String>, JsValue> {
    fxlabel::run::file_names(&string_arg(&key, "key")?).map_err(js_err)
}

/// The command-line exit code for an error of this `kind`.
#[wasm_bindgen(js_name = exitCodeOf)]
pub fn exit_code_of(kind: &str) -> u8 {
    fxlabel::error::exit_code_of(kind)
}

/// The fxlabel crate version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

mod run;

#[cfg(test)]
mod tests;
