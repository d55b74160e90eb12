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
//! window end, which a moving pointer follows. The pass
//! ([`Labeler::fill`]) writes plain columns ([`SideColumns`]) a row range
//! at a time, with the barrier rule written without branches so that it
//! vectorises; [`Labeler::for_each_row`] reads them back row by row.
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
//! The version 2 settings keep this shape. Entering at the next open
//! moves each row's entry price and window start one bar on; the chain
//! from `i + 1` is the same. A spread moves the long side's entry to the
//! ask (`b + s_e`) and gives the short side its own series (the ask bars,
//! `high + s`, `low + s`, against the bid entry), so with a spread the long
//! and short sides read separate tables, each still shared by every config
//! of its side. A row's window and the return it has if it times out
//! depend on the row and the horizon only, so the configs of one horizon
//! share them: a labeler keeps them per row group in a bounded cache, and
//! a run writes the configs horizon by horizon. Sample weights
//! ([`Labeler::uniqueness`]) are one more linear pass per config and side:
//! a difference array of the concurrency over a row range and the window
//! around it, then prefix sums of `1/c`.
//!
//! Memory: each table holds one offset per candle, as `u16` when the
//! longest window spans fewer than 65 536 bars (always with 1-minute
//! candles and horizons up to 45 days) and `u32` otherwise; 0 means "no
//! touch within the longest window". The default grid on both sides
//! needs 6 levels in each direction: 12 tables, `24 * N` bytes. MFE/MAE,
//! when asked for, add range-extreme tables of the highs and the lows
//! ([`crate::extremes`], ~11.5 bytes a candle for both), which answer
//! each row's maximum and minimum in O(1).

use crate::candles::{Candles, Prices, TICKS};
use crate::distinct::Distinct;
use crate::error::{Error, Result};
use crate::extremes::{Extreme, Extremes};
use crate::grid::{Config, Entry, HorizonUnit, Side, Tie, ValidParams};

/// Slack of the contract's barrier test, in pips.
pub const EPSILON_PIPS: f64 = 1e-6;

/// The exits of a range of rows for one side, as a labeling pass made
/// them: row `r`'s exit offset `exit[r]` counts when `valid[r] != 0`.
#[derive(Debug, Clone, Copy)]
pub struct Exits<'a> {
    pub valid: &'a [u8],
    pub exit: &'a [u32],
}

/// Buffers [`Labeler::uniqueness_into`] reuses from one call to the next.
#[derive(Debug, Default)]
pub struct WeightScratch {
    diff: [Vec<i32>; 2],
    prefix: Vec<f64>,
}

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

/// One side's outcomes over a range of rows, column by column, as a
/// labeling pass writes them ([`Labeler::fill`]); empty for a side not
/// asked for. A row's values count when `valid[row] != 0`; an unknown
/// row holds zeros.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SideColumns {
    /// 1 when the row's outcome is known.
    pub valid: Vec<u8>,
    /// Rows whose outcome is unknown.
    pub nulls: usize,
    pub label: Vec<i8>,
    pub exit: Vec<u32>,
    pub ret: Vec<f32>,
    /// 1 when ambiguous.
    pub amb: Vec<u8>,
    /// With `extras` only.
    pub mfe: Vec<f32>,
    pub mae: Vec<f32>,
    /// With `weights` only: filled by [`Labeler::uniqueness_into`].
    pub uniq: Vec<f32>,
    /// The numbering of the horizon's timeout returns these rows were
    /// labeled with, when the labeler had it: a row that timed out has
    /// the return `values[ids[row]]`. Lets the encoder build the return
    /// dictionary without hashing.
    pub(crate) timeouts: Timeouts,
}

/// [`TimeoutIds`] shared with the labeler's cache. Not part of the rows'
/// values: columns with and without it are equal when their rows are.
#[derive(Debug, Default, Clone)]
pub(crate) struct Timeouts(pub(crate) Option<std::sync::Arc<TimeoutIds>>);

impl PartialEq for Timeouts {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// One side's timeout returns over a horizon's row group, numbered:
/// `values` distinct (by bit pattern) in order of first appearance,
/// `ids[r]` the number of row `r`'s. Made once per horizon and row group,
/// and shared by the configs of the horizon.
#[derive(Debug, Default)]
pub(crate) struct TimeoutIds {
    pub(crate) values: Vec<f32>,
    pub(crate) ids: Vec<u16>,
}

impl TimeoutIds {
    /// The numbering of `ret`; `None` when it has more distinct values
    /// than a return dictionary may hold.
    fn of(ret: &[f32]) -> Option<Self> {
        let (mut table, mut values) = (Vec::new(), Vec::new());
        let mut d = Distinct::new(&mut table, &mut values);
        let mut ids = Vec::with_capacity(ret.len());
        for v in ret {
            // (Numbers are below MAX_DISTINCT = 2^16.)
            ids.push(d.index(v.to_bits())? as u16);
        }
        values.shrink_to_fit();
        Some(TimeoutIds { values, ids })
    }

    fn bytes(&self) -> usize {
        self.values.capacity() * 4 + self.ids.capacity() * 2
    }
}

impl SideColumns {
    /// Empties every column, keeping their memory.
    pub fn clear(&mut self) {
        self.nulls = 0;
        self.timeouts = Timeouts(None);
        for v in [&mut self.valid, &mut self.amb] {
            v.clear();
        }
        self.label.clear();
        self.exit.clear();
        for v in [&mut self.ret, &mut self.mfe, &mut self.mae, &mut self.uniq] {
            v.clear();
        }
    }

