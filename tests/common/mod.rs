//! Test helpers: a naive labeler written straight from the contract, and
//! a random candle generator.
#![allow(dead_code)]

use fxlabel::{Candles, CandlesBuilder, Config, HorizonUnit, Outcome, Side, Tie, ValidParams};

/// The contract, read literally: for each candle, walk its window bar by
/// bar in time order (version 1 settings: no spread, entry at the close).
pub fn naive(
    c: &Candles,
    cfg: &Config,
    unit: HorizonUnit,
    pip: f64,
    side: Side,
    tie: Tie,
) -> Vec<Option<Outcome>> {
    let zero = vec![0.0; c.len()];
    naive_v2(c, cfg, unit, pip, side, tie, &zero, false).0
}

/// [`naive_v2`] with the settings of `params` (`spread`: each bar's
/// spread in price units).
pub fn naive_for(
    c: &Candles,
    cfg: &Config,
    params: &ValidParams,
    side: Side,
    spread: &[f64],
) -> (Vec<Option<Outcome>>, Vec<f32>) {
    let next_open = params.entry == fxlabel::Entry::NextOpen;
    let (unit, pip, tie) = (params.horizon_unit, params.pip_value, params.tie);
    naive_v2(c, cfg, unit, pip, side, tie, spread, next_open)
}

/// The contract with its version 2 settings, read literally: `spread` is
/// each bar's spread in price units (`spread_pips * pip` for a constant
/// one), `next_open` enters at the next bar's open. Returns the outcomes
/// and each row's average uniqueness (0 for an unknown label), counted
/// bar by bar.
#[allow(clippy::too_many_arguments)]
pub fn naive_v2(
    c: &Candles,
    cfg: &Config,
    unit: HorizonUnit,
    pip: f64,
    side: Side,
    tie: Tie,
    spread: &[f64],
    next_open: bool,
) -> (Vec<Option<Outcome>>, Vec<f32>) {
    let (ts, high, low, close) = (c.timestamps(), c.high(), c.low(), c.close());
    let open = c.open();
    let n = ts.len();
    let (t, s, h) = (cfg.target_pips, cfg.stop_pips, cfg.horizon);
    let mut out = Vec::new();
    for i in 0..n {
        // The entry bar k and the bid entry b.
        let k = if next_open { i + 1 } else { i };
        if k >= n {
            out.push(None);
            continue;
        }
        let b = if next_open {
            open.as_ref().expect("opens are kept for next_open")[k]
        } else {
            close[i]
        };
        // Long buys at the ask and sells at the bid; short sells at the bid.
        let e = match side {
            Side::Long => b + spread[k],
            Side::Short => b,
        };
        let in_window = |j: usize| match unit {
            HorizonUnit::Minutes => ts[j] <= ts[k] + h as i64 * 60000,
            HorizonUnit::Bars => j <= k + h as usize,
        };
        let mut result: Option<(i8, usize, bool)> = None;
        let mut last = i;
        let mut j = if next_open { k } else { i + 1 };
        while j < n && in_window(j) {
            let (hit_t, hit_s) = match side {
                Side::Long => (
                    (high[j] - e) / pip >= t - 1e-6,
                    (e - low[j]) / pip >= s - 1e-6,
                ),
                Side::Short => (
                    (e - (low[j] + spread[j])) / pip >= t - 1e-6,
                    ((high[j] + spread[j]) - e) / pip >= s - 1e-6,
                ),
            };
            if hit_t && hit_s {
                result = Some((if tie == Tie::Target { 1 } else { -1 }, j, true));
                break;
            } else if hit_t {
                result = Some((1, j, false));
                break;
            } else if hit_s {
                result = Some((-1, j, false));
                break;
            }
            last = j;
            j += 1;
        }
        let complete = match unit {
            HorizonUnit::Minutes => ts[n - 1] >= ts[k] + h as i64 * 60000,
            HorizonUnit::Bars => k + h as usize <= n - 1,
        };
        let (label, exit, ambiguous) = match result {
            Some(r) => r,
            None if complete => (0, last, false),
            None => {
                out.push(None);
                continue;
            }
        };
        let return_pips = match label {
            1 => t as f32,
            -1 => -(s as f32),
            _ => match side {
                Side::Long => ((close[exit] - e) / pip) as f32,
                Side::Short => ((e - (close[exit] + spread[exit])) / pip) as f32,
            },
        };
        // MFE / MAE: the same expressions over the bars up to the exit.
        let (mut fav, mut adv) = (0.0f64, 0.0f64);
        for j in i + 1..=exit {
            let (f, a) = match side {
                Side::Long => ((high[j] - e) / pip, (e - low[j]) / pip),
                Side::Short => (
                    (e - (low[j] + spread[j])) / pip,
                    ((high[j] + spread[j]) - e) / pip,
                ),
            };
            fav = fav.max(f);
            adv = adv.max(a);
        }
        out.push(Some(Outcome {
            label,
            exit_offset: (exit - i) as u32,
            return_pips,
            ambiguous,
            mfe_pips: fav as f32,
            mae_pips: adv as f32,
        }));
    }
    // c_t: rows with a known label whose span (i, exit] holds bar t.
    let spans: Vec<Option<(usize, usize)>> = out
        .iter()
        .enumerate()
        .map(|(i, o)| o.map(|o| (i, i + o.exit_offset as usize)))
        .collect();
    let mut count = vec![0usize; n + 1];
    for &(i, x) in spans.iter().flatten() {
        for c in &mut count[i + 1..=x] {
            *c += 1;
        }
    }
    let conc = |t: usize| count[t] as f64;
    let uniqueness = spans
        .iter()
        .map(|span| match *span {
            None => 0.0,
            Some((i, x)) if i == x => 1.0,
            Some((i, x)) => {
                ((i + 1..=x).map(|t| 1.0 / conc(t)).sum::<f64>() / (x - i) as f64) as f32
            }
        })
        .collect();
    (out, uniqueness)
}

