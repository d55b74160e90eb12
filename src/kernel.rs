//! The barrier kernel: labels for one config, with the work that configs
//! share done once per [`Labeler`].
//!
//! A config's label for candle `i` depends on three things: the end of its
//! window (a function of the horizon only), the first bar that reaches
//! the target and the first bar that reaches the stop (each a function of
//! one pip level and one direction only). So a `Labeler` computes, once,
//! for every distinct pip level and direction it needs, the offset of the
//! first touching bar within the longest window, and a config is then one
//! linear pass: `exit = min(target touch, stop touch)` compared with the
//! window end, which a moving pointer follows.
//!
//! The first touches are found without walking windows bar by bar. Going
//! from the last candle to the first, a stack holds the *next-greater
//! chain* starting at `i + 1`: `i + 1`, then the first later bar with a
//! higher high, and so on. Every bar not on the chain has a high that some
//! earlier chain bar already matches, so the first bar reaching a level is
//! the first chain bar that does, and as the chain's highs increase it is
//! found by a galloping binary search, for all levels in ascending order.
//! The lows use the next-smaller chain. The barrier test is evaluated with
//! the contract's exact expression (`(high - c) / p >= T - 1e-6`), which is
//! monotone in the price, so the search returns exactly the bar a forward
//! walk would.
//!
//! Memory: each table holds one offset per candle, as `u16` when the
//! longest window spans fewer than 65 536 bars (always with 1-minute
//! candles and horizons up to 45 days) and `u32` otherwise; 0 means "no
//! touch within the longest window". The default grid on both sides
//! needs 6 levels in each direction: 12 tables, `24 * N` bytes. MFE/MAE,
//! when asked for, add the two chains (`8 * N` bytes) to find range
//! maxima by jumping.

use crate::candles::{Candles, Prices, TICKS};
use crate::error::{Error, Result};
use crate::grid::{Config, HorizonUnit, Side, Tie, ValidParams};

/// Slack of the contract's barrier test, in pips.
pub const EPSILON_PIPS: f64 = 1e-6;

/// The outcome of one side of one config for one candle (`None` in
/// [`Labeler::outcomes`] when it is not yet known).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// 1 target first, -1 stop first, 0 timeout.
    pub label: i8,
    /// Exit bar index minus the entry index.
    pub exit_offset: u32,
    /// +T, -S, or the move to the exit bar's close on timeout.
    pub return_pips: f32,
    /// The exit bar touched both barriers.
    pub ambiguous: bool,
    /// Largest favourable move over bars `i+1..=exit` (0 when empty);
    /// only computed with `extras`, otherwise 0.
    pub mfe_pips: f32,
    /// Largest adverse move over bars `i+1..=exit`; as `mfe_pips`.
    pub mae_pips: f32,
}

/// First-touch offsets for one level, compact when windows are short.
#[derive(Debug)]
enum Offsets {
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Offsets {
    #[inline(always)]
    fn get(&self, i: usize) -> usize {
        match self {
            Offsets::U16(v) => v[i] as usize,
            Offsets::U32(v) => v[i] as usize,
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Offsets::U16(v) => v.len() * 2,
            Offsets::U32(v) => v.len() * 4,
        }
    }
}

/// First touches for several levels in one direction.
#[derive(Debug, Default)]
struct Touches {
    levels: Vec<f64>,
    offsets: Vec<Offsets>,
}

impl Touches {
    fn get(&self, level: f64) -> Result<&Offsets> {
        self.levels
            .iter()
            .position(|&l| l == level)
            .map(|k| &self.offsets[k])
            .ok_or_else(|| {
                Error::param(
                    "key",
                    format!("{level} pips is not a level of this labeler's grid"),
                )
            })
    }
}

/// Direction of a barrier: on the highs (price goes up) or on the lows.
#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Up,
    Down,
}

