//! Candles: the input columns, their validation and their fingerprint.
//!
//! [`CandlesBuilder`] takes the input in chunks (so no host ever needs one
//! giant array) and checks every rule of the label contract as rows
//! arrive: strictly increasing timestamps, finite prices, `low <= high`,
//! open and close inside `[low, high]`. The first offending row is
//! reported with its 0-based index and column. `open` is only validated
//! and hashed, and stored only when the run enters at the next open; a
//! spread column is read, validated and hashed only when the run asks for
//! one ([`CandlesBuilder::expect`]).
//!
//! ```
//! use fxlabel::CandlesBuilder;
//! let mut b = CandlesBuilder::new();
//! b.push(0, 1.1, 1.1005, 1.0995, 1.1).unwrap();
//! let err = b.push(0, 1.1, 1.1005, 1.0995, 1.1).unwrap_err();
//! assert!(err.to_string().contains("row 1, column 'timestamp'"));
//! let candles = b.finish().unwrap();
//! assert_eq!(candles.len(), 1);
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Validated candles: one instrument, sorted by time, timestamps in epoch
/// milliseconds (UTC).
#[derive(Debug, Clone)]
pub struct Candles {
    pub(crate) ts: Vec<i64>,
    pub(crate) high: Prices,
    pub(crate) low: Prices,
    pub(crate) close: Vec<f64>,
    /// Opens, kept only for `entry = next_open`.
    pub(crate) open: Option<Prices>,
    /// Each bar's spread in price units, kept only with a spread column
    /// (as ticks when they are exact, like the prices).
    pub(crate) spread: Option<Prices>,
    fingerprint: Fingerprint,
    /// Index, in the whole input, of the first row kept.
    base: usize,
    /// Kept rows before the first row to label (only sample weights need
    /// them: their spans reach into the labeled rows).
    lead: usize,
    /// Rows to label (from kept row `lead`); the kept rows after them
    /// only complete their windows. See [`CandlesBuilder::keep`].
    output: usize,
}

impl Candles {
    /// Builds candles from whole columns (validating them).
    pub fn from_columns(
        ts: &[i64],
        open: &[f64],
        high: &[f64],
        low: &[f64],
        close: &[f64],
    ) -> Result<Self> {
        let mut b = CandlesBuilder::new();
        b.push_columns(ts, open, high, low, close)?;
        b.finish()
    }

    /// Number of rows kept (the whole input unless a
    /// [`CandlesBuilder::keep`] range was set).
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Index, in the whole input, of the first row kept.
    pub fn base(&self) -> usize {
        self.base
    }

    /// Kept rows before the first row to label.
    pub fn lead(&self) -> usize {
        self.lead
    }

    /// Index, in the whole input, of the first row to label.
    pub fn first_output_row(&self) -> usize {
        self.base + self.lead
    }

    /// Rows to label, starting at kept row [`Candles::lead`].
    pub fn output_rows(&self) -> usize {
        self.output
    }

    /// Timestamps of the rows to label.
    pub fn output_timestamps(&self) -> &[i64] {
        &self.ts[self.lead..self.lead + self.output]
    }

    /// Rows of the whole input.
    pub fn total_rows(&self) -> usize {
        self.fingerprint.rows as usize
    }

    /// Always false: empty input is rejected.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Entry timestamps (epoch ms).
    pub fn timestamps(&self) -> &[i64] {
        &self.ts
    }

