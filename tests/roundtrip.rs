//! Bytes written by the encoder, read back with the parquet and arrow-ipc
//! readers: same values as the kernel, the contract's types and
//! nullability, and the metadata. Also Parquet input in its accepted forms.

mod common;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int8Type, TimestampMillisecondType, UInt32Type};
use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, TimestampNanosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use common::{random_candles, Rng};
use fxlabel::{CandlesBuilder, Compression, EncodeOptions, Format, Labeler, Params, Side};
use std::sync::Arc;

fn labeler(extras: bool) -> Labeler {
    let mut rng = Rng(3);
    let candles = random_candles(&mut rng, 3000, false);
    let params = Params {
        target_pips: vec![2.0, 7.5],
        stop_pips: vec![3.0],
        horizons: vec![15, 60],
        extras,
        ..Params::default()
    };
    Labeler::new(candles, params.validate().unwrap()).unwrap()
}

fn check_file(l: &Labeler, bytes: &[u8]) {
    let (schema, batches) = fxlabel::read_label_file(bytes).unwrap();
    let extras = l.params().extras;
    let mut want = vec![(
        "timestamp",
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        false,
    )];
    for s in ["long", "short"] {
        want.push((leak(format!("{s}_label")), DataType::Int8, true));
        want.push((leak(format!("{s}_exit_offset")), DataType::UInt32, true));
        want.push((leak(format!("{s}_return_pips")), DataType::Float32, true));
        want.push((leak(format!("{s}_ambiguous")), DataType::Boolean, true));
        if extras {
            want.push((leak(format!("{s}_mfe_pips")), DataType::Float32, true));
            want.push((leak(format!("{s}_mae_pips")), DataType::Float32, true));
        }
    }
    let got: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type().clone(), f.is_nullable()))
        .collect();
    let want: Vec<_> = want.into_iter().map(|(n, t, b)| (n, t, b)).collect();
    assert_eq!(got, want);
    let meta = fxlabel::FileMeta::from_pairs(
        &schema
            .metadata()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
    .unwrap();
    let batch = arrow_select_concat(&batches);
    let cfg = meta.config;
    assert_eq!(batch.num_rows(), l.candles().len());
    let ts = batch.column(0).as_primitive::<TimestampMillisecondType>();
    assert_eq!(ts.values().as_ref(), l.candles().timestamps());
    let width = if extras { 6 } else { 4 };
    for (k, side) in [Side::Long, Side::Short].into_iter().enumerate() {
        let base = 1 + k * width;
        let want = l.outcomes(&cfg, side).unwrap();
        let lab = batch.column(base).as_primitive::<Int8Type>();
        let exit = batch.column(base + 1).as_primitive::<UInt32Type>();
        let ret = batch.column(base + 2).as_primitive::<Float32Type>();
        let amb = batch.column(base + 3).as_boolean();
        for (i, w) in want.iter().enumerate() {
            match w {
                None => assert!(
                    lab.is_null(i) && exit.is_null(i) && ret.is_null(i) && amb.is_null(i),
                    "row {i}"
                ),
                Some(o) => {
                    assert_eq!(
                        (lab.value(i), exit.value(i), ret.value(i), amb.value(i)),
                        (o.label, o.exit_offset, o.return_pips, o.ambiguous),
                        "row {i}"
                    );
                    if extras {
                        let mfe = batch.column(base + 4).as_primitive::<Float32Type>();
                        let mae = batch.column(base + 5).as_primitive::<Float32Type>();
                        assert_eq!((mfe.value(i), mae.value(i)), (o.mfe_pips, o.mae_pips));
                    }
                }
            }
        }
        assert!(want.iter().any(Option::is_none) && want.iter().any(Option::is_some));
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&batches[0].schema(), batches).unwrap()
}

