//! A Parquet writer made for label files: the schema is fixed and the
//! columns' shapes are known, so each column gets the encoding that suits
//! it, written directly instead of through a general-purpose writer.
//!
//! | column | physical | encoding |
//! | --- | --- | --- |
//! | `timestamp` | INT64, TIMESTAMP(ms, UTC) | DELTA_BINARY_PACKED, encoded once per row group and reused by every config |
//! | `*_label` | INT32, INT(8, signed) | dictionary `[-1, 0, 1]`, RLE/bit-packed indices |
//! | `*_exit_offset` | INT32, INT(32, unsigned) | DELTA_BINARY_PACKED |
//! | `*_return_pips` | FLOAT | dictionary (`+T`, `-S`, then the timeout returns), RLE/bit-packed indices; PLAIN when a row group has more than 65,536 distinct values |
//! | `*_ambiguous` | BOOLEAN | PLAIN (bit-packed) |
//! | `*_mfe_pips`, `*_mae_pips` | FLOAT | PLAIN |
//!
//! One data page (v1) per column chunk, definition levels RLE-encoded and
//! shared by a side's columns (a row's values are all null or all set),
//! then the codec on each page. The footer carries the Arrow schema
//! (`ARROW:schema`, as the arrow-rs and pyarrow writers do), the key-value
//! metadata of [`crate::meta`], per-chunk statistics (null count; min/max
//! for the integer columns) and type-defined column orders.
//!
//! A file can be written in parts (row ranges, each a run of whole row
//! groups) by different workers and joined: see [`Part`] and
//! [`file_footer`].

use crate::error::{Error, Result};
use std::str::FromStr;

// ---- thrift compact protocol -------------------------------------------

const T_TRUE: u8 = 1;
const T_FALSE: u8 = 2;
const T_BYTE: u8 = 3;
const T_I16: u8 = 4;
const T_I32: u8 = 5;
const T_I64: u8 = 6;
const T_BINARY: u8 = 8;
const T_LIST: u8 = 9;
const T_STRUCT: u8 = 12;

/// A writer of thrift's compact protocol, just what Parquet's footer and
/// page headers need.
#[derive(Default)]
pub(crate) struct Thrift {
    pub(crate) buf: Vec<u8>,
    last: i16,
    stack: Vec<i16>,
}

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

impl Thrift {
    fn field(&mut self, ty: u8, id: i16) {
        let delta = id - self.last;
        if delta > 0 && delta <= 15 {
            self.buf.push(((delta as u8) << 4) | ty);
        } else {
            self.buf.push(ty);
            varint(&mut self.buf, zigzag(id as i64));
        }
        self.last = id;
    }
    fn i32(&mut self, id: i16, v: i32) {
        self.field(T_I32, id);
        varint(&mut self.buf, zigzag(v as i64));
    }
    fn i64(&mut self, id: i16, v: i64) {
        self.field(T_I64, id);
        varint(&mut self.buf, zigzag(v));
    }
    fn i16(&mut self, id: i16, v: i16) {
        self.field(T_I16, id);
        varint(&mut self.buf, zigzag(v as i64));
    }
    fn byte(&mut self, id: i16, v: i8) {
        self.field(T_BYTE, id);
        self.buf.push(v as u8);
    }
    fn bool(&mut self, id: i16, v: bool) {
        self.field(if v { T_TRUE } else { T_FALSE }, id);
    }
    fn binary(&mut self, id: i16, v: &[u8]) {
        self.field(T_BINARY, id);
        varint(&mut self.buf, v.len() as u64);
        self.buf.extend_from_slice(v);
    }
    /// Starts a struct-typed field; end it with [`Thrift::end`].
    fn begin(&mut self, id: i16) {
        self.field(T_STRUCT, id);
        self.open();
    }
    /// Starts a struct that is a list element (no field header).
    fn open(&mut self) {
        self.stack.push(self.last);
        self.last = 0;
    }
    fn end(&mut self) {
        self.buf.push(0);
        self.last = self.stack.pop().unwrap_or(0);
    }
    fn list(&mut self, id: i16, elem: u8, len: usize) {
        self.field(T_LIST, id);
        if len < 15 {
            self.buf.push(((len as u8) << 4) | elem);
        } else {
            self.buf.push(0xF0 | elem);
            varint(&mut self.buf, len as u64);
        }
    }
    fn list_i32(&mut self, id: i16, v: &[i32]) {
        self.list(id, T_I32, v.len());
        for &x in v {
            varint(&mut self.buf, zigzag(x as i64));
        }
    }
    fn list_str(&mut self, id: i16, v: &[&str]) {
        self.list(id, T_BINARY, v.len());
        for s in v {
            varint(&mut self.buf, s.len() as u64);
            self.buf.extend_from_slice(s.as_bytes());
        }
    }
}

// ---- Parquet enums -------------------------------------------------------

const TYPE_BOOLEAN: i32 = 0;
const TYPE_INT32: i32 = 1;
const TYPE_INT64: i32 = 2;
const TYPE_FLOAT: i32 = 4;

