//! Hostile input: arbitrary bytes, corrupt files, extreme numbers and bad
//! parameters must give errors, never a panic (a panic in the wasm build is
//! a trap that kills the instance) and never a hang.
//!
//! Property tests with bounded case counts so the file runs in CI in
//! seconds; more cases on demand: `PROPTEST_CASES=20000 cargo test --release
//! --test hostile -- --nocapture` (each test prints how many inputs it
//! tried). Failures are not persisted to files; proptest prints the
//! shrunk input instead.

use fxlabel::{
    encode_config, read_file_meta, read_metadata, read_parquet, Candles, CandlesBuilder, Config,
    CsvReader, EncodeOptions, Error, Format, HorizonUnit, Labeler, Params, Side, Tie,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestCaseError, TestRunner};

/// Case count: PROPTEST_CASES when set, else `default` (kept small for CI).
fn cases(default: u32) -> PtConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    PtConfig {
        cases: n,
        failure_persistence: None,
        ..PtConfig::default()
    }
}

/// Runs a property over `n` generated inputs (a panic fails the test,
/// with the shrunk input) and prints how many inputs were tried.
fn check<S: Strategy>(
    what: &str,
    n: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(cases(n));
    let tried = std::cell::Cell::new(0usize);
    let result = runner.run(&strategy, |v| {
        tried.set(tried.get() + 1);
        test(v)
    });
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
    eprintln!("hostile: {what}: {} inputs, 0 panics", tried.get());
}

const SMALL: fn() -> Params = || Params {
    target_pips: vec![5.0, 10.0],
    stop_pips: vec![5.0],
    horizons: vec![3, 30],
    ..Params::default()
};

/// Feeds `chunks` to a CSV reader; the candles or the first error.
fn csv(chunks: &[&[u8]]) -> fxlabel::Result<Candles> {
    let mut b = CandlesBuilder::new();
    let mut r = CsvReader::new(None);
    for c in chunks {
        r.feed(c, &mut b)?;
    }
    r.finish(&mut b)?;
    b.finish()
}

/// The outcome as something comparable: the fingerprint, or the message.
fn outcome(r: &fxlabel::Result<Candles>) -> String {
    match r {
        Ok(c) => format!("{:?}", c.fingerprint()),
        Err(e) => format!("error: {e}"),
    }
}

/// Labels every config of a small grid (both sides, extras) and encodes
/// the first: the whole path after reading, on whatever candles got in.
fn label_all(c: Candles, p: &Params) -> fxlabel::Result<()> {
    let labeler = Labeler::new(c, p.validate()?)?;
    let config = labeler.configs()[0];
    for format in [Format::Parquet, Format::Arrow] {
        let opts = EncodeOptions {
            format,
            ..EncodeOptions::default()
        };
        let bytes = encode_config(&labeler, &config, &opts)?;
        assert_eq!(read_file_meta(&bytes)?.config, config);
    }
    Ok(())
}

/// A real candle file: `rows` synthetic candles as Parquet.
fn parquet_file(rows: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    fxlabel::synth::columns(rows, seed)
        .write_parquet(&mut out)
        .unwrap();
    out
}

// ---------------------------------------------------------------- CSV

/// One CSV field drawn from values that break naive parsers.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("1e308".to_string()),
        Just("1e309".to_string()),
        Just("-0".to_string()),
        Just("".to_string()),
        Just("\"1.1\"".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("2024-13-45 25:61".to_string()),
        Just("2024-02-29 23:59:60.999+23:59".to_string()),
        Just("0000-01-01T00:00:00Z".to_string()),
        Just("9999-12-31 23:59:59.9999999-00:00".to_string()),
        Just("20240102 235959999".to_string()),
        Just("2024-01-02T-1:-5".to_string()),
        Just("2024\u{00e9}01-02".to_string()),
        (0i64..10_000).prop_map(|m| (m * 60_000).to_string()),
        (1.0f64..2.0).prop_map(|x| format!("{x:.5}")),
        any::<f64>().prop_map(|x| x.to_string()),
        any::<i64>().prop_map(|x| x.to_string()),
        "[ -~]{0,12}",
    ]
}