    /// Row `r`'s outcome (`None` when unknown or not labeled).
    #[inline]
    pub fn get(&self, r: usize) -> Option<Outcome> {
        if self.valid.get(r).copied().unwrap_or(0) == 0 {
            return None;
        }
        Some(Outcome {
            label: self.label[r],
            exit_offset: self.exit[r],
            return_pips: self.ret[r],
            ambiguous: self.amb[r] != 0,
            mfe_pips: self.mfe.get(r).copied().unwrap_or(0.0),
            mae_pips: self.mae.get(r).copied().unwrap_or(0.0),
        })
    }

    /// The rows' exits, for the weights.
    pub fn exits(&self) -> Exits<'_> {
        Exits {
            valid: &self.valid,
            exit: &self.exit,
        }
    }
}

/// Buffers a labeling pass reuses from one call to the next.
#[derive(Debug, Default)]
pub struct PassScratch {
    /// The windows and timeout returns of the rows being labeled, when
    /// they are not taken from the labeler's cache.
    rows: HorizonRows,
}

/// What every config of one horizon shares over a range of rows: each
/// row's window and the return it has if it times out (the move to the
/// window's last close), which depend on the row and the horizon only.
#[derive(Debug, Default)]
struct HorizonRows {
    /// Each row's window length (`end - i`).
    win: Vec<u32>,
    /// 1 when the row's window is complete.
    complete: Vec<u8>,
    /// The timeout return of each row, long and short (empty for a side
    /// not asked for).
    ret: [Vec<f32>; 2],
    /// `ret` numbered, for the rows kept in the cache only (computing it
    /// for rows labeled once would cost more than it saves).
    ids: [Option<std::sync::Arc<TimeoutIds>>; 2],
}

impl HorizonRows {
    /// `side`'s timeout returns.
    fn returns(&self, side: Side) -> &[f32] {
        &self.ret[(side == Side::Short) as usize]
    }

    fn bytes(&self) -> usize {
        self.win.capacity() * 4
            + self.complete.capacity()
            + self.ret.iter().map(|v| v.capacity() * 4).sum::<usize>()
            + self.ids.iter().flatten().map(|t| t.bytes()).sum::<usize>()
    }
}

/// [`HorizonRows`] of whole row groups, kept so that the configs sharing
/// a horizon compute them once: a run writes the configs of one horizon
/// one after the other ([`crate::run::Plan::todo`]). Bounded by
/// [`ROWS_CACHE_BYTES`]: rows of another horizon make way for a new one,
/// and what does not fit is computed and not kept.
#[derive(Default)]
struct RowsCache {
    entries: Vec<(u64, std::ops::Range<usize>, std::sync::Arc<HorizonRows>)>,
    bytes: usize,
}