const ENC_PLAIN: i32 = 0;
const ENC_RLE: i32 = 3;
const ENC_DELTA_BINARY_PACKED: i32 = 5;
const ENC_RLE_DICTIONARY: i32 = 8;

const PAGE_DATA: i32 = 0;
const PAGE_DICTIONARY: i32 = 2;

const REQUIRED: i32 = 0;
const OPTIONAL: i32 = 1;

/// What a column holds, which fixes its Parquet type and encoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Timestamp,
    Label,
    ExitOffset,
    Return,
    Ambiguous,
    Extra,
}

impl Kind {
    fn physical(self) -> i32 {
        match self {
            Kind::Timestamp => TYPE_INT64,
            Kind::Label | Kind::ExitOffset => TYPE_INT32,
            Kind::Return | Kind::Extra => TYPE_FLOAT,
            Kind::Ambiguous => TYPE_BOOLEAN,
        }
    }
}

/// One leaf of the schema.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    pub kind: Kind,
}

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

fn codec_id(c: Compression) -> i32 {
    match c {
        Compression::None => 0,
        Compression::Snappy => 1,
        Compression::Gzip(_) => 2,
        Compression::Zstd(_) => 6,
        Compression::Lz4 => 7, // LZ4_RAW
    }
}

// ---- codecs ---------------------------------------------------------------

/// Compresses pages with one codec, keeping its context between pages.
pub(crate) struct Codec {
    kind: Compression,
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

impl Codec {
    pub(crate) fn new(kind: Compression) -> Result<Self> {
        let zstd = match kind {
            Compression::Zstd(level) => Some(
                zstd::bulk::Compressor::new(level)
                    .map_err(|e| Error::io("cannot start the zstd compressor", e))?,
            ),
            _ => None,
        };
        Ok(Codec { kind, zstd })
    }

