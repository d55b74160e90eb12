//! fxlabel: triple-barrier labels for 1-minute FX candles over a grid of
//! (take-profit pips, stop-loss pips, horizon) configs, one file per
//! config, in bounded memory.
//!
//! The flow: validate candles ([`CandlesBuilder`], [`read_parquet`],
//! [`CsvReader`]) and parameters ([`Params::validate`]); build a
//! [`Labeler`], which does the work all configs share once; then for each
//! config, [`write_config`] its Parquet or Arrow IPC file. The semantics of
//! every row are those of the label contract (`LABELS.md`), restated in
//! the README.
//!
//! ```
//! use fxlabel::{Candles, EncodeOptions, Labeler, Params};
//! let ts: Vec<i64> = (0..500).map(|i| i * 60_000).collect();
//! let close: Vec<f64> = (0..500).map(|i| 1.1 + ((i as f64) * 0.05).sin() * 0.002).collect();
//! let candles = Candles::from_columns(&ts, &close, &close, &close, &close).unwrap();
//! let labeler = Labeler::new(candles, Params::default().validate().unwrap()).unwrap();
//! for config in labeler.configs() {
//!     let bytes = fxlabel::encode_config(&labeler, config, &EncodeOptions::default()).unwrap();
//!     assert!(!bytes.is_empty()); // write to `format!("{}.parquet", config.key())`
//! }
//! ```

pub mod candles;
#[cfg(feature = "cli")]
pub mod cli;
mod de;
mod distinct;
pub mod encode;
pub mod error;
mod extremes;
pub mod grid;
pub mod input;
pub mod kernel;
pub mod meta;
pub mod options;
pub mod output;
pub mod parquet;
pub mod run;
pub mod synth;

pub use crate::parquet::Part;
pub use candles::{Candles, CandlesBuilder, Fingerprint, Span};
pub use encode::{
    config_batch, encode_config, file_footer, label_schema, write_config, Compression,
    ConfigWriter, EncodeOptions,
};
pub use error::{Error, Result};
pub use grid::{Config, Entry, Format, HorizonUnit, Params, Settings, Side, Tie, ValidParams};
pub use input::{parse_datetime_ms, read_parquet, CsvReader, ParquetPlan};
pub use kernel::{Labeler, Outcome};
pub use meta::{FileMeta, FORMAT_VERSION};
pub use output::{
    footer_size, label_counts, read_file_meta, read_label_file, read_metadata, to_ipc_stream,
    LabelCounts,
};