fn csv_text() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        Just("timestamp,open,high,low,close".to_string()),
        Just("Date,Open,High,Low,Close,Volume".to_string()),
        Just("close,low,high,open,time".to_string()),
        Just("timestamp,open,high,low".to_string()),
        "[a-z,]{0,30}",
    ];
    let row = prop::collection::vec(field(), 0..7).prop_map(|f| f.join(","));
    let eol = prop_oneof![Just("\n"), Just("\r\n"), Just("\r"), Just("")];
    (
        header,
        prop::collection::vec((row, eol), 0..40),
        any::<bool>(),
    )
        .prop_map(|(h, rows, quote)| {
            let mut s = h + "\n";
            for (r, e) in rows {
                s += &r;
                s += e;
            }
            if quote {
                // An unbalanced quote somewhere (at a char boundary).
                let mut at = s.len() / 2;
                while !s.is_char_boundary(at) {
                    at -= 1;
                }
                s.insert(at, '"');
            }
            s
        })
}

/// Arbitrary bytes cut anywhere: no panic, and the chunking never changes
/// the outcome (the same candles or the same error).
#[test]
fn csv_arbitrary_bytes_any_chunking() {
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..3000),
        prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    );
    check(
        "CSV reader, arbitrary bytes in arbitrary chunks",
        512,
        strategy,
        |(bytes, cuts)| {
            let whole = outcome(&csv(&[&bytes]));
            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            at.sort_unstable();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for &c in &at {
                chunks.push(&bytes[prev..c]);
                prev = c;
            }
            chunks.push(&bytes[prev..]);
            prop_assert_eq!(outcome(&csv(&chunks)), whole);
            Ok(())
        },
    );
}

