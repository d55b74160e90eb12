//! Hand-built cases from the contract, each checked against the value a
//! person works out by hand (and against the naive walk).

mod common;
use common::naive;
use fxlabel::{Candles, Config, HorizonUnit, Labeler, Outcome, Params, Side, Tie};

const MIN: i64 = 60_000;

/// Candles from (minute, high, low, close) rows; open = close.
fn candles(rows: &[(i64, f64, f64, f64)]) -> Candles {
    let ts: Vec<i64> = rows.iter().map(|r| r.0 * MIN).collect();
    let h: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let l: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let c: Vec<f64> = rows.iter().map(|r| r.3).collect();
    Candles::from_columns(&ts, &c, &h, &l, &c).unwrap()
}

fn label(c: &Candles, t: f64, s: f64, h: u64, p: Params, side: Side) -> Vec<Option<Outcome>> {
    let params = Params {
        target_pips: vec![t],
        stop_pips: vec![s],
        horizons: vec![h],
        extras: true,
        ..p
    };
    let unit = params.horizon_unit;
    let (pip, tie) = (params.pip_value, params.tie);
    let labeler = Labeler::new(c.clone(), params.validate().unwrap()).unwrap();
    let cfg = Config {
        target_pips: t,
        stop_pips: s,
        horizon: h,
    };
    let got = labeler.outcomes(&cfg, side).unwrap();
    assert_eq!(
        got,
        naive(c, &cfg, unit, pip, side, tie),
        "kernel and naive walk differ"
    );
    got
}

fn o(label: i8, exit: u32, ret: f32, amb: bool) -> (i8, u32, f32, bool) {
    (label, exit, ret, amb)
}

fn short(x: Option<Outcome>) -> Option<(i8, u32, f32, bool)> {
    x.map(|x| o(x.label, x.exit_offset, x.return_pips, x.ambiguous))
}

#[test]
fn a_bar_touching_both_barriers_follows_the_tie_policy() {
    let c = candles(&[
        (0, 1.1, 1.1, 1.1),
        (1, 1.1010, 1.0990, 1.1),
        (2, 1.1, 1.1, 1.1),
    ]);
    let stop = label(&c, 10.0, 10.0, 5, Params::default(), Side::Long);
    assert_eq!(short(stop[0]), Some(o(-1, 1, -10.0, true)));
    let target = label(
        &c,
        10.0,
        10.0,
        5,
        Params {
            tie: Tie::Target,
            ..Params::default()
        },
        Side::Long,
    );
    assert_eq!(short(target[0]), Some(o(1, 1, 10.0, true)));
    let sh = label(
        &c,
        10.0,
        10.0,
        5,
        Params {
            tie: Tie::Target,
            ..Params::default()
        },
        Side::Short,
    );
    assert_eq!(short(sh[0]), Some(o(1, 1, 10.0, true)));
}

#[test]
fn a_gap_longer_than_the_horizon_gives_an_empty_complete_window() {
    // Row 0 at minute 0, row 1 at minute 100: H=30 sees no bar.
    let c = candles(&[(0, 1.1, 1.1, 1.1), (100, 1.2, 1.0, 1.1)]);
    let v = label(&c, 5.0, 5.0, 30, Params::default(), Side::Long);
    let x = v[0].unwrap();
    assert_eq!(
        (
            x.label,
            x.exit_offset,
            x.return_pips,
            x.mfe_pips,
            x.mae_pips
        ),
        (0, 0, 0.0, 0.0, 0.0)
    );
    assert_eq!(v[1], None, "last candle: window not complete");
    // In bars mode the gap does not matter: the next bar is in the window.
    let b = label(
        &c,
        5.0,
        5.0,
        1,
        Params {
            horizon_unit: HorizonUnit::Bars,
            ..Params::default()
        },
        Side::Long,
    );
    assert_eq!(short(b[0]), Some(o(-1, 1, -5.0, true)));
}

#[test]
fn a_window_ending_exactly_at_the_last_candle_is_complete() {
    let c = candles(&[
        (0, 1.1, 1.1, 1.1),
        (1, 1.1001, 1.0999, 1.1001),
        (2, 1.1002, 1.1, 1.1002),
    ]);
    let v = label(&c, 10.0, 10.0, 2, Params::default(), Side::Long);
    let x = v[0].unwrap();
    assert_eq!((x.label, x.exit_offset), (0, 2));
    assert!((x.return_pips - 2.0).abs() < 1e-4, "{}", x.return_pips);
    assert_eq!(
        v[1], None,
        "row 1's window ends at minute 3, after the data"
    );
    let s = label(&c, 10.0, 10.0, 2, Params::default(), Side::Short);
    assert!((s[0].unwrap().return_pips + 2.0).abs() < 1e-4);
}

