//! Parquet input read by row group (`ParquetPlan`): from the file's tail
//! and one row group's byte range at a time, the same candles as
//! `read_parquet` over the whole file, and errors that name the row over
//! the whole file.

use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use fxlabel::input::ParquetPlan;
use fxlabel::{Candles, CandlesBuilder};
use parquet::file::properties::WriterProperties;
use std::sync::Arc;

const ROWS: usize = 10_000;
const GROUP: usize = 1_500;

/// A Parquet file of `ROWS` candles in row groups of `GROUP` rows, with a
/// column that is not read between the time and the prices; `spoil` may
/// change the columns first.
fn file(spoil: impl Fn(&mut Vec<i64>, &mut Vec<Option<f64>>)) -> bytes::Bytes {
    let mut ts: Vec<i64> = (0..ROWS as i64)
        .map(|i| 1_700_000_000_000 + i * 60_000)
        .collect();
    let px = |i: usize, k: f64| 1.1 + ((i as f64) * 0.01).sin() * 0.002 + k * 1e-4;
    let mut high: Vec<Option<f64>> = (0..ROWS).map(|i| Some(px(i, 2.0))).collect();
    spoil(&mut ts, &mut high);
    let schema = Schema::new(vec![
        Field::new("time", DataType::Int64, false),
        Field::new("volume", DataType::Float64, false),
        Field::new("Open", DataType::Float32, false),
        Field::new("high", DataType::Float64, true),
        Field::new("low", DataType::Float64, false),
        Field::new("close", DataType::Float64, false),
    ]);
    let col =
        |k: f64| Arc::new(Float64Array::from_iter_values((0..ROWS).map(|i| px(i, k)))) as ArrayRef;
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from(ts)),
            Arc::new(Float64Array::from_iter_values(
                (0..ROWS).map(|i| (i % 7) as f64),
            )),
            Arc::new(Float32Array::from_iter_values(
                (0..ROWS).map(|i| px(i, 0.0) as f32),
            )),
            Arc::new(Float64Array::from(high)),
            col(-2.0),
            col(0.5),
        ],
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(GROUP))
        .build();
    let mut buf = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf.into()
}

/// Reads `bytes` the streamed way: the last 8 bytes, then the footer, then
/// each row group's range as its own copy (nothing else of the file).
fn streamed(bytes: &[u8], b: &mut CandlesBuilder) -> fxlabel::Result<usize> {
    let n = bytes.len() as u64;
    let need = ParquetPlan::footer_size(&bytes[bytes.len() - 8..], n)?;
    let mut plan = ParquetPlan::from_tail(&bytes[(n - need) as usize..], n, None)?;
    let groups = plan.row_groups();
    for (i, &(offset, len)) in groups.iter().enumerate() {
        let range = bytes::Bytes::copy_from_slice(&bytes[offset as usize..(offset + len) as usize]);
        plan.read_row_group(i, range, b)?;
    }
    Ok(groups.len())
}

fn whole(bytes: bytes::Bytes) -> fxlabel::Result<Candles> {
    let mut b = CandlesBuilder::new();
    fxlabel::read_parquet(bytes, None, &mut b)?;
    b.finish()
}

#[test]
fn row_groups_read_alone_give_the_whole_file_candles() {
    let bytes = file(|_, _| {});
    let mut b = CandlesBuilder::new();
    let groups = streamed(&bytes, &mut b).unwrap();
    assert_eq!(groups, ROWS.div_ceil(GROUP));
    let got = b.finish().unwrap();
    let want = whole(bytes.clone()).unwrap();
    assert_eq!(got.len(), ROWS);
    assert_eq!(got.timestamps(), want.timestamps());
    assert_eq!(got.high(), want.high());
    assert_eq!(got.low(), want.low());
    assert_eq!(got.close(), want.close());
    assert_eq!(got.fingerprint(), want.fingerprint());

    // The ranges cover the projected chunks only: the whole file minus its
    // footer and magic, minus the 'volume' chunk of at least the first row group.
    let n = bytes.len() as u64;
    let need = ParquetPlan::footer_size(&bytes[bytes.len() - 8..], n).unwrap();
    let plan = ParquetPlan::from_tail(&bytes, n, None).unwrap();
    assert_eq!(plan.rows(), ROWS);
    let ranges = plan.row_groups();
    let mut end = 4;
    for &(offset, len) in &ranges {
        assert!(offset >= end && offset + len <= n - need, "{ranges:?}");
        end = offset + len;
    }
}

#[test]
fn errors_in_a_later_row_group_name_the_row_over_the_whole_file() {
    // Row 2 * GROUP + 7 is in the third row group.
    let at = 2 * GROUP + 7;
    let null = file(|_, high| high[at] = None);
    let back = file(|ts, _| ts[at] = ts[at - 1]);
    for (bytes, want) in [
        (null, format!("row {at}, column 'high'")),
        (back, format!("row {at}, column 'timestamp'")),
    ] {
        let mut b = CandlesBuilder::new();
        let e = streamed(&bytes, &mut b).unwrap_err().to_string();
        assert!(e.contains(&want), "{e}");
        let e = whole(bytes).unwrap_err().to_string();
        assert!(e.contains(&want), "{e}");
    }
}

#[test]
fn plans_refuse_short_tails_and_misplaced_row_groups() {
    let bytes = file(|_, _| {});
    let n = bytes.len() as u64;
    let need = ParquetPlan::footer_size(&bytes[bytes.len() - 8..], n).unwrap() as usize;
    // A tail shorter than the footer, a tail longer than the file, no magic,
    // a footer length larger than the file.
    let short = ParquetPlan::from_tail(&bytes[bytes.len() - need + 1..], n, None);
    assert!(short.is_err_and(|e| e.to_string().contains("footer needs")));
    assert!(ParquetPlan::from_tail(&bytes, n - 1, None).is_err());
    assert!(ParquetPlan::footer_size(b"12345678", n).is_err());
    let mut huge = bytes[bytes.len() - 8..].to_vec();
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(ParquetPlan::footer_size(&huge, n).is_err());
    // A missing column is named from the footer alone.
    let e = ParquetPlan::from_tail(&bytes, n, Some("when"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("'when' is missing"), "{e}");

    let mut plan = ParquetPlan::from_tail(&bytes[bytes.len() - need..], n, None).unwrap();
    let ranges = plan.row_groups();
    let range = |i: usize| {
        let (o, l) = ranges[i];
        bytes.slice(o as usize..(o + l) as usize)
    };
    let mut b = CandlesBuilder::new();
    // Out of order, wrong length, past the end: refused, nothing appended.
    assert!(plan.read_row_group(1, range(1), &mut b).is_err());
    assert!(plan.read_row_group(0, range(0).slice(1..), &mut b).is_err());
    assert!(plan
        .read_row_group(ranges.len(), bytes::Bytes::new(), &mut b)
        .is_err());
    assert_eq!(b.len(), 0);
    plan.read_row_group(0, range(0), &mut b).unwrap();
    assert_eq!((b.len(), plan.next_row_group()), (GROUP, 1));
    // Bytes of another range of the same length: an error, not a panic.
    let (o1, l1) = ranges[1];
    let wrong = bytes.slice(o1 as usize - 1..(o1 + l1) as usize - 1);
    let _ = plan.read_row_group(1, wrong, &mut b);
}
