//! Hand-built cases of the contract's version 2 settings (spread, entry at
//! the next open, sample weights), each checked against the value worked
//! out by hand and against the naive forward walk.

mod common;
use common::Cols;
use fxlabel::{Config, Entry, HorizonUnit, Labeler, Outcome, Params, Side};

const MIN: i64 = 60_000;
const P: f64 = 0.0001;

/// Columns from (minute, open, high, low, close) rows.
fn cols(rows: &[(i64, f64, f64, f64, f64)]) -> Cols {
    Cols {
        ts: rows.iter().map(|r| r.0 * MIN).collect(),
        open: rows.iter().map(|r| r.1).collect(),
        high: rows.iter().map(|r| r.2).collect(),
        low: rows.iter().map(|r| r.3).collect(),
        close: rows.iter().map(|r| r.4).collect(),
    }
}

/// Labels one config (extras on) and checks the kernel against the naive
/// walk before returning the kernel's outcomes.
fn label(
    c: &Cols,
    spread: Option<&[f64]>,
    t: f64,
    s: f64,
    h: u64,
    p: Params,
    side: Side,
) -> Vec<Option<Outcome>> {
    label_weighted(c, spread, t, s, h, p, side).0
}

/// [`label`], with each row's uniqueness (0 for an unknown label).
fn label_weighted(
    c: &Cols,
    spread: Option<&[f64]>,
    t: f64,
    s: f64,
    h: u64,
    p: Params,
    side: Side,
) -> (Vec<Option<Outcome>>, Vec<f32>) {
    let params = Params {
        target_pips: vec![t],
        stop_pips: vec![s],
        horizons: vec![h],
        extras: true,
        spread_column: spread.map(|_| "spread".to_string()),
        ..p
    }
    .validate()
    .unwrap();
    let candles = c.build(&params, spread, None);
    let per_bar = match spread {
        Some(v) => v.to_vec(),
        None => vec![params.spread_pips * params.pip_value; c.ts.len()],
    };
    let labeler = Labeler::new(candles.clone(), params.clone()).unwrap();
    let cfg = Config {
        target_pips: t,
        stop_pips: s,
        horizon: h,
    };
    let got = labeler.outcomes(&cfg, side).unwrap();
    let (want, want_u) = common::naive_for(&candles, &cfg, &params, side, &per_bar);
    common::assert_same(&got, &want, "kernel vs naive");
    let (l, s) = labeler.uniqueness(&cfg, 0..labeler.rows()).unwrap();
    let u = if side == Side::Long { l } else { s };
    common::assert_close(&u, &want_u, "kernel vs naive");
    (got, u)
}

fn lx(o: Option<Outcome>) -> Option<(i8, u32)> {
    o.map(|o| (o.label, o.exit_offset))
}

fn next_open() -> Params {
    Params {
        entry: Entry::NextOpen,
        ..Params::default()
    }
}

#[test]
fn the_entry_bar_itself_can_touch_the_target() {
    // Close entry at 1.1008 sees +4 / -8 pips at most within the data;
    // entering at bar 1's open (1.1000), bar 1's own high (+12 pips) takes
    // the target.
    let c = cols(&[
        (0, 1.1000, 1.1008, 1.0990, 1.1008),
        (1, 1.1000, 1.1012, 1.1000, 1.1010),
        (2, 1.1010, 1.1010, 1.1010, 1.1010),
    ]);
    let close = label(&c, None, 10.0, 10.0, 5, Params::default(), Side::Long);
    assert_eq!(
        close[0], None,
        "close entry: window not complete, nothing touched"
    );
    let v = label(&c, None, 10.0, 10.0, 5, next_open(), Side::Long);
    let o = v[0].unwrap();
    assert_eq!((o.label, o.exit_offset, o.return_pips), (1, 1, 10.0));
    // MFE over the window's bars up to the exit: the entry bar's high.
    assert!((o.mfe_pips - 12.0).abs() < 1e-4, "{}", o.mfe_pips);
    assert_eq!(o.mae_pips, 0.0);
}

#[test]
fn the_last_row_has_no_entry_bar_with_next_open() {
    let c = cols(&[
        (0, 1.1, 1.1, 1.1, 1.1),
        (1, 1.1, 1.1, 1.1, 1.1),
        (2, 1.1, 1.1, 1.1, 1.1),
    ]);
    for unit in [HorizonUnit::Minutes, HorizonUnit::Bars] {
        let p = Params {
            horizon_unit: unit,
            ..next_open()
        };
        for side in [Side::Long, Side::Short] {
            let v = label(&c, None, 5.0, 5.0, 1, p.clone(), side);
            assert_eq!(
                lx(v[0]),
                Some((0, 2)),
                "{unit}: window of bar 1 is bars 1..=2"
            );
            assert_eq!(v[1], None, "{unit}: bar 2's window ends after the data");
            assert_eq!(v[2], None, "{unit}: the last row has no entry bar");
        }
    }
}

