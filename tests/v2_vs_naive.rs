//! The version 2 settings (spread, entry at the next open, sample weights)
//! against the naive forward walk of the contract: random candles, grids,
//! units, sides, ties, spreads (none, constant, a column) and entries, with
//! extras and weights; and row ranges (what a worker pool labels) equal to
//! the whole input, byte for byte once joined.

mod common;
use common::{assert_same, random_columns, Rng};
use fxlabel::{
    ConfigWriter, EncodeOptions, Entry, HorizonUnit, Labeler, Params, Side, Tie, ValidParams,
};
use proptest::prelude::*;

/// Random version 2 settings and the per-bar spread they imply.
fn random_params(rng: &mut Rng, n: usize, jpy: bool) -> (ValidParams, Vec<f64>, Option<Vec<f64>>) {
    let pip = if jpy { 0.01 } else { 0.0001 };
    let tick: f64 = if jpy { 0.001 } else { 0.00001 };
    let levels = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 7.5, 10.0, 0.3];
    let pick = |rng: &mut Rng| {
        (0..1 + rng.below(3))
            .map(|_| rng.pick(&levels))
            .collect::<Vec<_>>()
    };
    // 0: no spread; 1: constant (fractional pips too); 2: a column of
    // spreads on the tick grid (zero sometimes, as quotes have), either
    // made as k * tick (mostly not the float64 a quote of k ticks parses
    // to: the labeler keeps such a column as float64) or as that float64
    // itself (k ticks / 1e5: kept as integer ticks), so both are checked.
    let mode = rng.below(3);
    let spread_pips = if mode == 1 {
        rng.pick(&[0.5, 1.0, 1.5, 0.7, 3.0])
    } else {
        0.0
    };
    let parsed = rng.below(2) == 0;
    let ticks_per = (tick * 1e5).round() as u64;
    let column: Option<Vec<f64>> = (mode == 2).then(|| {
        (0..n)
            .map(|_| match rng.below(25) {
                k if parsed => (k * ticks_per) as f64 / 1e5,
                k => k as f64 * tick,
            })
            .collect()
    });
    let params = Params {
        target_pips: pick(rng),
        stop_pips: pick(rng),
        horizons: (0..1 + rng.below(3)).map(|_| 1 + rng.below(25)).collect(),
        horizon_unit: if rng.below(2) == 0 {
            HorizonUnit::Minutes
        } else {
            HorizonUnit::Bars
        },
        pip_value: pip,
        sides: match rng.below(3) {
            0 => vec![Side::Long],
            1 => vec![Side::Short],
            _ => vec![Side::Long, Side::Short],
        },
        tie: if rng.below(2) == 0 {
            Tie::Stop
        } else {
            Tie::Target
        },
        extras: rng.below(2) == 0,
        spread_pips,
        spread_column: column.as_ref().map(|_| "spread".to_string()),
        entry: if rng.below(2) == 0 {
            Entry::Close
        } else {
            Entry::NextOpen
        },
        weights: rng.below(3) != 0,
    }
    .validate()
    .unwrap();
    let per_bar = match &column {
        Some(c) => c.clone(),
        None => vec![spread_pips * pip; n],
    };
    (params, per_bar, column)
}

