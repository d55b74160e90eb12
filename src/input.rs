//! Reading candles: Parquet bytes (via Arrow) and CSV text in chunks.
//!
//! Column names are matched case-insensitively. The timestamp column may
//! be int64 epoch milliseconds or an Arrow timestamp of any unit (floored
//! to the millisecond); in CSV it may be integer milliseconds or datetime
//! text (see [`parse_datetime_ms`]). Prices may be float64 or float32
//! (widened exactly). Every error names the row (0-based, counted over the
//! whole input) and the column.
//!
//! ```
//! use fxlabel::{CandlesBuilder, CsvReader};
//! let mut b = CandlesBuilder::new();
//! let mut r = CsvReader::new(None);
//! r.feed(b"Time,Open,High,Low,Close\n2024-01-02 00:00,1.1,1.2,1.0,1.1\n2024-01-0", &mut b).unwrap();
//! r.feed(b"2 00:01:00,1.1,1.2,1.0,1.15\n", &mut b).unwrap();
//! r.finish(&mut b).unwrap();
//! assert_eq!(b.finish().unwrap().timestamps(), &[1704153600000, 1704153660000]);
//! ```

use crate::candles::CandlesBuilder;
use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date64Type, Float32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

/// The price columns, in input order.
pub const PRICE_COLUMNS: [&str; 4] = ["open", "high", "low", "close"];
/// Names tried, in order, for the time column when none is given.
pub const TIME_COLUMNS: [&str; 4] = ["timestamp", "time", "date", "datetime"];

fn find(names: &[&str], wanted: &str) -> Option<usize> {
    names
        .iter()
        .position(|n| n.trim().eq_ignore_ascii_case(wanted))
}

fn time_index(names: &[&str], time_column: Option<&str>) -> Result<usize> {
    match time_column {
        Some(t) => find(names, t).ok_or_else(|| {
            Error::input(
                None,
                t,
                format!("column '{t}' is missing (columns: {})", names.join(", ")),
            )
        }),
        None => TIME_COLUMNS
            .iter()
            .find_map(|t| find(names, t))
            .ok_or_else(|| {
                Error::input(
                    None,
                    "timestamp",
                    format!(
                        "no time column: expected one of {} (columns: {})",
                        TIME_COLUMNS.join(", "),
                        names.join(", ")
                    ),
                )
            }),
    }
}

/// The index of the spread column `col`, when the run reads one.
fn spread_index(names: &[&str], col: Option<&str>) -> Result<Option<usize>> {
    col.map(|c| {
        find(names, c).ok_or_else(|| {
            Error::input(
                None,
                c,
                format!(
                    "the spread column '{c}' is missing (columns: {})",
                    names.join(", ")
                ),
            )
        })
    })
    .transpose()
}

fn price_indices(names: &[&str]) -> Result<[usize; 4]> {
    let mut out = [0; 4];
    for (k, p) in PRICE_COLUMNS.iter().enumerate() {
        out[k] = find(names, p).ok_or_else(|| {
            Error::input(
                None,
                p,
                format!("column '{p}' is missing (columns: {})", names.join(", ")),
            )
        })?;
    }
    Ok(out)
}

/// Appends the candles of a whole Parquet file to `b` (a [`ParquetPlan`]
/// over the file's footer, then every row group in order).
pub fn read_parquet(
    bytes: bytes::Bytes,
    time_column: Option<&str>,
    b: &mut CandlesBuilder,
) -> Result<()> {
    let file_len = bytes.len() as u64;
    let mut plan = ParquetPlan::open(&bytes, file_len, time_column, b.spread_column())?;
    for (i, (offset, len)) in plan.row_groups().into_iter().enumerate() {
        // check_layout in from_tail: every range lies inside the file.
        let range = bytes.slice(offset as usize..(offset + len) as usize);
        plan.read_row_group(i, range, b)?;
    }
    Ok(())
}

/// Parquet candles read one row group at a time, so that a large file is
/// never held whole: the plan is made from the file's tail (its footer),
/// then each row group is decoded from the bytes of its range alone.
///
/// ```
/// use fxlabel::input::ParquetPlan;
/// use fxlabel::CandlesBuilder;
/// let mut file = Vec::new();
/// fxlabel::synth::columns(3_000, 1).write_parquet(&mut file).unwrap();
/// let file = bytes::Bytes::from(file);
/// let n = file.len() as u64;
/// // The last 8 bytes tell how much of the tail the footer needs.
/// let need = ParquetPlan::footer_size(&file[file.len() - 8..], n).unwrap();
/// let mut plan = ParquetPlan::from_tail(&file[(n - need) as usize..], n, None).unwrap();
/// let mut b = CandlesBuilder::new();
/// for (i, (offset, len)) in plan.row_groups().into_iter().enumerate() {
///     let range = file.slice(offset as usize..(offset + len) as usize);
///     plan.read_row_group(i, range, &mut b).unwrap();
/// }
/// assert_eq!(b.finish().unwrap().len(), 3_000);
/// ```
pub struct ParquetPlan {
    meta: ArrowReaderMetadata,
    mask: ProjectionMask,
    /// Root columns read: time, open, high, low, close (and the spread).
    roots: Vec<usize>,
    time_name: String,
    spread_name: Option<String>,
    file_len: u64,
    /// Rows to reserve (the footer's count, clamped to the file length).
    rows: usize,
    ranges: Vec<(u64, u64)>,
    /// The row group to read next (row groups are read in order, so that
    /// row numbers in errors count over the whole file).
    next: usize,
}