/// CSV-shaped text with hostile fields, fed one byte at a time and whole;
/// whatever is accepted is labeled and encoded without panic.
#[test]
fn csv_hostile_text_then_label() {
    check(
        "CSV reader + labeling, hostile CSV text",
        512,
        csv_text(),
        |text| {
            let bytes = text.as_bytes();
            let whole = csv(&[bytes]);
            let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
            prop_assert_eq!(outcome(&csv(&bytewise)), outcome(&whole));
            if let Ok(c) = whole {
                label_all(c, &SMALL()).unwrap();
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------- Parquet

/// A real file with random bytes overwritten, truncated, or replaced by
/// random bytes between the magic numbers: an error or candles, never a
/// panic; accepted candles label without panic.
#[test]
fn parquet_corrupt_files() {
    let files: Vec<Vec<u8>> = (0..4)
        .map(|s| parquet_file(300 + s * 100, s as u64))
        .collect();
    let strategy = (
        0usize..4,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        any::<prop::sample::Index>(),
        0u8..4,
        prop::collection::vec(any::<u8>(), 0..600),
    );
    check(
        "Parquet reader, corrupt files (flips, truncations, random bytes)",
        256,
        strategy,
        |(seed, flips, cut, mode, noise)| {
            let good = &files[seed];
            let bytes = match mode {
                0 => {
                    let mut b = good.clone();
                    for (i, v) in &flips {
                        let k = i.index(b.len());
                        b[k] = *v;
                    }
                    b
                }
                1 => good[..cut.index(good.len())].to_vec(),
                2 => [b"PAR1".as_slice(), &noise, b"PAR1"].concat(),
                _ => {
                    // Random bytes as the footer, its length field pointing at them.
                    let mut b = good[..good.len() / 2].to_vec();
                    b.extend_from_slice(&noise);
                    b.extend_from_slice(&(noise.len() as u32).to_le_bytes());
                    b.extend_from_slice(b"PAR1");
                    b
                }
            };
            let mut b = CandlesBuilder::new();
            if read_parquet(bytes.into(), None, &mut b).is_ok() {
                if let Ok(c) = b.finish() {
                    label_all(c, &SMALL()).unwrap();
                }
            }
            Ok(())
        },
    );
}

/// Every byte of a real file's footer set to values that make lengths and
/// counts huge, zero or negative (row counts, sizes, offsets, list
/// lengths): errors, no panic, no giant allocation.
#[test]
fn parquet_footer_every_byte_mutated() {
    let good = parquet_file(500, 7);
    let n = good.len();
    let footer_len = u32::from_le_bytes(good[n - 8..n - 4].try_into().unwrap()) as usize;
    let start = n - 8 - footer_len;
    let mut tried = 0;
    for k in start..n - 8 {
        for v in [0x00, 0x01, 0x7f, 0x80, 0xff, good[k] ^ 0x40] {
            let mut b = good.clone();
            b[k] = v;
            tried += 1;
            let mut cb = CandlesBuilder::new();
            if read_parquet(b.into(), None, &mut cb).is_ok() {
                if let Ok(c) = cb.finish() {
                    label_all(c, &SMALL()).unwrap();
                }
            }
        }
    }
    // Every truncation too.
    for cut in 0..n {
        tried += 1;
        let mut cb = CandlesBuilder::new();
        assert!(read_parquet(good[..cut].to_vec().into(), None, &mut cb).is_err());
    }
    eprintln!(
        "hostile: Parquet footer bytes mutated and every truncation: {tried} inputs, 0 panics"
    );
}

/// Reads a label file the way the wasm skin's `toIpcStream` does: the bytes
/// are checked first ([`fxlabel::input::check_file_bytes`]), since the
/// parquet and arrow-ipc readers panic on some corrupt files.
fn guarded_to_ipc(b: &[u8]) -> fxlabel::Result<Vec<u8>> {
    fxlabel::input::check_file_bytes(b)?;
    fxlabel::to_ipc_stream(b)
}

/// Label files (what a resumed run reads from a folder it did not write
/// alone, and what loadLabelResults reads back) with corrupt footers and
/// truncations: errors, no panic.
#[test]
fn label_file_footers_mutated() {
    let c = fxlabel::synth::candles(300, 3);
    let labeler = Labeler::new(c, SMALL().validate().unwrap()).unwrap();
    let config = labeler.configs()[0];
    let mut tried = 0;
    for format in [Format::Parquet, Format::Arrow] {
        let opts = EncodeOptions {
            format,
            ..EncodeOptions::default()
        };
        let good = encode_config(&labeler, &config, &opts).unwrap();
        let n = good.len();
        let tail = fxlabel::footer_size(&good).unwrap().min(n);
        for k in n - tail..n {
            for v in [0x00, 0x7f, 0x80, 0xff, good[k] ^ 0x20] {
                let mut b = good.clone();
                b[k] = v;
                tried += 1;
                let _ = read_metadata(&b);
                let _ = read_file_meta(&b);
                let _ = guarded_to_ipc(&b);
            }
        }
        for cut in 0..n.min(4096) {
            tried += 1;
            let _ = read_file_meta(&good[n - cut..]);
            let _ = guarded_to_ipc(&good[..cut]);
        }
    }
    // The end markers with the largest length fields.
    for end in [b"PAR1".as_slice(), b"ARROW1"] {
        for len in [0u32, 1, 7, 8, 9, u32::MAX - 8, u32::MAX - 7, u32::MAX] {
            let b = [&[0u8; 16][..], &len.to_le_bytes(), end].concat();
            tried += 1;
            let _ = fxlabel::footer_size(&b[b.len() - 10..]);
            let _ = read_metadata(&b);
            let _ = guarded_to_ipc(&b);
        }
    }
    eprintln!("hostile: label file footers mutated: {tried} inputs, 0 panics");
}

/// Label files in Arrow IPC with random bytes overwritten anywhere
/// (messages, bodies, footer): errors from the guarded reader, no panic.
/// (Parquet label files: footers above; their data pages are the residual
/// risk written down in docs/reliability.md.)
#[test]
fn arrow_label_files_corrupt_anywhere() {
    let c = fxlabel::synth::candles(400, 5);
    let labeler = Labeler::new(c, SMALL().validate().unwrap()).unwrap();
    let config = labeler.configs()[1];
    let opts = EncodeOptions {
        format: Format::Arrow,
        ..EncodeOptions::default()
    };
    let good = encode_config(&labeler, &config, &opts).unwrap();
    let strategy = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8);
    check(
        "Arrow IPC label files, random bytes overwritten anywhere",
        512,
        strategy,
        |flips| {
            let mut b = good.clone();
            for (i, v) in &flips {
                let k = i.index(b.len());
                b[k] = *v;
            }
            let _ = read_file_meta(&b);
            let _ = guarded_to_ipc(&b);
            Ok(())
        },
    );
}

/// Candles in a Parquet file with nullable columns (as pyarrow writes
/// them), every byte overwritten in turn: the parquet crate panics on some
/// corrupt definition levels, and `read_parquet` turns that into an error.
#[test]
fn nullable_parquet_candles_every_byte_mutated() {
    use arrow_array::{Float64Array, RecordBatch, TimestampMicrosecondArray};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;
    let cols = fxlabel::synth::columns(300, 9);
    let f = |name: &str, t: DataType| Field::new(name, t, true);
    let schema = Arc::new(Schema::new(vec![
        f(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ),
        f("open", DataType::Float64),
        f("high", DataType::Float64),
        f("low", DataType::Float64),
        f("close", DataType::Float64),
    ]));
    let us: Vec<i64> = cols.ts.iter().map(|t| t * 1000).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(TimestampMicrosecondArray::from(us).with_timezone("UTC")),
            Arc::new(Float64Array::from(cols.open.clone())),
            Arc::new(Float64Array::from(cols.high.clone())),
            Arc::new(Float64Array::from(cols.low.clone())),
            Arc::new(Float64Array::from(cols.close.clone())),
        ],
    )
    .unwrap();
    let mut good = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut good, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let mut cb = CandlesBuilder::new();
    read_parquet(good.clone().into(), None, &mut cb).unwrap();
    assert_eq!(cb.finish().unwrap().len(), 300);
    // The default hook would print every panic caught inside read_parquet
    // (with a backtrace when RUST_BACKTRACE is set): quiet on this thread
    // only, so that other tests running meanwhile still report theirs.
    let prev = std::sync::Arc::new(std::panic::take_hook());
    let me = std::thread::current().id();
    let p2 = prev.clone();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != me {
            p2(info)
        }
    }));
    let restore = || {
        let p3 = prev.clone();
        std::panic::set_hook(Box::new(move |info| p3(info)));
    };
    let (mut tried, mut refused) = (0, 0);
    for k in 0..good.len() {
        for v in [0x00, 0xff, good[k] ^ 0x01] {
            let mut b = good.clone();
            b[k] = v;
            tried += 1;
            let mut cb = CandlesBuilder::new();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                read_parquet(b.into(), None, &mut cb)
            })) {
                Ok(r) => refused += r.is_err() as usize,
                Err(_) => {
                    restore();
                    panic!("read_parquet panicked with byte {k} set to {v:#x}");
                }
            }
        }
    }
    restore();
    eprintln!("hostile: nullable Parquet candles, every byte mutated: {tried} inputs ({refused} refused), 0 panics");
}

