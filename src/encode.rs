//! Encoding one config: Parquet files through the writer made for label
//! files ([`crate::parquet`]), or Arrow IPC files from Arrow record batches
//! with the contract's schema.
//!
//! Parquet is labeled and encoded one row group
//! ([`EncodeOptions::row_group_size`] rows) at a time and Arrow IPC
//! [`BATCH_ROWS`] rows at a time, so one config never has all of its rows
//! materialised at once: memory is one row group's columns, whatever N is.
//! A Parquet file can also be written in parts over row ranges by
//! different workers and closed with [`file_footer`].
//!
//! Column encodings were chosen on the per-column measurements in the
//! README ("Encoding choices"): delta for timestamps and exit offsets,
//! dictionaries for labels and returns, zstd level 1 on top.
//!
//! ```
//! use fxlabel::{Candles, EncodeOptions, Labeler, Params};
//! let ts: Vec<i64> = (0..100).map(|i| i * 60_000).collect();
//! let p: Vec<f64> = (0..100).map(|i| 1.1 + (i % 7) as f64 * 1e-4).collect();
//! let candles = Candles::from_columns(&ts, &p, &p, &p, &p).unwrap();
//! let labeler = Labeler::new(candles, Params::default().validate().unwrap()).unwrap();
//! let bytes = fxlabel::encode_config(&labeler, &labeler.configs()[0], &EncodeOptions::default()).unwrap();
//! assert_eq!(&bytes[..4], b"PAR1");
//! ```

use crate::error::{Error, Result};
use crate::grid::{Config, Format, Side};
use crate::kernel::{Labeler, PassScratch, SideColumns, WeightScratch};
use crate::meta::{FileMeta, FORMAT_VERSION};
use crate::parquet as pq;
pub use crate::parquet::Compression;
use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Int8Array, RecordBatch, TimestampMillisecondArray,
    UInt32Array,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

/// Rows per record batch handed to a writer.
pub const BATCH_ROWS: usize = 65_536;

/// How a config is written. Its field names are the options' names
/// ([`crate::options`]).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncodeOptions {
    pub format: Format,
    /// Parquet only (Arrow IPC files are written uncompressed, which every
    /// Arrow reader, apache-arrow JS included, can read).
    #[serde(deserialize_with = "crate::de::parsed")]
    pub compression: Compression,
    /// Parquet rows per row group (at least 1).
    #[serde(deserialize_with = "crate::de::row_group_size")]
    pub row_group_size: usize,
    /// The encoder's memory: timestamp chunks encoded once and reused by
    /// every config written with these options (clones share it). Not an
    /// option: always equal.
    #[serde(skip)]
    pub shared: SharedChunks,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            format: Format::Parquet,
            compression: Compression::Zstd(1),
            // 2^18 rows: measured over the default grid at 1M candles,
            // 2^20 / 2^19 / 2^18 / 2^17 / 2^16 rows wrote 404.5 / 402.3 /
            // 399.8 / 402.2 / 406.7 MB (more return dictionaries fit a byte),
            // at the same speed, and the Node pool can share more inputs by rows.
            row_group_size: 1 << 18,
            shared: SharedChunks::default(),
        }
    }
}

/// The columns of a label file for `sides` (long before short), `extras`
/// (MFE and MAE) and `weights` (uniqueness), each with what it holds: the
/// one list both the Arrow schema and the Parquet writer are made from.
pub(crate) fn label_columns(sides: &[Side], extras: bool, weights: bool) -> Vec<pq::Column> {
    let col = |name: String, kind| pq::Column { name, kind };
    let mut cols = vec![col("timestamp".into(), pq::Kind::Timestamp)];
    for side in [Side::Long, Side::Short] {
        if !sides.contains(&side) {
            continue;
        }
        cols.push(col(format!("{side}_label"), pq::Kind::Label));
        cols.push(col(format!("{side}_exit_offset"), pq::Kind::ExitOffset));
        cols.push(col(format!("{side}_return_pips"), pq::Kind::Return));
        cols.push(col(format!("{side}_ambiguous"), pq::Kind::Ambiguous));
        if extras {
            cols.push(col(format!("{side}_mfe_pips"), pq::Kind::Extra));
            cols.push(col(format!("{side}_mae_pips"), pq::Kind::Extra));
        }
        if weights {
            cols.push(col(format!("{side}_uniqueness"), pq::Kind::Extra));
        }
    }
    cols
}