impl ParquetPlan {
    /// Bytes at the end of a Parquet file that [`ParquetPlan::from_tail`]
    /// needs (the footer and its 8-byte trailer), from the file's last 8
    /// (or more) bytes and its length. Refuses a file that does not end in
    /// the Parquet magic or whose footer length exceeds the file.
    pub fn footer_size(tail: &[u8], file_len: u64) -> Result<u64> {
        let n = tail.len();
        if n < 8 || file_len < 8 || !tail.ends_with(b"PAR1") {
            return Err(Error::Format(format!(
                "not a readable Parquet file: it does not end in the Parquet magic bytes ({file_len} bytes)"
            )));
        }
        let len = u32::from_le_bytes([tail[n - 8], tail[n - 7], tail[n - 6], tail[n - 5]]);
        if len as u64 + 8 > file_len {
            return Err(Error::Format(format!(
                "not a readable Parquet file: its footer length ({len} bytes) is larger than the file ({file_len} bytes)"
            )));
        }
        Ok(len as u64 + 8)
    }

    /// The plan of a Parquet file of `file_len` bytes, from its last bytes
    /// (`tail`: at least [`ParquetPlan::footer_size`] of them, or the whole
    /// file). Checks what [`read_parquet`] checks before reading data: the
    /// footer, the layout of every column chunk, the time and price columns.
    pub fn from_tail(tail: &[u8], file_len: u64, time_column: Option<&str>) -> Result<ParquetPlan> {
        Self::open(tail, file_len, time_column, None)
    }

    /// [`ParquetPlan::from_tail`] that also reads the spread column
    /// `spread_column` (for a builder that expects one).
    pub fn open(
        tail: &[u8],
        file_len: u64,
        time_column: Option<&str>,
        spread_column: Option<&str>,
    ) -> Result<ParquetPlan> {
        let n = tail.len();
        if n as u64 > file_len {
            return Err(Error::Format(format!(
                "the Parquet tail given ({n} bytes) is longer than the file ({file_len} bytes)"
            )));
        }
        let need = Self::footer_size(tail, file_len)?;
        if (n as u64) < need {
            return Err(Error::Format(format!(
                "not a readable Parquet file: its footer needs the last {need} bytes, {n} given"
            )));
        }
        let footer = bytes::Bytes::copy_from_slice(&tail[n - need as usize..]);
        let md = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&footer)
            .map_err(|e| Error::Format(format!("not a readable Parquet file: {e}")))?;
        check_layout(&md, file_len)?;
        let meta = ArrowReaderMetadata::try_new(std::sync::Arc::new(md), Default::default())
            .map_err(|e| Error::Format(format!("not a readable Parquet file: {e}")))?;
        let names = field_names(meta.schema());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let t = time_index(&refs, time_column)?;
        let prices = price_indices(&refs)?;
        let spread = spread_index(&refs, spread_column)?;
        // Projection over leaf columns: only flat schemas are supported.
        let roots: Vec<usize> = std::iter::once(t).chain(prices).chain(spread).collect();
        let md = meta.metadata();
        let schema = md.file_metadata().schema_descr();
        let mask = ProjectionMask::roots(schema, roots.iter().copied());
        // Each row group's range spans the chunks of the projected columns
        // (dictionary pages included); check_layout put them in the file.
        let ranges = md
            .row_groups()
            .iter()
            .map(|rg| {
                let spans = rg
                    .columns()
                    .iter()
                    .enumerate()
                    .filter(|(leaf, _)| roots.contains(&schema.get_column_root_idx(*leaf)))
                    .map(|(_, col)| {
                        let start = col
                            .dictionary_page_offset()
                            .unwrap_or_else(|| col.data_page_offset())
                            as u64;
                        (start, start + col.compressed_size() as u64)
                    });
                let (lo, hi) = spans.fold((u64::MAX, 0), |(lo, hi), (s, e)| (lo.min(s), hi.max(e)));
                if lo > hi {
                    (0, 0)
                } else {
                    (lo, hi - lo)
                }
            })
            .collect();
        // The footer's row count is only a hint: a corrupt one must not
        // reserve gigabytes (no real file has more rows than bytes).
        let rows = md.file_metadata().num_rows().clamp(0, file_len as i64) as usize;
        Ok(ParquetPlan {
            mask,
            roots,
            time_name: refs[t].to_string(),
            spread_name: spread.map(|k| refs[k].to_string()),
            file_len,
            rows,
            ranges,
            next: 0,
            meta,
        })
    }

    /// The byte range `(offset, length)` of each row group, in order: the
    /// bytes [`ParquetPlan::read_row_group`] needs.
    pub fn row_groups(&self) -> Vec<(u64, u64)> {
        self.ranges.clone()
    }

    /// Rows in the file as its footer states them (clamped to the file length).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The row group to read next.
    pub fn next_row_group(&self) -> usize {
        self.next
    }

    /// Appends the candles of row group `i` to `b`, from `bytes`: the bytes
    /// of its range ([`ParquetPlan::row_groups`]). Row groups are read in
    /// order, each once; the first reserves the file's rows in `b`. Errors
    /// name rows counted over everything `b` holds (over the whole file
    /// when `b` started empty).
    pub fn read_row_group(
        &mut self,
        i: usize,
        bytes: bytes::Bytes,
        b: &mut CandlesBuilder,
    ) -> Result<()> {
        if i != self.next || i >= self.ranges.len() {
            return Err(Error::Format(format!(
                "Parquet row group {i} given, but the next to read is {} of {}",
                self.next,
                self.ranges.len()
            )));
        }
        let (offset, len) = self.ranges[i];
        if bytes.len() as u64 != len {
            return Err(Error::Format(format!(
                "Parquet row group {i}: {} bytes given, its range holds {len}",
                bytes.len()
            )));
        }
        if i == 0 {
            b.reserve(self.rows);
        }
        let reader = RangeReader {
            offset,
            bytes,
            file_len: self.file_len,
        };
        let md = self.meta.metadata().clone();
        let schema = md.file_metadata().schema_descr();
        let roots = &self.roots;
        check_group_dictionaries(&std::sync::Arc::new(reader.clone()), &md, i, &|leaf| {
            roots.contains(&schema.get_column_root_idx(leaf))
        })?;
        let rdr = ParquetRecordBatchReaderBuilder::new_with_metadata(reader, self.meta.clone())
            .with_row_groups(vec![i])
            .with_projection(self.mask.clone())
            .with_batch_size(65_536)
            .build()
            .map_err(|e| Error::Format(format!("cannot read Parquet file: {e}")))?;
        // The parquet crate still panics on some corrupt data pages (bad
        // definition levels, found by tests/hostile.rs): natively that
        // becomes an error here. In the wasm build a panic aborts, and the
        // JS host reports it with the panic message.
        let time_name = self.time_name.as_str();
        let spread_name = self.spread_name.as_deref();
        let mut cols: Option<(usize, [usize; 4], Option<usize>)> = None;
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<()> {
            for batch in rdr {
                let batch = batch.map_err(|e| {
                    Error::Format(format!("cannot read Parquet data at row {}: {e}", b.len()))
                })?;
                // Every batch has the projected schema: find its columns once.
                let (tb, pb, sb) = match cols {
                    Some(c) => c,
                    None => {
                        let bn = field_names(&batch.schema());
                        let br: Vec<&str> = bn.iter().map(String::as_str).collect();
                        *cols.insert((
                            find(&br, time_name).unwrap_or(0),
                            price_indices(&br)?,
                            spread_index(&br, spread_name)?,
                        ))
                    }
                };
                push_batch(&batch, tb, pb, sb, b)?;
            }
            Ok(())
        }));
        read.unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("the reader failed");
            Err(Error::Format(format!(
                "cannot read Parquet data at row {}: the file is corrupt ({why})",
                b.len()
            )))
        })?;
        self.next += 1;
        Ok(())
    }
}

