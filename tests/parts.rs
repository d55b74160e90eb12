//! A file written in parts by labelers over row ranges of the input (what
//! the Node worker pool does), joined and closed with `file_footer`, is
//! byte for byte the file one labeler over the whole input writes; and the
//! outcomes of a range equal those rows of the whole.

mod common;
use common::{random_candles, Rng};
use fxlabel::{
    Candles, CandlesBuilder, Compression, ConfigWriter, EncodeOptions, HorizonUnit, Labeler,
    Params, ValidParams,
};

fn rebuild(c: &Candles, keep: Option<(usize, usize)>, p: &ValidParams) -> Labeler {
    let mut b = CandlesBuilder::new();
    if let Some((start, end)) = keep {
        b.keep(start, end, p.longest_window()).unwrap();
    }
    let (ts, h, l, cl) = (c.timestamps(), c.high(), c.low(), c.close());
    for i in 0..ts.len() {
        // open = close: inside [low, high] by construction.
        b.push(ts[i], cl[i], h[i], l[i], cl[i]).unwrap();
    }
    Labeler::new(b.finish().unwrap(), p.clone()).unwrap()
}

#[test]
fn parts_join_to_the_whole_file() {
    let mut rng = Rng(11);
    for case in 0..24 {
        let bars = case % 3 == 1;
        let jpy = case % 2 == 0;
        let n = 500 + (rng.next() % 3000) as usize;
        let candles = random_candles(&mut rng, n, jpy);
        let params = Params {
            target_pips: vec![2.0, 7.5],
            stop_pips: vec![3.0, 5.0],
            horizons: vec![1, 15, 60 + (case as u64 % 5) * 50],
            horizon_unit: if bars {
                HorizonUnit::Bars
            } else {
                HorizonUnit::Minutes
            },
            extras: case % 4 == 3,
            pip_value: if jpy { 0.01 } else { 0.0001 },
            ..Params::default()
        }
        .validate()
        .unwrap();
        let rgs = 100 + (rng.next() % 700) as usize;
        let opts = EncodeOptions {
            row_group_size: rgs,
            compression: if case % 5 == 0 {
                Compression::Snappy
            } else {
                Compression::Zstd(1)
            },
            ..EncodeOptions::default()
        };
        let whole = rebuild(&candles, None, &params);
        let planner = rebuild(&candles, Some((0, 0)), &params);
        assert_eq!(planner.rows(), 0);
        assert_eq!(planner.candles().len(), 0);
        assert_eq!(
            planner.candles().fingerprint(),
            whole.candles().fingerprint()
        );
        // Shard boundaries on row-group multiples; sometimes one shard,
        // sometimes an empty one past the end.
        let groups = n.div_ceil(rgs);
        let k = 1 + (rng.next() % 4) as usize;
        let mut cuts: Vec<usize> = (0..=k).map(|i| (groups * i / k) * rgs).collect();
        *cuts.last_mut().unwrap() = n;
        cuts.dedup();
        let shards: Vec<Labeler> = cuts
            .windows(2)
            .map(|w| rebuild(&candles, Some((w[0], w[1])), &params))
            .collect();
        for cfg in whole.configs().iter().step_by(3) {
            let want = fxlabel::encode_config(&whole, cfg, &opts).unwrap();
            let mut file = Vec::new();
            let mut parts = Vec::new();
            for (s, w) in shards.iter().zip(cuts.windows(2)) {
                assert_eq!(s.rows(), w[1] - w[0]);
                for side in [fxlabel::Side::Long, fxlabel::Side::Short] {
                    let a = s.outcomes(cfg, side).unwrap();
                    let b = whole.outcomes(cfg, side).unwrap();
                    assert_eq!(a, b[w[0]..w[1]], "case {case} {} rows {w:?}", cfg.key());
                }
                let mut cw = ConfigWriter::new_part(s, cfg, &opts, Vec::new()).unwrap();
                while cw.step(s).unwrap() {
                    file.extend(cw.take());
                }
                file.extend(cw.take());
                // Through the wire form, as the Node pool sends it.
                let part = cw.part().unwrap();
                parts.push(fxlabel::Part::from_bytes(&part.to_bytes()).unwrap());
            }
            file.extend(fxlabel::file_footer(&planner, cfg, &opts, &parts).unwrap());
            assert!(
                file == want,
                "case {case} {}: joined parts differ from the whole file",
                cfg.key()
            );
        }
        // Parts that do not cover the input are refused.
        let cfg = whole.configs()[0];
        let err = fxlabel::file_footer(&planner, &cfg, &opts, &[]).unwrap_err();
        assert!(err.to_string().contains("cover 0 rows"), "{err}");
    }
}

#[test]
fn part_wire_form_rejects_garbage() {
    assert!(fxlabel::Part::from_bytes(b"").is_err());
    assert!(
        fxlabel::Part::from_bytes(b"FXP\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").is_err()
    );
    let p = fxlabel::Part::default();
    let b = p.to_bytes();
    assert!(fxlabel::Part::from_bytes(&b).is_ok());
    assert!(fxlabel::Part::from_bytes(&b[..b.len() - 1]).is_err());
}