/// The output schema for `sides`, `extras` and `weights` (see
/// [`label_columns`]): the timestamp is required, every other column is
/// null where the outcome is unknown.
pub fn label_schema(sides: &[Side], extras: bool, weights: bool) -> Schema {
    let fields: Vec<Field> = label_columns(sides, extras, weights)
        .into_iter()
        .map(|c| {
            let ty = match c.kind {
                pq::Kind::Timestamp => {
                    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
                }
                pq::Kind::Label => DataType::Int8,
                pq::Kind::ExitOffset => DataType::UInt32,
                pq::Kind::Ambiguous => DataType::Boolean,
                pq::Kind::Return | pq::Kind::Extra => DataType::Float32,
            };
            Field::new(c.name, ty, c.kind != pq::Kind::Timestamp)
        })
        .collect();
    Schema::new(fields)
}

/// The metadata a file for `config` made by `labeler` carries.
pub fn file_meta(labeler: &Labeler, config: &Config) -> FileMeta {
    FileMeta {
        format_version: FORMAT_VERSION.into(),
        config: *config,
        settings: labeler.params().settings(),
        input: labeler.candles().fingerprint().clone(),
    }
}

fn schema_with_meta(labeler: &Labeler, config: &Config) -> SchemaRef {
    let p = labeler.params();
    let meta: HashMap<String, String> = file_meta(labeler, config).to_pairs().into_iter().collect();
    Arc::new(label_schema(&p.sides, p.extras, p.weights).with_metadata(meta))
}

/// One side's columns as Arrow arrays (appended to `out`), sharing one
/// validity bitmap (a row's values are all null or all set).
fn side_arrays(cols: SideColumns, extras: bool, weights: bool, out: &mut Vec<ArrayRef>) {
    let nulls =
        (cols.nulls > 0).then(|| NullBuffer::new(cols.valid.iter().map(|&v| v != 0).collect()));
    out.push(Arc::new(Int8Array::new(cols.label.into(), nulls.clone())));
    out.push(Arc::new(UInt32Array::new(cols.exit.into(), nulls.clone())));
    out.push(Arc::new(Float32Array::new(cols.ret.into(), nulls.clone())));
    out.push(Arc::new(BooleanArray::new(
        cols.amb.iter().map(|&v| v != 0).collect(),
        nulls.clone(),
    )));
    if extras {
        out.push(Arc::new(Float32Array::new(cols.mfe.into(), nulls.clone())));
        out.push(Arc::new(Float32Array::new(cols.mae.into(), nulls.clone())));
    }
    if weights {
        out.push(Arc::new(Float32Array::new(cols.uniq.into(), nulls)));
    }
}

/// Labels `rows` of `config` into `long` and `short`, with the weights
/// when asked for: what every row group or batch of a file holds.
fn label_rows(
    labeler: &Labeler,
    config: &Config,
    rows: std::ops::Range<usize>,
    scratch: &mut (PassScratch, WeightScratch),
    long: &mut SideColumns,
    short: &mut SideColumns,
) -> Result<()> {
    labeler.fill(
        config,
        rows.clone(),
        &mut scratch.0,
        [&mut *long, &mut *short],
    )?;
    if labeler.params().weights {
        let (mut lu, mut su) = (
            std::mem::take(&mut long.uniq),
            std::mem::take(&mut short.uniq),
        );
        labeler.uniqueness_into(
            config,
            rows,
            [long.exits(), short.exits()],
            &mut scratch.1,
            [&mut lu, &mut su],
        )?;
        (long.uniq, short.uniq) = (lu, su);
    }
    Ok(())
}