/// The bytes of one row group's range, served at their file offsets; any
/// read outside the range is an error (the reader then never sees bytes
/// it was not given).
#[derive(Clone)]
struct RangeReader {
    offset: u64,
    bytes: bytes::Bytes,
    file_len: u64,
}

impl RangeReader {
    fn slice(&self, start: u64, length: Option<usize>) -> parquet::errors::Result<bytes::Bytes> {
        let end = self.offset + self.bytes.len() as u64;
        let stop = match length {
            Some(n) => start.checked_add(n as u64),
            None => Some(end),
        };
        match stop {
            Some(stop) if start >= self.offset && stop <= end && start <= stop => Ok(self
                .bytes
                .slice((start - self.offset) as usize..(stop - self.offset) as usize)),
            _ => Err(parquet::errors::ParquetError::EOF(format!(
                "bytes {start}.. (length {length:?}) lie outside the row group read ({}..{end})",
                self.offset
            ))),
        }
    }
}

impl parquet::file::reader::Length for RangeReader {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl parquet::file::reader::ChunkReader for RangeReader {
    type T = bytes::buf::Reader<bytes::Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        Ok(self.slice(start, None)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.slice(start, Some(length))
    }
}

/// Refuses a Parquet footer length larger than the file. The parquet crate
/// adds 8 to it in a `usize`, which on wasm32 wraps for lengths near
/// u32::MAX, and a slice then panics (a trap; found by
/// tests/js/reliability-hostile.test.mjs).
fn footer_fits(bytes: &[u8]) -> Result<()> {
    let n = bytes.len();
    if n >= 8 && bytes.ends_with(b"PAR1") {
        let len = u32::from_le_bytes([bytes[n - 8], bytes[n - 7], bytes[n - 6], bytes[n - 5]]);
        if len as u64 + 8 > n as u64 {
            return Err(Error::Format(format!(
                "not a readable Parquet file: its footer length ({len} bytes) is larger than the file ({n} bytes)"
            )));
        }
    }
    Ok(())
}

/// Refuses a footer whose column chunks lie outside the file: the parquet
/// crate asserts (panics) on a negative offset or size, and a panic in the
/// wasm build is a trap that kills the instance (found by tests/hostile.rs).
fn check_layout(md: &parquet::file::metadata::ParquetMetaData, file_len: u64) -> Result<()> {
    for (g, rg) in md.row_groups().iter().enumerate() {
        for col in rg.columns() {
            let start = col
                .dictionary_page_offset()
                .unwrap_or_else(|| col.data_page_offset());
            let len = col.compressed_size();
            let inside = start >= 0
                && len >= 0
                && (start as u64)
                    .checked_add(len as u64)
                    .is_some_and(|end| end <= file_len);
            if !inside || rg.num_rows() < 0 {
                return Err(Error::Format(format!(
                    "not a readable Parquet file: column '{}' of row group {g} lies outside the file",
                    col.column_path()
                )));
            }
        }
    }
    Ok(())
}

/// Refuses a data page in dictionary encoding that no dictionary page
/// precedes in its column chunk: the parquet crate panics on it ("Decoder
/// for dict should have been set"; found by tests/hostile.rs, a footer
/// that lost its dictionary page offset). Cheap for usual files: a chunk
/// whose first page is its dictionary is fine after reading that page;
/// other chunks (no dictionary) have their pages read once more. (The
/// crate's `peek_next_page` is not used: it panics on corrupt headers.)
fn check_dictionaries(
    bytes: &bytes::Bytes,
    md: &parquet::file::metadata::ParquetMetaData,
    read: impl Fn(usize) -> bool,
) -> Result<()> {
    let file = std::sync::Arc::new(bytes.clone());
    for g in 0..md.num_row_groups() {
        check_group_dictionaries(&file, md, g, &read)?;
    }
    Ok(())
}

/// [`check_dictionaries`] for row group `g` alone, over any reader of its
/// bytes.
fn check_group_dictionaries<R: parquet::file::reader::ChunkReader>(
    file: &std::sync::Arc<R>,
    md: &parquet::file::metadata::ParquetMetaData,
    g: usize,
    read: &impl Fn(usize) -> bool,
) -> Result<()> {
    use parquet::basic::Encoding;
    use parquet::column::page::{Page, PageReader};
    use parquet::file::serialized_reader::SerializedPageReader;
    let rg = md.row_group(g);
    for (leaf, col) in rg.columns().iter().enumerate() {
        if !read(leaf) {
            continue;
        }
        let bad = |m: String| {
            Error::Format(format!(
                "not a readable Parquet file: column '{}' of row group {g}: {m}",
                col.column_path()
            ))
        };
        let rows = rg.num_rows().max(0) as usize;
        let mut pages = SerializedPageReader::new(file.clone(), col, rows, None)
            .map_err(|e| bad(e.to_string()))?;
        // Once a dictionary page is read, the rest of the chunk is safe:
        // usual files stop after their first page.
        while let Some(page) = pages.get_next_page().map_err(|e| bad(e.to_string()))? {
            let enc = match page {
                Page::DictionaryPage { .. } => break,
                Page::DataPage { encoding, .. } | Page::DataPageV2 { encoding, .. } => encoding,
            };
            if matches!(enc, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY) {
                return Err(bad("a dictionary-encoded page without a dictionary".into()));
            }
        }
    }
    Ok(())
}

/// Checks that the bytes of a label file (Parquet or Arrow IPC) can be
/// given to the parquet or arrow-ipc readers without reaching one of their
/// panics on corrupt files (a column chunk or record batch block outside
/// the file, a negative length, a missing dictionary page). A panic in the
/// wasm build is a trap that kills the instance, so the wasm skin checks
/// the files it reads back (found by tests/hostile.rs). Other bytes pass:
/// the readers refuse them with an error.
pub fn check_file_bytes(bytes: &[u8]) -> Result<()> {
    let bad = |m: String| Error::Format(format!("not a readable label file: {m}"));
    let n = bytes.len();
    if bytes.ends_with(b"PAR1") {
        footer_fits(bytes)?;
        let bytes = bytes::Bytes::copy_from_slice(bytes);
        let md = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&bytes)
            .map_err(|e| bad(e.to_string()))?;
        check_layout(&md, n as u64)?;
        return check_dictionaries(&bytes, &md, |_| true);
    }
    if n >= 10 && bytes.ends_with(b"ARROW1") {
        let len = u32::from_le_bytes([bytes[n - 10], bytes[n - 9], bytes[n - 8], bytes[n - 7]]);
        let start = (n - 10)
            .checked_sub(len as usize)
            .ok_or_else(|| bad("the Arrow IPC footer is longer than the file".into()))?;
        let footer = arrow_ipc::root_as_footer(&bytes[start..n - 10])
            .map_err(|e| bad(format!("unreadable Arrow IPC footer: {e}")))?;
        // Label files hold flat columns of primitive types and no
        // dictionaries; arrow-ipc panics on some corrupt nested ones (a
        // union whose buffers are too short).
        let schema = footer
            .schema()
            .ok_or_else(|| bad("the Arrow IPC footer has no schema".into()))?;
        let schema = arrow_ipc::convert::try_fb_to_schema(schema)?;
        let flat = |t: &DataType| t.is_primitive() || *t == DataType::Boolean;
        if !schema.fields().iter().all(|f| flat(f.data_type()))
            || footer.dictionaries().is_some_and(|d| !d.is_empty())
        {
            return Err(bad("not the columns of a label file".into()));
        }
        let blocks = footer.recordBatches().into_iter().flatten();
        let outside = || bad("an Arrow IPC block lies outside the file".into());
        for b in blocks.chain(footer.dictionaries().into_iter().flatten()) {
            let (off, meta, body) = (b.offset(), b.metaDataLength() as i64, b.bodyLength());
            let end = [off, meta, body].into_iter().try_fold(0i64, |acc, x| {
                if x < 0 {
                    None
                } else {
                    acc.checked_add(x)
                }
            });
            if end.is_none_or(|e| e as u64 > n as u64) || meta < 8 {
                return Err(outside());
            }
            // The block's message: every buffer must lie inside its body
            // (arrow-ipc slices without checking).
            let m = &bytes[off as usize..(off + meta) as usize];
            let fb = if m.starts_with(&[0xff; 4]) {
                &m[8..]
            } else {
                &m[4..]
            };
            let msg = arrow_ipc::root_as_message(fb)
                .map_err(|e| bad(format!("unreadable Arrow IPC message: {e}")))?;
            let batch = msg
                .header_as_record_batch()
                .or_else(|| msg.header_as_dictionary_batch().and_then(|d| d.data()));
            for buf in batch.and_then(|r| r.buffers()).into_iter().flatten() {
                let end = buf.offset().checked_add(buf.length());
                if buf.offset() < 0 || buf.length() < 0 || end.is_none_or(|e| e > body) {
                    return Err(outside());
                }
            }
        }
    }
    Ok(())
}

