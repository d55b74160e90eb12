//! Compression codecs of the pages: the option ([`Compression`]) and
//! the compressor that keeps its context between pages ([`Codec`]).

use super::*;

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

pub(super) fn codec_id(c: Compression) -> i32 {
    match c {
        Compression::None => 0,
        Compression::Snappy => 1,
        Compression::Gzip(_) => 2,
        Compression::Zstd(_) => 6,
        Compression::Lz4 => 7, // LZ4_RAW
    }
}

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
    pub(super) fn compress(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match self.kind {
            Compression::None => out.extend_from_slice(data),
            Compression::Zstd(_) => {
                let z = self
                    .zstd
                    .as_mut()
                    .ok_or_else(|| Error::Format("zstd compressor missing".into()))?;
                // Into the spare capacity, after what `out` holds: zeroing
                // the bound first was a memset of every page's size (~3% of
                // a run with weights) for bytes zstd overwrites.
                let start = out.len();
                out.reserve(zstd::zstd_safe::compress_bound(data.len()));
                let mut dest = std::io::Cursor::new(&mut *out);
                dest.set_position(start as u64);
                z.compress_to_buffer(data, &mut dest)
                    .map_err(|e| Error::io("zstd compression failed", e))?;
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
