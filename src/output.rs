//! Reading label files back: their metadata (for the resume check, from
//! the file's tail alone) and their rows (as Arrow batches or Arrow IPC
//! bytes for hosts that read IPC, such as apache-arrow JS).
//!
//! ```
//! # use fxlabel::{Candles, EncodeOptions, Labeler, Params};
//! # let ts: Vec<i64> = (0..10).map(|i| i * 60_000).collect();
//! # let p = vec![1.1; 10];
//! # let labeler = Labeler::new(Candles::from_columns(&ts, &p, &p, &p, &p).unwrap(), Params::default().validate().unwrap()).unwrap();
//! let config = labeler.configs()[0];
//! let bytes = fxlabel::encode_config(&labeler, &config, &EncodeOptions::default()).unwrap();
//! let tail = &bytes[bytes.len() - fxlabel::footer_size(&bytes).unwrap()..];
//! let meta = fxlabel::read_file_meta(tail).unwrap();
//! assert_eq!(meta.config, config);
//! ```

use crate::error::{Error, Result};
use crate::meta::FileMeta;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaDataReader;
use std::collections::HashMap;

const PARQUET_MAGIC: &[u8] = b"PAR1";
const ARROW_MAGIC: &[u8] = b"ARROW1";

/// Given at least the last 10 bytes of a label file (Parquet or Arrow IPC),
/// how many bytes from its end hold all of its metadata.
pub fn footer_size(tail: &[u8]) -> Result<usize> {
    let n = tail.len();
    let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    // checked_add: a corrupt length near 2^32 must not wrap on wasm32.
    let too_big = || Error::Format("not a label file: its footer length is impossible".into());
    if n >= 8 && &tail[n - 4..] == PARQUET_MAGIC {
        return le(&tail[n - 8..n - 4]).checked_add(8).ok_or_else(too_big);
    }
    if n >= 10 && &tail[n - 6..] == ARROW_MAGIC {
        return le(&tail[n - 10..n - 6]).checked_add(10).ok_or_else(too_big);
    }
    Err(Error::Format(
        "not a complete Parquet or Arrow IPC file (no end marker)".into(),
    ))
}

/// Reads the key-value metadata of a label file from its tail (at least
/// [`footer_size`] bytes, or the whole file).
pub fn read_metadata(tail: &[u8]) -> Result<HashMap<String, String>> {
    let need = footer_size(tail)?;
    if need > tail.len() {
        return Err(Error::Format(format!(
            "the metadata needs the last {need} bytes, {} were given",
            tail.len()
        )));
    }
    let tail = &tail[tail.len() - need..];
    if tail.ends_with(PARQUET_MAGIC) {
        let md = ParquetMetaDataReader::decode_metadata(&tail[..need - 8])
            .map_err(|e| Error::Format(format!("unreadable Parquet footer: {e}")))?;
        let kv = md
            .file_metadata()
            .key_value_metadata()
            .cloned()
            .unwrap_or_default();
        return Ok(kv
            .into_iter()
            .filter_map(|k| Some((k.key, k.value?)))
            .collect());
    }
    let footer = arrow_ipc::root_as_footer(&tail[..need - 10])
        .map_err(|e| Error::Format(format!("unreadable Arrow IPC footer: {e}")))?;
    let schema = footer
        .schema()
        .ok_or_else(|| Error::Format("Arrow IPC footer has no schema".into()))?;
    let schema = arrow_ipc::convert::try_fb_to_schema(schema)?;
    Ok(schema
        .metadata()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

/// Reads the provenance of a label file from its tail.
pub fn read_file_meta(tail: &[u8]) -> Result<FileMeta> {
    FileMeta::from_pairs(&read_metadata(tail)?)
}

/// All rows of a label file (Parquet or Arrow IPC), with its schema.
pub fn read_label_file(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    footer_size(bytes)?;
    // Refuses layouts the parquet crate would panic on (tests/hostile.rs).
    crate::input::check_file_bytes(bytes)?;
    if bytes.ends_with(PARQUET_MAGIC) {
        let b = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))?;
        let schema = b.schema().clone();
        let batches = b.build()?.collect::<std::result::Result<Vec<_>, _>>()?;
        return Ok((schema, batches));
    }
    let r = arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None)?;
    let schema = r.schema();
    let batches = r.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

/// A label file (Parquet or Arrow IPC) as Arrow IPC *stream* bytes, the
/// form apache-arrow JS's `tableFromIPC` reads; schema metadata kept.
pub fn to_ipc_stream(bytes: &[u8]) -> Result<Vec<u8>> {
    let (schema, batches) = read_label_file(bytes)?;
    let mut w = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &schema)?;
    for b in &batches {
        w.write(b)?;
    }
    w.finish()?;
    Ok(w.into_inner()?)
}

/// How many rows of one side carry each label, for summaries such as the
/// demo's heat map (no need to hand the whole table to JS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LabelCounts {
    pub target: u64,
    pub stop: u64,
    pub timeout: u64,
    pub unknown: u64,
}

/// Counts the labels of `side` ("long" or "short") in a label file.
pub fn label_counts(bytes: &[u8], side: crate::Side) -> Result<LabelCounts> {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    let (schema, batches) = read_label_file(bytes)?;
    let name = format!("{side}_label");
    let k = schema
        .index_of(&name)
        .map_err(|_| Error::Format(format!("the file has no column '{name}'")))?;
    let mut c = LabelCounts::default();
    for b in &batches {
        let col = b.column(k);
        let labels = col
            .as_primitive_opt::<arrow_array::types::Int8Type>()
            .ok_or_else(|| Error::Format(format!("column '{name}' is not int8")))?;
        for i in 0..labels.len() {
            if labels.is_null(i) {
                c.unknown += 1;
                continue;
            }
            match labels.value(i) {
                1 => c.target += 1,
                -1 => c.stop += 1,
                _ => c.timeout += 1,
            }
        }
    }
    Ok(c)
}
