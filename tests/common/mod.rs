//! Test helpers: a naive labeler written straight from the contract, and
//! a random candle generator.
#![allow(dead_code)]

use fxlabel::{Candles, Config, HorizonUnit, Outcome, Side, Tie};

/// The contract, read literally: for each candle, walk its window bar by
/// bar in time order.
pub fn naive(
    c: &Candles,
    cfg: &Config,
    unit: HorizonUnit,
    pip: f64,
    side: Side,
    tie: Tie,
) -> Vec<Option<Outcome>> {
    let (ts, high, low, close) = (c.timestamps(), c.high(), c.low(), c.close());
    let n = ts.len();
    let (t, s, h) = (cfg.target_pips, cfg.stop_pips, cfg.horizon);
    let mut out = Vec::new();
    for i in 0..n {
        let entry = close[i];
        let in_window = |j: usize| match unit {
            HorizonUnit::Minutes => ts[j] <= ts[i] + h as i64 * 60000,
            HorizonUnit::Bars => j <= i + h as usize,
        };
        let mut result: Option<(i8, usize, bool)> = None;
        let mut last = i;
        let mut j = i + 1;
        while j < n && in_window(j) {
            let up = (high[j] - entry) / pip;
            let down = (entry - low[j]) / pip;
            let (hit_t, hit_s) = match side {
                Side::Long => (up >= t - 1e-6, down >= s - 1e-6),
                Side::Short => (down >= t - 1e-6, up >= s - 1e-6),
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
            HorizonUnit::Minutes => ts[n - 1] >= ts[i] + h as i64 * 60000,
            HorizonUnit::Bars => i + h as usize <= n - 1,
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
                Side::Long => ((close[exit] - entry) / pip) as f32,
                Side::Short => ((entry - close[exit]) / pip) as f32,
            },
        };
        let mut hi = f64::NEG_INFINITY;
        let mut lo = f64::INFINITY;
        for k in i + 1..=exit {
            hi = hi.max(high[k]);
            lo = lo.min(low[k]);
        }
        let (mut fav, mut adv) = (0.0f32, 0.0f32);
        if exit > i {
            let up = ((hi - entry) / pip).max(0.0) as f32;
            let down = ((entry - lo) / pip).max(0.0) as f32;
            (fav, adv) = if side == Side::Long {
                (up, down)
            } else {
                (down, up)
            };
        }
        out.push(Some(Outcome {
            label,
            exit_offset: (exit - i) as u32,
            return_pips,
            ambiguous,
            mfe_pips: fav,
            mae_pips: adv,
        }));
    }
    out
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

/// Random candles: a walk on a 5-decimal (or 3-decimal when `jpy`) tick
/// grid, so prices land exactly on barriers, with gaps of random length
/// and sometimes sub-minute bars.
pub fn random_candles(rng: &mut Rng, n: usize, jpy: bool) -> Candles {
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
    Candles::from_columns(&ts, &o, &hi, &lo, &cl).expect("generated candles are valid")
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