    /// Appends `data` compressed to `out`.
    fn compress(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match self.kind {
            Compression::None => out.extend_from_slice(data),
            Compression::Zstd(_) => {
                let z = self
                    .zstd
                    .as_mut()
                    .ok_or_else(|| Error::Format("zstd compressor missing".into()))?;
                let start = out.len();
                let bound = zstd::zstd_safe::compress_bound(data.len());
                out.resize(start + bound, 0);
                let n = z
                    .compress_to_buffer(data, &mut out[start..])
                    .map_err(|e| Error::io("zstd compression failed", e))?;
                out.truncate(start + n);
            }
            Compression::Snappy => {
                let start = out.len();
                out.resize(start + snap::raw::max_compress_len(data.len()), 0);
                let n = snap::raw::Encoder::new()
                    .compress(data, &mut out[start..])
                    .map_err(|e| Error::Format(format!("snappy compression failed: {e}")))?;
                out.truncate(start + n);
            }
            Compression::Lz4 => {
                let start = out.len();
                out.resize(
                    start + lz4_flex::block::get_maximum_output_size(data.len()),
                    0,
                );
                let n = lz4_flex::block::compress_into(data, &mut out[start..])
                    .map_err(|e| Error::Format(format!("lz4 compression failed: {e}")))?;
                out.truncate(start + n);
            }
            Compression::Gzip(level) => {
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(
                    std::mem::take(out),
                    flate2::Compression::new(level),
                );
                e.write_all(data)
                    .map_err(|e| Error::io("gzip compression failed", e))?;
                *out = e
                    .finish()
                    .map_err(|e| Error::io("gzip compression failed", e))?;
            }
        }
        Ok(())
    }
}

// ---- value encoders -------------------------------------------------------

/// Bits needed for `v`.
fn bits(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Packs values of `width` bits, least significant bit first.
struct BitPacker<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl<'a> BitPacker<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        BitPacker { out, acc: 0, n: 0 }
    }
    /// Appends the low `width` bits of `v` (`width` <= 32, `v < 2^width`).
    #[inline(always)]
    fn put(&mut self, v: u64, width: u32) {
        self.acc |= v << self.n;
        self.n += width;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    fn finish(self) {
        let mut acc = self.acc;
        let mut n = self.n;
        while n > 0 {
            self.out.push(acc as u8);
            acc >>= 8;
            n = n.saturating_sub(8);
        }
    }
}

/// Packs `values` (each `< 2^width`, `width` <= 32) LSB first, padded
/// with zeros to `count` values.
#[inline]
fn pack<T: Copy>(
    values: &[T],
    count: usize,
    width: u32,
    map: &impl Fn(T) -> u32,
    out: &mut Vec<u8>,
) {
    match width {
        1 | 2 | 4 => {
            let per = 8 / width as usize;
            let mut k = 0;
            while k < count {
                let mut byte = 0u8;
                for b in 0..per {
                    if let Some(&v) = values.get(k + b) {
                        byte |= (map(v) as u8) << (b as u32 * width);
                    }
                }
                out.push(byte);
                k += per;
            }
        }
        8 => {
            out.extend(values.iter().map(|&v| map(v) as u8));
            out.extend(std::iter::repeat_n(0u8, count - values.len()));
        }
        _ => {
            let mut p = BitPacker::new(out);
            for &v in values {
                p.put(map(v) as u64, width);
            }
            for _ in values.len()..count {
                p.put(0, width);
            }
            p.finish();
        }
    }
}

/// The RLE / bit-packing hybrid of Parquet (definition levels and
/// dictionary indices) over `map(values[i])`, each of `width` bits. Runs
/// of 8 or more equal values become RLE runs, the rest bit-packed groups
/// of 8.
pub(crate) fn rle_hybrid<T: Copy + PartialEq>(
    values: &[T],
    width: u32,
    map: impl Fn(T) -> u32,
    out: &mut Vec<u8>,
) {
    let n = values.len();
    let vbytes = width.div_ceil(8) as usize;
    let mut lit_start = 0;
    let mut i = 0;
    let flush_lit = |out: &mut Vec<u8>, from: usize, to: usize| {
        if to <= from {
            return;
        }
        let groups = (to - from).div_ceil(8);
        varint(out, ((groups as u64) << 1) | 1);
        pack(&values[from..to.min(n)], groups * 8, width, &map, out);
    };
    while i < n {
        let v = values[i];
        let mut j = i + 1;
        while j < n && values[j] == v {
            j += 1;
        }
        let run = j - i;
        if run >= 8 {
            // The literal before must hold whole groups of 8: lend it the
            // first values of the run.
            let pad = (8 - (i - lit_start) % 8) % 8;
            if run - pad >= 8 {
                flush_lit(out, lit_start, i + pad);
                varint(out, ((run - pad) as u64) << 1);
                out.extend_from_slice(&map(v).to_le_bytes()[..vbytes]);
                lit_start = j;
            }
        }
        i = j;
    }
    flush_lit(out, lit_start, n);
}

/// Definition levels (0 null, 1 set) from `valid` (one byte per row),
/// RLE-encoded with the 4-byte length prefix of data page v1.
fn def_levels(valid: &[u8], nulls: usize, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    if nulls == 0 {
        varint(out, (valid.len() as u64) << 1);
        out.push(1);
    } else {
        rle_hybrid(valid, 1, |v| v as u32, out);
    }
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// DELTA_BINARY_PACKED: blocks of 128 values in 4 miniblocks of 32.
pub(crate) fn delta_binary_packed<T: Copy>(values: &[T], f: impl Fn(T) -> i64, out: &mut Vec<u8>) {
    const BLOCK: usize = 128;
    const MINI: usize = 32;
    varint(out, BLOCK as u64);
    varint(out, (BLOCK / MINI) as u64);
    varint(out, values.len() as u64);
    let Some(&first) = values.first() else {
        varint(out, 0);
        return;
    };
    let mut prev = f(first);
    varint(out, zigzag(prev));
    let mut deltas = [0i64; BLOCK];
    for block in values[1..].chunks(BLOCK) {
        let k = block.len();
        let mut min = i64::MAX;
        for (d, &v) in deltas.iter_mut().zip(block) {
            let v = f(v);
            *d = v.wrapping_sub(prev);
            prev = v;
            min = min.min(*d);
        }
        varint(out, zigzag(min));
        let minis = k.div_ceil(MINI);
        let mut widths = [0u32; BLOCK / MINI];
        for (m, w) in widths.iter_mut().enumerate().take(minis) {
            let s = &deltas[m * MINI..((m + 1) * MINI).min(k)];
            let max = s
                .iter()
                .map(|&d| d.wrapping_sub(min) as u64)
                .max()
                .unwrap_or(0);
            *w = bits(max);
        }
        out.extend(widths.iter().map(|&w| w as u8));
        for (m, &w) in widths.iter().enumerate().take(minis) {
            if w == 0 {
                continue;
            }
            let mut p = BitPacker::new(out);
            // The last miniblock is padded with zeros to 32 values.
            for (idx, &delta) in deltas.iter().enumerate().skip(m * MINI).take(MINI) {
                let d = if idx < k {
                    delta.wrapping_sub(min) as u64
                } else {
                    0
                };
                if w > 32 {
                    p.put(d & 0xFFFF_FFFF, 32);
                    p.put(d >> 32, w - 32);
                } else {
                    p.put(d, w);
                }
            }
            p.finish();
        }
    }
}

// ---- column chunks ----------------------------------------------------------

/// Statistics of one column chunk.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    pub nulls: u64,
    pub min: Option<Vec<u8>>,
    pub max: Option<Vec<u8>>,
}

/// One encoded column chunk: its pages (headers included) and what the
/// footer says of it, with offsets relative to the chunk's start.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    pub bytes: Vec<u8>,
    pub encodings: Vec<i32>,
    pub values: u64,
    pub uncompressed: u64,
    /// Offset of the data page from the chunk's start (after the
    /// dictionary page, when there is one).
    pub data_page: u64,
    pub has_dictionary: bool,
    pub stats: Stats,
}