impl std::fmt::Debug for RowsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowsCache")
            .field("entries", &self.entries.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// The most bytes of [`RowsCache`]: it holds a horizon's rows over 1M
/// candles with both sides (17 bytes a row with the returns' numbers,
/// plus their distinct values); over longer inputs, the first row groups
/// of a horizon. Kept small because every labeler has one (each worker
/// of a pool), and peak memory over 14.6M candles must stay under the
/// performance targets.
const ROWS_CACHE_BYTES: usize = 20 << 20;
/// Row ranges shorter than this (the margins the weights relabel) are not
/// cached.
const ROWS_CACHE_MIN: usize = 1 << 14;

/// The barrier rule of one side, row by row over plain slices (the loop
/// the compiler can vectorise): with `a` and `b` the offsets of the first
/// target and stop touches minus one (`u32::MAX` when none) and `w` the
/// window's length, a barrier is hit when its offset is `<= w`; the first
/// one decides, both at once is a tie; no hit is a timeout when the
/// window is complete and unknown otherwise. A timeout's return comes from
/// the horizon's [`HorizonRows`].
struct Decide {
    tie: i8,
    tp: f32,
    sp: f32,
}

impl Decide {
    #[inline(always)]
    fn run<A: Copy + Into<u32>, B: Copy + Into<u32>>(
        &self,
        target: &[A],
        stop: &[B],
        h: &HorizonRows,
        timeout_ret: &[f32],
        o: &mut SideColumns,
    ) {
        let m = h.win.len();
        let (target, stop, win, complete) =
            (&target[..m], &stop[..m], &h.win[..m], &h.complete[..m]);
        let timeout_ret = &timeout_ret[..m];
        let (valid, label, exit) = (&mut o.valid[..m], &mut o.label[..m], &mut o.exit[..m]);
        let (ret, amb) = (&mut o.ret[..m], &mut o.amb[..m]);
        let (tp, sp) = (self.tp.to_bits(), self.sp.to_bits());
        // Written without branches (masks and selects) so that it vectorises.
        for r in 0..m {
            let a = target[r].into().wrapping_sub(1);
            let b = stop[r].into().wrapping_sub(1);
            let w = win[r];
            let hit = (a < w) | (b < w);
            let ok = hit | (complete[r] != 0);
            let first_t = hit & ((a < b) | ((a == b) & (self.tie == 1)));
            let first_s = hit & !first_t;
            label[r] = first_t as i8 - first_s as i8;
            valid[r] = ok as u8;
            amb[r] = (hit & (a == b)) as u8;
            let timeout = if ok { w } else { 0 };
            exit[r] = if hit { a.min(b) + 1 } else { timeout };
            let timed_out = ok & !hit;
            let bits = (tp & (first_t as u32).wrapping_neg())
                | (sp & (first_s as u32).wrapping_neg())
                | (timeout_ret[r].to_bits() & (timed_out as u32).wrapping_neg());
            ret[r] = f32::from_bits(bits);
        }
    }
}

/// First-touch offsets for one level, compact when windows are short.
#[derive(Debug)]
enum Offsets {
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Offsets {
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

/// The first-touch tables of one series of bars and one entry price per
/// row: up (on the highs) and down (on the lows).
#[derive(Debug, Default)]
struct TouchSet {
    up: Touches,
    down: Touches,
}

impl TouchSet {
    fn bytes(&self) -> usize {
        self.up
            .offsets
            .iter()
            .chain(&self.down.offsets)
            .map(Offsets::bytes)
            .sum()
    }
}

/// The spread each bar pays, in price units.
#[derive(Clone, Copy)]
enum Spread<'a> {
    None,
    Const(f64),
    Column(&'a Prices),
}

impl Spread<'_> {
    #[inline(always)]
    fn at(&self, j: usize) -> f64 {
        match self {
            Spread::None => 0.0,
            Spread::Const(s) => *s,
            Spread::Column(v) => v.get(j),
        }
    }
}

/// Which bars a touch set reads and which entry price it compares them
/// with: the bid bars against the long entry (`b + s_e`, just `b` without
/// a spread), or the ask bars (`bid + s_j`) against the bid entry `b`.
#[derive(Clone, Copy, PartialEq)]
enum Book {
    Bid,
    Ask,
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
    /// The long side's tables (and the short side's without a spread).
    bid: TouchSet,
    /// The short side's tables when a spread is paid.
    ask: Option<TouchSet>,
    /// Range extremes of the highs and of the lows (extras only), and
    /// the same over the ask bars when a spread column makes them differ.
    extremes: Option<(Extremes, Extremes)>,
    ask_extremes: Option<(Extremes, Extremes)>,
    /// The largest exit offset any row can have: the longest window in
    /// bars (one more when entering at the next open).
    max_offset: usize,
    /// `1 / c` for every concurrency `c` a bar can have (weights only).
    recip: Vec<f64>,
    /// Tells this labeler from every other one in the process (so that an
    /// encoder can cache what it made from these candles).
    id: u64,
    /// Windows and timeout returns of row groups, by horizon.
    rows_cache: std::sync::Mutex<RowsCache>,
}

impl Labeler {
    /// Does the shared work for every config of `params` over `candles`,
    /// on this thread.
    pub fn new(candles: Candles, params: ValidParams) -> Result<Self> {
        Self::with_threads(candles, params, 1)
    }

    /// [`Labeler::new`] with its independent parts (the tables of each
    /// direction and series, the range tables) built on up to `threads` threads
    /// at once: what a native run with that many labeling threads uses
    /// (one thread on wasm32). Same tables either way.
    pub fn with_threads(candles: Candles, params: ValidParams, threads: usize) -> Result<Self> {
        let n = candles.total_rows();
        if n as u64 >= u32::MAX as u64 {
            return Err(Error::input(
                None,
                "timestamp",
                format!("{n} rows is more than one run can label (2^32 - 1)"),
            ));
        }
        let (long, short) = (
            params.sides.contains(&Side::Long),
            params.sides.contains(&Side::Short),
        );
        let (t, st) = (&params.target_pips, &params.stop_pips);
        // (up levels, down levels): long targets are reached upwards and
        // its stops downwards; the short side the other way round.
        let mut bid = (Vec::new(), Vec::new());
        let mut ask = (Vec::new(), Vec::new());
        let spread = params.has_spread();
        if long {
            bid.0.extend_from_slice(t);
            bid.1.extend_from_slice(st);
        }
        if short {
            let set = if spread { &mut ask } else { &mut bid };
            set.0.extend_from_slice(st);
            set.1.extend_from_slice(t);
        }
        for v in [&mut bid.0, &mut bid.1, &mut ask.0, &mut ask.1] {
            v.sort_by(f64::total_cmp);
            v.dedup();
        }
        let hmax = params.horizons.iter().copied().max().unwrap_or(1);
        let next_open = params.entry == Entry::NextOpen;
        let max_offset =
            max_window_len(&candles, params.horizon_unit, hmax, next_open) + next_open as usize;
        let wide = max_offset > u16::MAX as usize;
        // The independent parts, in order: each table set's up and down
        // tables, then each pair of range tables (highs, lows).
        let (c, p) = (&candles, &params);
        let mut parts: Vec<Part<'_>> = Vec::new();
        let has_ask = spread && short;
        for (book, (up, down)) in [(Book::Bid, bid), (Book::Ask, ask)] {
            if book == Book::Ask && !has_ask {
                continue;
            }
            for (dir, levels) in [(Dir::Up, up), (Dir::Down, down)] {
                parts.push(Box::new(move || {
                    Built::Touches(first_touches(c, p, hmax, dir, levels, wide, book))
                }));
            }
        }
        // A constant spread keeps the order of the bars; a column does not.
        let ask_column = c.spread.as_ref().filter(|_| p.extras && short);
        let extreme_spreads = [
            p.extras.then_some(Spread::None),
            ask_column.map(Spread::Column),
        ];
        for spread in extreme_spreads.into_iter().flatten() {
            let n = c.len();
            parts.push(Box::new(move || {
                let val = |k| c.high.get(k) + spread.at(k);
                Built::Extremes(Extremes::new(n, val, Extreme::Max, max_offset))
            }));
            parts.push(Box::new(move || {
                let val = |k| c.low.get(k) + spread.at(k);
                Built::Extremes(Extremes::new(n, val, Extreme::Min, max_offset))
            }));
        }
        let mut built = run_parts(parts, threads).into_iter();
        let mut touch_set = || match (built.next(), built.next()) {
            (Some(Built::Touches(up)), Some(Built::Touches(down))) => Ok(TouchSet { up, down }),
            _ => Err(Error::Format("shared work: a table is missing".into())),
        };
        let bid = touch_set()?;
        let ask = if has_ask { Some(touch_set()?) } else { None };
        let mut extremes_pair = || match (built.next(), built.next()) {
            (Some(Built::Extremes(high)), Some(Built::Extremes(low))) => Ok((high, low)),
            _ => Err(Error::Format(
                "shared work: a range table is missing".into(),
            )),
        };
        let extremes = if params.extras {
            Some(extremes_pair()?)
        } else {
            None
        };
        let ask_extremes = if ask_column.is_some() {
            Some(extremes_pair()?)
        } else {
            None
        };
        let params_weights = params.weights;
        Ok(Labeler {
            configs: params.configs(),
            candles,
            params,
            bid,
            ask,
            extremes,
            ask_extremes,
            max_offset,
            recip: if params_weights {
                // 0 for c = 0: a bar no span holds adds nothing.
                (0..=max_offset)
                    .map(|c| if c == 0 { 0.0 } else { 1.0 / c as f64 })
                    .collect()
            } else {
                Vec::new()
            },
            id: {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
            rows_cache: Default::default(),
        })
    }

    /// This labeler's identity in the process.
    pub(crate) fn id(&self) -> u64 {
        self.id
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

    /// Bytes held by the shared work (first-touch and range tables),
    /// not counting the candles.
    pub fn shared_bytes(&self) -> usize {
        let extremes =
            |c: &Option<(Extremes, Extremes)>| c.as_ref().map_or(0, |(a, b)| a.bytes() + b.bytes());
        self.bid.bytes()
            + self.ask.as_ref().map_or(0, TouchSet::bytes)
            + extremes(&self.extremes)
            + extremes(&self.ask_extremes)
    }

    /// Outcomes of one side of one config for every candle (their
    /// weights: [`Labeler::uniqueness`]).
    pub fn outcomes(&self, config: &Config, side: Side) -> Result<Vec<Option<Outcome>>> {
        let mut out = Vec::with_capacity(self.rows());
        self.for_each_row(config, 0..self.rows(), |_, long, short| {
            out.push(if side == Side::Long { long } else { short });
        })?;
        Ok(out)
    }

    /// Calls `f(r, long, short)` for each row `r` of `rows` (counted from
    /// the first row this labeler labels) in order, with the outcome of
    /// each side (`None` for an unknown outcome or a side not asked for).
    /// This is the linear pass a config costs ([`Labeler::fill`] read
    /// back row by row).
    #[inline]
    pub fn for_each_row(
        &self,
        config: &Config,
        rows: std::ops::Range<usize>,
        f: impl FnMut(usize, Option<Outcome>, Option<Outcome>),
    ) -> Result<()> {
        self.pass(config, self.kept(rows), self.candles.lead(), f)
    }

    /// Rows counted from the first labeled row as kept rows (lead rows
    /// counted), within the labeled ones.
    fn kept(&self, rows: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let (out, lead) = (self.rows(), self.candles.lead());
        rows.start.min(out) + lead..rows.end.min(out) + lead
    }

    /// Labels the rows `rows` of `config` (counted from the first row this
    /// labeler labels) into `out` (long, short; each cleared first, left
    /// empty for a side not asked for), column by column: the linear pass
    /// a config costs. `scratch` is reused across calls.
    pub fn fill(
        &self,
        config: &Config,
        rows: std::ops::Range<usize>,
        scratch: &mut PassScratch,
        out: [&mut SideColumns; 2],
    ) -> Result<()> {
        self.fill_kept(config, self.kept(rows), scratch, out)
    }

    /// [`Labeler::for_each_row`] over kept rows `rows` (lead rows and the
    /// rows after the labeled ones included: weights need their exits),
    /// calling `f` with each row's index minus `offset`: [`Labeler::fill`]
    /// a few thousand rows at a time, read back row by row.
    fn pass(
        &self,
        config: &Config,
        rows: std::ops::Range<usize>,
        offset: usize,
        mut f: impl FnMut(usize, Option<Outcome>, Option<Outcome>),
    ) -> Result<()> {
        const CHUNK: usize = 4096;
        let n = self.candles.len();
        let rows = rows.start.min(n)..rows.end.min(n);
        let mut scratch = PassScratch::default();
        let [mut long, mut short] = [SideColumns::default(), SideColumns::default()];
        for a in rows.clone().step_by(CHUNK) {
            let b = (a + CHUNK).min(rows.end);
            self.fill_kept(config, a..b, &mut scratch, [&mut long, &mut short])?;
            for r in 0..b - a {
                f(a + r - offset, long.get(r), short.get(r));
            }
        }
        Ok(())
    }

    /// [`Labeler::fill`] over kept rows `rows`.
    fn fill_kept(
        &self,
        config: &Config,
        rows: std::ops::Range<usize>,
        scratch: &mut PassScratch,
        out: [&mut SideColumns; 2],
    ) -> Result<()> {
        let n = self.candles.len();
        let rows = rows.start.min(n)..rows.end.min(n);
        if rows.is_empty() {
            for o in out {
                o.clear();
            }
            return Ok(());
        }
        let cached = self.horizon_rows(config.horizon, &rows, &mut scratch.rows);
        let h = cached.as_deref().unwrap_or(&scratch.rows);
        for (side, o) in [Side::Long, Side::Short].into_iter().zip(out) {
            if !self.params.sides.contains(&side) {
                o.clear();
                continue;
            }
            let t = SideTables::new(self, config, side)?;
            self.fill_side(&t, rows.start, h, o);
        }
        Ok(())
    }

    /// The [`HorizonRows`] of `rows` under `horizon`: from the cache
    /// (`Some`), or computed into `into` (`None`), and cached when the
    /// range is a row group's and the cache has room (then `into` gives
    /// its buffers to the cache).
    fn horizon_rows(
        &self,
        horizon: u64,
        rows: &std::ops::Range<usize>,
        into: &mut HorizonRows,
    ) -> Option<std::sync::Arc<HorizonRows>> {
        let cacheable = rows.len() >= ROWS_CACHE_MIN;
        if cacheable {
            if let Ok(c) = self.rows_cache.lock() {
                let hit = c.entries.iter().find(|e| e.0 == horizon && e.1 == *rows);
                if let Some(e) = hit {
                    return Some(e.2.clone());
                }
            }
        }
        self.windows(horizon, rows.clone(), into);
        self.timeout_returns(rows.start, into);
        if !cacheable {
            return None;
        }
        // With the returns' numbers (2 bytes a row and side; their
        // distinct values are not counted before they are known).
        let sides = into.ret.iter().filter(|r| !r.is_empty()).count();
        let bytes = into.bytes() + 2 * sides * rows.len();
        {
            let mut c = self.rows_cache.lock().ok()?;
            if c.bytes + bytes > ROWS_CACHE_BYTES {
                c.entries.retain(|e| e.0 == horizon);
                c.bytes = c.entries.iter().map(|e| e.2.bytes()).sum();
            }
            if c.bytes + bytes > ROWS_CACHE_BYTES {
                return None;
            }
        }
        // Numbered without the lock: other threads go on meanwhile.
        for (ids, ret) in into.ids.iter_mut().zip(&into.ret) {
            *ids = (!ret.is_empty())
                .then(|| TimeoutIds::of(ret))
                .flatten()
                .map(std::sync::Arc::new);
        }
        let h = std::sync::Arc::new(std::mem::take(into));
        if let Ok(mut c) = self.rows_cache.lock() {
            if !c.entries.iter().any(|e| e.0 == horizon && e.1 == *rows) {
                c.bytes += h.bytes();
                c.entries.push((horizon, rows.clone(), h.clone()));
            }
        }
        Some(h)
    }

    /// Each row's timeout return into `h.ret`, for the sides asked, from
    /// its window in `h` (rows counted from `start`): the move from the
    /// entry to the window's last close, in the contract's float64
    /// expression. Rows that do not time out get a value nobody reads.
    fn timeout_returns(&self, start: usize, h: &mut HorizonRows) {
        let c = &self.candles;
        let n = c.len();
        let p = self.params.pip_value;
        let shift = (self.params.entry == Entry::NextOpen) as usize;
        for (k, side) in [Side::Long, Side::Short].into_iter().enumerate() {
            let ret = &mut h.ret[k];
            ret.clear();
            if !self.params.sides.contains(&side) {
                continue;
            }
            let entry = EntryRule::new(c, &self.params, side);
            let spread = entry.spread;
            let rows = h.win.iter().enumerate().map(|(r, &w)| {
                let i = start + r;
                // (The input's last row has no entry bar with next_open.)
                (i + w as usize, entry.at((i + shift).min(n - 1)))
            });
            match (side, spread) {
                (Side::Long, _) => ret.extend(rows.map(|(j, e)| ((c.close[j] - e) / p) as f32)),
                // (e - (close + s)) / p, written negated so that a zero move
                // stays -0.0 as in files made before the spread.
                (Side::Short, Spread::None) => {
                    ret.extend(rows.map(|(j, e)| (-((c.close[j] + 0.0) - e) / p) as f32))
                }
                (Side::Short, _) => {
                    ret.extend(rows.map(|(j, e)| (-((c.close[j] + spread.at(j)) - e) / p) as f32))
                }
            }
        }
    }

    /// Each row's window into `s`: its length from the row (`end - i`, the
    /// last bar a touch may be at, counted from the row) and whether it
    /// is complete. A row with no entry bar (the input's last with
    /// `next_open`) gets an empty, incomplete window: its outcome is unknown.
    fn windows(&self, h: u64, rows: std::ops::Range<usize>, s: &mut HorizonRows) {
        let c = &self.candles;
        let n = c.len();
        // Completeness is judged on the whole input, of which these
        // candles may be a part.
        let last_ts = c.fingerprint().last_ts;
        let (base, total) = (c.base() as u64, c.total_rows() as u64);
        let span = (h as i64).saturating_mul(60_000);
        let shift = (self.params.entry == Entry::NextOpen) as usize;
        let limit = |k: usize| c.ts[k].saturating_add(span);
        s.win.clear();
        s.complete.clear();
        // Window end pointer (minutes mode), started by binary search.
        let first = (rows.start + shift).min(n - 1);
        let mut e =
            c.ts.partition_point(|&t| t <= limit(first))
                .saturating_sub(1);
        for i in rows {
            // The entry bar: i, or i + 1 (none after the input's last row).
            let k = i + shift;
            if shift == 1 && (k >= n || base + k as u64 >= total) {
                s.win.push(0);
                s.complete.push(0);
                continue;
            }
            let (end, complete) = match self.params.horizon_unit {
                HorizonUnit::Minutes => {
                    let lim = limit(k);
                    // No missing minute: the window ends h bars on (the
                    // timestamps strictly increase), else walk to it.
                    match usize::try_from(h)
                        .ok()
                        .and_then(|h| c.ts.get(k.checked_add(h)?))
                    {
                        Some(&t) if t == lim => e = k + h as usize,
                        _ => {
                            e = e.max(k);
                            while e + 1 < n && c.ts[e + 1] <= lim {
                                e += 1;
                            }
                        }
                    }
                    (e, last_ts >= lim)
                }
                HorizonUnit::Bars => {
                    let far = k as u64 + h;
                    ((far.min(n as u64 - 1)) as usize, base + far < total)
                }
            };
            s.win.push((end - i) as u32);
            s.complete.push(complete as u8);
        }
    }

    /// One side's outcomes for the kept rows from `start` whose windows
    /// and timeout returns are in `h`. Every price expression is the
    /// contract's, in float64 as written.
    fn fill_side(&self, t: &SideTables, start: usize, h: &HorizonRows, o: &mut SideColumns) {
        let m = h.win.len();
        let rows = start..start + m;
        let tie = if self.params.tie == Tie::Target {
            1
        } else {
            -1
        };
        let (tp, sp) = (t.target_pips as f32, -(t.stop_pips as f32));
        // Every row of these columns is written below: their old values
        // need no clearing. The others are cleared.
        for v in [&mut o.mfe, &mut o.mae, &mut o.uniq] {
            v.clear();
        }
        o.valid.resize(m, 0);
        o.label.resize(m, 0);
        o.exit.resize(m, 0);
        o.ret.resize(m, 0.0);
        o.amb.resize(m, 0);
        let d = Decide { tie, tp, sp };
        let tr = h.returns(t.side);
        o.timeouts = Timeouts(h.ids[(t.side == Side::Short) as usize].clone());
        match (t.target, t.stop) {
            (Offsets::U16(a), Offsets::U16(b)) => d.run(&a[rows.clone()], &b[rows], h, tr, o),
            (Offsets::U32(a), Offsets::U32(b)) => d.run(&a[rows.clone()], &b[rows], h, tr, o),
            (Offsets::U16(a), Offsets::U32(b)) => d.run(&a[rows.clone()], &b[rows], h, tr, o),
            (Offsets::U32(a), Offsets::U16(b)) => d.run(&a[rows.clone()], &b[rows], h, tr, o),
        }
        o.nulls = m - o.valid.iter().map(|&v| v as usize).sum::<usize>();
        let c = &self.candles;
        let p = self.params.pip_value;
        let shift = (self.params.entry == Entry::NextOpen) as usize;
        let spread = t.entry.spread;
        let Some((xh, xl)) = &self.extremes else {
            return;
        };
        // The ask bars' own tables with a spread column (a constant one
        // keeps the bid bars' order).
        let (xh, xl, bars) = match (t.side, &self.ask_extremes) {
            (Side::Short, Some((ah, al))) => (ah, al, spread),
            _ => (xh, xl, Spread::None),
        };
        o.mfe.resize(m, 0.0);
        o.mae.resize(m, 0.0);
        for r in 0..m {
            let x = o.exit[r] as usize;
            if o.valid[r] == 0 || x == 0 {
                continue;
            }
            let (i, j) = (start + r, start + r + x);
            let e = t.entry.at(i + shift);
            let hi = xh.get(i + 1, j, |k| c.high.get(k) + bars.at(k));
            let lo = xl.get(i + 1, j, |k| c.low.get(k) + bars.at(k));
            (o.mfe[r], o.mae[r]) = match t.side {
                Side::Long => (pos((c.high.get(hi) - e) / p), pos((e - c.low.get(lo)) / p)),
                Side::Short => (
                    pos((e - (c.low.get(lo) + spread.at(lo))) / p),
                    pos(((c.high.get(hi) + spread.at(hi)) - e) / p),
                ),
            };
        }
    }

    /// The average uniqueness of rows `rows` (counted like
    /// [`Labeler::for_each_row`]) of `config`, long and short (0 for a row
    /// whose label is unknown; empty for a side not asked for). Row `i`'s
    /// span is the bars `(i, exit]`; the concurrency `c_t` of bar `t` is
    /// the number of rows with a known label whose span holds `t`; the
    /// uniqueness is the mean of `1 / c_t` over the span, 1 for an empty
    /// span. The rows whose spans can meet `rows`' (the longest window
    /// around them) are labeled too, so any row range gives the same
    /// values as the whole input.
    pub fn uniqueness(
        &self,
        config: &Config,
        rows: std::ops::Range<usize>,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let (mut valid, mut exit) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
        self.for_each_row(config, rows.clone(), |_, l, s| {
            for (side, o) in [l, s].into_iter().enumerate() {
                valid[side].push(o.is_some() as u8);
                exit[side].push(o.map_or(0, |o| o.exit_offset));
            }
        })?;
        let known = [0, 1].map(|k| Exits {
            valid: &valid[k],
            exit: &exit[k],
        });
        let mut out = (Vec::new(), Vec::new());
        let mut scratch = WeightScratch::default();
        self.uniqueness_into(config, rows, known, &mut scratch, [&mut out.0, &mut out.1])?;
        Ok(out)
    }

    /// [`Labeler::uniqueness`] into `out` (long, short; cleared first) for
    /// rows whose exits the caller has from the pass that labeled them
    /// (`known`, one per row of `rows` for each side asked): only the rows
    /// around them are labeled again. `scratch` is reused across calls.
    pub fn uniqueness_into(
        &self,
        config: &Config,
        rows: std::ops::Range<usize>,
        known: [Exits<'_>; 2],
        scratch: &mut WeightScratch,
        out: [&mut Vec<f32>; 2],
    ) -> Result<()> {
        let std::ops::Range { start: a, end: b } = self.kept(rows);
        let w = self.max_offset;
        let lo = a.saturating_sub(w);
        let hi = b.saturating_add(w).min(self.candles.len());
        let has = [Side::Long, Side::Short].map(|s| self.params.sides.contains(&s));
        for side in 0..2 {
            out[side].clear();
            let k = &known[side];
            if has[side] && (k.valid.len() != b.saturating_sub(a) || k.exit.len() != k.valid.len())
            {
                return Err(Error::Format(format!(
                    "uniqueness: exits of {} rows given for {} rows",
                    k.valid.len(),
                    b.saturating_sub(a)
                )));
            }
        }
        if a >= b {
            return Ok(());
        }
        // Concurrency over bars lo..=hi + w, one difference array per side:
        // +1 at the first bar of each known span, -1 after its last.
        let bars = hi - lo + w + 2;
        let WeightScratch { diff, prefix } = scratch;
        // Exact sizes: row groups differ a little in length (the margins,
        // the last one), and growing by doubling kept twice the memory.
        for d in diff.iter_mut() {
            d.clear();
            d.reserve_exact(bars);
            d.resize(bars, 0);
        }
        // A span (i, x] adds 1 from bar i + 1 on and takes it back after
        // bar x; an empty one (x = i) adds and takes back at the same bar,
        // which is the same as nothing, so no row needs a branch.
        let mut span = |side: usize, i: usize, x: usize| {
            diff[side][i - lo + 1] += 1;
            diff[side][x - lo + 1] -= 1;
        };
        // The rows around the range, labeled here.
        let mut note = |i: usize, l: Option<Outcome>, s: Option<Outcome>| {
            for (side, o) in [l, s].into_iter().enumerate() {
                if let Some(o) = o {
                    span(side, i, i + o.exit_offset as usize);
                }
            }
        };
        self.pass(config, lo..a, 0, &mut note)?;
        self.pass(config, b..hi, 0, &mut note)?;
        // 1 / c from a table (no bar is in more than w spans), with 0 for
        // c = 0: adding it changes no sum, so the scans need no branch.
        let recip = |c: usize| match self.recip.get(c) {
            Some(&r) => r,
            None => 1.0 / c as f64,
        };
        for side in (0..2).filter(|&k| has[k]) {
            let k = &known[side];
            let d = &mut diff[side][a - lo + 1..];
            for (r, (&v, &x)) in k.valid.iter().zip(k.exit).enumerate() {
                // A row with no label adds nothing (its exit may be stale).
                let m = (v != 0) as i32;
                let x = x as usize * m as usize;
                d[r] += m;
                d[r + x] -= m;
            }
        }
        for side in (0..2).filter(|&k| has[k]) {
            // prefix[t] = sum of 1 / c_u over bars u <= t (from lo).
            prefix.clear();
            prefix.reserve_exact(bars);
            let (mut c, mut sum) = (0i32, 0f64);
            prefix.extend(diff[side].iter().map(|&d| {
                c += d;
                sum += recip(c as usize);
                sum
            }));
            // The mean over the span: its sum times 1 / its length (from the
            // same table; within an ulp of a division, far inside the
            // contract's 1e-6); 1 for an empty span, 0 with no label.
            let k = &known[side];
            let prefix = &prefix[a - lo..];
            out[side].extend(k.valid.iter().zip(k.exit).enumerate().map(|(r, (&v, &x))| {
                let x = if v != 0 { x as usize } else { 0 };
                let u = ((prefix[r + x] - prefix[r]) * recip(x)) as f32;
                match (v, x) {
                    (0, _) => 0.0,
                    (_, 0) => 1.0,
                    _ => u,
                }
            }));
        }
        Ok(())
    }
}

/// One independent part of a labeler's shared work.
type Part<'a> = Box<dyn FnOnce() -> Built + Send + 'a>;

/// What a [`Part`] builds.
enum Built {
    Touches(Touches),
    Extremes(Extremes),
}

/// Runs `parts` on up to `threads` threads, each taking the next part
/// not yet started; their results in the order of `parts`. On wasm32, or
/// with one thread, one after the other on this thread.
#[cfg_attr(target_arch = "wasm32", allow(unused_variables))]
fn run_parts(parts: Vec<Part<'_>>, threads: usize) -> Vec<Built> {
    #[cfg(not(target_arch = "wasm32"))]
    if threads > 1 && parts.len() > 1 {
        use std::sync::Mutex;
        let n = parts.len();
        let queue = Mutex::new(parts.into_iter().enumerate());
        let done = Mutex::new(Vec::with_capacity(n));
        std::thread::scope(|s| {
            for _ in 0..threads.min(n) {
                s.spawn(|| loop {
                    // (A part that panics ends the scope with its panic, so
                    // a poisoned lock is never read.)
                    let next = queue.lock().map(|mut q| q.next());
                    let Ok(Some((k, part))) = next else { break };
                    let built = part();
                    if let Ok(mut d) = done.lock() {
                        d.push((k, built));
                    }
                });
            }
        });
        // Finished in any order: put back in the order of `parts`.
        let mut done = done.into_inner().unwrap_or_default();
        done.sort_by_key(|&(k, _)| k);
        return done.into_iter().map(|(_, b)| b).collect();
    }
    parts.into_iter().map(|part| part()).collect()
}

/// The spread the bars of `c` pay under `params`.
fn spread_of<'a>(c: &'a Candles, params: &ValidParams) -> Spread<'a> {
    match (c.spread.as_ref(), params.spread_pips) {
        (Some(v), _) => Spread::Column(v),
        (None, s) if s != 0.0 => Spread::Const(s * params.pip_value),
        _ => Spread::None,
    }
}

/// How one side's entry price is read: entry bar `k`'s bid `b` (its
/// close, or its open when entering at the next open, then `k = i + 1`),
/// plus `k`'s spread on the long side, which buys at the ask.
#[derive(Clone, Copy)]
struct EntryRule<'a> {
    /// The opens, when entering at the next open.
    open: Option<&'a Prices>,
    close: &'a [f64],
    spread: Spread<'a>,
    side: Side,
}

impl<'a> EntryRule<'a> {
    fn new(c: &'a Candles, params: &ValidParams, side: Side) -> Self {
        EntryRule {
            open: c.open.as_ref().filter(|_| params.entry == Entry::NextOpen),
            close: &c.close,
            spread: spread_of(c, params),
            side,
        }
    }

    #[inline(always)]
    fn at(&self, k: usize) -> f64 {
        let b = match self.open {
            Some(open) => open.get(k),
            None => self.close[k],
        };
        match (self.side, self.spread) {
            (Side::Long, Spread::None) | (Side::Short, _) => b,
            (Side::Long, s) => b + s.at(k),
        }
    }
}

fn pos(x: f64) -> f32 {
    if x > 0.0 {
        x as f32
    } else {
        0.0
    }
}

/// The two first-touch tables one side of one config reads.
struct SideTables<'a> {
    target: &'a Offsets,
    stop: &'a Offsets,
    target_pips: f64,
    stop_pips: f64,
    side: Side,
    entry: EntryRule<'a>,
}

impl<'a> SideTables<'a> {
    fn new(l: &'a Labeler, config: &Config, side: Side) -> Result<Self> {
        let (target, stop) = match side {
            Side::Long => (
                l.bid.up.get(config.target_pips)?,
                l.bid.down.get(config.stop_pips)?,
            ),
            Side::Short => {
                let set = l.ask.as_ref().unwrap_or(&l.bid);
                (
                    set.down.get(config.target_pips)?,
                    set.up.get(config.stop_pips)?,
                )
            }
        };
        Ok(SideTables {
            target,
            stop,
            target_pips: config.target_pips,
            stop_pips: config.stop_pips,
            side,
            entry: EntryRule::new(&l.candles, &l.params, side),
        })
    }
}

/// The most bars any window of horizon `h` spans (its last index minus
/// its entry bar's index; the entry bar is `i + 1` with `next_open`).
fn max_window_len(c: &Candles, unit: HorizonUnit, h: u64, next_open: bool) -> usize {
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
            for i in next_open as usize..n {
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
/// longest window (horizon `hmax`) that touches it, or 0, on the bars of
/// `book` against its entry prices.
fn first_touches(
    c: &Candles,
    params: &ValidParams,
    hmax: u64,
    dir: Dir,
    levels: Vec<f64>,
    wide: bool,
    book: Book,
) -> Touches {
    let vals = if dir == Dir::Up { &c.high } else { &c.low };
    let spread = spread_of(c, params);
    // Each row's entry price: the long entry on the bid bars, the bid
    // entry on the ask bars.
    let side = if book == Book::Bid {
        Side::Long
    } else {
        Side::Short
    };
    let rule = EntryRule::new(c, params, side);
    let entry = |k: usize| rule.at(k);
    macro_rules! run {
        ($val:expr) => {
            first_touches_by(c, params, hmax, dir, levels, wide, $val, entry)
        };
    }
    match (vals, book, spread) {
        (Prices::Ticks(v), Book::Bid, _) | (Prices::Ticks(v), Book::Ask, Spread::None) => {
            run!(|i| v[i] as f64 / TICKS)
        }
        (Prices::Float(v), Book::Bid, _) | (Prices::Float(v), Book::Ask, Spread::None) => {
            run!(|i| v[i])
        }
        (Prices::Ticks(v), Book::Ask, Spread::Const(s)) => run!(|i| v[i] as f64 / TICKS + s),
        (Prices::Float(v), Book::Ask, Spread::Const(s)) => run!(|i| v[i] + s),
        // A spread in ticks is read back as the same float64 (ticks are
        // kept only when they are exact).
        (Prices::Ticks(v), Book::Ask, Spread::Column(Prices::Ticks(sp))) => {
            run!(|i| v[i] as f64 / TICKS + sp[i] as f64 / TICKS)
        }
        (Prices::Ticks(v), Book::Ask, Spread::Column(Prices::Float(sp))) => {
            run!(|i| v[i] as f64 / TICKS + sp[i])
        }
        (Prices::Float(v), Book::Ask, Spread::Column(Prices::Ticks(sp))) => {
            run!(|i| v[i] + sp[i] as f64 / TICKS)
        }
        (Prices::Float(v), Book::Ask, Spread::Column(Prices::Float(sp))) => {
            run!(|i| v[i] + sp[i])
        }
    }
}

/// [`first_touches`] over bar prices read by `val`, against the entry
/// price `entry(k)` of entry bar `k`.
#[allow(clippy::too_many_arguments)]
fn first_touches_by(
    c: &Candles,
    params: &ValidParams,
    hmax: u64,
    dir: Dir,
    levels: Vec<f64>,
    wide: bool,
    val: impl Fn(usize) -> f64,
    entry: impl Fn(usize) -> f64,
) -> Touches {
    let n = c.len();
    if n == 0 {
        let offsets = levels.iter().map(|_| Offsets::U16(Vec::new())).collect();
        return Touches { levels, offsets };
    }
    let p = params.pip_value;
    let shift = (params.entry == Entry::NextOpen) as usize;
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
        // The entry bar k: i, or i + 1 with next_open (none for the last
        // kept row: it has no touches).
        let k = i + shift;
        if k < n && !stack.is_empty() {
            let cap = match params.horizon_unit {
                HorizonUnit::Bars => (k as u64 + hmax).min(n as u64 - 1) as usize,
                HorizonUnit::Minutes => {
                    let lim = c.ts[k].saturating_add(span);
                    while c.ts[e] > lim {
                        e -= 1;
                    }
                    e
                }
            };
            let entry = entry(k);
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
            for (lvl, &t) in thr.iter().enumerate() {
                let Some(idx) = last_true(&stack[..hi], |j| reach(j, t)) else {
                    break;
                };
                let j = stack[idx] as usize;
                if j > cap {
                    break;
                }
                if wide {
                    out[lvl][i] = (j - i) as u32;
                } else {
                    out16[lvl][i] = (j - i) as u16;
                }
                hi = idx + 1;
            }
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
}