/// Labels the configs of one grid over one set of candles.
///
/// ```
/// use fxlabel::{Candles, Labeler, Params};
/// let ts: Vec<i64> = (0..4).map(|i| i * 60_000).collect();
/// let close = [1.1000, 1.1003, 1.1011, 1.1011];
/// let high = [1.1000, 1.1004, 1.1012, 1.1011];
/// let low = [1.1000, 1.0999, 1.1002, 1.1011];
/// let candles = Candles::from_columns(&ts, &close, &high, &low, &close).unwrap();
/// let params = Params { target_pips: vec![10.0], stop_pips: vec![5.0], horizons: vec![5], ..Params::default() };
/// let labeler = Labeler::new(candles, params.validate().unwrap()).unwrap();
/// let config = labeler.configs()[0];
/// let long = labeler.outcomes(&config, fxlabel::Side::Long).unwrap();
/// assert_eq!(long[0].unwrap().label, 1);        // +10 pips reached at bar 2
/// assert_eq!(long[0].unwrap().exit_offset, 2);
/// assert_eq!(long[3], None);                    // window not complete yet
/// ```
#[derive(Debug)]
pub struct Labeler {
    candles: Candles,
    params: ValidParams,
    configs: Vec<Config>,
    up: Touches,
    down: Touches,
    /// Next-greater-high and next-smaller-low chains (extras only).
    chains: Option<(Vec<u32>, Vec<u32>)>,
    /// Encoded timestamp chunks shared by every config's file.
    ts_cache: std::sync::Mutex<crate::encode::TsCache>,
}

impl Labeler {
    /// Does the shared work for every config of `params` over `candles`.
    pub fn new(candles: Candles, params: ValidParams) -> Result<Self> {
        let n = candles.total_rows();
        if n as u64 >= u32::MAX as u64 {
            return Err(Error::input(
                None,
                "timestamp",
                format!("{n} rows is more than one run can label (2^32 - 1)"),
            ));
        }
        let mut up_levels = Vec::new();
        let mut down_levels = Vec::new();
        for side in &params.sides {
            let (up, down) = match side {
                Side::Long => (&params.target_pips, &params.stop_pips),
                Side::Short => (&params.stop_pips, &params.target_pips),
            };
            up_levels.extend_from_slice(up);
            down_levels.extend_from_slice(down);
        }
        for v in [&mut up_levels, &mut down_levels] {
            v.sort_by(f64::total_cmp);
            v.dedup();
        }
        let hmax = params.horizons.iter().copied().max().unwrap_or(1);
        let wide = max_window_len(&candles, params.horizon_unit, hmax) > u16::MAX as usize;
        let up = first_touches(&candles, &params, hmax, Dir::Up, up_levels, wide);
        let down = first_touches(&candles, &params, hmax, Dir::Down, down_levels, wide);
        let chains = params.extras.then(|| {
            (
                next_chain(&candles.high, Dir::Up),
                next_chain(&candles.low, Dir::Down),
            )
        });
        Ok(Labeler {
            configs: params.configs(),
            candles,
            params,
            up,
            down,
            chains,
            ts_cache: Default::default(),
        })
    }

    pub(crate) fn ts_cache(&self) -> &std::sync::Mutex<crate::encode::TsCache> {
        &self.ts_cache
    }

    /// Rows this labeler labels: the whole input, or the range its
    /// candles were built for ([`crate::CandlesBuilder::keep`]), starting at
    /// the first kept row.
    pub fn rows(&self) -> usize {
        self.candles.output_rows()
    }

    /// The candles being labeled.
    pub fn candles(&self) -> &Candles {
        &self.candles
    }

    /// The validated parameters.
    pub fn params(&self) -> &ValidParams {
        &self.params
    }

    /// Every config of the grid, in key order.
    pub fn configs(&self) -> &[Config] {
        &self.configs
    }

    /// Finds a config of this grid by key.
    pub fn config(&self, key: &str) -> Result<Config> {
        let c = Config::parse_key(key)?;
        if !self.configs.contains(&c) {
            return Err(Error::param(
                "key",
                format!("{key} is not a config of this grid"),
            ));
        }
        Ok(c)
    }

    /// Bytes held by the shared work (first-touch tables and chains),
    /// not counting the candles.
    pub fn shared_bytes(&self) -> usize {
        let t: usize = self
            .up
            .offsets
            .iter()
            .chain(&self.down.offsets)
            .map(Offsets::bytes)
            .sum();
        t + self
            .chains
            .as_ref()
            .map_or(0, |(a, b)| (a.len() + b.len()) * 4)
    }