/// Writes one page (header + compressed body) into `chunk`.
fn page(
    codec: &mut Codec,
    chunk: &mut Chunk,
    body: &[u8],
    header: impl FnOnce(&mut Thrift),
    ty: i32,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    scratch.clear();
    codec.compress(body, scratch)?;
    let mut h = Thrift::default();
    h.i32(1, ty);
    h.i32(2, body.len() as i32);
    h.i32(3, scratch.len() as i32);
    header(&mut h);
    h.buf.push(0);
    chunk.uncompressed += (h.buf.len() + body.len()) as u64;
    chunk.bytes.extend_from_slice(&h.buf);
    chunk.bytes.extend_from_slice(scratch);
    Ok(())
}

fn data_page(
    codec: &mut Codec,
    chunk: &mut Chunk,
    body: &[u8],
    rows: usize,
    encoding: i32,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    chunk.data_page = chunk.bytes.len() as u64;
    page(
        codec,
        chunk,
        body,
        |h| {
            h.begin(5);
            h.i32(1, rows as i32);
            h.i32(2, encoding);
            h.i32(3, ENC_RLE);
            h.i32(4, ENC_RLE);
            h.end();
        },
        PAGE_DATA,
        scratch,
    )
}

fn new_chunk(rows: usize) -> Chunk {
    Chunk {
        bytes: Vec::new(),
        encodings: Vec::new(),
        values: rows as u64,
        uncompressed: 0,
        data_page: 0,
        has_dictionary: false,
        stats: Stats::default(),
    }
}

/// A side's rows for one row group: values of null rows are ignored.
pub(crate) struct SideRows<'a> {
    /// One byte per row: 1 when the row's outcome is known.
    pub valid: &'a [u8],
    pub nulls: usize,
    pub label: &'a [i8],
    pub exit: &'a [u32],
    pub ret: &'a [f32],
    /// One byte per row: 1 when ambiguous.
    pub amb: &'a [u8],
    /// +T and -S of the config, the first two dictionary entries.
    pub target: f32,
    pub stop: f32,
    /// The definition levels of every column of the side (from
    /// [`side_levels`]), and whether the known rows are a prefix.
    pub defs: &'a [u8],
    pub prefix: bool,
}

/// A side's encoded definition levels (shared by its columns) and
/// whether the rows with a known outcome come first (the usual case: only
/// the last windows are incomplete), which lets the columns be encoded
/// from plain slices.
pub(crate) fn side_levels(valid: &[u8], nulls: usize) -> (Vec<u8>, bool) {
    let mut defs = Vec::new();
    def_levels(valid, nulls, &mut defs);
    let known = valid.len() - nulls;
    let prefix = valid[..known].iter().all(|&v| v != 0);
    (defs, prefix)
}

impl SideRows<'_> {
    #[inline]
    fn is_valid(&self, r: usize) -> bool {
        self.valid[r] != 0
    }
}

/// Reusable buffers of a column encoder.
#[derive(Default)]
pub(crate) struct Scratch {
    body: Vec<u8>,
    comp: Vec<u8>,
    idx: Vec<u32>,
    table: Vec<u32>,
    /// Slots of `table` in use, to empty it without clearing it all.
    used: Vec<u32>,
    dict: Vec<f32>,
}

/// Encodes the timestamp column of one row group.
pub(crate) fn timestamp_chunk(ts: &[i64], codec: &mut Codec, s: &mut Scratch) -> Result<Chunk> {
    let mut c = new_chunk(ts.len());
    s.body.clear();
    delta_binary_packed(ts, |t| t, &mut s.body);
    let body = std::mem::take(&mut s.body);
    data_page(
        codec,
        &mut c,
        &body,
        ts.len(),
        ENC_DELTA_BINARY_PACKED,
        &mut s.comp,
    )?;
    s.body = body;
    c.encodings = vec![ENC_DELTA_BINARY_PACKED, ENC_RLE];
    if let (Some(a), Some(b)) = (ts.iter().min(), ts.iter().max()) {
        c.stats.min = Some(a.to_le_bytes().to_vec());
        c.stats.max = Some(b.to_le_bytes().to_vec());
    }
    Ok(c)
}