fn check(seed: u64) {
    let mut rng = Rng(seed | 1);
    let jpy = rng.below(3) == 0;
    let n = 1 + rng.below(400) as usize;
    let cols = random_columns(&mut rng, n, jpy);
    let (params, per_bar, column) = random_params(&mut rng, n, jpy);
    let candles = cols.build(&params, column.as_deref(), None);
    // The shared work built on one to three threads: the same tables.
    let threads = 1 + (seed % 3) as usize;
    let labeler = Labeler::with_threads(candles.clone(), params.clone(), threads).unwrap();
    for cfg in labeler.configs() {
        for &side in &params.sides {
            let (mut want, want_u) = common::naive_for(&candles, cfg, &params, side, &per_bar);
            if !params.extras {
                for o in want.iter_mut().flatten() {
                    (o.mfe_pips, o.mae_pips) = (0.0, 0.0);
                }
            }
            let got = labeler.outcomes(cfg, side).unwrap();
            let ctx = format!(
                "seed {seed} config {} side {side} unit {} entry {} spread {}/{:?} weights {}",
                cfg.key(),
                params.horizon_unit,
                params.entry,
                params.spread_pips,
                params.spread_column,
                params.weights
            );
            assert_same(&got, &want, &ctx);
            if params.weights {
                let (l, s) = labeler.uniqueness(cfg, 0..labeler.rows()).unwrap();
                let u = if side == Side::Long { l } else { s };
                common::assert_close(&u, &want_u, &ctx);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn kernel_equals_naive_walk_v2(seed in any::<u64>()) {
        check(seed);
    }
}

/// Workers labeling row ranges (their candles kept with the settings'
/// margin: the next open, weights' concurrency before and after) write the
/// parts of the whole file, byte for byte.
#[test]
fn row_ranges_join_to_the_whole_file_v2() {
    let mut rng = Rng(2024);
    for case in 0..30 {
        let jpy = case % 3 == 0;
        let n = 300 + rng.below(1500) as usize;
        let cols = random_columns(&mut rng, n, jpy);
        let (mut params, _, column) = random_params(&mut rng, n, jpy);
        if case % 2 == 0 {
            // Longer windows than the row groups, so margins matter.
            let mut p = (*params).clone();
            p.horizons = vec![3, 90 + rng.below(200)];
            p.weights = true;
            params = p.validate().unwrap();
        }
        let rgs = 50 + rng.below(300) as usize;
        let opts = EncodeOptions {
            row_group_size: rgs,
            ..EncodeOptions::default()
        };
        let whole =
            Labeler::new(cols.build(&params, column.as_deref(), None), params.clone()).unwrap();
        let planner = Labeler::new(
            cols.build(&params, column.as_deref(), Some((0, 0))),
            params.clone(),
        )
        .unwrap();
        assert_eq!(
            planner.candles().fingerprint(),
            whole.candles().fingerprint()
        );
        let groups = n.div_ceil(rgs);
        let k = 1 + rng.below(4) as usize;
        let mut cuts: Vec<usize> = (0..=k).map(|i| (groups * i / k) * rgs).collect();
        *cuts.last_mut().unwrap() = n;
        cuts.dedup();
        let shards: Vec<Labeler> = cuts
            .windows(2)
            .map(|w| {
                let c = cols.build(&params, column.as_deref(), Some((w[0], w[1])));
                Labeler::new(c, params.clone()).unwrap()
            })
            .collect();
        for cfg in whole.configs().iter().step_by(2) {
            let want = fxlabel::encode_config(&whole, cfg, &opts).unwrap();
            let mut file = Vec::new();
            let mut parts = Vec::new();
            for (s, w) in shards.iter().zip(cuts.windows(2)) {
                assert_eq!(s.rows(), w[1] - w[0]);
                for &side in &params.sides {
                    let a = s.outcomes(cfg, side).unwrap();
                    let b = whole.outcomes(cfg, side).unwrap();
                    assert_eq!(
                        a,
                        b[w[0]..w[1]],
                        "case {case} {} rows {w:?} side {side}",
                        cfg.key()
                    );
                }
                if params.weights {
                    let a = s.uniqueness(cfg, 0..s.rows()).unwrap();
                    let b = whole.uniqueness(cfg, w[0]..w[1]).unwrap();
                    assert_eq!(a, b, "case {case} {} rows {w:?}: uniqueness", cfg.key());
                }
                let mut cw = ConfigWriter::new_part(s, cfg, &opts, Vec::new()).unwrap();
                while cw.step(s).unwrap() {
                    file.extend(cw.take());
                }
                file.extend(cw.take());
                parts.push(cw.part().unwrap());
            }
            file.extend(fxlabel::file_footer(&planner, cfg, &opts, &parts).unwrap());
            assert!(
                file == want,
                "case {case} {}: joined parts differ",
                cfg.key()
            );
        }
    }
}

/// Where nothing is touched every label is a timeout at the window's end:
/// a row range's last row (entering at the next open) needs the bar after
/// the longest window of its own close, in both units.
#[test]
fn row_ranges_keep_the_next_open_window() {
    let n = 400;
    let flat = vec![1.1; n];
    let cols = common::Cols {
        ts: (0..n as i64).map(|i| i * 60_000).collect(),
        open: flat.clone(),
        high: flat.clone(),
        low: flat.clone(),
        close: flat,
    };
    for unit in [HorizonUnit::Bars, HorizonUnit::Minutes] {
        for weights in [false, true] {
            let params = Params {
                target_pips: vec![5.0],
                stop_pips: vec![5.0],
                horizons: vec![7, 30],
                horizon_unit: unit,
                entry: Entry::NextOpen,
                weights,
                ..Params::default()
            }
            .validate()
            .unwrap();
            let whole = Labeler::new(cols.build(&params, None, None), params.clone()).unwrap();
            for (a, b) in [(0, 100), (100, 250), (250, 400)] {
                let part =
                    Labeler::new(cols.build(&params, None, Some((a, b))), params.clone()).unwrap();
                for cfg in whole.configs() {
                    let want = whole.outcomes(cfg, Side::Long).unwrap();
                    let got = part.outcomes(cfg, Side::Long).unwrap();
                    if weights {
                        let u = part.uniqueness(cfg, 0..part.rows()).unwrap();
                        assert_eq!(
                            u,
                            whole.uniqueness(cfg, a..b).unwrap(),
                            "{unit} rows {a}..{b}"
                        );
                    }
                    assert_eq!(
                        got,
                        want[a..b],
                        "{unit} weights {weights} {} rows {a}..{b}",
                        cfg.key()
                    );
                    assert_eq!(want[0].unwrap().exit_offset as u64, cfg.horizon + 1);
                }
            }
        }
    }
}

/// `for_each_row` numbers rows from the first labeled one, whatever the
/// candles keep before it (weights' lead rows) or the entry.
#[test]
fn rows_are_numbered_from_the_first_labeled_row() {
    let mut rng = Rng(5);
    let cols = random_columns(&mut rng, 600, false);
    for entry in [Entry::Close, Entry::NextOpen] {
        let params = Params {
            horizons: vec![30],
            weights: true,
            entry,
            ..Params::default()
        }
        .validate()
        .unwrap();
        let l = Labeler::new(cols.build(&params, None, Some((200, 400))), params.clone()).unwrap();
        assert!(l.candles().lead() > 0);
        let mut seen = Vec::new();
        l.for_each_row(&l.configs()[0], 10..20, |r, _, _| seen.push(r))
            .unwrap();
        assert_eq!(seen, (10..20).collect::<Vec<_>>(), "{entry}");
    }
}

/// Weights over an input longer than the other tests' (80,000 minutes,
/// windows up to 240 bars), for the whole input and for a row range that
/// starts and ends mid-input (its concurrency counted from the rows around
/// it), equal the naive walk's.
#[test]
fn uniqueness_of_a_long_input_and_a_row_range_equals_the_naive_walk() {
    let mut rng = Rng(77);
    let n = 80_000;
    let cols = random_columns(&mut rng, n, false);
    let params = Params {
        target_pips: vec![3.0],
        stop_pips: vec![2.0],
        horizons: vec![30, 240],
        weights: true,
        ..Params::default()
    }
    .validate()
    .unwrap();
    let per_bar = vec![0.0; n];
    let candles = cols.build(&params, None, None);
    let labeler = Labeler::new(candles.clone(), params.clone()).unwrap();
    for cfg in labeler.configs() {
        let whole = labeler.uniqueness(cfg, 0..n).unwrap();
        let part = labeler.uniqueness(cfg, 30_001..70_003).unwrap();
        for (side, (w, p)) in [
            (Side::Long, (&whole.0, &part.0)),
            (Side::Short, (&whole.1, &part.1)),
        ] {
            let (_, want) = common::naive_for(&candles, cfg, &params, side, &per_bar);
            let ctx = format!("{} {side}", cfg.key());
            common::assert_close(w, &want, &ctx);
            common::assert_close(
                p,
                &want[30_001..70_003],
                &format!("{ctx}, rows 30001..70003"),
            );
        }
    }
}

/// One side's outcomes as a label file holds them.
fn file_outcomes(bytes: &[u8], side: Side) -> Vec<Option<fxlabel::Outcome>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Int8Type, UInt32Type};
    use arrow_array::Array;
    let (schema, batches) = fxlabel::read_label_file(bytes).unwrap();
    let batch = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
    let col = |name: &str| {
        batch
            .column_by_name(&format!("{side}_{name}"))
            .unwrap()
            .clone()
    };
    let (label, exit, ret, amb) = (
        col("label"),
        col("exit_offset"),
        col("return_pips"),
        col("ambiguous"),
    );
    let (label, exit) = (
        label.as_primitive::<Int8Type>(),
        exit.as_primitive::<UInt32Type>(),
    );
    let (ret, amb) = (ret.as_primitive::<Float32Type>(), amb.as_boolean());
    (0..batch.num_rows())
        .map(|i| {
            (!label.is_null(i)).then(|| fxlabel::Outcome {
                label: label.value(i),
                exit_offset: exit.value(i),
                return_pips: ret.value(i),
                ambiguous: amb.value(i),
                mfe_pips: 0.0,
                mae_pips: 0.0,
            })
        })
        .collect()
}

/// Files written row group by row group, where the configs of a horizon
/// share its windows and timeout returns (row groups long enough for the
/// labeler to keep them): every row equals the naive walk, whichever
/// config computed them and whichever reused them.
#[test]
fn files_of_configs_sharing_a_horizon_equal_the_naive_walk() {
    let mut rng = Rng(31);
    for case in 0..4 {
        let jpy = case == 3;
        let n = 40_000 + rng.below(30_000) as usize;
        let cols = random_columns(&mut rng, n, jpy);
        let (params, per_bar, column) = random_params(&mut rng, n, jpy);
        let mut p = (*params).clone();
        p.target_pips = vec![0.5, 2.0, 5.0];
        p.stop_pips = vec![1.0, 3.0];
        p.horizons = vec![7, 60];
        p.sides = vec![Side::Long, Side::Short];
        p.extras = false;
        p.entry = if case % 2 == 0 {
            Entry::NextOpen
        } else {
            Entry::Close
        };
        let params = p.validate().unwrap();
        let candles = cols.build(&params, column.as_deref(), None);
        let labeler = Labeler::new(candles.clone(), params.clone()).unwrap();
        let opts = EncodeOptions {
            row_group_size: 1 << 15,
            ..EncodeOptions::default()
        };
        for cfg in labeler.configs() {
            let bytes = fxlabel::encode_config(&labeler, cfg, &opts).unwrap();
            for side in [Side::Long, Side::Short] {
                let (mut want, _) = common::naive_for(&candles, cfg, &params, side, &per_bar);
                for o in want.iter_mut().flatten() {
                    (o.mfe_pips, o.mae_pips) = (0.0, 0.0);
                }
                let ctx = format!(
                    "case {case} {} {side} entry {} spread {}/{:?}",
                    cfg.key(),
                    params.entry,
                    params.spread_pips,
                    params.spread_column
                );
                assert_same(&file_outcomes(&bytes, side), &want, &ctx);
            }
        }
    }
}
