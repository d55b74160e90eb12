//! A folder of label files on the native filesystem, and the run loop
//! that fills it (used by the native CLI; the JS hosts have their own
//! stores with the same rules).
//!
//! Rules: every file is written under a temporary name
//! (`.T10_S5_H30.parquet.tmp-<pid>`), flushed to disk, then renamed, so a
//! file with a final name is always complete. A config whose final file
//! exists is skipped when its metadata matches this run; a mismatching
//! file stops the run before anything is written (unless `overwrite`).
//! Stale temporary files from an interrupted run are removed.

use crate::encode::{file_meta, write_config, EncodeOptions};
use crate::error::{Error, Result};
use crate::grid::Config;
use crate::kernel::Labeler;
use crate::output::{footer_size, read_file_meta};
use std::fs;
use std::io::{BufWriter, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// What happened to one config.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Written now, with its size in bytes.
    Written(u64),
    /// Already on disk with matching metadata.
    Skipped,
}

/// Progress after each config.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub done: usize,
    pub total: usize,
    pub key: &'a str,
    pub status: &'a Status,
}

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub written: usize,
    pub skipped: usize,
    pub bytes: u64,
    pub stale_removed: usize,
}

/// The final file name of a config.
pub fn file_name(config: &Config, opts: &EncodeOptions) -> String {
    format!("{}.{}", config.key(), opts.format.extension())
}

fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Reads the provenance tail of a file and checks it against this run.
fn check_existing(path: &Path, labeler: &Labeler, config: &Config) -> Result<()> {
    let io = |e| Error::io(format!("cannot read {}", path.display()), e);
    let mut f = fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let mut last = vec![0u8; len.min(10) as usize];
    f.seek(SeekFrom::End(-(last.len() as i64))).map_err(io)?;
    f.read_exact(&mut last).map_err(io)?;
    let mismatch = |m: String| Error::Mismatch {
        key: config.key(),
        message: m,
    };
    let need = footer_size(&last).map_err(|e| {
        mismatch(format!(
            "{} is not a complete label file ({e})",
            path.display()
        ))
    })?;
    if need as u64 > len {
        return Err(mismatch(format!("{} is truncated", path.display())));
    }
    let mut tail = vec![0u8; need];
    f.seek(SeekFrom::End(-(need as i64))).map_err(io)?;
    f.read_exact(&mut tail).map_err(io)?;
    let found = read_file_meta(&tail).map_err(|e| mismatch(e.to_string()))?;
    found.check(&file_meta(labeler, config))
}

/// Writes `bytes`' producer to `dir/name` atomically: temporary file,
/// fsync, rename. On any error the temporary file is removed.
pub fn write_atomic(
    dir: &Path,
    name: &str,
    produce: impl FnOnce(&mut BufWriter<fs::File>) -> Result<()>,
) -> Result<u64> {
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let fin = dir.join(name);
    let result = (|| {
        let f = fs::File::create(&tmp)
            .map_err(|e| Error::io(format!("cannot create {}", tmp.display()), e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        produce(&mut w)?;
        let f = w
            .into_inner()
            .map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e.into_error()))?;
        f.sync_all()
            .map_err(|e| Error::io(format!("cannot flush {}", tmp.display()), e))?;
        let len = f
            .metadata()
            .map_err(|e| Error::io(format!("cannot stat {}", tmp.display()), e))?
            .len();
        drop(f);
        fs::rename(&tmp, &fin).map_err(|e| {
            Error::io(
                format!("cannot rename {} to {}", tmp.display(), fin.display()),
                e,
            )
        })?;
        Ok(len)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// What a run will do: which configs are already on disk (and match), and
/// which stale temporary files it will remove.
#[derive(Debug, Clone)]
pub struct Plan {
    skip: Vec<bool>,
    stale: Vec<PathBuf>,
}

impl Plan {
    /// Configs already on disk with matching metadata.
    pub fn skipped(&self) -> usize {
        self.skip.iter().filter(|&&s| s).count()
    }

    /// Configs in the grid.
    pub fn total(&self) -> usize {
        self.skip.len()
    }
}

/// Looks at `dir` without changing it: every existing final file is
/// checked against this run. A mismatching file is an error (naming the
/// setting that differs) unless `overwrite`, when it is relabeled.
pub fn plan(labeler: &Labeler, opts: &EncodeOptions, dir: &Path, overwrite: bool) -> Result<Plan> {
    let configs = labeler.configs();
    let mut existing = std::collections::HashSet::new();
    let mut stale: Vec<PathBuf> = Vec::new();
    if dir.exists() {
        let list_err = |e| Error::io(format!("cannot list {}", dir.display()), e);
        for entry in fs::read_dir(dir).map_err(list_err)? {
            let entry = entry.map_err(list_err)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_temp(&name) {
                stale.push(entry.path());
            } else {
                existing.insert(name);
            }
        }
    }
    let mut skip = vec![false; configs.len()];
    for (k, c) in configs.iter().enumerate() {
        let name = file_name(c, opts);
        if !existing.contains(&name) {
            continue;
        }
        match check_existing(&dir.join(&name), labeler, c) {
            Ok(()) => skip[k] = true,
            Err(Error::Mismatch { .. }) if overwrite => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Plan { skip, stale })
}

/// Carries out a [`plan`]: removes stale temporary files, then labels and
/// writes every config not skipped, each the moment it is done, with
/// `jobs` threads taking configs from one queue (the labeler's shared
/// tables are read by all of them). `progress` is called on this thread,
/// skipped configs first. The first error stops the run once the configs
/// in flight are finished or abandoned (their temporary files removed).
pub fn run(
    labeler: &Labeler,
    opts: &EncodeOptions,
    dir: &Path,
    plan: &Plan,
    jobs: usize,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Summary> {
    fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let mut summary = Summary::default();
    for p in &plan.stale {
        if fs::remove_file(p).is_ok() {
            summary.stale_removed += 1;
        }
    }
    let configs = labeler.configs();
    let total = plan.total();
    let mut done = 0;
    for (k, c) in configs.iter().enumerate().filter(|(k, _)| plan.skip[*k]) {
        let _ = k;
        summary.skipped += 1;
        done += 1;
        progress(Progress {
            done,
            total,
            key: &c.key(),
            status: &Status::Skipped,
        });
    }
    let todo: Vec<usize> = (0..total).filter(|&k| !plan.skip[k]).collect();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<u64>)>();
    let first_err = std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, todo.len().max(1)) {
            let (tx, next, stop, todo) = (tx.clone(), &next, &stop, &todo);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(&k) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let c = &configs[k];
                    let r = write_atomic(dir, &file_name(c, opts), |w| {
                        write_config(labeler, c, opts, w).map(|_| ())
                    });
                    let failed = r.is_err();
                    if tx.send((k, r)).is_err() || failed {
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut first_err = None;
        for (k, r) in rx {
            match r {
                Ok(len) => {
                    summary.written += 1;
                    summary.bytes += len;
                    done += 1;
                    progress(Progress {
                        done,
                        total,
                        key: &configs[k].key(),
                        status: &Status::Written(len),
                    });
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err
    });
    match first_err {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}
