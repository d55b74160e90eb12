//! The native CLI as a user runs it: resume, refusal of mismatching files,
//! bad input leaving the output folder untouched, exit codes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.csv");
const GRID: [&str; 6] = [
    "--targets",
    "5,10",
    "--stops",
    "5,7.5",
    "--horizons",
    "30,60",
];

fn fxlabel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fxlabel"))
        .args(args)
        .output()
        .expect("run fxlabel")
}

fn label(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["label", SAMPLE, "--out", out.to_str().unwrap()];
    args.extend_from_slice(&GRID);
    args.extend_from_slice(extra);
    fxlabel(&args)
}

/// Every file in a folder with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    let mut m = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let md = e.metadata().unwrap();
            m.insert(
                e.file_name().to_string_lossy().into_owned(),
                (std::fs::read(e.path()).unwrap(), md.modified().unwrap()),
            );
        }
    }
    m
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn labels_then_resumes_skipping_everything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labels");
    let o = label(&out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = snapshot(&out);
    let names: Vec<_> = first.keys().cloned().collect();
    assert_eq!(names.len(), 8);
    assert!(
        names.contains(&"T5_S7.5_H30.parquet".to_string()),
        "{names:?}"
    );
    assert!(
        stderr(&o).contains("8 configs written, 0 skipped"),
        "{}",
        stderr(&o)
    );

    let o = label(&out, &[]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("found 8/8 already saved"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("0 configs written, 8 skipped"));
    assert_eq!(
        snapshot(&out),
        first,
        "a resumed run must not touch finished files"
    );

    // Delete two files and leave a stale temporary file: only those two are made.
    std::fs::remove_file(out.join("T5_S5_H30.parquet")).unwrap();
    std::fs::remove_file(out.join("T10_S7.5_H60.parquet")).unwrap();
    std::fs::write(out.join(".T5_S5_H30.parquet.tmp-999"), b"half a file").unwrap();
    let o = label(&out, &[]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("found 6/8 already saved"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("2 configs written, 6 skipped"));
    let after = snapshot(&out);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        first.keys().collect::<Vec<_>>(),
        "stale temp file removed"
    );
    for (name, (bytes, mtime)) in &first {
        assert_eq!(&after[name].0, bytes, "{name}: same bytes as the first run");
        if name != "T5_S5_H30.parquet" && name != "T10_S7.5_H60.parquet" {
            assert_eq!(&after[name].1, mtime, "{name} untouched");
        }
    }
}

#[test]
fn a_file_made_with_other_settings_is_refused_unless_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labels");
    assert!(label(&out, &[]).status.success());
    let before = snapshot(&out);
    for (flag, value, setting) in [
        ("--pip", "0.01", "pip_value"),
        ("--tie", "target", "tie"),
        ("--unit", "bars", "horizon_unit"),
        ("--sides", "long", "sides"),
        ("--spread-pips", "1.5", "spread_pips"),
        ("--entry", "next_open", "entry"),
    ] {
        let o = label(&out, &[flag, value]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        assert!(stderr(&o).contains(setting), "{flag}: {}", stderr(&o));
        assert_eq!(
            snapshot(&out),
            before,
            "{flag}: a refused run changes nothing"
        );
    }
    let o = label(&out, &["--weights"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("weights"), "{}", stderr(&o));
    assert_eq!(snapshot(&out), before);
    let o = label(&out, &["--pip", "0.01", "--overwrite"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("8 configs written"));
    assert_ne!(snapshot(&out), before);
}

#[test]
fn other_input_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labels");
    assert!(label(&out, &[]).status.success());
    let text = std::fs::read_to_string(SAMPLE).unwrap();
    // Same rows and times, one close moved by a tick (inside its bar).
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let f: Vec<&str> = lines[100].split(',').collect();
    let (h, l): (f64, f64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
    let new_close = if h > l {
        format!("{:.5}", (h + l) / 2.0)
    } else {
        f[4].to_string()
    };
    lines[100] = format!("{},{},{},{},{},{}", f[0], f[1], f[2], f[3], new_close, f[5]);
    let changed = dir.path().join("changed.csv");
    std::fs::write(&changed, lines.join("\n")).unwrap();
    let mut args = vec![
        "label",
        changed.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(&GRID);
    let o = fxlabel(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("input data"), "{}", stderr(&o));
}

#[test]
fn bad_input_or_parameters_leave_the_folder_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labels");
    assert!(label(&out, &[]).status.success());
    std::fs::write(out.join(".T5_S5_H30.parquet.tmp-1"), b"x").unwrap();
    let before = snapshot(&out);
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "timestamp,open,high,low,close\n0,1.1,1.1,1.1,1.1\n60000,1.1,1.1,1.1,1.1\n120000,1.1,1.1,1.1,1.1\n180000,1.1,1.0,1.2,1.1\n").unwrap();
    let mut args = vec![
        "label",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(&GRID);
    let o = fxlabel(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("row 3, column 'high'"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(&out), before);

    for bad_args in [
        &["--targets", "0"][..],
        &["--stops", "-5"],
        &["--pip", "nan"],
        &["--sides", "up"],
        &["--tie", "coin"],
        &["--unit", "hours"],
        &["--compression", "zip"],
    ] {
        let o = label(&out, bad_args);
        assert_eq!(o.status.code(), Some(2), "{bad_args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("invalid parameter"),
            "{bad_args:?}: {}",
            stderr(&o)
        );
        assert_eq!(snapshot(&out), before, "{bad_args:?}");
    }
    let fresh = dir.path().join("never");
    let o = label(&fresh, &["--horizons", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!fresh.exists(), "a rejected run creates no folder");
    let o = fxlabel(&[
        "label",
        "/no/such/file.csv",
        "--out",
        fresh.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/no/such/file.csv"));
    assert!(!fresh.exists());
}

#[test]
fn arrow_format_and_parquet_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("arrow");
    let o = label(&out, &["--format", "arrow", "--extras", "--sides", "short"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(out.join("T10_S5_H60.arrow")).unwrap();
    let (schema, batches) = fxlabel::read_label_file(&bytes).unwrap();
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(
        names,
        [
            "timestamp",
            "short_label",
            "short_exit_offset",
            "short_return_pips",
            "short_ambiguous",
            "short_mfe_pips",
            "short_mae_pips"
        ]
    );
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 8000);

    // A Parquet label file is not candles: a clear error, not a crash.
    let pq = dir.path().join("pq");
    assert!(label(&pq, &[]).status.success());
    let o = fxlabel(&[
        "label",
        pq.join("T5_S5_H30.parquet").to_str().unwrap(),
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("column 'open' is missing"),
        "{}",
        stderr(&o)
    );
}

/// The sample with a spread column (price units) after its other columns.
fn sample_with_spread(dir: &Path, spread_of_row: impl Fn(usize) -> String) -> std::path::PathBuf {
    let text = std::fs::read_to_string(SAMPLE).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("{line},spread\n"));
        } else {
            out.push_str(&format!("{line},{}\n", spread_of_row(i - 1)));
        }
    }
    let path = dir.join("spread.csv");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn version_2_settings_label_resume_and_refuse_bad_spreads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labels");
    let input = sample_with_spread(dir.path(), |i| {
        format!("{:.5}", 0.00008 + (i % 5) as f64 * 0.00001)
    });
    let run = |input: &Path, extra: &[&str]| {
        let mut args = vec![
            "label",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(&GRID);
        args.extend_from_slice(&[
            "--spread-column",
            "spread",
            "--entry",
            "next_open",
            "--weights",
            "--extras",
        ]);
        args.extend_from_slice(extra);
        fxlabel(&args)
    };
    let o = run(&input, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = snapshot(&out);
    assert_eq!(first.len(), 8);
    let (schema, batches) = fxlabel::read_label_file(&first["T10_S5_H30.parquet"].0).unwrap();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "timestamp",
            "long_label",
            "long_exit_offset",
            "long_return_pips",
            "long_ambiguous",
            "long_mfe_pips",
            "long_mae_pips",
            "long_uniqueness",
            "short_label",
            "short_exit_offset",
            "short_return_pips",
            "short_ambiguous",
            "short_mfe_pips",
            "short_mae_pips",
            "short_uniqueness"
        ]
    );
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 8000);
    let o = run(&input, &[]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("found 8/8"), "{}", stderr(&o));
    assert_eq!(snapshot(&out), first);
    // Other spreads are other data: refused, naming the input.
    let other = sample_with_spread(dir.path(), |_| "0.0001".into());
    let o = run(&other, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("input data"), "{}", stderr(&o));
    assert_eq!(snapshot(&out), first);

    // Bad spreads and settings: exit 2, the row and column named, nothing touched.
    for (spread, want) in [
        ("-0.0001", "row 3, column 'spread'"),
        ("nan", "row 3, column 'spread'"),
        ("", "row 3, column 'spread'"),
        ("inf", "row 3, column 'spread'"),
    ] {
        let bad = sample_with_spread(dir.path(), |i| {
            if i == 3 {
                spread.to_string()
            } else {
                "0.0001".into()
            }
        });
        let o = run(&bad, &[]);
        assert_eq!(o.status.code(), Some(2), "{spread:?}");
        assert!(stderr(&o).contains(want), "{spread:?}: {}", stderr(&o));
        assert_eq!(snapshot(&out), first, "{spread:?}");
    }
    for (args, want) in [
        (
            &["--spread-column", "ask_minus_bid"][..],
            "column 'ask_minus_bid'",
        ),
        (
            &["--spread-pips", "1", "--spread-column", "spread"],
            "invalid parameter '--spread-column'",
        ),
        (
            &["--spread-pips", "-1"],
            "invalid parameter '--spread-pips'",
        ),
        (&["--entry", "open"], "invalid parameter '--entry'"),
    ] {
        let mut a = vec![
            "label",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        a.extend_from_slice(&GRID);
        a.extend_from_slice(args);
        let o = fxlabel(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert_eq!(snapshot(&out), first, "{args:?}");
    }
}
