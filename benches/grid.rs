//! Benchmark: the default 210-config grid over N synthetic candles.
//!
//! `cargo bench --features cli --bench grid -- [ROWS] [--study] [--baseline]`
//! prints shared-work, labeling, encoding and writing time, bytes, peak
//! memory and config-rows per second; `--study` adds per-column sizes and
//! times for each encoding and codec; `--baseline` times the old design
//! (a per-config forward walk over every window, all rows materialised)
//! on a few configs and extrapolates it to the grid.

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use arrow_array::RecordBatch;
use fxlabel::{Compression, EncodeOptions, HorizonUnit, Labeler, Params, Side, Tie};
use parquet::arrow::ArrowWriter;
use parquet::basic::Encoding;
use parquet::file::properties::WriterProperties;
use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

/// Counts bytes instead of keeping them.
#[derive(Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let n: usize = args
        .iter()
        .find_map(|a| a.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let study = args.iter().any(|a| a == "--study");
    let baseline = args.iter().any(|a| a == "--baseline");
    println!(
        "fxlabel grid benchmark: {n} candles, default grid, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let t = Instant::now();
    let candles = fxlabel::synth::candles(n, 1);
    let input_s = t.elapsed().as_secs_f64();
    let params = Params::default().validate().unwrap();

    let t = Instant::now();
    let labeler = Labeler::new(candles.clone(), params.clone()).unwrap();
    let shared_s = t.elapsed().as_secs_f64();
    let configs = labeler.configs().to_vec();

    // Labeling alone: the linear pass per config, outcomes consumed.
    let t = Instant::now();
    let mut acc = 0u64;
    for c in &configs {
        labeler
            .for_each_row(c, 0..n, |_, l, s| {
                acc += l.map_or(0, |o| o.exit_offset as u64) + s.map_or(0, |o| o.label as u64);
            })
            .unwrap();
    }
    black_box(acc);
    let label_s = t.elapsed().as_secs_f64();

    // Labeling + building Arrow batches (no Parquet encoding).
    let schema = std::sync::Arc::new(fxlabel::label_schema(&params.sides, false, false));
    let t = Instant::now();
    for c in &configs {
        for a in (0..n).step_by(fxlabel::encode::BATCH_ROWS) {
            let b = fxlabel::config_batch(
                &labeler,
                c,
                a..(a + fxlabel::encode::BATCH_ROWS).min(n),
                schema.clone(),
            )
            .unwrap();
            black_box(b.num_rows());
        }
    }
    let build_s = t.elapsed().as_secs_f64();

    // Labeling + encoding into a byte counter (no disk).
    let opts = EncodeOptions::default();
    let t = Instant::now();
    let mut bytes = 0u64;
    for c in &configs {
        bytes += fxlabel::write_config(&labeler, c, &opts, Counter::default())
            .unwrap()
            .0;
    }
    let enc_total_s = t.elapsed().as_secs_f64();

    // The whole job to disk: temporary file, fsync, rename per config;
    // one thread, then one per core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut disk = Vec::new();
    let mut summary = Default::default();
    for jobs in [1, cores] {
        let dir = std::env::temp_dir().join(format!("fxlabel-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let t = Instant::now();
        let held = fxlabel::run::fs::plan(&labeler, &opts, &dir, false).unwrap();
        summary = fxlabel::run::fs::run(&labeler, &opts, &held, jobs, |_| {
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        disk.push((jobs, t.elapsed().as_secs_f64()));
        drop(held);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let summary: fxlabel::run::fs::Summary = summary;

    let rows = (configs.len() * n) as f64;
    println!("input (synthetic)      {input_s:8.2} s");
    println!(
        "shared work            {shared_s:8.2} s   ({:.1} MB tables + {:.1} MB candles)",
        mb(labeler.shared_bytes() as u64),
        mb(labeler.candles().heap_bytes() as u64)
    );
    println!(
        "labeling (210 passes)  {label_s:8.2} s   ({:.1} M config-rows/s)",
        rows / label_s / 1e6
    );
    println!(
        "Arrow batches (IPC)    {:8.2} s   (on top of labeling; the Arrow IPC path only)",
        build_s - label_s
    );
    println!(
        "Parquet encoding (zstd){:8.2} s   (label+encode minus labeling)",
        enc_total_s - label_s
    );
    println!(
        "label+encode           {enc_total_s:8.2} s   ({:.1} M config-rows/s)",
        rows / enc_total_s / 1e6
    );
    for (jobs, disk_s) in &disk {
        println!(
            "whole job to disk, {jobs} thread(s) {disk_s:6.2} s   ({:.1} M config-rows/s, {} files)",
            rows / disk_s / 1e6,
            summary.written
        );
    }
    println!(
        "bytes written          {:8.1} MB  ({:.2} bytes/config-row)",
        mb(summary.bytes),
        summary.bytes as f64 / rows
    );
    println!("bytes (encoder count)  {:8.1} MB", mb(bytes));
    println!("peak RSS               {:8.1} MB", peak_rss_mb());

    if baseline {
        run_baseline(&candles, &configs, enc_total_s + shared_s);
    }
    if study {
        column_study(&labeler);
    }
}

/// The old design: every config walks every window bar by bar and keeps
/// all rows before writing. Timed on one config per horizon (T10_S10_Hx),
/// extrapolated to the 30 configs of each horizon.
fn run_baseline(candles: &fxlabel::Candles, configs: &[fxlabel::Config], ours_s: f64) {
    let mut est = 0.0;
    let mut timed = 0.0;
    for h in Params::default().horizons {
        let c = fxlabel::Config {
            target_pips: 10.0,
            stop_pips: 10.0,
            horizon: h,
        };
        let t = Instant::now();
        for side in [Side::Long, Side::Short] {
            let rows = common::naive(candles, &c, HorizonUnit::Minutes, 0.0001, side, Tie::Stop);
            black_box(rows.len());
        }
        let s = t.elapsed().as_secs_f64();
        timed += s;
        est += s * configs.iter().filter(|x| x.horizon == h).count() as f64;
    }
    println!("old design: 7 configs (one per horizon) walked in {timed:.2} s; the grid ~{est:.0} s (labeling only)");
    println!(
        "speed-up vs old design (our label+encode incl. shared work): x{:.0}",
        est / ours_s
    );
}

/// Sizes and times of each column under each encoding and codec, for one
/// typical config.
fn column_study(labeler: &Labeler) {
    let cfg = labeler.config("T10_S5_H60").unwrap();
    let n = labeler.candles().len();
    let schema = std::sync::Arc::new(fxlabel::label_schema(&labeler.params().sides, false, false));
    let batch = fxlabel::config_batch(labeler, &cfg, 0..n, schema).unwrap();
    println!(
        "\nper-column study, {} rows of {} (sizes in bytes/row, time in ms):",
        n,
        cfg.key()
    );
    let codecs = ["none", "snappy", "lz4", "zstd:1", "zstd:3", "gzip:6"];
    print!("{:<20} {:<22}", "column", "encoding");
    for c in codecs {
        print!(" {c:>14}");
    }
    println!();
    for (k, field) in batch.schema().fields().iter().enumerate().take(5) {
        let one = RecordBatch::try_new(
            std::sync::Arc::new(arrow_schema::Schema::new(vec![field.as_ref().clone()])),
            vec![batch.column(k).clone()],
        )
        .unwrap();
        let mut encodings: Vec<(&str, Option<Encoding>, bool)> = vec![
            ("plain", Some(Encoding::PLAIN), false),
            ("dictionary/RLE", None, true),
        ];
        match field.data_type() {
            arrow_schema::DataType::Float32 => encodings.push((
                "byte_stream_split",
                Some(Encoding::BYTE_STREAM_SPLIT),
                false,
            )),
            arrow_schema::DataType::Boolean => encodings.push(("rle", Some(Encoding::RLE), false)),
            _ => encodings.push((
                "delta_binary_packed",
                Some(Encoding::DELTA_BINARY_PACKED),
                false,
            )),
        }
        for (name, enc, dict) in encodings {
            print!("{:<20} {:<22}", field.name(), name);
            for codec in codecs {
                let mut b = WriterProperties::builder()
                    .set_compression(codec_of(codec))
                    .set_dictionary_enabled(dict)
                    .set_max_row_group_row_count(Some(1 << 20));
                if let Some(e) = enc {
                    b = b.set_encoding(e);
                }
                let t = Instant::now();
                let mut w = ArrowWriter::try_new(Counter::default(), one.schema(), Some(b.build()))
                    .unwrap();
                w.write(&one).unwrap();
                let size = w.into_inner().unwrap().0;
                print!(
                    " {:>6.3} {:>6.0}",
                    size as f64 / n as f64,
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
            println!();
        }
    }
}

fn codec_of(s: &str) -> parquet::basic::Compression {
    use parquet::basic::{Compression as C, GzipLevel, ZstdLevel};
    match s.parse::<Compression>().unwrap() {
        Compression::None => C::UNCOMPRESSED,
        Compression::Snappy => C::SNAPPY,
        Compression::Lz4 => C::LZ4_RAW,
        Compression::Gzip(l) => C::GZIP(GzipLevel::try_new(l).unwrap()),
        Compression::Zstd(l) => C::ZSTD(ZstdLevel::try_new(l).unwrap()),
    }
}