    /// Outcomes of one side of one config for every candle.
    pub fn outcomes(&self, config: &Config, side: Side) -> Result<Vec<Option<Outcome>>> {
        let mut out = Vec::with_capacity(self.rows());
        self.for_each_row(config, 0..self.rows(), |_, long, short| {
            out.push(if side == Side::Long { long } else { short });
        })?;
        Ok(out)
    }

    /// Calls `f(i, long, short)` for each row of `rows` in order, with the
    /// outcome of each side (`None` for an unknown outcome or a side not
    /// asked for). This is the linear pass a config costs.
    pub fn for_each_row(
        &self,
        config: &Config,
        rows: std::ops::Range<usize>,
        mut f: impl FnMut(usize, Option<Outcome>, Option<Outcome>),
    ) -> Result<()> {
        let c = &self.candles;
        let n = c.len();
        let out = self.rows();
        let rows = rows.start.min(out)..rows.end.min(out);
        if rows.is_empty() {
            return Ok(());
        }
        let p = self.params.pip_value;
        let has = |s| self.params.sides.contains(&s);
        let long = if has(Side::Long) {
            Some(SideTables::new(self, config, Side::Long)?)
        } else {
            None
        };
        let short = if has(Side::Short) {
            Some(SideTables::new(self, config, Side::Short)?)
        } else {
            None
        };
        let h = config.horizon;
        // Completeness is judged on the whole input, of which these
        // candles may be a part.
        let last_ts = c.fingerprint().last_ts;
        let (base, total) = (c.base() as u64, c.total_rows() as u64);
        let span = (h as i64).saturating_mul(60_000);
        let limit = |i: usize| c.ts[i].saturating_add(span);
        // Window end pointer (minutes mode), started by binary search.
        let mut e = match rows.start {
            s if s < n => c.ts.partition_point(|&t| t <= limit(s)).saturating_sub(1),
            _ => 0,
        };
        for i in rows {
            let (end, complete) = match self.params.horizon_unit {
                HorizonUnit::Minutes => {
                    let lim = limit(i);
                    e = e.max(i);
                    while e + 1 < n && c.ts[e + 1] <= lim {
                        e += 1;
                    }
                    (e, last_ts >= lim)
                }
                HorizonUnit::Bars => {
                    let far = i as u64 + h;
                    ((far.min(n as u64 - 1)) as usize, base + far < total)
                }
            };
            let lo = long
                .as_ref()
                .and_then(|t| self.outcome(t, i, end, complete, p));
            let sh = short
                .as_ref()
                .and_then(|t| self.outcome(t, i, end, complete, p));
            f(i, lo, sh);
        }
        Ok(())
    }

    #[inline]
    fn outcome(
        &self,
        t: &SideTables,
        i: usize,
        end: usize,
        complete: bool,
        p: f64,
    ) -> Option<Outcome> {
        let c = &self.candles;
        let touch = |o: &Offsets| match o.get(i) {
            0 => None,
            d if i + d <= end => Some(d),
            _ => None,
        };
        let (label, exit, ambiguous) = match (touch(t.target), touch(t.stop)) {
            (None, None) if complete => (0i8, end - i, false),
            (None, None) => return None,
            (Some(a), None) => (1, a, false),
            (None, Some(b)) => (-1, b, false),
            (Some(a), Some(b)) if a < b => (1, a, false),
            (Some(a), Some(b)) if b < a => (-1, b, false),
            (Some(a), Some(_)) => (
                if self.params.tie == Tie::Target {
                    1
                } else {
                    -1
                },
                a,
                true,
            ),
        };
        let entry = c.close[i];
        let j = i + exit;
        let return_pips = match label {
            1 => t.target_pips as f32,
            -1 => -(t.stop_pips as f32),
            _ => (t.sign * (c.close[j] - entry) / p) as f32,
        };
        let (mut mfe_pips, mut mae_pips) = (0.0, 0.0);
        if let (Some((nh, nl)), true) = (&self.chains, exit > 0) {
            let hi = c.high.get(range_extreme(nh, i + 1, j));
            let lo = c.low.get(range_extreme(nl, i + 1, j));
            let up = pos((hi - entry) / p);
            let down = pos((entry - lo) / p);
            (mfe_pips, mae_pips) = if t.sign > 0.0 { (up, down) } else { (down, up) };
        }
        Some(Outcome {
            label,
            exit_offset: exit as u32,
            return_pips,
            ambiguous,
            mfe_pips,
            mae_pips,
        })
    }
}

