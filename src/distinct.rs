//! Distinct `f32` values by bit pattern, numbered in order of first
//! appearance: the return column's dictionary ([`crate::parquet`]) and the
//! timeout returns a horizon's configs share ([`crate::kernel`]).
//!
//! An open-addressing hash table of indices into the values: it starts with
//! `2^MIN_BITS` slots (it fits the first-level cache) and grows fourfold
//! whenever it is half full, so that few distinct values stay fast.

/// Most distinct values a numbering holds: a row group's return
/// dictionary, whose indices then fit 16 bits.
pub(crate) const MAX_DISTINCT: usize = 1 << 16;
const MIN_BITS: u32 = 12;

/// A numbering being built: `values[k]` is the value numbered `k`.
pub(crate) struct Distinct<'a> {
    table: &'a mut Vec<u32>,
    bits: u32,
    pub(crate) values: &'a mut Vec<f32>,
}

impl<'a> Distinct<'a> {
    /// An empty numbering over the given buffers (cleared first).
    pub(crate) fn new(table: &'a mut Vec<u32>, values: &'a mut Vec<f32>) -> Self {
        table.clear();
        table.resize(1 << MIN_BITS, u32::MAX);
        values.clear();
        Distinct {
            table,
            bits: MIN_BITS,
            values,
        }
    }

    #[inline(always)]
    fn slot(&self, b: u32) -> usize {
        (b.wrapping_mul(0x9E37_79B1) >> (32 - self.bits)) as usize
    }

    /// The number of the value with bits `b`, numbering it when new
    /// (`None` when [`MAX_DISTINCT`] values are numbered already).
    #[inline(always)]
    pub(crate) fn index(&mut self, b: u32) -> Option<u32> {
        let mask = self.table.len() - 1;
        let mut h = self.slot(b);
        loop {
            let e = self.table[h];
            if e == u32::MAX {
                if self.values.len() >= MAX_DISTINCT {
                    return None;
                }
                let k = self.values.len() as u32;
                self.values.push(f32::from_bits(b));
                self.table[h] = k;
                if self.values.len() * 2 > self.table.len() {
                    self.grow();
                }
                return Some(k);
            }
            if self.values[e as usize].to_bits() == b {
                return Some(e);
            }
            h = (h + 1) & mask;
        }
    }

    /// Four times the slots, every value placed again.
    fn grow(&mut self) {
        self.bits += 2;
        self.table.clear();
        self.table.resize(1 << self.bits, u32::MAX);
        let mask = self.table.len() - 1;
        for k in 0..self.values.len() {
            let mut h = self.slot(self.values[k].to_bits());
            while self.table[h] != u32::MAX {
                h = (h + 1) & mask;
            }
            self.table[h] = k as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_by_first_appearance_and_bit_pattern() {
        let (mut table, mut values) = (Vec::new(), Vec::new());
        let mut d = Distinct::new(&mut table, &mut values);
        let xs = [1.5f32, -0.0, 0.0, 1.5, f32::NAN, -0.0, 2.0];
        let ids: Vec<u32> = xs.iter().map(|x| d.index(x.to_bits()).unwrap()).collect();
        assert_eq!(ids, [0, 1, 2, 0, 3, 1, 4]);
        assert_eq!(d.values.len(), 5);
    }

    #[test]
    fn grows_and_stops_at_the_limit() {
        let (mut table, mut values) = (Vec::new(), Vec::new());
        let mut d = Distinct::new(&mut table, &mut values);
        for k in 0..MAX_DISTINCT as u32 {
            assert_eq!(d.index((k as f32).to_bits()), Some(k));
        }
        // Numbered values are still found; a new one is refused.
        assert_eq!(d.index(12345f32.to_bits()), Some(12345));
        assert_eq!(d.index((-1f32).to_bits()), None);
    }
}