/// Encodes one column of a side for one row group.
pub(crate) fn side_chunk(
    kind: Kind,
    side: &SideRows,
    extra: &[f32],
    codec: &mut Codec,
    s: &mut Scratch,
) -> Result<Chunk> {
    let rows = side.label.len();
    let mut c = new_chunk(rows);
    c.stats.nulls = side.nulls as u64;
    let mut body = std::mem::take(&mut s.body);
    body.clear();
    body.extend_from_slice(side.defs);
    // Known rows first: their values are plain prefixes of the columns.
    let known = rows - side.nulls;
    let all = side.nulls == 0 || side.prefix;
    let valid_rows = |r: &usize| side.is_valid(*r);
    let side = &SideRows {
        label: &side.label[..if all { known } else { rows }],
        exit: &side.exit[..if all { known } else { rows }],
        ret: &side.ret[..if all { known } else { rows }],
        amb: &side.amb[..if all { known } else { rows }],
        valid: &side.valid[..if all { known } else { rows }],
        nulls: if all { 0 } else { side.nulls },
        ..*side
    };
    let extra = if all && extra.len() >= known {
        &extra[..known]
    } else {
        extra
    };
    match kind {
        Kind::Label => {
            // Dictionary [-1, 0, 1]: index = label + 1.
            let mut dict = Vec::with_capacity(12);
            for v in [-1i32, 0, 1] {
                dict.extend_from_slice(&v.to_le_bytes());
            }
            dict_page(codec, &mut c, &dict, 3, &mut s.comp)?;
            let filtered: Vec<i8>;
            let vals = if all {
                side.label
            } else {
                filtered = (0..rows)
                    .filter(valid_rows)
                    .map(|r| side.label[r])
                    .collect();
                &filtered
            };
            let (lo, hi) = vals
                .iter()
                .fold((i8::MAX, i8::MIN), |(a, b), &l| (a.min(l), b.max(l)));
            body.push(2);
            rle_hybrid(vals, 2, |l| (l + 1) as u32, &mut body);
            data_page(codec, &mut c, &body, rows, ENC_RLE_DICTIONARY, &mut s.comp)?;
            c.encodings = vec![ENC_PLAIN, ENC_RLE, ENC_RLE_DICTIONARY];
            if lo <= hi {
                c.stats.min = Some((lo as i32).to_le_bytes().to_vec());
                c.stats.max = Some((hi as i32).to_le_bytes().to_vec());
            }
        }
        Kind::ExitOffset => {
            let filtered: Vec<u32>;
            let vals = if all {
                side.exit
            } else {
                filtered = (0..rows).filter(valid_rows).map(|r| side.exit[r]).collect();
                &filtered
            };
            delta_binary_packed(vals, |v| v as i32 as i64, &mut body);
            data_page(
                codec,
                &mut c,
                &body,
                rows,
                ENC_DELTA_BINARY_PACKED,
                &mut s.comp,
            )?;
            c.encodings = vec![ENC_DELTA_BINARY_PACKED, ENC_RLE];
            if let (Some(lo), Some(hi)) = (vals.iter().min(), vals.iter().max()) {
                c.stats.min = Some(lo.to_le_bytes().to_vec());
                c.stats.max = Some(hi.to_le_bytes().to_vec());
            }
        }
        Kind::Return => {
            if !return_dictionary(side, s) {
                // Too many distinct values for a dictionary: plain floats.
                for r in (0..rows).filter(valid_rows) {
                    body.extend_from_slice(&side.ret[r].to_le_bytes());
                }
                data_page(codec, &mut c, &body, rows, ENC_PLAIN, &mut s.comp)?;
                c.encodings = vec![ENC_PLAIN, ENC_RLE];
            } else {
                let mut dict = Vec::with_capacity(s.dict.len() * 4);
                for v in &s.dict {
                    dict.extend_from_slice(&v.to_le_bytes());
                }
                dict_page(codec, &mut c, &dict, s.dict.len(), &mut s.comp)?;
                // Byte-aligned indices when they fit a byte: zstd's entropy
                // coder then sees each index as one symbol.
                let width = match s.dict.len() {
                    n if n <= 256 => 8,
                    n => bits((n - 1) as u64),
                };
                body.push(width as u8);
                rle_hybrid(&s.idx, width, |v| v, &mut body);
                data_page(codec, &mut c, &body, rows, ENC_RLE_DICTIONARY, &mut s.comp)?;
                c.encodings = vec![ENC_PLAIN, ENC_RLE, ENC_RLE_DICTIONARY];
            }
        }
        Kind::Ambiguous => {
            let filtered: Vec<u8>;
            let vals = if all {
                side.amb
            } else {
                filtered = (0..rows).filter(valid_rows).map(|r| side.amb[r]).collect();
                &filtered
            };
            pack(vals, vals.len(), 1, &|v| v as u32, &mut body);
            data_page(codec, &mut c, &body, rows, ENC_PLAIN, &mut s.comp)?;
            c.encodings = vec![ENC_PLAIN, ENC_RLE];
        }
        Kind::Extra => {
            if all {
                // Known rows first: the values are one plain slice.
                body.reserve(extra.len() * 4);
                for v in extra {
                    body.extend_from_slice(&v.to_le_bytes());
                }
            } else {
                for r in (0..rows).filter(valid_rows) {
                    body.extend_from_slice(&extra[r].to_le_bytes());
                }
            }
            data_page(codec, &mut c, &body, rows, ENC_PLAIN, &mut s.comp)?;
            c.encodings = vec![ENC_PLAIN, ENC_RLE];
        }
        Kind::Timestamp => {
            return Err(Error::Format(
                "the timestamp column is not a side column".into(),
            ))
        }
    }
    s.body = body;
    Ok(c)
}

fn dict_page(
    codec: &mut Codec,
    c: &mut Chunk,
    dict: &[u8],
    n: usize,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    c.has_dictionary = true;
    page(
        codec,
        c,
        dict,
        |h| {
            h.begin(7);
            h.i32(1, n as i32);
            h.i32(2, ENC_PLAIN);
            h.end();
        },
        PAGE_DICTIONARY,
        scratch,
    )
}