/// The labeled rows `rows` of `config` as one record batch of `schema`.
pub fn config_batch(
    labeler: &Labeler,
    config: &Config,
    rows: std::ops::Range<usize>,
    schema: SchemaRef,
) -> Result<RecordBatch> {
    let p = labeler.params();
    let (mut long, mut short) = (SideColumns::default(), SideColumns::default());
    let mut scratch = Default::default();
    label_rows(
        labeler,
        config,
        rows.clone(),
        &mut scratch,
        &mut long,
        &mut short,
    )?;
    let ts = &labeler.candles().output_timestamps()[rows];
    let mut cols: Vec<ArrayRef> = vec![Arc::new(
        TimestampMillisecondArray::from(ts.to_vec()).with_timezone("UTC"),
    )];
    if p.sides.contains(&Side::Long) {
        side_arrays(long, p.extras, p.weights, &mut cols);
    }
    if p.sides.contains(&Side::Short) {
        side_arrays(short, p.extras, p.weights, &mut cols);
    }
    Ok(RecordBatch::try_new(schema, cols)?)
}

enum Sink<W: Write + Send> {
    Parquet(Box<PqSink<W>>),
    Arrow(Box<arrow_ipc::writer::FileWriter<W>>),
}

/// Encoded timestamp chunks, one per row group, shared by every config
/// written from the same labeler with the same codec and row-group size
/// (the column is the same in every file). Bounded: chunks are only kept
/// while the cache holds less than [`TS_CACHE_BYTES`].
#[derive(Clone, Default)]
pub struct SharedChunks(Arc<std::sync::Mutex<TsCache>>);

impl std::fmt::Debug for SharedChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedChunks")
    }
}

