//! Encoding one config: Arrow record batches with the contract's schema,
//! written as Parquet or Arrow IPC file bytes.
//!
//! Rows are produced [`BATCH_ROWS`] at a time and Parquet row groups hold
//! [`EncodeOptions::row_group_size`] rows, so one config never has all of
//! its rows materialised at once: memory is one row group's encoded
//! columns plus one batch, whatever N is.
//!
//! Column encodings were chosen on the per-column measurements in the
//! README ("Encoding choices"): delta for timestamps and exit offsets,
//! dictionary/RLE for labels, returns and flags, zstd level 1 on top.
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
use crate::kernel::{Labeler, Outcome};
use crate::meta::{FileMeta, FORMAT_VERSION};
use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Int8Array, RecordBatch, TimestampMillisecondArray,
    UInt32Array,
};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as PqCompression, Encoding, GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::collections::HashMap;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;

/// Rows per record batch handed to a writer.
pub const BATCH_ROWS: usize = 65_536;

/// Parquet compression codec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compression {
    None,
    Snappy,
    Lz4,
    Gzip(u32),
    Zstd(i32),
}

impl FromStr for Compression {
    type Err = Error;
    /// `none`, `snappy`, `lz4`, `gzip[:level]`, `zstd[:level]`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        let (name, level) = match s.split_once(':') {
            Some((n, l)) => (n, Some(l)),
            None => (s.as_str(), None),
        };
        let bad = || {
            Error::param("compression", format!("unknown compression '{s}' (expected none, snappy, lz4, gzip[:0-9], zstd[:1-22])"))
        };
        let lvl = |d: i64, lo: i64, hi: i64| -> Result<i64> {
            match level {
                None => Ok(d),
                Some(l) => l
                    .parse::<i64>()
                    .ok()
                    .filter(|x| (lo..=hi).contains(x))
                    .ok_or_else(bad),
            }
        };
        Ok(match name {
            "none" | "uncompressed" if level.is_none() => Compression::None,
            "snappy" if level.is_none() => Compression::Snappy,
            "lz4" if level.is_none() => Compression::Lz4,
            "gzip" => Compression::Gzip(lvl(6, 0, 9)? as u32),
            "zstd" => Compression::Zstd(lvl(1, 1, 22)? as i32),
            _ => return Err(bad()),
        })
    }
}

impl Compression {
    fn parquet(self) -> Result<PqCompression> {
        Ok(match self {
            Compression::None => PqCompression::UNCOMPRESSED,
            Compression::Snappy => PqCompression::SNAPPY,
            Compression::Lz4 => PqCompression::LZ4_RAW,
            Compression::Gzip(l) => PqCompression::GZIP(GzipLevel::try_new(l)?),
            Compression::Zstd(l) => PqCompression::ZSTD(ZstdLevel::try_new(l)?),
        })
    }
}

/// How a config is written.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeOptions {
    pub format: Format,
    /// Parquet only (Arrow IPC files are written uncompressed, which every
    /// Arrow reader, apache-arrow JS included, can read).
    pub compression: Compression,
    /// Parquet rows per row group.
    pub row_group_size: usize,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            format: Format::Parquet,
            compression: Compression::Zstd(1),
            row_group_size: 1 << 20,
        }
    }
}

/// The output schema for `sides` (long before short) and `extras`.
pub fn label_schema(sides: &[Side], extras: bool) -> Schema {
    let mut fields = vec![Field::new(
        "timestamp",
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        false,
    )];
    for side in [Side::Long, Side::Short] {
        if !sides.contains(&side) {
            continue;
        }
        fields.push(Field::new(format!("{side}_label"), DataType::Int8, true));
        fields.push(Field::new(
            format!("{side}_exit_offset"),
            DataType::UInt32,
            true,
        ));
        fields.push(Field::new(
            format!("{side}_return_pips"),
            DataType::Float32,
            true,
        ));
        fields.push(Field::new(
            format!("{side}_ambiguous"),
            DataType::Boolean,
            true,
        ));
        if extras {
            fields.push(Field::new(
                format!("{side}_mfe_pips"),
                DataType::Float32,
                true,
            ));
            fields.push(Field::new(
                format!("{side}_mae_pips"),
                DataType::Float32,
                true,
            ));
        }
    }
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
    Arc::new(label_schema(&p.sides, p.extras).with_metadata(meta))
}

/// One side's columns as plain vectors plus one validity bitmap that all
/// of them share (a row's values are all null or all set), which is much
/// cheaper than one Arrow builder per column.
struct SideCols {
    valid: BooleanBufferBuilder,
    label: Vec<i8>,
    exit: Vec<u32>,
    ret: Vec<f32>,
    amb: BooleanBufferBuilder,
    mfe: Vec<f32>,
    mae: Vec<f32>,
}

impl SideCols {
    fn new(n: usize) -> Self {
        SideCols {
            valid: BooleanBufferBuilder::new(n),
            label: Vec::with_capacity(n),
            exit: Vec::with_capacity(n),
            ret: Vec::with_capacity(n),
            amb: BooleanBufferBuilder::new(n),
            mfe: Vec::with_capacity(n),
            mae: Vec::with_capacity(n),
        }
    }

    #[inline]
    fn push(&mut self, o: Option<Outcome>) {
        let o = match o {
            Some(o) => {
                self.valid.append(true);
                o
            }
            None => {
                self.valid.append(false);
                Outcome {
                    label: 0,
                    exit_offset: 0,
                    return_pips: 0.0,
                    ambiguous: false,
                    mfe_pips: 0.0,
                    mae_pips: 0.0,
                }
            }
        };
        self.label.push(o.label);
        self.exit.push(o.exit_offset);
        self.ret.push(o.return_pips);
        self.amb.append(o.ambiguous);
        self.mfe.push(o.mfe_pips);
        self.mae.push(o.mae_pips);
    }