/// Most distinct returns a row group's dictionary may hold.
const MAX_DICT: usize = 1 << 16;
const TABLE_BITS: u32 = 17;

/// Fills `s.dict` and `s.idx` with the return column's dictionary and
/// indices; false when there are too many distinct values.
fn return_dictionary(side: &SideRows, s: &mut Scratch) -> bool {
    let rows = side.label.len();
    s.dict.clear();
    s.idx.clear();
    // Empty the table from the last call: only the slots it used.
    if s.table.len() != 1 << TABLE_BITS {
        s.table.clear();
        s.table.resize(1 << TABLE_BITS, u32::MAX);
    } else {
        for &h in &s.used {
            s.table[h as usize] = u32::MAX;
        }
    }
    s.used.clear();
    let (tb, sb) = (side.target.to_bits(), side.stop.to_bits());
    s.dict.push(side.target);
    s.dict.push(side.stop);
    let mask = (1u32 << TABLE_BITS) - 1;
    let slot = |b: u32| (b.wrapping_mul(0x9E37_79B1) >> (32 - TABLE_BITS)) & mask;
    // Seed the table with the two fixed entries (unless equal).
    for (k, b) in [(0u32, tb), (1u32, sb)] {
        let mut h = slot(b);
        loop {
            let e = s.table[h as usize];
            if e == u32::MAX {
                s.table[h as usize] = k;
                s.used.push(h);
                break;
            }
            if s.dict[e as usize].to_bits() == b {
                break;
            }
            h = (h + 1) & mask;
        }
    }
    let all = side.nulls == 0;
    for r in 0..rows {
        if !all && !side.is_valid(r) {
            continue;
        }
        let idx = match side.label[r] {
            1 => 0,
            -1 => 1,
            _ => {
                let v = side.ret[r];
                let b = v.to_bits();
                let mut h = slot(b);
                loop {
                    let e = s.table[h as usize];
                    if e == u32::MAX {
                        if s.dict.len() >= MAX_DICT {
                            return false;
                        }
                        let k = s.dict.len() as u32;
                        s.dict.push(v);
                        s.table[h as usize] = k;
                        s.used.push(h);
                        break k;
                    }
                    if s.dict[e as usize].to_bits() == b {
                        break e;
                    }
                    h = (h + 1) & mask;
                }
            }
        };
        s.idx.push(idx);
    }
    true
}

// ---- footer ---------------------------------------------------------------

/// A row group as the footer describes it, offsets relative to the start
/// of the part that holds it.
#[derive(Debug, Clone)]
pub(crate) struct RowGroupMeta {
    pub rows: u64,
    /// Start of the row group's first chunk.
    pub offset: u64,
    pub chunks: Vec<ChunkMeta>,
}

#[derive(Debug, Clone)]
pub(crate) struct ChunkMeta {
    pub offset: u64,
    pub compressed: u64,
    pub uncompressed: u64,
    pub values: u64,
    pub data_page: u64,
    pub has_dictionary: bool,
    pub encodings: Vec<i32>,
    pub stats: Stats,
}

impl ChunkMeta {
    pub(crate) fn of(c: &Chunk, offset: u64) -> Self {
        ChunkMeta {
            offset,
            compressed: c.bytes.len() as u64,
            uncompressed: c.uncompressed,
            values: c.values,
            data_page: offset + c.data_page,
            has_dictionary: c.has_dictionary,
            encodings: c.encodings.clone(),
            stats: c.stats.clone(),
        }
    }
}

/// The row groups a worker wrote for a run of rows, and where its bytes
/// go: joined by [`file_footer`]. Serialised with [`Part::to_bytes`] to
/// cross from a worker to the host that joins the file.
#[derive(Debug, Clone, Default)]
pub struct Part {
    pub(crate) row_groups: Vec<RowGroupMeta>,
    /// Bytes of the part (its row groups; the first part also holds the
    /// file's leading magic).
    pub(crate) len: u64,
}