fn field_names(schema: &arrow_schema::Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// Appends an Arrow record batch (columns found by index; `spread`, the
/// spread column's, when the builder expects one) to `b`.
pub fn push_batch(
    batch: &RecordBatch,
    t: usize,
    prices: [usize; 4],
    spread: Option<usize>,
    b: &mut CandlesBuilder,
) -> Result<()> {
    let base = b.len();
    let schema = batch.schema();
    let ts = timestamps_ms(batch.column(t).as_ref(), schema.field(t).name(), base)?;
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(4);
    for &k in &prices {
        cols.push(floats(
            batch.column(k).as_ref(),
            schema.field(k).name(),
            base,
        )?);
    }
    let spread = spread
        .map(|k| spreads(batch.column(k).as_ref(), schema.field(k).name()))
        .transpose()?;
    b.push_columns_with(
        &ts,
        &cols[0],
        &cols[1],
        &cols[2],
        &cols[3],
        spread.as_deref(),
    )
}

/// A spread column as `f64`, nulls as NaN: the builder rejects them
/// row by row, after each row's price checks.
fn spreads(a: &dyn Array, name: &str) -> Result<Vec<f64>> {
    let mut v = float_values(a, name, "a spread")?;
    if a.null_count() > 0 {
        for (i, x) in v.iter_mut().enumerate() {
            if a.is_null(i) {
                *x = f64::NAN;
            }
        }
    }
    Ok(v)
}

fn first_null(a: &dyn Array, name: &str, base: usize) -> Result<()> {
    if a.null_count() > 0 {
        let row = (0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0);
        return Err(Error::input(Some(base + row), name, "null value"));
    }
    Ok(())
}

fn timestamps_ms(a: &dyn Array, name: &str, base: usize) -> Result<Vec<i64>> {
    first_null(a, name, base)?;
    let scaled = |v: &[i64], per_ms: i64| v.iter().map(|x| x.div_euclid(per_ms)).collect();
    Ok(match a.data_type() {
        DataType::Int64 => a.as_primitive::<Int64Type>().values().to_vec(),
        DataType::Int32 => a.as_primitive::<Int32Type>().values().iter().map(|&x| x as i64).collect(),
        DataType::Date64 => a.as_primitive::<Date64Type>().values().to_vec(),
        DataType::Timestamp(TimeUnit::Millisecond, _) => a.as_primitive::<TimestampMillisecondType>().values().to_vec(),
        DataType::Timestamp(TimeUnit::Microsecond, _) => scaled(a.as_primitive::<TimestampMicrosecondType>().values(), 1_000),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => scaled(a.as_primitive::<TimestampNanosecondType>().values(), 1_000_000),
        DataType::Timestamp(TimeUnit::Second, _) => {
            let v = a.as_primitive::<TimestampSecondType>().values();
            let mut out = Vec::with_capacity(v.len());
            for (i, &s) in v.iter().enumerate() {
                out.push(s.checked_mul(1000).ok_or_else(|| Error::input(Some(base + i), name, "timestamp out of range"))?);
            }
            out
        }
        other => {
            return Err(Error::input(
                None,
                name,
                format!("type {other} is not a timestamp (expected int64 epoch milliseconds or an Arrow timestamp)"),
            ))
        }
    })
}

fn floats(a: &dyn Array, name: &str, base: usize) -> Result<Vec<f64>> {
    first_null(a, name, base)?;
    float_values(a, name, "a price")
}

/// A float64 or float32 column's values as `f64` (float32 widened
/// exactly); `what` names what it should hold in the error.
fn float_values(a: &dyn Array, name: &str, what: &str) -> Result<Vec<f64>> {
    Ok(match a.data_type() {
        DataType::Float64 => a.as_primitive::<Float64Type>().values().to_vec(),
        DataType::Float32 => a
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .map(|&x| x as f64)
            .collect(),
        other => {
            return Err(Error::input(
                None,
                name,
                format!("type {other} is not {what} (expected float64 or float32)"),
            ))
        }
    })
}

/// Incremental CSV reader: feed it text in chunks of any size (a chunk may
/// end in the middle of a line or a field), then [`CsvReader::finish`].
/// The first record is the header. Blank lines are skipped.
pub struct CsvReader {
    rdr: csv_core::Reader,
    time_column: Option<String>,
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    /// Column indices of time, open, high, low, close once the header is read.
    cols: Option<[usize; 5]>,
    /// The spread column's index, when the builder expects one.
    spread: Option<usize>,
    width: usize,
    record: usize,
}

impl CsvReader {
    /// A reader; `time_column` names the time column when it is not one of
    /// [`TIME_COLUMNS`].
    pub fn new(time_column: Option<&str>) -> Self {
        CsvReader {
            rdr: csv_core::ReaderBuilder::new().build(),
            time_column: time_column.map(str::to_string),
            out: vec![0; 1024],
            out_len: 0,
            ends: vec![0; 16],
            ends_len: 0,
            cols: None,
            spread: None,
            width: 0,
            record: 0,
        }
    }

    /// Parses as many whole records of `chunk` as it can into `b`.
    pub fn feed(&mut self, chunk: &[u8], b: &mut CandlesBuilder) -> Result<()> {
        // csv-core reads an empty input as the end of the data (it would
        // end the record in progress there, and stop looking for a BOM):
        // the end is `finish`, so an empty chunk is nothing (found by
        // tests/hostile.rs).
        if chunk.is_empty() {
            return Ok(());
        }
        self.run(chunk, b)
    }

    /// Parses what is left (a last line without a newline) and checks that
    /// a header was seen.
    pub fn finish(&mut self, b: &mut CandlesBuilder) -> Result<()> {
        self.run(&[], b)?;
        if self.cols.is_none() {
            return Err(Error::input(
                None,
                "timestamp",
                "the CSV text has no header line",
            ));
        }
        Ok(())
    }

    fn run(&mut self, mut input: &[u8], b: &mut CandlesBuilder) -> Result<()> {
        use csv_core::ReadRecordResult::*;
        loop {
            let (res, nin, nout, nend) = self.rdr.read_record(
                input,
                &mut self.out[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            input = &input[nin..];
            self.out_len += nout;
            self.ends_len += nend;
            match res {
                InputEmpty => return Ok(()),
                OutputFull => self.out.resize(self.out.len() * 2, 0),
                OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                Record => {
                    let r = self.record(b);
                    self.out_len = 0;
                    self.ends_len = 0;
                    r?;
                }
                End => return Ok(()),
            }
        }
    }

    fn record(&mut self, b: &mut CandlesBuilder) -> Result<()> {
        let data = &self.out[..self.out_len];
        let ends = &self.ends[..self.ends_len];
        let mut fields: Vec<&str> = Vec::with_capacity(ends.len());
        let mut start = 0;
        for &e in ends {
            let f = std::str::from_utf8(&data[start..e]).map_err(|_| {
                Error::Format(format!("CSV record {} is not valid UTF-8", self.record))
            })?;
            fields.push(f);
            start = e;
        }
        if fields.iter().all(|f| f.trim().is_empty()) {
            return Ok(());
        }
        let Some(cols) = self.cols else {
            // A UTF-8 BOM split across chunks escapes csv-core's own check.
            if let Some(f) = fields.first_mut() {
                *f = f.strip_prefix('\u{feff}').unwrap_or(f);
            }
            let t = time_index(&fields, self.time_column.as_deref())?;
            let p = price_indices(&fields)?;
            self.spread = spread_index(&fields, b.spread_column())?;
            self.cols = Some([t, p[0], p[1], p[2], p[3]]);
            self.width = fields.len();
            return Ok(());
        };
        let row = self.record;
        self.record += 1;
        let name = ["timestamp", "open", "high", "low", "close"];
        let get = |k: usize| -> Result<&str> {
            fields.get(cols[k]).map(|s| s.trim()).ok_or_else(|| {
                Error::input(
                    Some(row),
                    name[k],
                    format!(
                        "the line has {} fields, the header has {}",
                        fields.len(),
                        self.width
                    ),
                )
            })
        };
        let ts = parse_time(get(0)?).map_err(|m| Error::input(Some(row), name[0], m))?;
        let mut px = [0.0; 4];
        for k in 0..4 {
            let s = get(k + 1)?;
            px[k] = s.parse::<f64>().map_err(|_| {
                Error::input(Some(row), name[k + 1], format!("'{s}' is not a number"))
            })?;
        }
        // An empty or unreadable spread is NaN: the builder names it after
        // the row's price checks.
        let spread = self.spread.map(|k| {
            fields
                .get(k)
                .and_then(|f| f.trim().parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        });
        b.push_row(ts, px[0], px[1], px[2], px[3], spread)
    }
}

/// A CSV time value: integer epoch milliseconds, a decimal number of
/// milliseconds (floored), or datetime text ([`parse_datetime_ms`]).
fn parse_time(s: &str) -> std::result::Result<i64, String> {
    if let Ok(v) = s.parse::<i64>() {
        return Ok(v);
    }
    if s.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        if let Ok(v) = s.parse::<f64>() {
            return Ok(v.floor() as i64);
        }
    }
    parse_datetime_ms(s).ok_or_else(|| {
        format!("'{s}' is neither epoch milliseconds nor a date-time like 2024-01-02 13:45:00")
    })
}

/// Candles from Arrow record batches (a Python Arrow stream, say): the
/// columns are found by name in the first batch's schema, as in a Parquet
/// file (the time column by `time_column` or its usual names, then open,
/// high, low, close, and the builder's spread column).
pub struct BatchReader {
    time_column: Option<String>,
    cols: Option<(usize, [usize; 4], Option<usize>)>,
}

impl BatchReader {
    pub fn new(time_column: Option<&str>) -> BatchReader {
        BatchReader {
            time_column: time_column.map(str::to_string),
            cols: None,
        }
    }

    /// Appends one batch's candles to `b`.
    pub fn push(&mut self, batch: &RecordBatch, b: &mut CandlesBuilder) -> Result<()> {
        let (t, prices, spread) = match self.cols {
            Some(c) => c,
            None => {
                let names = field_names(batch.schema().as_ref());
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let c = (
                    time_index(&refs, self.time_column.as_deref())?,
                    price_indices(&refs)?,
                    spread_index(&refs, b.spread_column())?,
                );
                *self.cols.insert(c)
            }
        };
        push_batch(batch, t, prices, spread, b)
    }
}

/// Reads a Parquet or CSV file ([`is_parquet`]: by extension, else by its
/// first bytes) into `b`: Parquet by row group, CSV in 1 MiB chunks.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_path(
    path: &std::path::Path,
    time_column: Option<&str>,
    b: &mut CandlesBuilder,
) -> Result<()> {
    use std::io::Read;
    let io = |e| Error::io(format!("cannot read {}", path.display()), e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; 4];
    let n = f.read(&mut head).map_err(io)?;
    if is_parquet(path.to_str(), &head[..n]) {
        let bytes = std::fs::read(path).map_err(io)?;
        return read_parquet(bytes.into(), time_column, b);
    }
    let mut r = CsvReader::new(time_column);
    r.feed(&head[..n], b)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = f.read(&mut buf).map_err(io)?;
        if k == 0 {
            break;
        }
        r.feed(&buf[..k], b)?;
    }
    r.finish(b)
}

/// Whether an input is Parquet rather than CSV: by its file name's
/// extension when it has one (`.parquet`, `.pq`; `.csv`), else by its
/// first bytes (`PAR1`). Every host decides it here.
pub fn is_parquet(name: Option<&str>, head: &[u8]) -> bool {
    let ext = name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("parquet" | "pq") => true,
        Some("csv") => false,
        _ => head.starts_with(b"PAR1"),
    }
}