    /// Highs (borrowed, or rebuilt from ticks: see [`Prices`]).
    pub fn high(&self) -> std::borrow::Cow<'_, [f64]> {
        self.high.values()
    }

    /// Lows (borrowed, or rebuilt from ticks: see [`Prices`]).
    pub fn low(&self) -> std::borrow::Cow<'_, [f64]> {
        self.low.values()
    }

    /// Closes.
    pub fn close(&self) -> &[f64] {
        &self.close
    }

    /// Opens, when kept (`entry = next_open`).
    pub fn open(&self) -> Option<std::borrow::Cow<'_, [f64]>> {
        self.open.as_ref().map(Prices::values)
    }

    /// Each bar's spread in price units, when read from a spread column
    /// (borrowed, or rebuilt from ticks: see [`Prices`]).
    pub fn spread(&self) -> Option<std::borrow::Cow<'_, [f64]>> {
        self.spread.as_ref().map(Prices::values)
    }

    /// What identifies this input in every output file's metadata.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// Bytes held by the columns.
    pub fn heap_bytes(&self) -> usize {
        self.ts.capacity() * 8
            + self.high.bytes()
            + self.low.bytes()
            + self.close.capacity() * 8
            + self.open.as_ref().map_or(0, Prices::bytes)
            + self.spread.as_ref().map_or(0, Prices::bytes)
    }
}

/// Ticks per unit of price: prices that are whole multiples of 1e-5 (all
/// 5-decimal and 3-decimal FX quotes) are kept as `i32` ticks.
pub(crate) const TICKS: f64 = 1e5;

/// A price column kept as `i32` ticks of 1e-5 when every value is exactly
/// `ticks / 1e5` (the same double, bit for bit, so labels cannot change),
/// else as `f64`: highs and lows are read only by the shared work and
/// MFE/MAE, and ticks halve their memory.
#[derive(Debug, Clone)]
pub enum Prices {
    Ticks(Vec<i32>),
    Float(Vec<f64>),
}

impl Prices {
    fn new() -> Self {
        Prices::Ticks(Vec::new())
    }

    #[inline(always)]
    fn tick(x: f64) -> Option<i32> {
        let k = (x * TICKS).round();
        if k.abs() < 2_147_483_647.0 && ((k as i32) as f64 / TICKS).to_bits() == x.to_bits() {
            Some(k as i32)
        } else {
            None
        }
    }

    #[inline(always)]
    fn push(&mut self, x: f64) {
        match self {
            Prices::Ticks(v) => match Self::tick(x) {
                Some(k) => v.push(k),
                None => {
                    let mut f: Vec<f64> = Vec::with_capacity(v.capacity().max(v.len() + 1));
                    f.extend(v.iter().map(|&k| k as f64 / TICKS));
                    f.push(x);
                    *self = Prices::Float(f);
                }
            },
            Prices::Float(v) => v.push(x),
        }
    }

    fn reserve(&mut self, n: usize) {
        match self {
            Prices::Ticks(v) => v.reserve(n),
            Prices::Float(v) => v.reserve(n),
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Prices::Ticks(v) => v.shrink_to_fit(),
            Prices::Float(v) => v.shrink_to_fit(),
        }
    }

    fn drain_front(&mut self, n: usize) {
        match self {
            Prices::Ticks(v) => drop(v.drain(..n)),
            Prices::Float(v) => drop(v.drain(..n)),
        }
    }

    /// The price of row `i`.
    #[inline(always)]
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Prices::Ticks(v) => v[i] as f64 / TICKS,
            Prices::Float(v) => v[i],
        }
    }

    /// Number of prices.
    pub fn len(&self) -> usize {
        match self {
            Prices::Ticks(v) => v.len(),
            Prices::Float(v) => v.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every price as `f64`.
    pub fn values(&self) -> std::borrow::Cow<'_, [f64]> {
        match self {
            Prices::Ticks(v) => v.iter().map(|&k| k as f64 / TICKS).collect(),
            Prices::Float(v) => std::borrow::Cow::Borrowed(v),
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match self {
            Prices::Ticks(v) => v.capacity() * 4,
            Prices::Float(v) => v.capacity() * 8,
        }
    }
}

/// Identifies an input: row count, first and last timestamp, and a hash of
/// the timestamp and price columns (open, high, low, close, and the spread
/// column when one is used), as hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub rows: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub hash: String,
}

/// Streaming 64-bit hash over 64-bit words, one state per column so that
/// chunked input hashes the same as whole columns. Not cryptographic: it
/// tells other data from this data, nothing more.
#[derive(Debug, Clone, Copy)]
struct WordHash(u64);