impl Part {
    /// A compact binary form (varints) for the trip to the joining host.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![b'F', b'X', b'P', 1];
        varint(&mut b, self.len);
        varint(&mut b, self.row_groups.len() as u64);
        for rg in &self.row_groups {
            varint(&mut b, rg.rows);
            varint(&mut b, rg.offset);
            varint(&mut b, rg.chunks.len() as u64);
            for c in &rg.chunks {
                for v in [
                    c.offset,
                    c.compressed,
                    c.uncompressed,
                    c.values,
                    c.data_page,
                ] {
                    varint(&mut b, v);
                }
                b.push(c.has_dictionary as u8);
                varint(&mut b, c.encodings.len() as u64);
                for &e in &c.encodings {
                    varint(&mut b, e as u64);
                }
                varint(&mut b, c.stats.nulls);
                for m in [&c.stats.min, &c.stats.max] {
                    match m {
                        None => b.push(0),
                        Some(v) => {
                            b.push(1);
                            varint(&mut b, v.len() as u64);
                            b.extend_from_slice(v);
                        }
                    }
                }
            }
        }
        b
    }

    /// Reads [`Part::to_bytes`]'s form back.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let bad = || Error::Format("not an fxlabel file part".into());
        let mut r = Reader { b, i: 0 };
        if r.take(4).ok_or_else(bad)? != [b'F', b'X', b'P', 1] {
            return Err(bad());
        }
        let len = r.varint().ok_or_else(bad)?;
        let n = r.count(b.len()).ok_or_else(bad)?;
        let mut row_groups = Vec::with_capacity(n);
        for _ in 0..n {
            let rows = r.varint().ok_or_else(bad)?;
            let offset = r.varint().ok_or_else(bad)?;
            let nc = r.count(b.len()).ok_or_else(bad)?;
            let mut chunks = Vec::with_capacity(nc);
            for _ in 0..nc {
                let mut v = [0u64; 5];
                for x in &mut v {
                    *x = r.varint().ok_or_else(bad)?;
                }
                let has_dictionary = r.take(1).ok_or_else(bad)?[0] == 1;
                let ne = r.count(b.len()).ok_or_else(bad)?;
                let mut encodings = Vec::with_capacity(ne);
                for _ in 0..ne {
                    encodings.push(r.varint().ok_or_else(bad)? as i32);
                }
                let nulls = r.varint().ok_or_else(bad)?;
                let mut mm = [None, None];
                for m in &mut mm {
                    if r.take(1).ok_or_else(bad)?[0] == 1 {
                        let l = r.count(b.len()).ok_or_else(bad)?;
                        *m = Some(r.take(l).ok_or_else(bad)?.to_vec());
                    }
                }
                let [min, max] = mm;
                chunks.push(ChunkMeta {
                    offset: v[0],
                    compressed: v[1],
                    uncompressed: v[2],
                    values: v[3],
                    data_page: v[4],
                    has_dictionary,
                    encodings,
                    stats: Stats { nulls, min, max },
                });
            }
            row_groups.push(RowGroupMeta {
                rows,
                offset,
                chunks,
            });
        }
        if r.i != b.len() {
            return Err(bad());
        }
        Ok(Part { row_groups, len })
    }

    /// Rows in the part.
    pub fn rows(&self) -> u64 {
        self.row_groups.iter().map(|g| g.rows).sum()
    }

    /// Bytes of the part.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the part holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.i..self.i.checked_add(n)?)?;
        self.i += n;
        Some(s)
    }
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.i)?;
            self.i += 1;
            v |= ((byte & 0x7F) as u64) << shift;
            if byte < 0x80 {
                return Some(v);
            }
        }
        None
    }
    /// A count that cannot exceed the input's length (so a corrupt one
    /// cannot reserve much).
    fn count(&mut self, limit: usize) -> Option<usize> {
        let v = self.varint()?;
        (v <= limit as u64).then_some(v as usize)
    }
}

