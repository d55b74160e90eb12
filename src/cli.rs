//! The command-line program: `fxlabel label INPUT --out DIR ...`, run by
//! the native binary (`src/bin/fxlabel.rs`) and by `python -m fxlabel`.
//!
//! Exit codes: 0 done, 1 a labeling or I/O error, 2 bad usage, input or
//! parameters (nothing on disk is changed then).

use crate::options::{Options, Spelling};
use crate::run::fs::{self as store, Progress, Status};
use crate::{CandlesBuilder, Error, Labeler, Params, ValidParams};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "fxlabel",
    version,
    about = "Triple-barrier labels for 1-minute FX candles, one file per (target, stop, horizon) config"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Label INPUT (Parquet or CSV) over a grid of configs into DIR.
    Label(LabelArgs),
    /// Write N synthetic 1-minute EURUSD candles to OUT (.csv or .parquet),
    /// for trying fxlabel and for benchmarks.
    Synth(SynthArgs),
}

#[derive(Args)]
struct SynthArgs {
    /// Number of candles.
    rows: usize,
    /// Output file; Parquet when it ends in .parquet, CSV otherwise.
    out: PathBuf,
    /// Random seed (the same seed gives the same candles).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Add a `spread` column (EURUSD-like, in price units) for --spread-column.
    #[arg(long)]
    spread: bool,
}

#[derive(Args)]
struct LabelArgs {
    /// Candles: a .parquet or .csv file with timestamp, open, high, low, close.
    input: PathBuf,
    /// Output folder (created if missing).
    #[arg(long, default_value = "labels")]
    out: PathBuf,
    /// Take-profit distances in pips.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true, default_values_t = Params::default().target_pips)]
    targets: Vec<f64>,
    /// Stop-loss distances in pips.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true, default_values_t = Params::default().stop_pips)]
    stops: Vec<f64>,
    /// Vertical barriers, in --unit.
    #[arg(long, value_delimiter = ',', default_values_t = Params::default().horizons)]
    horizons: Vec<u64>,
    /// minutes (clock time from the timestamps) or bars.
    #[arg(long, default_value = "minutes")]
    unit: String,
    /// Price of one pip (0.01 for JPY pairs).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.0001)]
    pip: f64,
    /// Directions to label.
    #[arg(long, value_delimiter = ',', default_value = "long,short")]
    sides: Vec<String>,
    /// A bar touching both barriers counts as: stop or target.
    #[arg(long, default_value = "stop")]
    tie: String,
    /// Add {side}_mfe_pips and {side}_mae_pips.
    #[arg(long)]
    extras: bool,
    /// A constant bid/ask spread in pips (candles are bid prices).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.0)]
    spread_pips: f64,
    /// The input column holding each bar's spread, in price units.
    #[arg(long)]
    spread_column: Option<String>,
    /// Enter at the candle's close, or at the next bar's open (next_open).
    #[arg(long, default_value = "close")]
    entry: String,
    /// Add {side}_uniqueness: sample weights for overlapping labels.
    #[arg(long)]
    weights: bool,
    /// parquet or arrow (Arrow IPC file).
    #[arg(long, default_value = "parquet")]
    format: String,
    /// Parquet codec: zstd[:level], snappy, lz4, gzip[:level], none.
    #[arg(long, default_value = "zstd")]
    compression: String,
    /// Parquet rows per row group.
    #[arg(long, default_value_t = crate::EncodeOptions::default().row_group_size)]
    row_group_size: usize,
    /// Replace existing files made with other settings or data.
    #[arg(long)]
    overwrite: bool,
    /// Name of the time column when it is not timestamp/time/date/datetime.
    #[arg(long)]
    time_column: Option<String>,
    /// Configs labeled at once (threads); default: the number of cores.
    #[arg(long, short)]
    jobs: Option<usize>,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs the program with these arguments (the first is the program's
/// name); returns its exit code.
pub fn main<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Label(args) => label(&args),
        Command::Synth(args) => synth(&args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("fxlabel: error: {e}");
            e.exit_code()
        }
    }
}

fn synth(a: &SynthArgs) -> crate::Result<()> {
    let mut cols = crate::synth::columns(a.rows, a.seed);
    if a.spread {
        cols = cols.with_spread();
    }
    let io = |e| Error::io(format!("cannot write {}", a.out.display()), e);
    let file = std::io::BufWriter::new(std::fs::File::create(&a.out).map_err(io)?);
    if a.out.extension().is_some_and(|e| e == "parquet") {
        cols.write_parquet(file)?;
    } else {
        let mut file = file;
        cols.write_csv(&mut file).map_err(io)?;
        file.flush().map_err(io)?;
    }
    Ok(())
}