#[test]
fn a_touch_inside_an_incomplete_window_is_known() {
    let c = candles(&[(0, 1.1, 1.1, 1.1), (1, 1.1012, 1.1, 1.1)]);
    let v = label(&c, 10.0, 10.0, 60, Params::default(), Side::Long);
    assert_eq!(short(v[0]), Some(o(1, 1, 10.0, false)));
}

#[test]
fn float_noise_at_the_barrier_counts_as_a_touch() {
    // (1.101 - 1.1) / 0.0001 = 9.99999999999889, a touch of T=10.
    let c = candles(&[(0, 1.1, 1.1, 1.1), (1, 1.101, 1.1, 1.1), (2, 1.1, 1.1, 1.1)]);
    assert!((1.101 - 1.1) / 0.0001 < 10.0);
    let v = label(&c, 10.0, 10.0, 5, Params::default(), Side::Long);
    assert_eq!(short(v[0]), Some(o(1, 1, 10.0, false)));
    // Just short of the barrier (9.99 pips) is not a touch.
    let c = candles(&[
        (0, 1.1, 1.1, 1.1),
        (1, 1.100999, 1.1, 1.1),
        (2, 1.1, 1.1, 1.1),
    ]);
    let v = label(&c, 10.0, 10.0, 1, Params::default(), Side::Long);
    assert_eq!(short(v[0]), Some(o(0, 1, 0.0, false)));
}

#[test]
fn fractional_pips() {
    let c = candles(&[
        (0, 1.1, 1.1, 1.1),
        (1, 1.10074, 1.1, 1.1),
        (2, 1.10075, 1.1, 1.1),
        (3, 1.1, 1.1, 1.1),
    ]);
    let v = label(&c, 7.5, 5.0, 5, Params::default(), Side::Long);
    assert_eq!(short(v[0]), Some(o(1, 2, 7.5, false)));
}

#[test]
fn jpy_pip_value() {
    let p = Params {
        pip_value: 0.01,
        ..Params::default()
    };
    let c = candles(&[
        (0, 150.0, 150.0, 150.0),
        (1, 150.05, 149.95, 150.0),
        (2, 150.0, 149.90, 149.95),
        (3, 150.0, 150.0, 150.0),
    ]);
    let v = label(&c, 10.0, 10.0, 5, p.clone(), Side::Short);
    assert_eq!(short(v[0]), Some(o(1, 2, 10.0, false)));
    let l = label(&c, 10.0, 10.0, 5, p, Side::Long);
    assert_eq!(short(l[0]), Some(o(-1, 2, -10.0, false)));
    assert_eq!(
        (l[0].unwrap().mfe_pips, l[0].unwrap().mae_pips),
        (5.0, 10.0)
    );
}

#[test]
fn a_single_candle_is_unknown() {
    let c = candles(&[(0, 1.1, 1.1, 1.1)]);
    assert_eq!(
        label(&c, 5.0, 5.0, 1, Params::default(), Side::Long),
        vec![None]
    );
    let bars = Params {
        horizon_unit: HorizonUnit::Bars,
        ..Params::default()
    };
    assert_eq!(label(&c, 5.0, 5.0, 1, bars, Side::Short), vec![None]);
}

#[test]
fn mfe_and_mae_cover_the_exit_bar_and_never_go_negative() {
    let c = candles(&[
        (0, 1.1, 1.1, 1.1),
        (1, 1.1003, 1.1001, 1.1002),
        (2, 1.1006, 1.0990, 1.1),
        (3, 1.1, 1.1, 1.1),
    ]);
    let v = label(&c, 20.0, 10.0, 5, Params::default(), Side::Long);
    let x = v[0].unwrap();
    assert_eq!((x.label, x.exit_offset), (-1, 2));
    assert!(
        (x.mfe_pips - 6.0).abs() < 1e-4 && (x.mae_pips - 10.0).abs() < 1e-4,
        "{x:?}"
    );
    // Row 1: entry 1.1002, bar 2 low 1.0990 is 12 pips down: stop at bar 2.
    let y = v[1].unwrap();
    assert_eq!((y.label, y.exit_offset), (-1, 1));
    assert!(
        y.mfe_pips >= 0.0 && (y.mfe_pips - 4.0).abs() < 1e-4,
        "{y:?}"
    );
}