/// Epoch milliseconds given as floating-point numbers (JavaScript's
/// `Date.getTime()`, a Float64Array), floored to the millisecond; a value
/// that is not finite or beyond ±9e15 (no date) is an input error naming
/// its row (`first_row` is the row of `values[0]`).
pub fn epoch_ms(values: &[f64], first_row: usize) -> Result<Vec<i64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if x.is_finite() && x.abs() <= 9.0e15 {
                Ok(x.floor() as i64)
            } else {
                Err(Error::input(
                    Some(first_row + i),
                    "timestamp",
                    format!("{x} is not a valid epoch-millisecond time"),
                ))
            }
        })
        .collect()
}

/// Parses date-time text to epoch milliseconds (UTC unless an offset is
/// given): `YYYY-MM-DD`, then optionally `T` or a space and
/// `HH:MM[:SS[.fff]]`, then optionally `Z` or `±HH:MM`. The date may use
/// `-`, `.` or `/` (MetaTrader writes `2024.01.02 13:45`), and the compact
/// `YYYYMMDD HHMMSS[mmm]` of HistData exports is accepted too.
pub fn parse_datetime_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    // Compact HistData form.
    if b.len() >= 15 && b[8] == b' ' && b[..8].iter().all(u8::is_ascii_digit) {
        let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
        let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
        let ms = if b.len() > 15 { num(15..b.len())? } else { 0 };
        return civil_ms(y, mo, d, h, mi, se, ms, 0);
    }
    if b.len() < 10 || !matches!(b[4], b'-' | b'.' | b'/') || b[7] != b[4] {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let mut rest = &s[10..];
    let (mut h, mut mi, mut se, mut ms, mut off) = (0, 0, 0, 0, 0);
    if let Some(r) = rest.strip_prefix(['T', ' ']) {
        let t = r.as_bytes();
        if t.len() < 5 || t[2] != b':' {
            return None;
        }
        h = r.get(0..2)?.parse().ok()?;
        mi = r.get(3..5)?.parse().ok()?;
        rest = &r[5..];
        if let Some(r2) = rest.strip_prefix(':') {
            se = r2.get(0..2)?.parse().ok()?;
            rest = &r2[2..];
            if let Some(r3) = rest.strip_prefix('.') {
                let digits = r3.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return None;
                }
                let frac = &r3[..digits];
                let ms3: String = frac.chars().chain("000".chars()).take(3).collect();
                ms = ms3.parse().ok()?;
                rest = &r3[digits..];
            }
        }
    }
    let rest = rest.trim();
    if rest == "Z" || rest.eq_ignore_ascii_case("utc") {
    } else if let Some(sign) = rest
        .strip_prefix('+')
        .map(|r| (1, r))
        .or_else(|| rest.strip_prefix('-').map(|r| (-1, r)))
    {
        let (sg, r) = sign;
        let r = r.replace(':', "");
        if r.len() != 4 || !r.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let oh: i64 = r[0..2].parse().ok()?;
        let om: i64 = r[2..4].parse().ok()?;
        off = sg * (oh * 60 + om) * 60_000;
    } else if !rest.is_empty() {
        return None;
    }
    civil_ms(y, mo, d, h, mi, se, ms, off)
}

