//! The footer: the file metadata (schema, row groups, key-value
//! metadata, column orders), its length and the closing magic.

use super::*;

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
