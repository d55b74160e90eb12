//! The crate's error type.
//!
//! Every failure the library can report is an [`Error`]. Errors about the
//! candles name the first offending row (0-based) and the column; errors
//! about parameters name the parameter. Nothing in the library panics on
//! user data: readers, validation and encoding all return [`Result`].

use std::fmt;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in fxlabel.
#[derive(Debug)]
pub enum Error {
    /// Bad candles: the first offending row (0-based, `None` when the
    /// problem is not about one row, e.g. a missing column) and column.
    Input {
        row: Option<usize>,
        column: String,
        message: String,
    },
    /// A bad parameter (pip distances, horizons, sides, tie, ...).
    Param { name: String, message: String },
    /// An existing output file whose metadata does not match this run.
    Mismatch { key: String, message: String },
    /// A file that is not a valid input or label file.
    Format(String),
    /// An error from the Parquet or Arrow libraries.
    Encoding(String),
    /// Another run holds the output folder, or this run lost it.
    Busy(String),
    /// An I/O error, with what was being done.
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn input(row: Option<usize>, column: &str, message: impl Into<String>) -> Self {
        Error::Input {
            row,
            column: column.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn param(name: &str, message: impl Into<String>) -> Self {
        Error::Param {
            name: name.to_string(),
            message: message.into(),
        }
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl Error {
    /// The error's kind as every host names it: `input`, `param`,
    /// `mismatch`, `format`, `encoding`, `busy` or `io`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Input { .. } => "input",
            Error::Param { .. } => "param",
            Error::Mismatch { .. } => "mismatch",
            Error::Format(_) => "format",
            Error::Encoding(_) => "encoding",
            Error::Busy(_) => "busy",
            Error::Io { .. } => "io",
        }
    }

    /// The exit code of both command-line programs for this error: 2 for
    /// what the user asked (bad input, parameters, a mismatching file, a
    /// file that is not what it claims), 1 for what failed around them
    /// (I/O, the lock, encoding).
    pub fn exit_code(&self) -> u8 {
        exit_code_of(self.kind())
    }
}

/// The exit code for an error of this [`Error::kind`] (hosts raise a few
/// errors of their own, e.g. a JS value that is not candles, and give them
/// the core's kinds).
pub fn exit_code_of(kind: &str) -> u8 {
    match kind {
        "input" | "param" | "mismatch" | "format" => 2,
        _ => 1,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input {
                row: Some(row),
                column,
                message,
            } => write!(
                f,
                "invalid input at row {row}, column '{column}': {message}"
            ),
            Error::Input {
                row: None,
                column,
                message,
            } => write!(f, "invalid input, column '{column}': {message}"),
            Error::Param { name, message } => write!(f, "invalid parameter '{name}': {message}"),
            Error::Mismatch { key, message } => write!(
                f,
                "existing file for {key} was made with other settings or data: {message} \
                 (use overwrite to replace it)"
            ),
            Error::Format(m) => write!(f, "{m}"),
            Error::Encoding(m) => write!(f, "encoding error: {m}"),
            Error::Busy(m) => write!(f, "{m}"),
            Error::Io { context, source } if context.is_empty() => write!(f, "{source}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<parquet::errors::ParquetError> for Error {
    fn from(e: parquet::errors::ParquetError) -> Self {
        Error::Encoding(e.to_string())
    }
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::Encoding(e.to_string())
    }
}
