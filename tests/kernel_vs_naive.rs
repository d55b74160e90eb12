//! The kernel against the naive forward walk: random candles and grids,
//! both units, both sides, both tie policies, extras on.

mod common;
use common::{assert_same, naive, random_candles, Rng};
use fxlabel::{HorizonUnit, Labeler, Params, Side, Tie};
use proptest::prelude::*;

fn check(seed: u64) {
    let mut rng = Rng(seed | 1);
    let jpy = rng.below(3) == 0;
    let n = 1 + rng.below(400) as usize;
    let candles = random_candles(&mut rng, n, jpy);
    let pip = if jpy { 0.01 } else { 0.0001 };
    let levels = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 7.5, 10.0, 0.3];
    let pick = |rng: &mut Rng| {
        (0..1 + rng.below(3))
            .map(|_| rng.pick(&levels))
            .collect::<Vec<_>>()
    };
    let unit = if rng.below(2) == 0 {
        HorizonUnit::Minutes
    } else {
        HorizonUnit::Bars
    };
    let sides = match rng.below(3) {
        0 => vec![Side::Long],
        1 => vec![Side::Short],
        _ => vec![Side::Long, Side::Short],
    };
    let tie = if rng.below(2) == 0 {
        Tie::Stop
    } else {
        Tie::Target
    };
    let params = Params {
        target_pips: pick(&mut rng),
        stop_pips: pick(&mut rng),
        horizons: (0..1 + rng.below(3)).map(|_| 1 + rng.below(25)).collect(),
        horizon_unit: unit,
        pip_value: pip,
        sides: sides.clone(),
        tie,
        extras: true,
        ..Params::default()
    };
    let labeler = Labeler::new(candles.clone(), params.validate().unwrap()).unwrap();
    for cfg in labeler.configs() {
        for &side in &sides {
            let got = labeler.outcomes(cfg, side).unwrap();
            let want = naive(&candles, cfg, unit, pip, side, tie);
            let ctx = format!(
                "seed {seed} config {} side {side} unit {unit} tie {tie}",
                cfg.key()
            );
            assert_same(&got, &want, &ctx);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn kernel_equals_naive_walk(seed in any::<u64>()) {
        check(seed);
    }
}

/// Longer inputs with the default horizons (windows of up to 1440 bars).
#[test]
fn kernel_equals_naive_walk_long_windows() {
    let mut rng = Rng(42);
    let candles = random_candles(&mut rng, 4000, false);
    let params = Params {
        extras: true,
        ..Params::default()
    }
    .validate()
    .unwrap();
    let labeler = Labeler::new(candles.clone(), params.clone()).unwrap();
    for cfg in labeler.configs().iter().step_by(7) {
        for side in [Side::Long, Side::Short] {
            let got = labeler.outcomes(cfg, side).unwrap();
            let want = naive(&candles, cfg, HorizonUnit::Minutes, 0.0001, side, Tie::Stop);
            assert_same(&got, &want, &format!("config {} side {side}", cfg.key()));
        }
    }
}

/// Wide offsets: windows longer than 65 535 bars switch the tables to u32.
#[test]
fn wide_windows_use_u32_offsets() {
    let mut rng = Rng(7);
    let n = 70_000;
    let ts: Vec<i64> = (0..n as i64).map(|i| i * 1000).collect();
    let mut k: i64 = 0;
    let mut px = Vec::with_capacity(n);
    for _ in 0..n {
        k += rng.below(3) as i64 - 1;
        px.push(1.1 + k as f64 * 1e-5);
    }
    let candles = fxlabel::Candles::from_columns(&ts, &px, &px, &px, &px).unwrap();
    let params = Params {
        target_pips: vec![20.0],
        stop_pips: vec![20.0],
        horizons: vec![66_000],
        horizon_unit: HorizonUnit::Bars,
        extras: true,
        ..Params::default()
    };
    let labeler = Labeler::new(candles.clone(), params.validate().unwrap()).unwrap();
    let cfg = labeler.configs()[0];
    for side in [Side::Long, Side::Short] {
        let got = labeler.outcomes(&cfg, side).unwrap();
        let want = naive(&candles, &cfg, HorizonUnit::Bars, 0.0001, side, Tie::Stop);
        assert_same(&got, &want, &format!("side {side}"));
    }
}