#[test]
fn parquet_and_ipc_round_trip_with_every_codec() {
    for extras in [false, true] {
        let l = labeler(extras);
        for cfg in l.configs() {
            for (format, compression) in [
                (Format::Parquet, Compression::Zstd(1)),
                (Format::Parquet, Compression::Snappy),
                (Format::Parquet, Compression::Lz4),
                (Format::Parquet, Compression::Gzip(6)),
                (Format::Parquet, Compression::None),
                (Format::Arrow, Compression::None),
            ] {
                // Small row groups so files have several.
                let opts = EncodeOptions {
                    format,
                    compression,
                    row_group_size: 1000,
                    ..EncodeOptions::default()
                };
                let bytes = fxlabel::encode_config(&l, cfg, &opts).unwrap();
                check_file(&l, &bytes);
                let tail = &bytes
                    [bytes.len() - fxlabel::footer_size(&bytes[bytes.len() - 10..]).unwrap()..];
                let meta = fxlabel::read_file_meta(tail).unwrap();
                assert_eq!(meta.config, *cfg);
                assert!(meta.check(&fxlabel::encode::file_meta(&l, cfg)).is_ok());
                let ipc = fxlabel::to_ipc_stream(&bytes).unwrap();
                let r = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(ipc), None)
                    .unwrap();
                assert_eq!(r.schema().metadata().get("fxlabel.key"), Some(&cfg.key()));
            }
        }
    }
}

#[test]
fn truncated_files_have_no_metadata() {
    let l = labeler(false);
    let bytes = fxlabel::encode_config(&l, &l.configs()[0], &EncodeOptions::default()).unwrap();
    for cut in [1, 5, bytes.len() / 2] {
        assert!(fxlabel::read_file_meta(&bytes[..bytes.len() - cut]).is_err());
    }
}

fn parquet_bytes(batch: RecordBatch) -> bytes::Bytes {
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf.into()
}

#[test]
fn parquet_input_accepts_timestamp_units_and_float32() {
    let ns = TimestampNanosecondArray::from(vec![1_000_000_999_999i64, 1_000_060_000_000_001])
        .with_timezone("UTC");
    let f32s = |v: Vec<f32>| Arc::new(Float32Array::from(v)) as ArrayRef;
    let schema = Schema::new(vec![
        Field::new("Timestamp", ns.data_type().clone(), false),
        Field::new("open", DataType::Float32, false),
        Field::new("high", DataType::Float32, false),
        Field::new("low", DataType::Float32, false),
        Field::new("close", DataType::Float32, false),
        Field::new("volume", DataType::Float64, false),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(ns),
            f32s(vec![1.5, 1.5]),
            f32s(vec![1.75, 1.75]),
            f32s(vec![1.25, 1.25]),
            f32s(vec![1.5, 1.625]),
            Arc::new(Float64Array::from(vec![1.0, 2.0])),
        ],
    )
    .unwrap();
    let mut b = CandlesBuilder::new();
    fxlabel::read_parquet(parquet_bytes(batch), None, &mut b).unwrap();
    let c = b.finish().unwrap();
    assert_eq!(c.timestamps(), &[1_000_000, 1_000_060_000]);
    assert_eq!(c.close(), &[1.5, 1.625]);
}

#[test]
fn parquet_input_errors_name_row_and_column() {
    let int = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
    let f64s = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
    let mk = |cols: Vec<(&str, ArrayRef)>| {
        let schema = Schema::new(
            cols.iter()
                .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|c| c.1).collect()).unwrap()
    };
    let one = || f64s(vec![Some(1.0), Some(1.0), Some(1.0)]);
    let err = |batch| {
        let mut b = CandlesBuilder::new();
        fxlabel::read_parquet(parquet_bytes(batch), None, &mut b)
            .and_then(|_| b.finish().map(|_| ()))
            .unwrap_err()
            .to_string()
    };
    let e = err(mk(vec![
        ("timestamp", int(vec![0, 1, 2])),
        ("open", one()),
        ("high", f64s(vec![Some(1.0), None, Some(1.0)])),
        ("low", one()),
        ("close", one()),
    ]));
    assert!(e.contains("row 1, column 'high'"), "{e}");
    let e = err(mk(vec![
        ("timestamp", int(vec![0, 2, 1])),
        ("open", one()),
        ("high", one()),
        ("low", one()),
        ("close", one()),
    ]));
    assert!(e.contains("row 2, column 'timestamp'"), "{e}");
    let e = err(mk(vec![
        ("timestamp", int(vec![0, 1, 2])),
        ("open", one()),
        ("high", one()),
        ("low", one()),
    ]));
    assert!(e.contains("'close' is missing"), "{e}");
    let e = err(mk(vec![
        ("timestamp", int(vec![0, 1, 2])),
        ("open", one()),
        ("high", one()),
        ("low", f64s(vec![Some(1.0), Some(1.0), Some(1.5)])),
        ("close", one()),
    ]));
    assert!(e.contains("row 2, column 'high'"), "{e}");
    let mut b = CandlesBuilder::new();
    let e = fxlabel::read_parquet(bytes::Bytes::from_static(b"PAR1 not really"), None, &mut b)
        .unwrap_err();
    assert!(e.to_string().contains("Parquet"), "{e}");
}

