//! Deterministic synthetic 1-minute EURUSD-like candles, for benchmarks,
//! soak tests and trying the library without data: a random walk of about
//! 0.5 pip per minute with intraday seasonality, fat-tailed jumps,
//! 5-decimal quotes, weekend gaps (Friday 22:00 to Sunday 22:00 UTC) and
//! about 0.5% missing minutes.
//!
//! ```
//! let c = fxlabel::synth::candles(1000, 7);
//! assert_eq!(c.len(), 1000);
//! assert_eq!(c.fingerprint(), fxlabel::synth::candles(1000, 7).fingerprint());
//! ```

use crate::candles::{Candles, CandlesBuilder};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

/// Raw candle columns (open included, which [`Candles`] does not keep).
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub ts: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    /// A `spread` column (price units), when added by [`Columns::with_spread`].
    pub spread: Option<Vec<f64>>,
}

/// `n` candles (at least one) from `seed`, starting Monday 2024-01-01 00:00 UTC.
pub fn candles(n: usize, seed: u64) -> Candles {
    let c = columns(n, seed);
    let mut b = CandlesBuilder::new();
    if b.push_columns(&c.ts, &c.open, &c.high, &c.low, &c.close)
        .is_err()
    {
        unreachable!("synthetic candles are valid by construction");
    }
    match b.finish() {
        Ok(c) => c,
        Err(_) => unreachable!("n > 0"),
    }
}

/// The columns of [`candles`].
pub fn columns(n: usize, seed: u64) -> Columns {
    let n = n.max(1);
    let mut rng = Rng(seed);
    let mut b = Columns::default();
    let round5 = |x: f64| (x * 1e5).round() / 1e5;
    let mut t: i64 = 1_704_067_200_000;
    let mut price = 1.1f64;
    while b.ts.len() < n {
        let minute = t / 60_000;
        let dow = ((minute / 1440) + 4) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
        let hour = (minute % 1440) / 60;
        let weekend = (dow == 5 && hour >= 22) || dow == 6 || (dow == 0 && hour < 22);
        if weekend || rng.unit() < 0.005 {
            t += 60_000;
            continue;
        }
        let season = 0.6 + 0.8 * (-((hour as f64 - 13.0) / 4.0).powi(2)).exp();
        let sigma = 0.5e-4 * season;
        let open = round5(price);
        let (mut hi, mut lo, mut p) = (open, open, open);
        for _ in 0..4 {
            let jump = if rng.unit() < 0.01 { 6.0 } else { 1.0 };
            p += sigma * 0.5 * rng.gauss() * jump;
            hi = hi.max(p);
            lo = lo.min(p);
        }
        let close = round5(p);
        let high = round5(hi.max(close) + rng.gauss().abs() * sigma * 0.3);
        let low = round5(lo.min(close) - rng.gauss().abs() * sigma * 0.3);
        // Rounding keeps low <= open, close <= high: all are rounded alike.
        let (high, low) = (high.max(open).max(close), low.min(open).min(close));
        b.ts.push(t);
        b.open.push(open);
        b.high.push(high);
        b.low.push(low);
        b.close.push(close);
        price = close;
        t += 60_000;
    }
    b
}

impl Columns {
    /// Adds a `spread` column: a EURUSD-like bid/ask spread in price units,
    /// on the 1e-5 grid, 0.6 pips in the London/New York hours and up to
    /// 2 pips around the daily rollover (22:00 UTC).
    pub fn with_spread(mut self) -> Self {
        let spread = self
            .ts
            .iter()
            .map(|&t| {
                let hour = ((t / 60_000) % 1440) as f64 / 60.0;
                let night = (-((hour - 22.0)
                    .rem_euclid(24.0)
                    .min((22.0 - hour).rem_euclid(24.0))
                    / 1.5)
                    .powi(2))
                .exp();
                let busy = (-((hour - 13.0) / 4.0).powi(2)).exp();
                ((0.6 + 1.4 * night + 0.4 * (1.0 - busy)) * 10.0).round() / 1e5
            })
            .collect();
        self.spread = Some(spread);
        self
    }

    /// As CSV text with a header (`timestamp,open,high,low,close[,spread]`).
    pub fn write_csv(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        let spread = self.spread.as_deref();
        writeln!(
            w,
            "timestamp,open,high,low,close{}",
            if spread.is_some() { ",spread" } else { "" }
        )?;
        for i in 0..self.ts.len() {
            write!(
                w,
                "{},{:.5},{:.5},{:.5},{:.5}",
                self.ts[i], self.open[i], self.high[i], self.low[i], self.close[i]
            )?;
            match spread {
                Some(s) => writeln!(w, ",{:.5}", s[i])?,
                None => writeln!(w)?,
            }
        }
        Ok(())
    }

    /// As a Parquet file (timestamp as timestamp(ms, UTC), prices float64).
    pub fn write_parquet<W: std::io::Write + Send>(&self, w: W) -> crate::Result<()> {
        use arrow_array::{ArrayRef, Float64Array, RecordBatch, TimestampMillisecondArray};
        use arrow_schema::{DataType, Field, Schema, TimeUnit};
        use std::sync::Arc;
        let mut fields = vec![
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
            Field::new("open", DataType::Float64, false),
            Field::new("high", DataType::Float64, false),
            Field::new("low", DataType::Float64, false),
            Field::new("close", DataType::Float64, false),
        ];
        if self.spread.is_some() {
            fields.push(Field::new("spread", DataType::Float64, false));
        }
        let schema = Arc::new(Schema::new(fields));
        let mut writer = parquet::arrow::ArrowWriter::try_new(w, schema.clone(), None)?;
        let step = 1 << 20;
        for a in (0..self.ts.len()).step_by(step) {
            let r = a..(a + step).min(self.ts.len());
            let f = |v: &[f64]| Arc::new(Float64Array::from(v[r.clone()].to_vec())) as ArrayRef;
            let mut cols = vec![
                Arc::new(
                    TimestampMillisecondArray::from(self.ts[r.clone()].to_vec())
                        .with_timezone("UTC"),
                ) as ArrayRef,
                f(&self.open),
                f(&self.high),
                f(&self.low),
                f(&self.close),
            ];
            if let Some(s) = &self.spread {
                cols.push(f(s));
            }
            writer.write(&RecordBatch::try_new(schema.clone(), cols)?)?;
        }
        writer.close()?;
        Ok(())
    }
}