#[test]
fn a_weekend_gap_before_the_entry_bar_starts_the_window_after_it() {
    // Friday's last bar, then Monday from minute 2880. With H = 2 minutes
    // the close entry's window is empty (a timeout at the row itself);
    // entering at Monday's open, the window is Monday's first three bars,
    // and the third touches +10 pips.
    let c = cols(&[
        (0, 1.1, 1.1, 1.1, 1.1),
        (2880, 1.1, 1.1, 1.1, 1.1),
        (2881, 1.1, 1.1, 1.1, 1.1),
        (2882, 1.1, 1.1010, 1.1, 1.1),
        (2890, 1.1, 1.1, 1.1, 1.1),
    ]);
    let close = label(&c, None, 10.0, 10.0, 2, Params::default(), Side::Long);
    assert_eq!(lx(close[0]), Some((0, 0)));
    let v = label(&c, None, 10.0, 10.0, 2, next_open(), Side::Long);
    assert_eq!(
        lx(v[0]),
        Some((1, 3)),
        "exit_offset counts from the row, not the entry bar"
    );
}

#[test]
fn a_spread_turns_a_hit_into_a_timeout() {
    // Bar 1 reaches exactly +10 pips on the bid. Paying 1.5 pips to buy at
    // the ask, the long side needs 11.5: a timeout at bar 2, whose close is
    // 3.5 pips above the ask entry.
    let c = cols(&[
        (0, 1.1000, 1.1000, 1.1000, 1.1000),
        (1, 1.1000, 1.1010, 1.1000, 1.1005),
        (2, 1.1005, 1.1005, 1.1005, 1.1005),
    ]);
    let free = label(&c, None, 10.0, 10.0, 2, Params::default(), Side::Long);
    assert_eq!(lx(free[0]), Some((1, 1)));
    let paid = label(
        &c,
        None,
        10.0,
        10.0,
        2,
        Params {
            spread_pips: 1.5,
            ..Params::default()
        },
        Side::Long,
    );
    let o = paid[0].unwrap();
    assert_eq!((o.label, o.exit_offset), (0, 2));
    assert!((o.return_pips - 3.5).abs() < 1e-4, "{}", o.return_pips);
    assert!((o.mfe_pips - 8.5).abs() < 1e-4, "{}", o.mfe_pips);
    assert!((o.mae_pips - 1.5).abs() < 1e-4, "{}", o.mae_pips);
}

#[test]
fn the_short_side_is_decided_by_the_ask() {
    // Short at the bid 1.1000, T = 5, S = 10. Bar 1's bid low is 6 pips
    // down (a target on the bid), but with a 3-pip spread its ask low is
    // only 3 pips down, and its ask high 1.1011 is 11 pips up: the stop.
    let c = cols(&[
        (0, 1.1000, 1.1000, 1.1000, 1.1000),
        (1, 1.1000, 1.1008, 1.0994, 1.1000),
        (2, 1.1000, 1.1000, 1.1000, 1.1000),
    ]);
    let bid = label(&c, None, 5.0, 10.0, 5, Params::default(), Side::Short);
    assert_eq!(lx(bid[0]), Some((1, 1)));
    let spread = [0.0, 0.0003, 0.0];
    let ask = label(
        &c,
        Some(&spread),
        5.0,
        10.0,
        5,
        Params::default(),
        Side::Short,
    );
    let o = ask[0].unwrap();
    assert_eq!((o.label, o.exit_offset, o.return_pips), (-1, 1, -10.0));
    assert!((o.mae_pips - 11.0).abs() < 1e-4, "{}", o.mae_pips);
    assert!((o.mfe_pips - 3.0).abs() < 1e-4, "{}", o.mfe_pips);
    // The long side reads the bid bars: its entry pays bar 0's spread (0).
    let long = label(
        &c,
        Some(&spread),
        5.0,
        10.0,
        5,
        Params::default(),
        Side::Long,
    );
    assert_eq!(
        lx(long[0]),
        Some((1, 1)),
        "8 pips up on the bid reaches T = 5"
    );
}

#[test]
fn an_empty_window_pays_the_spread() {
    // A gap longer than H: the window is empty and complete, the exit is
    // the row itself, and the return is the spread paid, on both sides.
    let c = cols(&[(0, 1.1, 1.1, 1.1, 1.1), (100, 1.1, 1.1, 1.1, 1.1)]);
    for side in [Side::Long, Side::Short] {
        let v = label(
            &c,
            None,
            5.0,
            5.0,
            30,
            Params {
                spread_pips: 1.2,
                ..Params::default()
            },
            side,
        );
        let o = v[0].unwrap();
        assert_eq!(
            (o.label, o.exit_offset, o.mfe_pips, o.mae_pips),
            (0, 0, 0.0, 0.0)
        );
        assert!(
            (o.return_pips + 1.2).abs() < 1e-4,
            "{side}: {}",
            o.return_pips
        );
        let exact = ((1.1 - (1.1 + 1.2 * P)) / P) as f32;
        assert_eq!(o.return_pips, exact, "computed in float64 as written");
    }
}