/// The options of the flags, read by the core as every surface's are;
/// errors name the flag (`--targets`). Numbers go in as clap parsed them
/// (JSON has no NaN, which the core's validation must see and refuse).
fn options(a: &LabelArgs) -> crate::Result<Options> {
    let v = serde_json::json!({
        "horizons": a.horizons, "horizon_unit": a.unit, "sides": a.sides, "tie": a.tie,
        "extras": a.extras, "spread_column": a.spread_column, "entry": a.entry,
        "weights": a.weights, "format": a.format, "compression": a.compression,
        "row_group_size": a.row_group_size, "time_column": a.time_column,
    });
    let mut o = Options::from_json(v, Spelling::Snake).map_err(|e| Spelling::Flag.error(e))?;
    o.params.target_pips = a.targets.clone();
    o.params.stop_pips = a.stops.clone();
    o.params.pip_value = a.pip;
    o.params.spread_pips = a.spread_pips;
    Ok(o)
}

/// Reads a Parquet or CSV file with what `params` needs of it (a spread
/// column, the opens).
fn read_input(
    path: &Path,
    time_column: Option<&str>,
    params: &ValidParams,
) -> crate::Result<crate::Candles> {
    let mut b = CandlesBuilder::new();
    b.expect(params.needs());
    crate::input::read_path(path, time_column, &mut b)?;
    b.finish()
}

fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.2} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} kB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn human_secs(s: f64) -> String {
    if s >= 3600.0 {
        format!(
            "{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    } else if s >= 60.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{s:.1}s")
    }
}

fn label(a: &LabelArgs) -> crate::Result<()> {
    let t0 = Instant::now();
    let o = options(a)?;
    let p = o.validate(Spelling::Flag)?;
    let enc = o.encode;
    let say = |m: String| {
        if !a.quiet {
            eprintln!("{m}");
        }
    };
    let candles = read_input(&a.input, o.time_column.as_deref(), &p)?;
    say(format!(
        "read {} candles from {} in {}",
        candles.len(),
        a.input.display(),
        human_secs(t0.elapsed().as_secs_f64())
    ));
    let t1 = Instant::now();
    let jobs = store::jobs(a.jobs);
    let labeler = Labeler::with_threads(candles, p, jobs)?;
    say(format!(
        "shared work for {} configs in {} ({} held)",
        labeler.configs().len(),
        human_secs(t1.elapsed().as_secs_f64()),
        human_bytes((labeler.shared_bytes() + labeler.candles().heap_bytes()) as u64)
    ));
    let held = store::plan(&labeler, &enc, &a.out, a.overwrite)?;
    let plan = held.plan();
    if plan.skipped() > 0 {
        say(format!(
            "found {}/{} already saved, resuming",
            plan.skipped(),
            plan.total()
        ));
    }
    let tty = std::io::stderr().is_terminal();
    let t2 = Instant::now();
    let to_make = plan.total() - plan.skipped();
    let mut made = 0usize;
    let mut last_decile = 0;
    let summary = store::run(&labeler, &enc, &held, jobs, |pr: Progress<'_>| {
        if a.quiet {
            return ControlFlow::Continue(());
        }
        if let Status::Written(_) = pr.status {
            made += 1;
        }
        let secs = t2.elapsed().as_secs_f64().max(1e-9);
        let rate = made as f64 / secs;
        let eta = if rate > 0.0 {
            (to_make - made) as f64 / rate
        } else {
            0.0
        };
        let width = 30;
        let fill = pr.done * width / pr.total.max(1);
        let line = format!(
            "[{}{}] {}/{} {} {:.1} configs/s ETA {}",
            "#".repeat(fill),
            "-".repeat(width - fill),
            pr.done,
            pr.total,
            pr.key,
            rate,
            human_secs(eta)
        );
        let decile = pr.done * 10 / pr.total.max(1);
        if tty {
            eprint!("\r{line}\x1b[K");
            if pr.done == pr.total {
                eprintln!();
            }
        } else if decile > last_decile || pr.done == pr.total {
            last_decile = decile;
            eprintln!("{line}");
        }
        let _ = std::io::stderr().flush();
        ControlFlow::Continue(())
    })?;
    say(format!(
        "done: {} configs written, {} skipped, {} in {} ({} total)",
        summary.written,
        summary.skipped,
        human_bytes(summary.bytes),
        a.out.display(),
        human_secs(t0.elapsed().as_secs_f64())
    ));
    Ok(())
}