/// xorshift64*: deterministic randomness without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

/// Input columns, to build candles with any settings.
#[derive(Clone)]
pub struct Cols {
    pub ts: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
}

impl Cols {
    /// Candles for `params` (the opens kept for next_open, `spread` read as
    /// the spread column when `params` names one), keeping rows
    /// `keep` (and their margin) when given.
    pub fn build(
        &self,
        params: &ValidParams,
        spread: Option<&[f64]>,
        keep: Option<(usize, usize)>,
    ) -> Candles {
        let mut b = CandlesBuilder::new();
        b.expect(params.needs());
        if let Some((start, end)) = keep {
            b.keep(start, end, params.margin()).unwrap();
        }
        b.push_columns_with(
            &self.ts,
            &self.open,
            &self.high,
            &self.low,
            &self.close,
            spread,
        )
        .expect("generated candles are valid");
        b.finish().expect("generated candles are valid")
    }
}

/// Random candles: a walk on a 5-decimal (or 3-decimal when `jpy`) tick
/// grid, so prices land exactly on barriers, with gaps of random length
/// and sometimes sub-minute bars.
pub fn random_candles(rng: &mut Rng, n: usize, jpy: bool) -> Candles {
    let c = random_columns(rng, n, jpy);
    Candles::from_columns(&c.ts, &c.open, &c.high, &c.low, &c.close)
        .expect("generated candles are valid")
}

/// The columns of [`random_candles`].
pub fn random_columns(rng: &mut Rng, n: usize, jpy: bool) -> Cols {
    let (base, tick) = if jpy { (150.0, 0.001) } else { (1.1, 0.00001) };
    let mut ts = Vec::with_capacity(n);
    let (mut o, mut hi, mut lo, mut cl) = (vec![], vec![], vec![], vec![]);
    let mut t: i64 = 1_700_000_000_000;
    let mut k: i64 = 0; // price in ticks from base
    for _ in 0..n {
        t += match rng.below(20) {
            0 => 60_000 * (2 + rng.below(30) as i64),
            1 => 30_000,
            2 => 60_000 * 2000,
            _ => 60_000,
        };
        let open = k;
        let mut path = vec![open];
        for _ in 0..3 {
            k += rng.below(41) as i64 - 20;
            path.push(k);
        }
        let close = k;
        let h = *path.iter().max().unwrap() + rng.below(10) as i64;
        let l = *path.iter().min().unwrap() - rng.below(10) as i64;
        let px = |x: i64| base + x as f64 * tick;
        // Round to the quote's decimals as a data vendor would.
        let round = |x: f64| {
            if jpy {
                (x * 1e3).round() / 1e3
            } else {
                (x * 1e5).round() / 1e5
            }
        };
        ts.push(t);
        o.push(round(px(open)));
        hi.push(round(px(h)));
        lo.push(round(px(l)));
        cl.push(round(px(close)));
    }
    Cols {
        ts,
        open: o,
        high: hi,
        low: lo,
        close: cl,
    }
}

/// Compares uniqueness row by row within 1e-6 relative, as the contract
/// checks it; reports the first difference only.
pub fn assert_close(got: &[f32], want: &[f32], ctx: &str) {
    assert_eq!(got.len(), want.len(), "{ctx}: row count");
    let far = |a: f32, b: f32| (a - b).abs() > 1e-6 * b.abs().max(1e-30);
    if let Some(i) = (0..got.len()).find(|&i| far(got[i], want[i])) {
        panic!(
            "{ctx}: uniqueness differs at row {i}: kernel {} naive {}",
            got[i], want[i]
        );
    }
}

/// Compares outcomes row by row and reports the first difference only.
pub fn assert_same(got: &[Option<Outcome>], want: &[Option<Outcome>], ctx: &str) {
    assert_eq!(got.len(), want.len(), "{ctx}: row count");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        panic!(
            "{ctx}: first difference at row {i}:\n kernel {:?}\n naive  {:?}",
            got[i], want[i]
        );
    }
}