fn pos(x: f64) -> f32 {
    if x > 0.0 {
        x as f32
    } else {
        0.0
    }
}

/// The index of the extreme of `from..=to` on a next-greater (or
/// next-smaller) chain: follow the chain from `from` while it stays in range.
#[inline]
fn range_extreme(next: &[u32], from: usize, to: usize) -> usize {
    let mut j = from;
    loop {
        let k = next[j] as usize;
        if k > to {
            return j;
        }
        j = k;
    }
}

/// The two first-touch tables one side of one config reads.
struct SideTables<'a> {
    target: &'a Offsets,
    stop: &'a Offsets,
    target_pips: f64,
    stop_pips: f64,
    /// +1 long, -1 short: the sign of a price move in the side's favour.
    sign: f64,
}

impl<'a> SideTables<'a> {
    fn new(l: &'a Labeler, config: &Config, side: Side) -> Result<Self> {
        let (target, stop, sign) = match side {
            Side::Long => (
                l.up.get(config.target_pips)?,
                l.down.get(config.stop_pips)?,
                1.0,
            ),
            Side::Short => (
                l.down.get(config.target_pips)?,
                l.up.get(config.stop_pips)?,
                -1.0,
            ),
        };
        Ok(SideTables {
            target,
            stop,
            target_pips: config.target_pips,
            stop_pips: config.stop_pips,
            sign,
        })
    }
}

/// The most bars any window of horizon `h` spans (its last index minus
/// its entry index).
fn max_window_len(c: &Candles, unit: HorizonUnit, h: u64) -> usize {
    let n = c.len();
    if n == 0 {
        return 0;
    }
    match unit {
        HorizonUnit::Bars => (h.min(n as u64 - 1)) as usize,
        HorizonUnit::Minutes => {
            let span = (h as i64).saturating_mul(60_000);
            let mut e = 0;
            let mut best = 0;
            for i in 0..n {
                let lim = c.ts[i].saturating_add(span);
                e = e.max(i);
                while e + 1 < n && c.ts[e + 1] <= lim {
                    e += 1;
                }
                best = best.max(e - i);
            }
            best
        }
    }
}

/// For every level (ascending), the offset of the first bar within the
/// longest window (horizon `hmax`) that touches it, or 0.
fn first_touches(
    c: &Candles,
    params: &ValidParams,
    hmax: u64,
    dir: Dir,
    levels: Vec<f64>,
    wide: bool,
) -> Touches {
    let vals = if dir == Dir::Up { &c.high } else { &c.low };
    match vals {
        Prices::Ticks(v) => {
            first_touches_by(c, params, hmax, dir, levels, wide, |i| v[i] as f64 / TICKS)
        }
        Prices::Float(v) => first_touches_by(c, params, hmax, dir, levels, wide, |i| v[i]),
    }
}

/// [`first_touches`] over prices read by `val`.
fn first_touches_by(
    c: &Candles,
    params: &ValidParams,
    hmax: u64,
    dir: Dir,
    levels: Vec<f64>,
    wide: bool,
    val: impl Fn(usize) -> f64,
) -> Touches {
    let n = c.len();
    if n == 0 {
        let offsets = levels.iter().map(|_| Offsets::U16(Vec::new())).collect();
        return Touches { levels, offsets };
    }
    let p = params.pip_value;
    let thr: Vec<f64> = levels.iter().map(|l| l - EPSILON_PIPS).collect();
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut out16: Vec<Vec<u16>> = Vec::new();
    if wide {
        out = vec![vec![0u32; n]; levels.len()];
    } else {
        out16 = vec![vec![0u16; n]; levels.len()];
    }
    let span = (hmax as i64).saturating_mul(60_000);
    // Backward pointer to the end of the longest window of row i.
    let mut e = n - 1;
    let mut stack: Vec<u32> = Vec::new();
    for i in (0..n).rev() {
        let cap = match params.horizon_unit {
            HorizonUnit::Bars => (i as u64 + hmax).min(n as u64 - 1) as usize,
            HorizonUnit::Minutes => {
                let lim = c.ts[i].saturating_add(span);
                while c.ts[e] > lim {
                    e -= 1;
                }
                e
            }
        };
        let entry = c.close[i];
        // The stack holds the chain from i + 1: stack[len - 1] = i + 1,
        // prices strictly more extreme towards the bottom.
        let reach = |j: u32, t: f64| -> bool {
            let v = val(j as usize);
            match dir {
                Dir::Up => (v - entry) / p >= t,
                Dir::Down => (entry - v) / p >= t,
            }
        };
        let mut hi = stack.len();
        for (k, &t) in thr.iter().enumerate() {
            let Some(idx) = last_true(&stack[..hi], |j| reach(j, t)) else {
                break;
            };
            let j = stack[idx] as usize;
            if j > cap {
                break;
            }
            if wide {
                out[k][i] = (j - i) as u32;
            } else {
                out16[k][i] = (j - i) as u16;
            }
            hi = idx + 1;
        }
        let v = val(i);
        while let Some(&top) = stack.last() {
            let t = val(top as usize);
            let dominated = match dir {
                Dir::Up => t <= v,
                Dir::Down => t >= v,
            };
            if !dominated {
                break;
            }
            stack.pop();
        }
        stack.push(i as u32);
    }
    let offsets = if wide {
        out.into_iter().map(Offsets::U32).collect()
    } else {
        out16.into_iter().map(Offsets::U16).collect()
    };
    Touches { levels, offsets }
}