impl PartialEq for SharedChunks {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[derive(Default)]
struct TsCache {
    /// (labeler, codec, rows per row group) the chunks were made for.
    key: Option<(u64, Compression, usize)>,
    chunks: HashMap<usize, Arc<pq::Chunk>>,
    bytes: usize,
}

const TS_CACHE_BYTES: usize = 64 << 20;

fn timestamp_chunk(
    labeler: &Labeler,
    rows: std::ops::Range<usize>,
    shared: &SharedChunks,
    opts: (Compression, usize),
    codec: &mut pq::Codec,
    scratch: &mut pq::Scratch,
) -> Result<Arc<pq::Chunk>> {
    let group = rows.start / opts.1.max(1);
    let opts = (labeler.id(), opts.0, opts.1);
    let cache = &shared.0;
    if let Ok(c) = cache.lock() {
        if c.key == Some(opts) {
            if let Some(chunk) = c.chunks.get(&group) {
                return Ok(chunk.clone());
            }
        }
    }
    let chunk = Arc::new(pq::timestamp_chunk(
        &labeler.candles().output_timestamps()[rows],
        codec,
        scratch,
    )?);
    if let Ok(mut c) = cache.lock() {
        if c.key != Some(opts) {
            *c = TsCache {
                key: Some(opts),
                ..TsCache::default()
            };
        }
        if c.bytes + chunk.bytes.len() <= TS_CACHE_BYTES {
            c.bytes += chunk.bytes.len();
            c.chunks.insert(group, chunk.clone());
        }
    }
    Ok(chunk)
}

/// Parquet output: row groups encoded by [`crate::parquet`].
struct PqSink<W: Write + Send> {
    w: W,
    codec: pq::Codec,
    scratch: pq::Scratch,
    columns: Vec<pq::Column>,
    part: pq::Part,
    long: SideColumns,
    short: SideColumns,
    /// Buffers of the labeling pass and the weights, reused from one row
    /// group to the next.
    pass: (PassScratch, WeightScratch),
    compression: Compression,
    row_group_size: usize,
    shared: SharedChunks,
    key_values: Vec<(String, String)>,
}

/// The footer's key-value metadata: the file's own pairs, then the Arrow
/// schema as the arrow-rs and pyarrow writers store it.
fn key_values(schema: &Schema) -> Vec<(String, String)> {
    let mut kv: Vec<(String, String)> = schema
        .metadata()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    kv.sort();
    kv.push((
        parquet::arrow::ARROW_SCHEMA_META_KEY.to_string(),
        parquet::arrow::encode_arrow_schema(schema),
    ));
    kv
}

/// The footer of `config`'s Parquet file made of `parts` (in row order,
/// together covering the whole input), written by labelers over row
/// ranges of the same input with [`ConfigWriter::new_part`]. Any labeler
/// of the same input and parameters can make it, one that keeps no rows
/// included.
pub fn file_footer(
    labeler: &Labeler,
    config: &Config,
    opts: &EncodeOptions,
    parts: &[pq::Part],
) -> Result<Vec<u8>> {
    let rows: u64 = parts.iter().map(pq::Part::rows).sum();
    let total = labeler.candles().total_rows() as u64;
    if rows != total {
        return Err(Error::Format(format!(
            "the parts of {} cover {rows} rows, the input has {total}",
            config.key()
        )));
    }
    let schema = schema_with_meta(labeler, config);
    let p = labeler.params();
    pq::file_footer(
        &label_columns(&p.sides, p.extras, p.weights),
        parts,
        &key_values(&schema),
        &created_by(),
        opts.compression,
    )
}

fn created_by() -> String {
    format!("fxlabel {}", env!("CARGO_PKG_VERSION"))
}

impl<W: Write + Send> PqSink<W> {
    fn new(labeler: &Labeler, schema: &Schema, opts: &EncodeOptions, mut w: W) -> Result<Self> {
        let rgs = opts.row_group_size.max(1);
        // The file's leading magic belongs to the part at the input's start.
        let first = labeler.candles().first_output_row() == 0;
        if first {
            w.write_all(b"PAR1")
                .map_err(|e| Error::io("cannot write the Parquet file", e))?;
        }
        Ok(PqSink {
            w,
            codec: pq::Codec::new(opts.compression)?,
            scratch: pq::Scratch::default(),
            columns: {
                let p = labeler.params();
                label_columns(&p.sides, p.extras, p.weights)
            },
            part: pq::Part {
                row_groups: Vec::new(),
                len: if first { 4 } else { 0 },
            },
            long: SideColumns::default(),
            short: SideColumns::default(),
            pass: Default::default(),
            compression: opts.compression,
            row_group_size: rgs,
            shared: opts.shared.clone(),
            key_values: key_values(schema),
        })
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.w
            .write_all(bytes)
            .map_err(|e| Error::io("cannot write the Parquet file", e))?;
        self.part.len += bytes.len() as u64;
        Ok(())
    }