#[test]
fn uniqueness_of_a_small_case_by_hand() {
    // Flat prices: every label is a timeout at i + 2 (bars, H = 2). Rows 0,
    // 1 and 2 are known, with spans {1,2}, {2,3}, {3,4}; bar concurrency
    // c1 = 1, c2 = 2, c3 = 2, c4 = 1.
    let c = cols(&[
        (0, 1.1, 1.1, 1.1, 1.1),
        (1, 1.1, 1.1, 1.1, 1.1),
        (2, 1.1, 1.1, 1.1, 1.1),
        (3, 1.1, 1.1, 1.1, 1.1),
        (4, 1.1, 1.1, 1.1, 1.1),
    ]);
    let p = Params {
        horizon_unit: HorizonUnit::Bars,
        weights: true,
        ..Params::default()
    };
    let (v, u) = label_weighted(&c, None, 100.0, 100.0, 2, p, Side::Long);
    assert_eq!(u, vec![0.75, 0.5, 0.75, 0.0, 0.0]);
    assert_eq!((v[3], v[4]), (None, None), "no weight without a label");
    // An empty span weighs 1.
    let g = cols(&[(0, 1.1, 1.1, 1.1, 1.1), (100, 1.1, 1.1, 1.1, 1.1)]);
    let weights = Params {
        weights: true,
        ..Params::default()
    };
    let (_, u) = label_weighted(&g, None, 5.0, 5.0, 30, weights, Side::Short);
    assert_eq!(u[0], 1.0);
}

/// A Parquet input's spread column: read by name, float32 widened, and a
/// null, NaN or negative value rejected naming its row and column, after
/// the row's price checks.
#[test]
fn parquet_spread_columns_are_validated_row_by_row() {
    use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch};
    use std::sync::Arc;
    let file = |spread: ArrayRef, bad_close_row: Option<usize>| {
        let n = spread.len();
        let px = Float64Array::from(vec![1.1; n]);
        let mut close = vec![1.1; n];
        if let Some(r) = bad_close_row {
            close[r] = 1.2; // above high
        }
        let batch = RecordBatch::try_from_iter([
            (
                "timestamp",
                Arc::new(Int64Array::from_iter_values((0..n as i64).map(|i| i * MIN))) as ArrayRef,
            ),
            ("open", Arc::new(px.clone())),
            ("high", Arc::new(px.clone())),
            ("low", Arc::new(px)),
            ("close", Arc::new(Float64Array::from(close))),
            ("ba_spread", spread),
        ])
        .unwrap();
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        bytes::Bytes::from(buf)
    };
    let params = Params {
        spread_column: Some("ba_spread".into()),
        ..Params::default()
    }
    .validate()
    .unwrap();
    let read = |bytes| {
        let mut b = fxlabel::CandlesBuilder::new();
        b.expect(params.needs());
        fxlabel::read_parquet(bytes, None, &mut b).and_then(|_| b.finish())
    };
    let ok = read(file(
        Arc::new(Float32Array::from(vec![0.00012f32; 4])),
        None,
    ))
    .unwrap();
    assert_eq!(&*ok.spread().unwrap(), &[0.00012f32 as f64; 4]);
    for (spread, at) in [
        (
            Arc::new(Float64Array::from(vec![
                Some(0.0001),
                Some(0.0),
                None,
                Some(0.1),
            ])) as ArrayRef,
            2,
        ),
        (
            Arc::new(Float64Array::from(vec![0.0001, f64::NAN, 0.0, 0.0])),
            1,
        ),
        (
            Arc::new(Float64Array::from(vec![0.0001, 0.0, 0.0, -1e-5])),
            3,
        ),
    ] {
        let e = read(file(spread.clone(), None)).unwrap_err().to_string();
        assert!(e.contains(&format!("row {at}, column 'ba_spread'")), "{e}");
        // A bad price earlier in the same row wins: prices are checked first.
        let e = read(file(spread, Some(at))).unwrap_err().to_string();
        assert!(e.contains(&format!("row {at}, column 'close'")), "{e}");
    }
    let none = Params {
        spread_column: Some("spread".into()),
        ..Params::default()
    }
    .validate()
    .unwrap();
    let mut b = fxlabel::CandlesBuilder::new();
    b.expect(none.needs());
    let e = fxlabel::read_parquet(
        file(Arc::new(Float64Array::from(vec![0.0; 2])), None),
        None,
        &mut b,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("column 'spread'") && e.contains("missing"),
        "{e}"
    );
}