/// In `s`, where `f` is true on a prefix and false after it, the last
/// index where it is true: galloping from the end, then bisecting, so the
/// cost grows with the log of the distance from the end.
#[inline]
fn last_true(s: &[u32], f: impl Fn(u32) -> bool) -> Option<usize> {
    let mut fls = s.len(); // every index >= fls is false
    let mut step = 1;
    let tru = loop {
        if fls == 0 {
            return None;
        }
        let probe = fls.saturating_sub(step);
        if f(s[probe]) {
            break probe;
        }
        fls = probe;
        step *= 2;
    };
    let (mut lo, mut hi) = (tru, fls);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if f(s[mid]) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// Next strictly greater (Up) or strictly smaller (Down) element's index
/// for every index, `n` when there is none.
fn next_chain(vals: &Prices, dir: Dir) -> Vec<u32> {
    match vals {
        Prices::Ticks(v) => next_chain_by(v.len(), |i| v[i], dir),
        Prices::Float(v) => next_chain_by(v.len(), |i| v[i], dir),
    }
}

/// [`next_chain`] over `n` values read by `val` (ticks compare like the
/// prices they stand for).
fn next_chain_by<T: PartialOrd>(n: usize, val: impl Fn(usize) -> T, dir: Dir) -> Vec<u32> {
    let mut next = vec![n as u32; n];
    let mut stack: Vec<u32> = Vec::new();
    for i in (0..n).rev() {
        while let Some(&top) = stack.last() {
            let t = val(top as usize);
            let dominated = match dir {
                Dir::Up => t <= val(i),
                Dir::Down => t >= val(i),
            };
            if !dominated {
                break;
            }
            stack.pop();
        }
        if let Some(&top) = stack.last() {
            next[i] = top;
        }
        stack.push(i as u32);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_true_finds_the_boundary() {
        let s: Vec<u32> = (0..100).collect();
        for k in 0..=100u32 {
            let got = last_true(&s, |x| x < k);
            assert_eq!(got, k.checked_sub(1).map(|x| x as usize), "k={k}");
        }
        assert_eq!(last_true(&[], |_| true), None);
    }

    #[test]
    fn chains_point_to_next_strictly_greater() {
        let v = Prices::Float(vec![1.0, 3.0, 2.0, 3.0, 5.0, 4.0]);
        let t = Prices::Ticks(vec![1, 3, 2, 3, 5, 4]);
        assert_eq!(next_chain(&t, Dir::Up), next_chain(&v, Dir::Up));
        assert_eq!(next_chain(&t, Dir::Down), next_chain(&v, Dir::Down));
        assert_eq!(next_chain(&v, Dir::Up), vec![1, 4, 3, 4, 6, 6]);
        assert_eq!(next_chain(&v, Dir::Down), vec![6, 2, 6, 6, 5, 6]);
        assert_eq!(range_extreme(&next_chain(&v, Dir::Up), 1, 3), 1);
        assert_eq!(range_extreme(&next_chain(&v, Dir::Up), 0, 5), 4);
    }
}