    /// Labels and writes the row group of `rows`.
    fn row_group(
        &mut self,
        labeler: &Labeler,
        config: &Config,
        rows: std::ops::Range<usize>,
    ) -> Result<()> {
        let p = labeler.params();
        label_rows(
            labeler,
            config,
            rows.clone(),
            &mut self.pass,
            &mut self.long,
            &mut self.short,
        )?;
        let start = self.part.len;
        let mut chunks = Vec::with_capacity(self.columns.len());
        let ts = timestamp_chunk(
            labeler,
            rows.clone(),
            &self.shared,
            (self.compression, self.row_group_size),
            &mut self.codec,
            &mut self.scratch,
        )?;
        chunks.push(pq::ChunkMeta::of(&ts, self.part.len));
        self.put(&ts.bytes)?;
        let (target, stop) = (config.target_pips as f32, -(config.stop_pips as f32));
        for side in [Side::Long, Side::Short] {
            if !p.sides.contains(&side) {
                continue;
            }
            let cols = if side == Side::Long {
                &self.long
            } else {
                &self.short
            };
            let (defs, prefix) = pq::side_levels(&cols.valid, cols.nulls);
            let rows_of = pq::SideRows {
                valid: &cols.valid,
                nulls: cols.nulls,
                label: &cols.label,
                exit: &cols.exit,
                ret: &cols.ret,
                amb: &cols.amb,
                target,
                stop,
                defs: &defs,
                prefix,
                timeouts: cols
                    .timeouts
                    .0
                    .as_deref()
                    .map(|t| (&t.values[..], &t.ids[..])),
            };
            // (kind, values of an extra column; none for the others)
            let mut kinds: Vec<(pq::Kind, &[f32])> = vec![
                (pq::Kind::Label, &[]),
                (pq::Kind::ExitOffset, &[]),
                (pq::Kind::Return, &[]),
                (pq::Kind::Ambiguous, &[]),
            ];
            if p.extras {
                kinds.push((pq::Kind::Extra, &cols.mfe));
                kinds.push((pq::Kind::Extra, &cols.mae));
            }
            if p.weights {
                kinds.push((pq::Kind::Extra, &cols.uniq));
            }
            let mut encoded = Vec::with_capacity(kinds.len());
            for (kind, extra) in kinds {
                encoded.push(pq::side_chunk(
                    kind,
                    &rows_of,
                    extra,
                    &mut self.codec,
                    &mut self.scratch,
                )?);
            }
            for c in encoded {
                chunks.push(pq::ChunkMeta::of(&c, self.part.len));
                self.put(&c.bytes)?;
            }
        }
        self.part.row_groups.push(pq::RowGroupMeta {
            rows: rows.len() as u64,
            offset: start,
            chunks,
        });
        Ok(())
    }

    fn footer(&mut self) -> Result<()> {
        let footer = pq::file_footer(
            &self.columns,
            std::slice::from_ref(&self.part),
            &self.key_values,
            &created_by(),
            self.compression,
        )?;
        self.put(&footer)
    }
}

/// Writes one config's file step by step, so that a host can take the
/// bytes out as they are made (row group by row group) instead of holding
/// the whole file: see [`ConfigWriter::step`] and [`ConfigWriter::take`].
///
/// ```
/// # use fxlabel::{Candles, EncodeOptions, Labeler, Params, ConfigWriter};
/// # let ts: Vec<i64> = (0..10).map(|i| i * 60_000).collect();
/// # let p = vec![1.1; 10];
/// # let labeler = Labeler::new(Candles::from_columns(&ts, &p, &p, &p, &p).unwrap(), Params::default().validate().unwrap()).unwrap();
/// let config = labeler.configs()[0];
/// let mut w = ConfigWriter::new(&labeler, &config, &EncodeOptions::default(), Vec::new()).unwrap();
/// let mut file = Vec::new();
/// while w.step(&labeler).unwrap() {
///     file.extend(w.take()); // e.g. append to a temporary file
/// }
/// file.extend(w.take());
/// assert_eq!(file, fxlabel::encode_config(&labeler, &config, &EncodeOptions::default()).unwrap());
/// ```
pub struct ConfigWriter<W: Write + Send> {
    config: Config,
    schema: SchemaRef,
    next_row: usize,
    done: bool,
    /// Writing a part of a file (no footer): see [`ConfigWriter::new_part`].
    part: bool,
    sink: Option<Sink<W>>,
}

impl<W: Write + Send> ConfigWriter<W> {
    /// Starts `config`'s file in `w`.
    pub fn new(labeler: &Labeler, config: &Config, opts: &EncodeOptions, w: W) -> Result<Self> {
        let schema = schema_with_meta(labeler, config);
        let sink = match opts.format {
            Format::Parquet => Sink::Parquet(Box::new(PqSink::new(labeler, &schema, opts, w)?)),
            Format::Arrow => Sink::Arrow(Box::new(arrow_ipc::writer::FileWriter::try_new(
                w, &schema,
            )?)),
        };
        Ok(ConfigWriter {
            config: *config,
            schema,
            next_row: 0,
            done: false,
            part: false,
            sink: Some(sink),
        })
    }

