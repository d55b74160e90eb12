//! Column chunks: the pages of one column in one row group, each column
//! kind with the encoding that suits it, and their statistics.

use super::*;
use crate::distinct::{Distinct, MAX_DISTINCT};

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
    /// The horizon's timeout returns, numbered (distinct values, each
    /// row's number), when the labeling pass had them.
    pub timeouts: Option<(&'a [f32], &'a [u16])>,
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
    remap: Vec<u32>,
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
            // Over values, not references: the reductions then vectorise.
            let (lo, hi) = (vals.iter().copied().min(), vals.iter().copied().max());
            match hi {
                Some(hi) if hi >= 1 << 30 => {
                    delta_binary_packed(vals, |v| v as i32 as i64, &mut body)
                }
                _ => delta_binary_packed_small(vals, &mut body),
            }
            data_page(
                codec,
                &mut c,
                &body,
                rows,
                ENC_DELTA_BINARY_PACKED,
                &mut s.comp,
            )?;
            c.encodings = vec![ENC_DELTA_BINARY_PACKED, ENC_RLE];
            if let (Some(lo), Some(hi)) = (lo, hi) {
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
                plain_f32(&mut body, extra.iter().copied(), extra.len());
            } else {
                plain_f32(
                    &mut body,
                    (0..rows).filter(valid_rows).map(|r| extra[r]),
                    known,
                );
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

/// Appends `n` float32 values PLAIN (4 little-endian bytes each), written
/// into place: a loop the compiler turns into plain copies, where pushing
/// them one by one checked the capacity every time.
fn plain_f32(body: &mut Vec<u8>, values: impl Iterator<Item = f32>, n: usize) {
    let start = body.len();
    body.resize(start + n * 4, 0);
    for (b, v) in body[start..].chunks_exact_mut(4).zip(values) {
        b.copy_from_slice(&v.to_le_bytes());
    }
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

/// Fills `s.dict` and `s.idx` with the return column's dictionary (`+T`,
/// `-S`, then the timeout returns in order of first appearance) and
/// indices; false when there are too many distinct values. With the
/// numbering of the horizon's timeout returns (`side.timeouts`), a
/// timeout's index is its number renumbered, without hashing.
pub(super) fn return_dictionary(side: &SideRows, s: &mut Scratch) -> bool {
    let rows = side.label.len();
    s.idx.clear();
    s.idx.reserve(rows);
    let all = side.nulls == 0;
    let (tb, sb) = (side.target.to_bits(), side.stop.to_bits());
    let Some((values, ids)) = side.timeouts else {
        let mut d = Distinct::new(&mut s.table, &mut s.dict);
        // The two fixed entries (one when equal).
        for b in [tb, sb] {
            if d.index(b).is_none() {
                return false;
            }
        }
        for r in 0..rows {
            if !all && !side.is_valid(r) {
                continue;
            }
            let idx = match side.label[r] {
                1 => 0,
                -1 => 1,
                _ => match d.index(side.ret[r].to_bits()) {
                    Some(k) => k,
                    None => return false,
                },
            };
            s.idx.push(idx);
        }
        return true;
    };
    s.dict.clear();
    s.dict.push(side.target);
    if sb != tb {
        s.dict.push(side.stop);
    }
    // Each numbered value's index: +T's or -S's when equal to one of
    // them, the next free one on its first appearance.
    let stop_idx = (s.dict.len() - 1) as u32;
    s.remap.clear();
    s.remap.extend(values.iter().map(|v| match v.to_bits() {
        b if b == tb => 0,
        b if b == sb => stop_idx,
        _ => u32::MAX,
    }));
    for (r, (&label, &h)) in side.label.iter().zip(ids).enumerate() {
        if !all && !side.is_valid(r) {
            continue;
        }
        let idx = match label {
            1 => 0,
            -1 => 1,
            _ => {
                let h = h as usize;
                let k = s.remap[h];
                if k != u32::MAX {
                    k
                } else if s.dict.len() >= MAX_DISTINCT {
                    return false;
                } else {
                    let k = s.dict.len() as u32;
                    s.dict.push(values[h]);
                    s.remap[h] = k;
                    k
                }
            }
        };
        s.idx.push(idx);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of building the return dictionary: hashing each timeout's
    /// return, and renumbering the horizon's numbering of them.
    fn both_ways(
        label: &[i8],
        valid: &[u8],
        horizon_ret: &[f32],
        target: f32,
        stop: f32,
    ) -> [(bool, Vec<f32>, Vec<u32>); 2] {
        let nulls = valid.iter().filter(|&&v| v == 0).count();
        // A row's return: +T, -S, or its timeout return.
        let ret: Vec<f32> = (0..label.len())
            .map(|r| match label[r] {
                1 => target,
                -1 => stop,
                _ => horizon_ret[r],
            })
            .collect();
        let (mut table, mut values) = (Vec::new(), Vec::new());
        let mut d = Distinct::new(&mut table, &mut values);
        let ids: Vec<u16> = horizon_ret
            .iter()
            .map(|v| d.index(v.to_bits()).unwrap() as u16)
            .collect();
        let zeros = vec![0u32; label.len()];
        let side = SideRows {
            valid,
            nulls,
            label,
            exit: &zeros,
            ret: &ret,
            amb: valid,
            target,
            stop,
            defs: &[],
            prefix: false,
            timeouts: None,
        };
        [None, Some((&values[..], &ids[..]))].map(|timeouts| {
            let mut s = Scratch::default();
            let ok = return_dictionary(&SideRows { timeouts, ..side }, &mut s);
            (ok, s.dict, s.idx)
        })
    }

    #[test]
    fn renumbering_the_horizons_returns_equals_hashing_them() {
        let mut next = super::xorshift(4242);
        let (target, stop) = (10.0f32, -5.0f32);
        for case in 0..400 {
            let n = (next() % 2000) as usize;
            // Timeout returns from a small pool holding +T, -S and both
            // zeros, so that they collide with the fixed entries.
            let pool = [target, stop, 0.0, -0.0, 1.5, -2.25, 3.0, 7.75, -4.5];
            let horizon_ret: Vec<f32> = (0..n)
                .map(|_| {
                    if next() % 2 == 0 {
                        pool[(next() % pool.len() as u64) as usize]
                    } else {
                        (next() % 500) as f32 * 0.1 - 25.0
                    }
                })
                .collect();
            let mut label = Vec::with_capacity(n);
            while label.len() < n {
                let l = (next() % 3) as i8 - 1;
                let run = (next() % 30) as usize + 1;
                label.extend(std::iter::repeat_n(l, run.min(n - label.len())));
            }
            let valid: Vec<u8> = (0..n)
                .map(|_| (case % 3 == 0 || next() % 7 != 0) as u8)
                .collect();
            let [hashed, renumbered] = both_ways(&label, &valid, &horizon_ret, target, stop);
            assert!(hashed.0, "case {case}");
            assert_eq!(hashed, renumbered, "case {case}");
        }
    }

    #[test]
    fn renumbering_refuses_a_dictionary_the_hash_refuses() {
        // Timeout returns distinct from each other and from +T and -S:
        // 2 + 65,534 entries fit, 2 + 65,535 do not.
        for (distinct, fits) in [(MAX_DISTINCT - 2, true), (MAX_DISTINCT - 1, false)] {
            let horizon_ret: Vec<f32> = (0..distinct).map(|k| 100.0 + k as f32).collect();
            let label = vec![0i8; distinct];
            let valid = vec![1u8; distinct];
            let [hashed, renumbered] = both_ways(&label, &valid, &horizon_ret, 10.0, -5.0);
            assert_eq!(hashed.0, fits);
            assert_eq!(renumbered.0, fits);
            if fits {
                assert_eq!(hashed, renumbered);
            }
        }
    }
}