// ---------------------------------------------------------------- columns

fn price() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 1.0f64..1.001,
        1 => any::<f64>(),
        1 => prop_oneof![Just(f64::MAX), Just(f64::MIN_POSITIVE), Just(-f64::MAX), Just(1e300), Just(5e-324), Just(0.0), Just(-0.0)],
    ]
}

/// Column chunks with extreme numbers (NaN, infinities, huge, subnormal,
/// timestamps near the i64 limits, wrapping steps) and mismatched lengths:
/// errors, or candles that label without panic even with extreme pips and
/// horizons.
#[test]
fn column_chunks_extreme_values() {
    let strategy = (
        prop_oneof![
            Just(0i64),
            Just(i64::MAX - 1_000_000),
            Just(i64::MIN),
            any::<i64>()
        ],
        prop::collection::vec(
            prop_oneof![Just(60_000i64), 1i64..1_000_000, any::<i64>()],
            1..60,
        ),
        prop::collection::vec((price(), price(), price(), price()), 1..60),
        0usize..3,
        prop_oneof![Just(1u64), Just(u32::MAX as u64), 1u64..100],
        any::<bool>(),
        prop_oneof![
            Just(0.0001f64),
            Just(1e-300),
            Just(1e300),
            Just(f64::MIN_POSITIVE)
        ],
        any::<bool>(),
    );
    check(
        "column chunks, extreme values and mismatched lengths",
        512,
        strategy,
        |(start, steps, prices, short_by, horizon, bars, pip, extras)| {
            let n = steps.len().min(prices.len());
            let mut ts = Vec::with_capacity(n);
            let mut t = start;
            for s in &steps[..n] {
                ts.push(t);
                t = t.wrapping_add(*s);
            }
            // Each row sorted, so that most rows pass validation and reach the kernel.
            let (mut o, mut h, mut l, mut c) = (vec![], vec![], vec![], vec![]);
            for &(a, b, x, y) in &prices[..n] {
                let mut v = [a, b, x, y];
                v.sort_by(f64::total_cmp);
                l.push(v[0]);
                o.push(v[1]);
                c.push(v[2]);
                h.push(v[3]);
            }
            if short_by > 0 {
                let m = n.saturating_sub(short_by);
                let mut bad = CandlesBuilder::new();
                prop_assert!(bad.push_columns(&ts, &o[..m], &h, &l, &c).is_err());
            }
            let half = n / 2;
            let mut b = CandlesBuilder::new();
            let r = b
                .push_columns(&ts[..half], &o[..half], &h[..half], &l[..half], &c[..half])
                .and_then(|_| {
                    b.push_columns(&ts[half..], &o[half..], &h[half..], &l[half..], &c[half..])
                })
                .and_then(|_| b.finish());
            if let Ok(candles) = r {
                let p = Params {
                    target_pips: vec![5.0, 1e300],
                    stop_pips: vec![f64::MIN_POSITIVE, 5.0],
                    horizons: vec![horizon],
                    horizon_unit: if bars {
                        HorizonUnit::Bars
                    } else {
                        HorizonUnit::Minutes
                    },
                    pip_value: pip,
                    extras,
                    ..Params::default()
                };
                label_all(candles, &p).unwrap();
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------- params

fn pip_list() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            3 => 0.5f64..100.0,
            1 => any::<f64>(),
            1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-5.0), Just(0.0), Just(-0.0), Just(1e-320), Just(1e308)],
        ],
        0..12,
    )
}