impl WordHash {
    const SEED: u64 = 0x243F_6A88_85A3_08D3;
    fn new() -> Self {
        WordHash(Self::SEED)
    }
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(23) ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

fn avalanche(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The longest window of a grid: clock time or bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Span {
    /// Clock time, in milliseconds.
    Millis(i64),
    /// A count of bars.
    Bars(u64),
}

/// What a worker labeling a range of rows must keep around it
/// ([`crate::ValidParams::margin`]): the longest window after its last row
/// (from its entry bar: one bar more when entering at the next open), and
/// with sample weights the rows before it whose spans reach into it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Margin {
    pub span: Span,
    pub next_open: bool,
    pub weights: bool,
}

impl From<Span> for Margin {
    fn from(span: Span) -> Self {
        Margin {
            span,
            next_open: false,
            weights: false,
        }
    }
}

/// What a run reads of the input beyond timestamps and the four prices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    /// The spread column's name, when the run pays a spread per bar.
    pub spread_column: Option<String>,
    /// Keep the opens (a run entering at the next open reads them).
    pub open: bool,
}

/// The rows a builder keeps (see [`CandlesBuilder::keep`]).
#[derive(Debug, Clone, Copy)]
struct Keep {
    start: usize,
    end: usize,
    margin: Margin,
    /// Set at the last labeled row's entry bar: keep rows up to this
    /// timestamp / index.
    until: Option<Span>,
    /// Rows before `start` kept so far that are no longer needed (weights).
    stale: usize,
}

/// Accumulates candles chunk by chunk, validating each row as it comes.
#[derive(Debug, Clone)]
pub struct CandlesBuilder {
    ts: Vec<i64>,
    high: Prices,
    low: Prices,
    close: Vec<f64>,
    open: Option<Prices>,
    /// The spread column's name and values, when the run uses one.
    spread_column: Option<String>,
    spread: Prices,
    hashes: [WordHash; 6],
    /// Rows accepted (kept or not).
    rows: usize,
    first_ts: i64,
    last_ts: Option<i64>,
    keep: Option<Keep>,
    /// Kept rows before the first labeled row (weights).
    lead: usize,
}