#[allow(clippy::too_many_arguments)]
fn civil_ms(
    y: i64,
    mo: i64,
    d: i64,
    h: i64,
    mi: i64,
    s: i64,
    ms: i64,
    offset_ms: i64,
) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > dim[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || s > 60
        || ms > 999
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((((days * 24 + h) * 60 + mi) * 60 + s) * 1000 + ms - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        let p = parse_datetime_ms;
        assert_eq!(p("1970-01-01"), Some(0));
        assert_eq!(p("2024-01-02 00:00"), Some(1_704_153_600_000));
        assert_eq!(p("2024-01-02T00:00:00Z"), Some(1_704_153_600_000));
        assert_eq!(p("2024.01.02 00:00:00.250"), Some(1_704_153_600_250));
        assert_eq!(p("2024-01-02T01:00:00+01:00"), Some(1_704_153_600_000));
        assert_eq!(p("20240102 000001"), Some(1_704_153_601_000));
        assert_eq!(p("2000-02-29 12:00"), Some(951_825_600_000));
        assert_eq!(p("2023-02-29"), None);
        assert_eq!(p("yesterday"), None);
        assert_eq!(p("2024-01-02 25:00"), None);
        assert_eq!(parse_time("1704153600000"), Ok(1_704_153_600_000));
        assert_eq!(parse_time("1704153600000.9"), Ok(1_704_153_600_000));
    }

    #[test]
    fn csv_errors_name_row_and_column() {
        let run = |text: &str| {
            let mut b = CandlesBuilder::new();
            let mut r = CsvReader::new(None);
            r.feed(text.as_bytes(), &mut b)
                .and_then(|_| r.finish(&mut b))
                .and_then(|_| b.finish().map(|_| ()))
        };
        let e = run("timestamp,open,high,low,close\n0,1,1,1,1\n60000,1,x,1,1\n").unwrap_err();
        assert!(e.to_string().contains("row 1, column 'high'"), "{e}");
        let e = run("timestamp,open,high,low\n0,1,1,1\n").unwrap_err();
        assert!(e.to_string().contains("'close' is missing"), "{e}");
        let e = run("timestamp,open,high,low,close\n0,1,1,1,1\n0,1,1,1,1").unwrap_err();
        assert!(e.to_string().contains("row 1, column 'timestamp'"), "{e}");
        let e = run("timestamp,open,high,low,close\n0,1,1,1\n").unwrap_err();
        assert!(e.to_string().contains("row 0, column 'close'"), "{e}");
        let e = run("timestamp,open,high,low,close\n").unwrap_err();
        assert!(e.to_string().contains("no rows"), "{e}");
        assert!(run("").is_err());
        assert!(
            run("TIMESTAMP,Open,HIGH,low,Close,volume\n0,1,1,1,1,5\n\n60000,1,1,1,1,7\r\n").is_ok()
        );
    }

    #[test]
    fn csv_chunks_split_anywhere() {
        let text = "date,open,high,low,close\n\"2024-01-02 00:00\",1.1,1.2,1.0,1.1\n2024-01-02 00:01,1.1,1.2,1.0,1.15\n";
        for cut in 0..text.len() {
            let mut b = CandlesBuilder::new();
            let mut r = CsvReader::new(None);
            r.feed(&text.as_bytes()[..cut], &mut b).unwrap();
            r.feed(&text.as_bytes()[cut..], &mut b).unwrap();
            r.finish(&mut b).unwrap();
            let c = b.finish().unwrap();
            assert_eq!(c.close(), &[1.1, 1.15], "cut {cut}");
        }
    }
}
