//! Range extremes for MFE and MAE: the highest high (or lowest low) of
//! any bars `a..=b` in O(1), from tables built once per labeler.
//!
//! The bars are cut into blocks of [`BLOCK`] = 32. Each bar `b` has a
//! mask of the bars of its block up to it that no later bar up to `b`
//! beats (the monotone stack of the block's prefix, as bits), so the
//! extreme of `a..=b` within a block is the first bar of that mask from
//! `a` on: one shift and one count of trailing zeros. Each bar also knows
//! the extreme of its block from it on (a byte), and each block the
//! extreme of the `2^k` blocks from it, for the `k` a window can need (a
//! sparse table over blocks, bounded by the longest window). A longer
//! range is the block suffix of its first bar, at most two sparse table
//! entries for the whole blocks between, and the masked prefix of its last
//! bar's block. About 5.75 bytes a bar for windows of a day of minutes.

/// Bars per block.
pub(crate) const BLOCK: usize = 32;

/// Which extreme a table finds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Extreme {
    Max,
    Min,
}

impl Extreme {
    #[inline(always)]
    fn better(self, a: f64, b: f64) -> bool {
        match self {
            Extreme::Max => a > b,
            Extreme::Min => a < b,
        }
    }
}

/// Range extremes over one series of bars (read by a function of the bar
/// index, given again to [`Extremes::get`]).
#[derive(Debug)]
pub(crate) struct Extremes {
    kind: Extreme,
    /// Per bar `b`: bit `j` set when bar `j` of `b`'s block (`j <= b`)
    /// is beaten by no bar after it up to `b`.
    mask: Vec<u32>,
    /// Offset in its block of the extreme of the block's bars from each bar.
    suf: Vec<u8>,
    /// `levels[k][b]`: the bar of the extreme of blocks `b..b + 2^k`.
    levels: Vec<Vec<u32>>,
}

impl Extremes {
    /// The tables of `n` bars read by `val`, for ranges of up to
    /// `max_len` bars (longer ones are answered too, more slowly).
    pub(crate) fn new(n: usize, val: impl Fn(usize) -> f64, kind: Extreme, max_len: usize) -> Self {
        let (mut mask, mut suf) = (vec![0u32; n], vec![0u8; n]);
        let blocks = n.div_ceil(BLOCK);
        let mut first = Vec::with_capacity(blocks);
        for b in 0..blocks {
            let (s, e) = (b * BLOCK, ((b + 1) * BLOCK).min(n));
            let mut m = 0u32;
            for (k, mk) in (s..e).zip(&mut mask[s..e]) {
                let v = val(k);
                // Pop the bars `k` is at least as good as (the latest
                // first: the highest bit).
                while m != 0 {
                    let top = 31 - m.leading_zeros() as usize;
                    if kind.better(val(s + top), v) {
                        break;
                    }
                    m &= !(1 << top);
                }
                m |= 1 << (k - s);
                *mk = m;
            }
            first.push((s + m.trailing_zeros() as usize) as u32);
            let (mut best, mut bv) = (e - 1, val(e - 1));
            for (k, sk) in (s..e).zip(&mut suf[s..e]).rev() {
                let v = val(k);
                if kind.better(v, bv) {
                    (best, bv) = (k, v);
                }
                *sk = (best - s) as u8;
            }
        }
        let mut levels = vec![first];
        let want = (max_len / BLOCK + 2).min(blocks);
        while (1usize << levels.len()) <= want {
            let h = 1usize << (levels.len() - 1);
            let prev = &levels[levels.len() - 1];
            let next = (0..blocks)
                .map(|b| {
                    let x = prev[b];
                    match prev.get(b + h) {
                        Some(&y) if kind.better(val(y as usize), val(x as usize)) => y,
                        _ => x,
                    }
                })
                .collect();
            levels.push(next);
        }
        Extremes {
            kind,
            mask,
            suf,
            levels,
        }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.mask.len() * 4
            + self.suf.len()
            + self.levels.iter().map(|l| l.len() * 4).sum::<usize>()
    }

    /// The bar of the extreme of bars `a..=b` (`a <= b < n`), `val` the
    /// function the tables were built with (one of equal ones).
    #[inline]
    pub(crate) fn get(&self, a: usize, b: usize, val: impl Fn(usize) -> f64) -> usize {
        let kind = self.kind;
        let (ba, bb) = (a / BLOCK, b / BLOCK);
        // The first bar of b's mask from `from` (an offset in b's block):
        // bit b is set, so there is one.
        let masked =
            |from: usize| bb * BLOCK + from + (self.mask[b] >> from).trailing_zeros() as usize;
        if ba == bb {
            return masked(a - ba * BLOCK);
        }
        let k = ba * BLOCK + self.suf[a] as usize;
        let (mut best, mut bv) = (k, val(k));
        let mut consider = |k: usize| {
            let v = val(k);
            if kind.better(v, bv) {
                (best, bv) = (k, v);
            }
        };
        if bb - ba > 1 {
            let (lo, hi) = (ba + 1, bb - 1);
            let len = hi - lo + 1;
            let k = (usize::BITS - 1 - len.leading_zeros()) as usize;
            let top = k.min(self.levels.len() - 1);
            let (l, step) = (&self.levels[top], 1usize << top);
            // Two overlapping runs of 2^top blocks when the table reaches
            // that far, else runs of the longest it has.
            let mut s = lo;
            while s + step <= hi + 1 {
                consider(l[s] as usize);
                s += step;
            }
            if s <= hi {
                consider(l[hi + 1 - step] as usize);
            }
        }
        consider(masked(0));
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every range of random series (with ties) against a plain scan,
    /// with tables built for shorter ranges than some asked.
    #[test]
    fn every_range_equals_a_scan() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for (n, max_len) in [
            (1, 1),
            (31, 5),
            (32, 40),
            (33, 70),
            (200, 64),
            (300, 1000),
            (517, 100),
        ] {
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 9) as f64
                })
                .collect();
            for kind in [Extreme::Max, Extreme::Min] {
                let t = Extremes::new(n, |i| v[i], kind, max_len);
                for a in 0..n {
                    for b in a..n {
                        let got = v[t.get(a, b, |i| v[i])];
                        let want = v[a..=b]
                            .iter()
                            .copied()
                            .reduce(|p, q| if kind.better(q, p) { q } else { p })
                            .unwrap();
                        assert_eq!(got, want, "n {n} {kind:?} {a}..={b}");
                    }
                }
            }
        }
    }
}