#[test]
fn label_counts_match_the_outcomes() {
    let l = labeler(false);
    for cfg in l.configs() {
        let bytes = fxlabel::encode_config(&l, cfg, &EncodeOptions::default()).unwrap();
        for side in [Side::Long, Side::Short] {
            let o = l.outcomes(cfg, side).unwrap();
            let count = |v: Option<i8>| o.iter().filter(|x| x.map(|x| x.label) == v).count() as u64;
            let c = fxlabel::label_counts(&bytes, side).unwrap();
            assert_eq!(
                (c.target, c.stop, c.timeout, c.unknown),
                (count(Some(1)), count(Some(-1)), count(Some(0)), count(None))
            );
        }
    }
}

/// The writer's rarer paths, read back by the parquet crate: a return
/// column with more distinct values than a dictionary may hold (PLAIN),
/// timestamp gaps wider than 32 bits of delta, ambiguous flags, and
/// prices that are not whole ticks (kept as f64).
#[test]
fn rare_encoder_paths_round_trip() {
    let mut rng = Rng(77);
    let n = 90_000;
    let mut b = CandlesBuilder::new();
    let mut t = 1_000_000i64;
    let mut c = 1.1f64;
    for i in 0..n {
        // Mostly minutes, sometimes a jump of years (delta > 2^32 ms).
        t += if i % 5000 == 4999 { 1 << 40 } else { 60_000 };
        // Prices with noise below a tick: every return is its own value.
        c += (rng.next() % 2_000_001) as f64 * 1e-12 - 1e-6;
        let (h, l) = (c + 5e-7, c - 5e-7);
        b.push(t, c, h, l, c).unwrap();
    }
    let candles = b.finish().unwrap();
    // Tiny targets and stops: many bars touch both (ambiguous); big ones:
    // timeouts with distinct returns.
    for (k, (targets, stops)) in [(vec![1000.0], vec![1000.0]), (vec![0.002], vec![0.002])]
        .into_iter()
        .enumerate()
    {
        let params = Params {
            target_pips: targets,
            stop_pips: stops,
            horizons: vec![1, 3],
            ..Params::default()
        };
        let l = Labeler::new(candles.clone(), params.validate().unwrap()).unwrap();
        for cfg in l.configs() {
            let opts = EncodeOptions {
                row_group_size: 70_000,
                ..EncodeOptions::default()
            };
            let bytes = fxlabel::encode_config(&l, cfg, &opts).unwrap();
            check_file(&l, &bytes);
        }
        let amb = l
            .outcomes(&l.configs()[0], Side::Long)
            .unwrap()
            .iter()
            .filter(|o| o.is_some_and(|o| o.ambiguous))
            .count();
        let distinct: std::collections::HashSet<u32> = l
            .outcomes(&l.configs()[0], Side::Long)
            .unwrap()
            .iter()
            .flatten()
            .map(|o| o.return_pips.to_bits())
            .collect();
        if k == 0 {
            assert!(
                distinct.len() > 65_536,
                "distinct returns {}",
                distinct.len()
            );
        } else {
            assert!(amb > 1000, "ambiguous {amb}");
        }
    }
}
