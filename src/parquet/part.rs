//! What a file's row groups are, as the footer describes them, and the
//! parts a file is written in ([`Part`]) with their wire form.

use super::*;

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

pub(super) struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    pub(super) fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.i..self.i.checked_add(n)?)?;
        self.i += n;
        Some(s)
    }
    pub(super) fn varint(&mut self) -> Option<u64> {
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
    pub(super) fn count(&mut self, limit: usize) -> Option<usize> {
        let v = self.varint()?;
        (v <= limit as u64).then_some(v as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