/// The footer (file metadata, its length and the closing magic) of a
/// file whose parts, in order, are `parts`: the first part starts at byte
/// 0 (with the leading magic), each next one where the previous ended.
pub(crate) fn file_footer(
    columns: &[Column],
    parts: &[Part],
    key_values: &[(String, String)],
    created_by: &str,
    compression: Compression,
) -> Result<Vec<u8>> {
    let mut t = Thrift::default();
    t.i32(1, 2);
    // Schema: the root, then one leaf per column.
    t.list(2, T_STRUCT, columns.len() + 1);
    t.open();
    t.binary(4, b"schema");
    t.i32(5, columns.len() as i32);
    t.end();
    for c in columns {
        t.open();
        t.i32(1, c.kind.physical());
        t.i32(
            3,
            if c.kind == Kind::Timestamp {
                REQUIRED
            } else {
                OPTIONAL
            },
        );
        t.binary(4, c.name.as_bytes());
        match c.kind {
            Kind::Timestamp => {
                t.i32(6, 9); // TIMESTAMP_MILLIS
                t.begin(10);
                t.begin(8);
                t.bool(1, true);
                t.begin(2);
                t.begin(1);
                t.end();
                t.end();
                t.end();
                t.end();
            }
            Kind::Label => {
                t.i32(6, 15); // INT_8
                t.begin(10);
                t.begin(10);
                t.byte(1, 8);
                t.bool(2, true);
                t.end();
                t.end();
            }
            Kind::ExitOffset => {
                t.i32(6, 13); // UINT_32
                t.begin(10);
                t.begin(10);
                t.byte(1, 32);
                t.bool(2, false);
                t.end();
                t.end();
            }
            _ => {}
        }
        t.end();
    }
    let rows: u64 = parts.iter().map(Part::rows).sum();
    t.i64(3, rows as i64);
    let groups: usize = parts.iter().map(|p| p.row_groups.len()).sum();
    t.list(4, T_STRUCT, groups);
    let mut base = 0u64;
    let mut ordinal = 0i16;
    for p in parts {
        for rg in &p.row_groups {
            if rg.chunks.len() != columns.len() {
                return Err(Error::Format(
                    "a file part does not match this grid's columns".into(),
                ));
            }
            t.open();
            t.list(1, T_STRUCT, rg.chunks.len());
            let mut total_unc = 0u64;
            let mut total_comp = 0u64;
            for (ch, col) in rg.chunks.iter().zip(columns) {
                let off = base + ch.offset;
                total_unc += ch.uncompressed;
                total_comp += ch.compressed;
                t.open();
                t.i64(2, (off + ch.compressed) as i64);
                t.begin(3);
                t.i32(1, col.kind.physical());
                t.list_i32(2, &ch.encodings);
                t.list_str(3, &[col.name.as_str()]);
                t.i32(4, codec_id(compression));
                t.i64(5, ch.values as i64);
                t.i64(6, ch.uncompressed as i64);
                t.i64(7, ch.compressed as i64);
                t.i64(9, (base + ch.data_page) as i64);
                if ch.has_dictionary {
                    t.i64(11, off as i64);
                }
                t.begin(12);
                t.i64(3, ch.stats.nulls as i64);
                if let (Some(lo), Some(hi)) = (&ch.stats.min, &ch.stats.max) {
                    t.binary(5, hi);
                    t.binary(6, lo);
                }
                t.end();
                t.end();
                t.end();
            }
            t.i64(2, total_unc as i64);
            t.i64(3, rg.rows as i64);
            t.i64(5, (base + rg.offset) as i64);
            t.i64(6, total_comp as i64);
            t.i16(7, ordinal);
            ordinal = ordinal.wrapping_add(1);
            t.end();
        }
        base += p.len;
    }
    t.list(5, T_STRUCT, key_values.len());
    for (k, v) in key_values {
        t.open();
        t.binary(1, k.as_bytes());
        t.binary(2, v.as_bytes());
        t.end();
    }
    t.binary(6, created_by.as_bytes());
    t.list(7, T_STRUCT, columns.len());
    for _ in columns {
        t.open();
        t.begin(1);
        t.end();
        t.end();
    }
    t.buf.push(0);
    let mut out = t.buf;
    let len = out.len() as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(b"PAR1");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_varint(b: &[u8], i: &mut usize) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let x = b[*i];
            *i += 1;
            v |= ((x & 0x7F) as u64) << shift;
            if x < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    /// The hybrid decoder of the Parquet spec, written plainly.
    fn decode_hybrid(b: &[u8], width: u32, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < n {
            let h = read_varint(b, &mut i);
            if h & 1 == 1 {
                let count = (h >> 1) as usize * 8;
                let mut bit = 0usize;
                for _ in 0..count {
                    let mut v = 0u32;
                    for k in 0..width as usize {
                        let byte = b[i + (bit + k) / 8];
                        v |= (((byte >> ((bit + k) % 8)) & 1) as u32) << k;
                    }
                    bit += width as usize;
                    out.push(v);
                }
                i += (count * width as usize).div_ceil(8);
            } else {
                let count = (h >> 1) as usize;
                let nb = width.div_ceil(8) as usize;
                let mut v = [0u8; 4];
                v[..nb].copy_from_slice(&b[i..i + nb]);
                i += nb;
                out.extend(std::iter::repeat_n(u32::from_le_bytes(v), count));
            }
        }
        out.truncate(n);
        out
    }

    #[test]
    fn rle_hybrid_decodes_to_its_input() {
        let mut seed = 12345u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for width in [1u32, 2, 3, 7, 8, 12, 16, 20] {
            for _ in 0..50 {
                let n = (next() % 300) as usize;
                let mut v = Vec::new();
                while v.len() < n {
                    let x = (next() % (1u64 << width)) as u32;
                    let run = if next() % 3 == 0 {
                        (next() % 40) as usize
                    } else {
                        1
                    };
                    v.extend(std::iter::repeat_n(x, run.min(n - v.len()).max(1)));
                }
                v.truncate(n);
                let mut out = Vec::new();
                rle_hybrid(&v, width, |x| x, &mut out);
                assert_eq!(decode_hybrid(&out, width, v.len()), v, "width {width}");
            }
        }
    }

    #[test]
    fn thrift_field_headers_and_zigzag() {
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
        let mut t = Thrift::default();
        t.i32(1, 5); // short form: delta 1, type i32
        t.i32(20, 1); // long form: delta > 15
        assert_eq!(t.buf, vec![0x15, 10, 0x05, 40, 2]);
    }

    #[test]
    fn part_wire_form_round_trips() {
        let p = Part {
            row_groups: vec![RowGroupMeta {
                rows: 3,
                offset: 4,
                chunks: vec![ChunkMeta {
                    offset: 4,
                    compressed: 10,
                    uncompressed: 20,
                    values: 3,
                    data_page: 9,
                    has_dictionary: true,
                    encodings: vec![0, 3, 8],
                    stats: Stats {
                        nulls: 1,
                        min: Some(vec![1, 2]),
                        max: None,
                    },
                }],
            }],
            len: 14,
        };
        let q = Part::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(format!("{p:?}"), format!("{q:?}"));
        assert_eq!((q.rows(), q.len()), (3, 14));
    }
}