impl Default for CandlesBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CandlesBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        CandlesBuilder {
            ts: Vec::new(),
            high: Prices::new(),
            low: Prices::new(),
            close: Vec::new(),
            open: None,
            spread_column: None,
            spread: Prices::new(),
            hashes: [WordHash::new(); 6],
            rows: 0,
            first_ts: 0,
            last_ts: None,
            keep: None,
            lead: 0,
        }
    }

    /// Reads what a run needs beyond the four prices
    /// ([`crate::ValidParams::needs`]): the spread column (read, validated
    /// and fingerprinted) and the opens. Call it before the first row.
    pub fn expect(&mut self, needs: Needs) {
        self.spread_column = needs.spread_column;
        if needs.open {
            self.open = Some(Prices::new());
        }
    }

    /// The spread column the readers must find, if any.
    pub fn spread_column(&self) -> Option<&str> {
        self.spread_column.as_deref()
    }

    /// Keeps only the rows a worker labeling rows `start..end` of the
    /// input needs: those rows, then the rows of the last one's longest
    /// window, and what the settings add ([`Margin`]). Every row is still
    /// validated and fingerprinted.
    /// `start == end` keeps nothing: enough to plan a run (configs, file
    /// names, the resume check and the footer of a file made in parts).
    /// An `end` before `start`, or a call after the first row, is a bad
    /// parameter.
    ///
    /// ```
    /// use fxlabel::{CandlesBuilder, candles::Span};
    /// let mut b = CandlesBuilder::new();
    /// b.keep(2, 4, Span::Bars(1)).unwrap();
    /// for i in 0..10 {
    ///     b.push(i * 60_000, 1.1, 1.1, 1.1, 1.1).unwrap();
    /// }
    /// assert!(b.keep(0, 1, Span::Bars(1)).is_err()); // rows came already
    /// let c = b.finish().unwrap();
    /// assert_eq!((c.base(), c.output_rows(), c.len(), c.total_rows()), (2, 2, 3, 10));
    /// ```
    pub fn keep(&mut self, start: usize, end: usize, margin: impl Into<Margin>) -> Result<()> {
        if end < start {
            return Err(Error::param(
                "end",
                format!("{end} is before start {start}"),
            ));
        }
        if !self.is_empty() {
            return Err(Error::param("keep", "call keep before appending rows"));
        }
        self.keep = Some(Keep {
            start,
            end,
            margin: margin.into(),
            until: None,
            stale: 0,
        });
        Ok(())
    }

    /// Whether row `row` (timestamp `ts`) is kept.
    #[inline]
    fn kept(&mut self, row: usize, ts: i64) -> bool {
        let Some(mut k) = self.keep else {
            return true;
        };
        let kept = self.decide(&mut k, row, ts);
        self.keep = Some(k);
        kept
    }

    fn decide(&mut self, k: &mut Keep, row: usize, ts: i64) -> bool {
        if k.end == k.start {
            return false;
        }
        let m = k.margin;
        if row < k.start {
            if !m.weights {
                return false;
            }
            // Rows before the range: keep those whose span may reach into
            // it (within the longest window of a later row, one bar more
            // for next_open), dropping the others as rows arrive.
            let need = match m.span {
                Span::Millis(ms) => {
                    let lim = ts.saturating_sub(ms);
                    k.stale + self.ts[k.stale..].partition_point(|&t| t < lim)
                }
                Span::Bars(b) => self.ts.len().saturating_sub((b as usize).saturating_add(1)),
            };
            k.stale = need.saturating_sub(1).max(k.stale);
            if k.stale > 4096 && k.stale * 2 > self.ts.len() {
                self.drain_front(std::mem::take(&mut k.stale));
            }
            return true;
        }
        if row == k.start {
            self.drain_front(std::mem::take(&mut k.stale));
            self.lead = self.ts.len();
        }
        // The last labeled row's entry bar: its window bounds what is kept
        // after the range. (With weights, the rows after the range count in
        // the concurrency too; one whose window is cut short by this bound
        // still holds every kept bar it should, which is all weights read.)
        let anchor = if m.next_open { k.end } else { k.end - 1 };
        if row == anchor {
            k.until = Some(match m.span {
                Span::Millis(ms) => Span::Millis(ts.saturating_add(ms)),
                Span::Bars(b) => Span::Bars((row as u64).saturating_add(b)),
            });
            return true;
        }
        if row < k.end {
            return true;
        }
        match k.until {
            Some(Span::Millis(t)) => ts <= t,
            Some(Span::Bars(r)) => row as u64 <= r,
            None => row <= anchor,
        }
    }

    /// Drops the first `n` kept rows (rows before a kept range that no
    /// span can reach).
    fn drain_front(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.ts.drain(..n);
        self.high.drain_front(n);
        self.low.drain_front(n);
        self.close.drain(..n);
        if let Some(o) = self.open.as_mut() {
            o.drain_front(n);
        }
        if self.spread_column.is_some() {
            self.spread.drain_front(n);
        }
    }

    /// Rows accepted so far (kept or not).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no row was accepted yet.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Reserves room for `additional` more rows (only as many as a
    /// [`CandlesBuilder::keep`] range can keep).
    pub fn reserve(&mut self, additional: usize) {
        let additional = match self.keep {
            None => additional,
            Some(k) => {
                // Rows of the range among the next `additional`, and room
                // for the window after it when the range ends among them
                // (a longer window, e.g. with sub-minute bars, grows).
                let next = self.rows.saturating_add(additional);
                let within = next.min(k.end).saturating_sub(self.rows.max(k.start));
                let ends_here = k.end > k.start && self.rows < k.end && next >= k.end;
                within + if ends_here { 4096 } else { 0 }
            }
        };
        self.ts.reserve(additional);
        self.high.reserve(additional);
        self.low.reserve(additional);
        self.close.reserve(additional);
        if let Some(o) = self.open.as_mut() {
            o.reserve(additional);
        }
        if self.spread_column.is_some() {
            self.spread.reserve(additional);
        }
    }

    /// Appends one row, or reports why it is invalid (the row is then not
    /// added, and the builder should be dropped).
    pub fn push(&mut self, ts: i64, open: f64, high: f64, low: f64, close: f64) -> Result<()> {
        self.push_row(ts, open, high, low, close, None)
    }

    /// [`CandlesBuilder::push`] with the row's spread (in price units;
    /// `None` or NaN for a missing or null value), which the builder
    /// requires when it expects a spread column and ignores otherwise.
    pub fn push_row(
        &mut self,
        ts: i64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        spread: Option<f64>,
    ) -> Result<()> {
        let row = self.rows;
        if let Some(prev) = self.last_ts {
            if ts <= prev {
                let what = if ts == prev {
                    "duplicate"
                } else {
                    "out-of-order"
                };
                return Err(Error::input(
                    Some(row),
                    "timestamp",
                    format!("{what} timestamp {ts} (previous row has {prev}); timestamps must be strictly increasing"),
                ));
            }
        }
        for (name, v) in [
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
        ] {
            if !v.is_finite() {
                return Err(Error::input(
                    Some(row),
                    name,
                    format!("{name} is {v}, prices must be finite"),
                ));
            }
        }
        if high < low {
            return Err(Error::input(
                Some(row),
                "high",
                format!("high {high} is below low {low}"),
            ));
        }
        if open < low || open > high {
            return Err(Error::input(
                Some(row),
                "open",
                format!("open {open} is outside [low {low}, high {high}]"),
            ));
        }
        if close < low || close > high {
            return Err(Error::input(
                Some(row),
                "close",
                format!("close {close} is outside [low {low}, high {high}]"),
            ));
        }
        if let Some(col) = &self.spread_column {
            match spread {
                Some(s) if s.is_finite() && s >= 0.0 => self.hashes[5].add(s.to_bits()),
                Some(s) if s.is_nan() => {
                    return Err(Error::input(
                        Some(row),
                        col,
                        "the spread is missing, null or not a number",
                    ))
                }
                Some(s) => {
                    return Err(Error::input(
                        Some(row),
                        col,
                        format!("spread {s} is not a finite price >= 0"),
                    ))
                }
                None => {
                    return Err(Error::input(
                        Some(row),
                        col,
                        "the spread column has no value for this row",
                    ))
                }
            }
        }
        self.hashes[0].add(ts as u64);
        self.hashes[1].add(open.to_bits());
        self.hashes[2].add(high.to_bits());
        self.hashes[3].add(low.to_bits());
        self.hashes[4].add(close.to_bits());
        if row == 0 {
            self.first_ts = ts;
        }
        self.rows += 1;
        self.last_ts = Some(ts);
        if self.kept(row, ts) {
            self.ts.push(ts);
            self.high.push(high);
            self.low.push(low);
            self.close.push(close);
            if let Some(o) = self.open.as_mut() {
                o.push(open);
            }
            if let (Some(_), Some(s)) = (&self.spread_column, spread) {
                self.spread.push(s);
            }
        }
        Ok(())
    }

    /// Appends a chunk of whole columns (all of the same length).
    pub fn push_columns(
        &mut self,
        ts: &[i64],
        open: &[f64],
        high: &[f64],
        low: &[f64],
        close: &[f64],
    ) -> Result<()> {
        self.push_columns_with(ts, open, high, low, close, None)
    }

    /// [`CandlesBuilder::push_columns`] with the spread column's chunk
    /// (required when the builder expects one).
    pub fn push_columns_with(
        &mut self,
        ts: &[i64],
        open: &[f64],
        high: &[f64],
        low: &[f64],
        close: &[f64],
        spread: Option<&[f64]>,
    ) -> Result<()> {
        let n = ts.len();
        let spread = match (&self.spread_column, spread) {
            (Some(col), None) => {
                return Err(Error::input(
                    None,
                    col,
                    format!("the spread column '{col}' is missing"),
                ))
            }
            (Some(_), Some(s)) => Some(s),
            (None, _) => None,
        };
        let spread_check =
            spread.map(|s| (self.spread_column.clone().unwrap_or_default(), s.len()));
        for (name, len) in [
            ("open", open.len()),
            ("high", high.len()),
            ("low", low.len()),
            ("close", close.len()),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b))
        .chain(spread_check)
        {
            if len != n {
                return Err(Error::input(
                    None,
                    &name,
                    format!("column has {len} values but timestamp has {n} in this chunk"),
                ));
            }
        }
        self.reserve(n);
        for i in 0..n {
            let s = spread.map(|s| s[i]);
            self.push_row(ts[i], open[i], high[i], low[i], close[i], s)?;
        }
        Ok(())
    }

    /// Finishes the input; an empty input is an error.
    pub fn finish(self) -> Result<Candles> {
        let n = self.rows;
        let Some(last_ts) = self.last_ts.filter(|_| n > 0) else {
            return Err(Error::input(None, "timestamp", "the input has no rows"));
        };
        let mut h = WordHash::new();
        // The spread column's hash only when one is used, so that inputs
        // without one keep their fingerprint.
        let cols = if self.spread_column.is_some() { 6 } else { 5 };
        for c in &self.hashes[..cols] {
            h.add(c.0);
        }
        h.add(n as u64);
        let fingerprint = Fingerprint {
            rows: n as u64,
            first_ts: self.first_ts,
            last_ts,
            hash: format!("{:016x}", avalanche(h.0)),
        };
        let lead = self.lead;
        let (base, output) = match self.keep {
            None => (0, n),
            Some(k) => (
                k.start.min(n) - lead.min(k.start.min(n)),
                k.end.min(n).saturating_sub(k.start),
            ),
        };
        let spread = self.spread_column.is_some().then_some(self.spread);
        let mut c = Candles {
            ts: self.ts,
            high: self.high,
            low: self.low,
            close: self.close,
            open: self.open,
            spread,
            fingerprint,
            base,
            lead,
            output,
        };
        // Give back spare room only when there is much of it: shrinking
        // copies each column, and the copy's high-water mark stays in a
        // wasm memory for good.
        let len = c.ts.len();
        if c.ts.capacity() - len > len / 8 + 8192 {
            c.ts.shrink_to_fit();
            c.high.shrink_to_fit();
            c.low.shrink_to_fit();
            c.close.shrink_to_fit();
            if let Some(o) = c.open.as_mut() {
                o.shrink_to_fit();
            }
            if let Some(v) = c.spread.as_mut() {
                v.shrink_to_fit();
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_refuses_a_backward_range_and_a_late_call() {
        let param = |r: Result<()>| match r {
            Err(Error::Param { name, message }) => format!("{name}: {message}"),
            other => panic!("expected a bad parameter, got {other:?}"),
        };
        let mut b = CandlesBuilder::new();
        assert_eq!(
            param(b.keep(5, 3, Span::Bars(1))),
            "end: 3 is before start 5"
        );
        b.keep(3, 3, Span::Bars(1)).unwrap();
        b.push(0, 1.1, 1.1, 1.1, 1.1).unwrap();
        assert_eq!(
            param(b.keep(0, 1, Span::Bars(1))),
            "keep: call keep before appending rows"
        );
    }

    fn err_at(rows: &[(i64, f64, f64, f64, f64)]) -> (Option<usize>, String) {
        let mut b = CandlesBuilder::new();
        for r in rows {
            if let Err(Error::Input { row, column, .. }) = b.push(r.0, r.1, r.2, r.3, r.4) {
                return (row, column);
            }
        }
        match b.finish() {
            Err(Error::Input { row, column, .. }) => (row, column),
            _ => panic!("expected an error"),
        }
    }

    const OK: (i64, f64, f64, f64, f64) = (0, 1.0, 1.1, 0.9, 1.0);

    #[test]
    fn each_rule_names_row_and_column() {
        assert_eq!(err_at(&[]), (None, "timestamp".into()));
        assert_eq!(err_at(&[OK, OK]), (Some(1), "timestamp".into()));
        assert_eq!(
            err_at(&[(5, 1.0, 1.1, 0.9, 1.0), (4, 1.0, 1.1, 0.9, 1.0)]),
            (Some(1), "timestamp".into())
        );
        assert_eq!(
            err_at(&[(0, f64::NAN, 1.1, 0.9, 1.0)]),
            (Some(0), "open".into())
        );
        assert_eq!(
            err_at(&[OK, (1, 1.0, f64::INFINITY, 0.9, 1.0)]),
            (Some(1), "high".into())
        );
        assert_eq!(
            err_at(&[(0, 1.0, 1.1, f64::NEG_INFINITY, 1.0)]),
            (Some(0), "low".into())
        );
        assert_eq!(
            err_at(&[(0, 1.0, 1.1, 0.9, f64::NAN)]),
            (Some(0), "close".into())
        );
        assert_eq!(err_at(&[(0, 1.0, 0.9, 1.1, 1.0)]), (Some(0), "high".into()));
        assert_eq!(err_at(&[(0, 1.2, 1.1, 0.9, 1.0)]), (Some(0), "open".into()));
        assert_eq!(
            err_at(&[(0, 1.0, 1.1, 0.9, 0.8)]),
            (Some(0), "close".into())
        );
    }

    #[test]
    fn chunked_and_whole_fingerprints_agree() {
        let ts: Vec<i64> = (0..10).map(|i| i * 60_000).collect();
        let p: Vec<f64> = (0..10).map(|i| 1.0 + i as f64 * 1e-4).collect();
        let whole = Candles::from_columns(&ts, &p, &p, &p, &p).unwrap();
        let mut b = CandlesBuilder::new();
        b.push_columns(&ts[..3], &p[..3], &p[..3], &p[..3], &p[..3])
            .unwrap();
        b.push_columns(&ts[3..], &p[3..], &p[3..], &p[3..], &p[3..])
            .unwrap();
        let chunked = b.finish().unwrap();
        assert_eq!(whole.fingerprint(), chunked.fingerprint());
        let mut q = p.clone();
        q[7] += 1e-5;
        let other = Candles::from_columns(&ts, &p, &p, &p, &q);
        assert!(other.is_err(), "close above high must be rejected");
        let other = Candles::from_columns(&ts, &p, &q, &p, &q).unwrap();
        assert_ne!(whole.fingerprint().hash, other.fingerprint().hash);
    }

    #[test]
    fn prices_are_ticks_only_when_exact() {
        let mut p = Prices::new();
        for x in [1.10003, 150.123, 0.0, 21_000.5, 1.1] {
            p.push(x);
            assert!(matches!(p, Prices::Ticks(_)), "{x}");
        }
        assert_eq!(p.values().as_ref(), &[1.10003, 150.123, 0.0, 21_000.5, 1.1]);
        // A 6th decimal (or a computed mid price) turns the column to f64,
        // keeping every earlier value exactly.
        p.push(1.100025);
        assert!(matches!(p, Prices::Float(_)));
        assert_eq!(
            p.values().as_ref(),
            &[1.10003, 150.123, 0.0, 21_000.5, 1.1, 1.100025]
        );
        for x in [-0.0, 1e300, 0.1 + 0.2, 30_000.0] {
            assert_eq!(Prices::tick(x), None, "{x}");
        }
        assert_eq!(Prices::tick(-1.5), Some(-150_000));
    }

    #[test]
    fn mismatched_chunk_lengths_are_rejected() {
        let mut b = CandlesBuilder::new();
        let e = b
            .push_columns(&[0, 1], &[1.0], &[1.0, 1.0], &[1.0, 1.0], &[1.0, 1.0])
            .unwrap_err();
        assert!(e.to_string().contains("'open'"), "{e}");
    }
}
