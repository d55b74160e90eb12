//! Value encodings: bit packing, the RLE / bit-packing hybrid
//! (definition levels, dictionary indices) and DELTA_BINARY_PACKED.

use super::*;

/// Bits needed for `v`.
pub(super) fn bits(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Packs values of `width` bits, least significant bit first.
pub(super) struct BitPacker<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl<'a> BitPacker<'a> {
    pub(super) fn new(out: &'a mut Vec<u8>) -> Self {
        BitPacker { out, acc: 0, n: 0 }
    }
    /// Appends the low `width` bits of `v` (`width` <= 32, `v < 2^width`).
    #[inline(always)]
    pub(super) fn put(&mut self, v: u64, width: u32) {
        self.acc |= v << self.n;
        self.n += width;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    pub(super) fn finish(self) {
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
pub(super) fn pack<T: Copy>(
    values: &[T],
    count: usize,
    width: u32,
    map: &impl Fn(T) -> u32,
    out: &mut Vec<u8>,
) {
    match width {
        1 | 2 | 4 => {
            let per = 8 / width as usize;
            let byte = |vals: &[T]| {
                vals.iter()
                    .enumerate()
                    .fold(0u8, |b, (k, &v)| b | (map(v) as u8) << (k as u32 * width))
            };
            // Whole bytes, then the last one padded with zeros.
            let whole = values.chunks_exact(per);
            let rest = whole.remainder();
            out.reserve(count.div_ceil(per));
            out.extend(whole.map(byte));
            if !rest.is_empty() {
                out.push(byte(rest));
            }
            let done = values.len().div_ceil(per);
            out.extend(std::iter::repeat_n(
                0u8,
                count.div_ceil(per).saturating_sub(done),
            ));
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
    let flush_lit = |out: &mut Vec<u8>, from: usize, to: usize| {
        if to <= from {
            return;
        }
        let groups = (to - from).div_ceil(8);
        varint(out, ((groups as u64) << 1) | 1);
        pack(&values[from..to.min(n)], groups * 8, width, &map, out);
    };
    // A literal holds whole groups of 8 from where it starts, so a run
    // becomes an RLE run exactly when it covers one of those groups: the
    // values before the group stay in the literal, and the run goes on
    // from the group's start to the run's end. So the scan tests a group
    // of 8 at a time (a test that vectorises) instead of value by value.
    let mut lit_start = 0;
    let mut s = 0;
    while s + 8 <= n {
        let v = values[s];
        let group: &[T; 8] = values[s..s + 8].try_into().expect("a group of 8");
        if !group.iter().fold(true, |all, &x| all & (x == v)) {
            s += 8;
            continue;
        }
        // The run goes on a group of 8 at a time (the same vectorised
        // test), then value by value to its end.
        let mut j = s + 8;
        while j + 8 <= n {
            let group: &[T; 8] = values[j..j + 8].try_into().expect("a group of 8");
            if !group.iter().fold(true, |all, &x| all & (x == v)) {
                break;
            }
            j += 8;
        }
        while j < n && values[j] == v {
            j += 1;
        }
        flush_lit(out, lit_start, s);
        varint(out, ((j - s) as u64) << 1);
        out.extend_from_slice(&map(v).to_le_bytes()[..vbytes]);
        lit_start = j;
        s = j;
    }
    flush_lit(out, lit_start, n);
}

/// Definition levels (0 null, 1 set) from `valid` (one byte per row),
/// RLE-encoded with the 4-byte length prefix of data page v1.
pub(super) fn def_levels(valid: &[u8], nulls: usize, out: &mut Vec<u8>) {
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

/// Values of a DELTA_BINARY_PACKED block, and of a miniblock.
const BLOCK: usize = 128;
const MINI: usize = 32;

/// DELTA_BINARY_PACKED: blocks of 128 values in 4 miniblocks of 32.
pub(crate) fn delta_binary_packed<T: Copy>(values: &[T], f: impl Fn(T) -> i64, out: &mut Vec<u8>) {
    let Some(&first) = values.first() else {
        return delta_header(0, 0, out);
    };
    let mut prev = f(first);
    delta_header(values.len(), prev, out);
    let mut deltas = [0i64; BLOCK];
    for block in values[1..].chunks(BLOCK) {
        for (d, &v) in deltas.iter_mut().zip(block) {
            let v = f(v);
            *d = v.wrapping_sub(prev);
            prev = v;
        }
        delta_block(&deltas[..block.len()], out);
    }
}

/// [`delta_binary_packed`] of values below 2^30 (exit offsets), in the
/// same bytes: their deltas, and the deltas minus a block's least, fit 32
/// bits, so the work is done in 32-bit lanes, twice as many per vector
/// (and without the 64-bit compares wasm's SIMD lacks).
pub(crate) fn delta_binary_packed_small(values: &[u32], out: &mut Vec<u8>) {
    debug_assert!(values.iter().all(|&v| v < 1 << 30));
    let Some(&first) = values.first() else {
        return delta_header(0, 0, out);
    };
    delta_header(values.len(), first as i64, out);
    let mut deltas = [0i32; BLOCK];
    let mut start = 1;
    while start < values.len() {
        let k = BLOCK.min(values.len() - start);
        let (cur, prev) = (&values[start..start + k], &values[start - 1..start - 1 + k]);
        for ((d, &v), &p) in deltas.iter_mut().zip(cur).zip(prev) {
            *d = v as i32 - p as i32;
        }
        delta_block(&deltas[..k], out);
        start += k;
    }
}

/// The header: block size, miniblocks per block, value count, first value.
fn delta_header(n: usize, first: i64, out: &mut Vec<u8>) {
    varint(out, BLOCK as u64);
    varint(out, (BLOCK / MINI) as u64);
    varint(out, n as u64);
    varint(out, zigzag(first));
}

/// A delta in the lanes its values allow: 64 bits in general, 32 for
/// values below 2^30.
trait Delta: Copy + Ord {
    /// What is packed: a delta minus the block's least.
    type Packed: Copy + Ord + Default + Into<u64>;
    fn above(self, min: Self) -> Self::Packed;
    fn wide(self) -> i64;
}

impl Delta for i64 {
    type Packed = u64;
    fn above(self, min: i64) -> u64 {
        self.wrapping_sub(min) as u64
    }
    fn wide(self) -> i64 {
        self
    }
}

impl Delta for i32 {
    type Packed = u32;
    fn above(self, min: i32) -> u32 {
        (self - min) as u32
    }
    fn wide(self) -> i64 {
        self as i64
    }
}

/// One block of (at most [`BLOCK`]) deltas: its least delta, the widths
/// of its miniblocks, then the miniblocks, each packed at its width.
fn delta_block<D: Delta>(deltas: &[D], out: &mut Vec<u8>) {
    let Some(min) = deltas.iter().copied().min() else {
        return;
    };
    varint(out, zigzag(min.wide()));
    let mut widths = [0u32; BLOCK / MINI];
    for (w, s) in widths.iter_mut().zip(deltas.chunks(MINI)) {
        let max = s.iter().map(|&d| d.above(min)).max().unwrap_or_default();
        *w = bits(max.into());
    }
    out.extend(widths.iter().map(|&w| w as u8));
    for (&w, s) in widths.iter().zip(deltas.chunks(MINI)) {
        if w == 0 {
            continue;
        }
        // The last miniblock is padded with zeros to 32 values.
        let mut mini = [D::Packed::default(); MINI];
        for (d, &delta) in mini.iter_mut().zip(s) {
            *d = delta.above(min);
        }
        pack_miniblock(&mini, w, out);
    }
}

/// Packs 32 values of `width` bits (1..=64), LSB first: exactly `4 *
/// width` bytes, written a 32-bit word at a time.
#[inline]
fn pack_miniblock<T: Copy + Into<u64>>(vals: &[T; 32], width: u32, out: &mut Vec<u8>) {
    if width > 32 {
        let mut p = BitPacker::new(out);
        for &d in vals {
            let d: u64 = d.into();
            p.put(d & 0xFFFF_FFFF, 32);
            p.put(d >> 32, width - 32);
        }
        p.finish();
        return;
    }
    let mut words = [0u32; 32];
    let (mut acc, mut n, mut k) = (0u64, 0u32, 0);
    for &v in vals {
        acc |= v.into() << n;
        n += width;
        if n >= 32 {
            words[k] = acc as u32;
            k += 1;
            acc >>= 32;
            n -= 32;
        }
    }
    // 32 * width bits are exactly `width` words.
    debug_assert!(k == width as usize && n == 0);
    for w in &words[..k] {
        out.extend_from_slice(&w.to_le_bytes());
    }
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

    /// DELTA_BINARY_PACKED decoded as the Parquet spec writes it.
    fn decode_delta(b: &[u8]) -> Vec<i64> {
        let mut i = 0;
        let block = read_varint(b, &mut i) as usize;
        let minis = read_varint(b, &mut i) as usize;
        let n = read_varint(b, &mut i) as usize;
        let unzig = |v: u64| (v >> 1) as i64 ^ -((v & 1) as i64);
        let mut out = vec![unzig(read_varint(b, &mut i))];
        let per = block / minis;
        while out.len() < n {
            let min = unzig(read_varint(b, &mut i));
            let widths: Vec<usize> = b[i..i + minis].iter().map(|&w| w as usize).collect();
            i += minis;
            for w in widths {
                if out.len() >= n {
                    break;
                }
                let mut bit = 0usize;
                for _ in 0..per {
                    let mut v = 0u64;
                    for k in 0..w {
                        let byte = b[i + (bit + k) / 8];
                        v |= (((byte >> ((bit + k) % 8)) & 1) as u64) << k;
                    }
                    bit += w;
                    if out.len() < n {
                        let prev = *out.last().unwrap();
                        out.push(prev.wrapping_add(min.wrapping_add(v as i64)));
                    }
                }
                i += per * w / 8;
            }
        }
        out
    }

    #[test]
    fn delta_binary_packed_decodes_to_its_input() {
        let mut next = super::xorshift(987654321);
        for n in [1usize, 2, 31, 32, 33, 127, 128, 129, 300, 1000] {
            for spread in [0u64, 1, 7, 300, 1 << 20, 1 << 40, u64::MAX] {
                let v: Vec<i64> = (0..n)
                    .map(|_| {
                        if spread == 0 {
                            5
                        } else {
                            ((next() % spread) as i64).wrapping_sub((spread / 2) as i64)
                        }
                    })
                    .collect();
                let mut out = Vec::new();
                delta_binary_packed(&v, |x| x, &mut out);
                assert_eq!(decode_delta(&out), v, "n {n} spread {spread}");
            }
        }
    }

    #[test]
    fn delta_of_small_values_equals_the_general_one() {
        let mut next = super::xorshift(55555);
        for n in [0usize, 1, 2, 31, 32, 33, 127, 128, 129, 130, 257, 1000] {
            for spread in [1u64, 2, 9, 1441, 1 << 20, 1 << 30] {
                for _ in 0..20 {
                    let v: Vec<u32> = (0..n).map(|_| (next() % spread) as u32).collect();
                    let (mut general, mut small) = (Vec::new(), Vec::new());
                    delta_binary_packed(&v, |x| x as i32 as i64, &mut general);
                    delta_binary_packed_small(&v, &mut small);
                    assert_eq!(small, general, "n {n} spread {spread}");
                }
            }
        }
    }

    /// The encoder's rule written value by value: a run of 8 or more
    /// whose part after the literal's last whole group is 8 or more.
    fn rle_hybrid_by_runs(values: &[u32], width: u32, out: &mut Vec<u8>) {
        let n = values.len();
        let vbytes = width.div_ceil(8) as usize;
        let (mut lit_start, mut i) = (0, 0);
        let flush_lit = |out: &mut Vec<u8>, from: usize, to: usize| {
            if to > from {
                let groups = (to - from).div_ceil(8);
                varint(out, ((groups as u64) << 1) | 1);
                pack(&values[from..to.min(n)], groups * 8, width, &|x| x, out);
            }
        };
        while i < n {
            let v = values[i];
            let mut j = i + 1;
            while j < n && values[j] == v {
                j += 1;
            }
            let pad = (8 - (i - lit_start) % 8) % 8;
            if j - i >= 8 && j - i - pad >= 8 {
                flush_lit(out, lit_start, i + pad);
                varint(out, ((j - i - pad) as u64) << 1);
                out.extend_from_slice(&v.to_le_bytes()[..vbytes]);
                lit_start = j;
            }
            i = j;
        }
        flush_lit(out, lit_start, n);
    }

    #[test]
    fn rle_hybrid_decodes_to_its_input() {
        let mut next = super::xorshift(12345);
        for width in [1u32, 2, 3, 7, 8, 12, 16, 20] {
            for _ in 0..500 {
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
                let mut by_runs = Vec::new();
                rle_hybrid_by_runs(&v, width, &mut by_runs);
                assert_eq!(out, by_runs, "width {width}: {v:?}");
            }
        }
    }
}
