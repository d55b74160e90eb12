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
//! | `*_mfe_pips`, `*_mae_pips`, `*_uniqueness` | FLOAT | PLAIN |
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

mod chunk;
mod codec;
mod encodings;
mod footer;
mod part;
mod thrift;

pub(crate) use chunk::*;
pub use codec::Compression;
pub(crate) use codec::*;
pub(crate) use encodings::*;
pub(crate) use footer::*;
pub use part::Part;
pub(crate) use part::*;
pub(crate) use thrift::*;

use crate::error::{Error, Result};
use std::str::FromStr;

pub(crate) const TYPE_BOOLEAN: i32 = 0;
pub(crate) const TYPE_INT32: i32 = 1;
pub(crate) const TYPE_INT64: i32 = 2;
pub(crate) const TYPE_FLOAT: i32 = 4;

pub(crate) const ENC_PLAIN: i32 = 0;
pub(crate) const ENC_RLE: i32 = 3;
pub(crate) const ENC_DELTA_BINARY_PACKED: i32 = 5;
pub(crate) const ENC_RLE_DICTIONARY: i32 = 8;

pub(crate) const PAGE_DATA: i32 = 0;
pub(crate) const PAGE_DICTIONARY: i32 = 2;

pub(crate) const REQUIRED: i32 = 0;
pub(crate) const OPTIONAL: i32 = 1;

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
    pub(crate) fn physical(self) -> i32 {
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

/// The tests' random numbers: xorshift64 from `seed` (deterministic, so a
/// failing case can be replayed).
#[cfg(test)]
fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