/// Validation never panics; what passes is bounded and every file name it
/// leads to stays inside the output folder.
#[test]
fn params_validate_or_refuse() {
    let strategy = (
        pip_list(),
        pip_list(),
        prop::collection::vec(prop_oneof![any::<u64>(), 0u64..100], 0..12),
        prop_oneof![
            any::<f64>(),
            Just(0.0001),
            Just(-0.0001),
            Just(0.0),
            Just(f64::NAN),
            Just(f64::INFINITY)
        ],
    );
    check(
        "parameters, arbitrary numbers and lists",
        1024,
        strategy,
        |(t, s, h, pip)| {
            let p = Params {
                target_pips: t,
                stop_pips: s,
                horizons: h,
                pip_value: pip,
                ..Params::default()
            };
            match p.validate() {
                Err(Error::Param { .. }) => {}
                Err(e) => prop_assert!(false, "not a parameter error: {e}"),
                Ok(v) => {
                    prop_assert!(v.pip_value.is_finite() && v.pip_value > 0.0);
                    let configs = v.configs();
                    prop_assert!(configs.len() <= fxlabel::grid::MAX_CONFIGS);
                    for c in configs {
                        let k = c.key();
                        prop_assert!(
                            !k.contains('/')
                                && !k.contains('\\')
                                && !k.contains("..")
                                && !k.starts_with('.'),
                            "{}",
                            k
                        );
                        prop_assert_eq!(Config::parse_key(&k).unwrap(), c);
                    }
                }
            }
            Ok(())
        },
    );
}

