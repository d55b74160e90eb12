//! Column chunks: the pages of one column in one row group, each column
//! kind with the encoding that suits it, and their statistics.

use super::*;

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
pub(super) fn page(
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

pub(super) fn data_page(
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

pub(super) fn new_chunk(rows: usize) -> Chunk {
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
    // `contains` on bytes is a memchr (a short-circuiting `all` is a
    // byte-by-byte loop).
    let prefix = !valid[..known].contains(&0);
    (defs, prefix)
}

impl SideRows<'_> {
    #[inline]
    pub(super) fn is_valid(&self, r: usize) -> bool {
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
            // Two plain reductions (they vectorise; a fold of pairs does not).
            let lo = vals.iter().copied().min().unwrap_or(i8::MAX);
            let hi = vals.iter().copied().max().unwrap_or(i8::MIN);
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
            // Over values, not references: the reductions then vectorise.
            if let (Some(lo), Some(hi)) = (vals.iter().copied().min(), vals.iter().copied().max()) {
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

pub(super) fn dict_page(
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
pub(super) const MAX_DICT: usize = 1 << 16;
/// The hash table of the return dictionary starts with `2^MIN_BITS` slots
/// (it fits the first-level cache) and grows fourfold whenever it is half
/// full, so that a row group with few distinct returns stays fast.
const MIN_BITS: u32 = 12;

/// Open addressing of `f32` bit patterns to dictionary indices.
struct Slots<'a> {
    table: &'a mut Vec<u32>,
    bits: u32,
}

impl Slots<'_> {
    #[inline(always)]
    fn slot(&self, b: u32) -> usize {
        (b.wrapping_mul(0x9E37_79B1) >> (32 - self.bits)) as usize
    }

    /// The index of `b` in `dict`, adding it when new (`None` when the
    /// dictionary is full).
    #[inline(always)]
    fn index(&mut self, b: u32, dict: &mut Vec<f32>) -> Option<u32> {
        let mask = self.table.len() - 1;
        let mut h = self.slot(b);
        loop {
            let e = self.table[h];
            if e == u32::MAX {
                if dict.len() >= MAX_DICT {
                    return None;
                }
                let k = dict.len() as u32;
                dict.push(f32::from_bits(b));
                self.table[h] = k;
                if dict.len() * 2 > self.table.len() {
                    self.grow(dict);
                }
                return Some(k);
            }
            if dict[e as usize].to_bits() == b {
                return Some(e);
            }
            h = (h + 1) & mask;
        }
    }

    /// Four times the slots, every entry of `dict` placed again.
    fn grow(&mut self, dict: &[f32]) {
        self.bits += 2;
        self.table.clear();
        self.table.resize(1 << self.bits, u32::MAX);
        let mask = self.table.len() - 1;
        for (k, v) in dict.iter().enumerate() {
            let mut h = self.slot(v.to_bits());
            while self.table[h] != u32::MAX {
                h = (h + 1) & mask;
            }
            self.table[h] = k as u32;
        }
    }
}

/// Fills `s.dict` and `s.idx` with the return column's dictionary (`+T`,
/// `-S`, then the timeout returns in order of first appearance) and
/// indices; false when there are too many distinct values.
pub(super) fn return_dictionary(side: &SideRows, s: &mut Scratch) -> bool {
    let rows = side.label.len();
    s.dict.clear();
    s.idx.clear();
    s.table.clear();
    s.table.resize(1 << MIN_BITS, u32::MAX);
    let mut slots = Slots {
        table: &mut s.table,
        bits: MIN_BITS,
    };
    // The two fixed entries (one when equal).
    for v in [side.target, side.stop] {
        if slots.index(v.to_bits(), &mut s.dict).is_none() {
            return false;
        }
    }
    s.idx.reserve(rows);
    let all = side.nulls == 0;
    for r in 0..rows {
        if !all && !side.is_valid(r) {
            continue;
        }
        let idx = match side.label[r] {
            1 => 0,
            -1 => 1,
            _ => match slots.index(side.ret[r].to_bits(), &mut s.dict) {
                Some(k) => k,
                None => return false,
            },
        };
        s.idx.push(idx);
    }
    true
}