    fn finish(mut self, extras: bool, out: &mut Vec<ArrayRef>) {
        let valid = NullBuffer::new(self.valid.finish());
        let nulls = (valid.null_count() > 0).then_some(valid);
        out.push(Arc::new(Int8Array::new(self.label.into(), nulls.clone())));
        out.push(Arc::new(UInt32Array::new(self.exit.into(), nulls.clone())));
        out.push(Arc::new(Float32Array::new(self.ret.into(), nulls.clone())));
        out.push(Arc::new(BooleanArray::new(
            self.amb.finish(),
            nulls.clone(),
        )));
        if extras {
            out.push(Arc::new(Float32Array::new(self.mfe.into(), nulls.clone())));
            out.push(Arc::new(Float32Array::new(self.mae.into(), nulls)));
        }
    }
}

/// The labeled rows `rows` of `config` as one record batch of `schema`.
pub fn config_batch(
    labeler: &Labeler,
    config: &Config,
    rows: std::ops::Range<usize>,
    schema: SchemaRef,
) -> Result<RecordBatch> {
    let n = rows.len();
    let p = labeler.params();
    let mut long = SideCols::new(n);
    let mut short = SideCols::new(n);
    labeler.for_each_row(config, rows.clone(), |_, l, s| {
        long.push(l);
        short.push(s);
    })?;
    let ts = &labeler.candles().timestamps()[rows];
    let mut cols: Vec<ArrayRef> = vec![Arc::new(
        TimestampMillisecondArray::from(ts.to_vec()).with_timezone("UTC"),
    )];
    if p.sides.contains(&Side::Long) {
        long.finish(p.extras, &mut cols);
    }
    if p.sides.contains(&Side::Short) {
        short.finish(p.extras, &mut cols);
    }
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// Parquet writer properties: per-column encodings and the codec.
pub fn writer_properties(opts: &EncodeOptions, schema: &Schema) -> Result<WriterProperties> {
    let mut b = WriterProperties::builder()
        .set_compression(opts.compression.parquet()?)
        .set_max_row_group_row_count(Some(opts.row_group_size.max(1)))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("fxlabel {}", env!("CARGO_PKG_VERSION")));
    for f in schema.fields() {
        let path = ColumnPath::from(f.name().as_str());
        let name = f.name();
        if name == "timestamp" || name.ends_with("_exit_offset") {
            b = b
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
        }
    }
    let kv = schema
        .metadata()
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    Ok(b.set_key_value_metadata(Some(kv)).build())
}

enum Sink<W: Write + Send> {
    Parquet(ArrowWriter<W>),
    Arrow(arrow_ipc::writer::FileWriter<W>),
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
    sink: Option<Sink<W>>,
}

impl<W: Write + Send> ConfigWriter<W> {
    /// Starts `config`'s file in `w`.
    pub fn new(labeler: &Labeler, config: &Config, opts: &EncodeOptions, w: W) -> Result<Self> {
        let schema = schema_with_meta(labeler, config);
        let sink = match opts.format {
            Format::Parquet => {
                let props = writer_properties(opts, &schema)?;
                Sink::Parquet(ArrowWriter::try_new(w, schema.clone(), Some(props))?)
            }
            Format::Arrow => Sink::Arrow(arrow_ipc::writer::FileWriter::try_new(w, &schema)?),
        };
        Ok(ConfigWriter {
            config: *config,
            schema,
            next_row: 0,
            sink: Some(sink),
        })
    }

    /// Labels and writes the next [`BATCH_ROWS`] rows (the file's footer
    /// after the last ones). Returns false once the file is complete.
    pub fn step(&mut self, labeler: &Labeler) -> Result<bool> {
        let n = labeler.candles().len();
        let Some(sink) = self.sink.as_mut() else {
            return Ok(false);
        };
        if self.next_row >= n {
            match sink {
                Sink::Parquet(w) => {
                    w.finish()?;
                    w.sync()
                        .map_err(|e| Error::io("cannot flush the Parquet writer", e))?;
                }
                Sink::Arrow(w) => w.finish()?,
            }
            return Ok(false);
        }
        let rows = self.next_row..(self.next_row + BATCH_ROWS).min(n);
        self.next_row = rows.end;
        let batch = config_batch(labeler, &self.config, rows, self.schema.clone())?;
        match sink {
            Sink::Parquet(w) => {
                w.write(&batch)?;
                // Hand over whatever complete row groups were encoded.
                w.sync()
                    .map_err(|e| Error::io("cannot flush the Parquet writer", e))?;
            }
            Sink::Arrow(w) => w.write(&batch)?,
        }
        Ok(true)
    }

    /// The sink, to drain what has been written so far.
    pub fn sink_mut(&mut self) -> Option<&mut W> {
        match self.sink.as_mut()? {
            Sink::Parquet(w) => Some(w.inner_mut()),
            Sink::Arrow(w) => Some(w.get_mut()),
        }
    }

    /// Writes everything left and returns the sink.
    pub fn finish(mut self, labeler: &Labeler) -> Result<W> {
        // Every batch, but not the footer: `into_inner` writes that.
        while self.next_row < labeler.candles().len() {
            self.step(labeler)?;
        }
        match self.sink.take() {
            Some(Sink::Parquet(w)) => Ok(w.into_inner()?),
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