/// Only canonical keys parse; none can name a path outside the folder.
#[test]
fn keys_never_escape() {
    let strategy = prop_oneof![
        "[T0-9._SH/\\\\-]{0,24}",
        "T[0-9]{1,3}_S[0-9]{1,3}_H[0-9]{1,4}(/\\.\\./[a-z]{1,5})?",
        any::<String>(),
    ];
    check("config keys, arbitrary strings", 2048, strategy, |s| {
        if let Ok(c) = Config::parse_key(&s) {
            prop_assert_eq!(c.key(), s.clone());
            prop_assert!(!s.contains('/') && !s.contains('\\') && !s.contains(".."));
        }
        Ok(())
    });
}

#[test]
fn a_hundred_thousand_configs_are_refused_without_allocating_them() {
    let p = Params {
        target_pips: (1..=100).map(f64::from).collect(),
        stop_pips: (1..=100).map(f64::from).collect(),
        horizons: (1..=10).collect(),
        ..Params::default()
    };
    match p.validate() {
        Err(Error::Param { name, message }) => {
            assert_eq!(name, "grid");
            assert!(message.contains("100000 configs"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A million copies of one value is one value, not a million configs.
    let p = Params {
        target_pips: vec![5.0; 1_000_000],
        horizons: vec![30; 1_000_000],
        ..Params::default()
    };
    assert_eq!(p.validate().unwrap().configs().len(), 5);
}

#[test]
fn escaping_keys_are_refused_everywhere() {
    let c = fxlabel::synth::candles(200, 1);
    let labeler = Labeler::new(c, SMALL().validate().unwrap()).unwrap();
    for k in [
        "../x",
        "T5_S5_H1/../../etc",
        "T5_S5_H3/../../../etc/passwd",
        "/etc/passwd",
        "..",
        ".",
        "",
        "T5_S5_H3\0",
        "T5_S5_H3\\..\\x",
        "T05_S5_H3",
        "T5_S5_H3 ",
        "T+5_S5_H3",
        "TNaN_S5_H3",
        "Tinf_S5_H3",
    ] {
        assert!(Config::parse_key(k).is_err(), "{k:?}");
        assert!(labeler.config(k).is_err(), "{k:?}");
    }
    // A canonical key outside this run's grid is refused by the labeler.
    assert!(labeler.config("T7_S5_H3").is_err());
    // Side, tie, unit, format names: only the known words.
    for s in ["", "LONG ", "long,short", "../long", "\u{0}"] {
        let _ = s.parse::<Side>();
    }
    assert!("sideways".parse::<Side>().is_err());
    assert!("".parse::<Tie>().is_err());
    assert!("weeks".parse::<HorizonUnit>().is_err());
    assert!("../parquet".parse::<Format>().is_err());
}

#[test]
fn non_finite_and_non_positive_params_are_named() {
    let bad = [
        (
            Params {
                pip_value: f64::NAN,
                ..SMALL()
            },
            "pip_value",
        ),
        (
            Params {
                pip_value: f64::INFINITY,
                ..SMALL()
            },
            "pip_value",
        ),
        (
            Params {
                pip_value: -0.0001,
                ..SMALL()
            },
            "pip_value",
        ),
        (
            Params {
                pip_value: 0.0,
                ..SMALL()
            },
            "pip_value",
        ),
        (
            Params {
                pip_value: -0.0,
                ..SMALL()
            },
            "pip_value",
        ),
        (
            Params {
                target_pips: vec![f64::NEG_INFINITY],
                ..SMALL()
            },
            "target_pips",
        ),
        (
            Params {
                stop_pips: vec![5.0, f64::NAN],
                ..SMALL()
            },
            "stop_pips",
        ),
        (
            Params {
                horizons: vec![0],
                ..SMALL()
            },
            "horizons",
        ),
        (
            Params {
                horizons: vec![u64::MAX],
                ..SMALL()
            },
            "horizons",
        ),
        (
            Params {
                sides: vec![],
                ..SMALL()
            },
            "sides",
        ),
    ];
    for (p, want) in bad {
        match p.validate() {
            Err(Error::Param { name, .. }) => assert_eq!(name, want),
            other => panic!("{want}: {other:?}"),
        }
    }
    let _ = Tie::Stop;
}