    /// Starts `config`'s *part* for the rows `labeler` labels (its candles
    /// were built with [`crate::CandlesBuilder::keep`]): whole row groups
    /// and no footer. The part at the input's start holds the file's
    /// leading magic. Parts are joined in row order and closed with
    /// [`file_footer`]; [`ConfigWriter::part`] says what a part holds.
    /// Parquet only, and every part but the last must hold a whole
    /// number of row groups.
    pub fn new_part(
        labeler: &Labeler,
        config: &Config,
        opts: &EncodeOptions,
        w: W,
    ) -> Result<Self> {
        if opts.format != Format::Parquet {
            return Err(Error::param(
                "format",
                "only Parquet files can be written in parts",
            ));
        }
        let mut cw = Self::new(labeler, config, opts, w)?;
        cw.part = true;
        Ok(cw)
    }

    /// What the part written so far holds (row groups, their offsets and
    /// its length), for [`file_footer`].
    pub fn part(&self) -> Option<pq::Part> {
        match self.sink.as_ref()? {
            Sink::Parquet(w) => Some(w.part.clone()),
            Sink::Arrow(_) => None,
        }
    }

    /// Labels and writes the next rows: a row group for Parquet,
    /// [`BATCH_ROWS`] for Arrow IPC (the file's footer after the last
    /// ones). Returns false once the file is complete.
    pub fn step(&mut self, labeler: &Labeler) -> Result<bool> {
        let n = labeler.rows();
        let Some(sink) = self.sink.as_mut() else {
            return Ok(false);
        };
        if self.next_row >= n {
            if !self.done {
                self.done = true;
                match sink {
                    Sink::Parquet(_) if self.part => {}
                    Sink::Parquet(w) => w.footer()?,
                    Sink::Arrow(w) => w.finish()?,
                }
            }
            return Ok(false);
        }
        match sink {
            Sink::Parquet(w) => {
                let rows = self.next_row..(self.next_row + w.row_group_size).min(n);
                self.next_row = rows.end;
                w.row_group(labeler, &self.config, rows)?;
            }
            Sink::Arrow(w) => {
                let rows = self.next_row..(self.next_row + BATCH_ROWS).min(n);
                self.next_row = rows.end;
                let batch = config_batch(labeler, &self.config, rows, self.schema.clone())?;
                w.write(&batch)?;
            }
        }
        Ok(true)
    }

    /// The sink, to drain what has been written so far.
    pub fn sink_mut(&mut self) -> Option<&mut W> {
        match self.sink.as_mut()? {
            Sink::Parquet(w) => Some(&mut w.w),
            Sink::Arrow(w) => Some(w.get_mut()),
        }
    }

    /// Writes everything left and returns the sink.
    pub fn finish(mut self, labeler: &Labeler) -> Result<W> {
        while self.step(labeler)? {}
        match self.sink.take() {
            Some(Sink::Parquet(w)) => Ok(w.w),
            Some(Sink::Arrow(w)) => Ok(w.into_inner()?),
            None => Err(Error::Format("the writer was already finished".into())),
        }
    }
}

impl ConfigWriter<Vec<u8>> {
    /// Takes the bytes written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        self.sink_mut().map(std::mem::take).unwrap_or_default()
    }
}

/// Writes `config`'s file into `w` in `opts.format`, batch by batch, and
/// gives `w` back.
pub fn write_config<W: Write + Send>(
    labeler: &Labeler,
    config: &Config,
    opts: &EncodeOptions,
    w: W,
) -> Result<W> {
    ConfigWriter::new(labeler, config, opts, w)?.finish(labeler)
}

/// `config`'s whole file as bytes.
pub fn encode_config(labeler: &Labeler, config: &Config, opts: &EncodeOptions) -> Result<Vec<u8>> {
    write_config(labeler, config, opts, Vec::new())
}
