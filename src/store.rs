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
//!
//! One run per folder: [`plan`] takes `DIR/.fxlabel.lock` (see [`DirLock`])
//! before looking at the folder, and the plan holds it until it is dropped,
//! so two processes never write the same config at the same time and a
//! run never removes another live run's temporary files. The npm package
//! uses the same lock file, so the rule holds across both programs.

use crate::encode::{file_meta, write_config, EncodeOptions};
use crate::error::{Error, Result};
use crate::grid::Config;
use crate::kernel::Labeler;
use crate::output::{footer_size, read_file_meta};
use std::fs;
use std::io::{BufWriter, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

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

/// The pid in a temporary name (`.X.tmp-<pid>`, `.fxlabel.lock.tmp-<pid>`).
fn temp_pid(name: &str) -> Option<u32> {
    let rest = &name[name.rfind(".tmp-")? + 5..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

/// Name of the lock file inside an output folder (same in the npm package).
pub const LOCK_NAME: &str = ".fxlabel.lock";

/// Lock files this process holds (canonical paths): the pid in a lock file
/// cannot tell two runs of one process apart, this list can.
static HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Whether process `pid` is running. When it cannot be told, the answer is
/// "alive": refusing to start is safer than taking over a live run's lock.
fn pid_alive(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        // Linux: a zombie (killed, not yet reaped by its parent) is dead.
        return match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
            Err(_) => false,
        };
    }
    let probe = if cfg!(windows) {
        std::process::Command::new("tasklist")
            .args(["/FI", &format!("PID eq {pid}"), "/NH"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains(&pid.to_string()))
    } else {
        std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
    };
    probe.unwrap_or(true)
}

/// An exclusive claim on an output folder: the file `DIR/.fxlabel.lock`,
/// holding the owner's pid. It is made complete under a temporary name and
/// hard-linked into place, which fails when a lock exists (an atomic "create
/// if absent" that never shows a half-written lock). A lock whose pid is not
/// running is stale (a killed run) and is taken over. Dropping the lock
/// removes it, and the folder too when the lock created it and it is empty.
#[derive(Debug)]
pub struct DirLock {
    dir: PathBuf,
    path: PathBuf,
    key: PathBuf,
    created_dir: bool,
}

fn busy(dir: &Path, who: String) -> Error {
    Error::io(
        format!(
            "another fxlabel run ({who}) is writing to {}",
            dir.display()
        ),
        std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "wait for it to finish (if no fxlabel run is active, remove {})",
                dir.join(LOCK_NAME).display()
            ),
        ),
    )
}

impl DirLock {
    /// Takes the lock of `dir` (created if missing), or fails with
    /// "another fxlabel run (pid N) is writing to DIR".
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let io = |what: &str, p: &Path| {
            let m = format!("cannot {what} {}", p.display());
            move |e| Error::io(m, e)
        };
        let created_dir = !dir.exists();
        fs::create_dir_all(dir).map_err(io("create", dir))?;
        let path = dir.join(LOCK_NAME);
        let key = fs::canonicalize(dir).map_err(io("resolve", dir))?;
        let me = std::process::id();
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        if held.contains(&key) {
            return Err(busy(dir, "in this process".into()));
        }
        let mut lock = DirLock {
            dir: dir.to_path_buf(),
            path,
            key,
            created_dir,
        };
        let tmp = dir.join(format!("{LOCK_NAME}.tmp-{me}"));
        fs::write(&tmp, format!("{me}\n")).map_err(io("write", &tmp))?;
        let got = lock.claim(&tmp, me);
        let _ = fs::remove_file(&tmp);
        if let Err(e) = got {
            // Nothing of ours to release: forget the folder we made, if empty.
            if lock.created_dir {
                let _ = fs::remove_dir(&lock.dir);
            }
            lock.created_dir = false;
            lock.path = PathBuf::new();
            return Err(e);
        }
        held.push(lock.key.clone());
        Ok(lock)
    }

    fn claim(&self, tmp: &Path, me: u32) -> Result<()> {
        let lock = &self.path;
        // Bounded: each round either wins, meets a live owner, or removes a
        // stale lock; only runs racing for the same stale lock go round again.
        for _ in 0..8 {
            match fs::hard_link(tmp, lock) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) => {
                    // No hard links on this filesystem: exclusive create.
                    use std::io::Write;
                    match fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(lock)
                    {
                        Ok(mut f) => {
                            return f.write_all(format!("{me}\n").as_bytes()).map_err(|e| {
                                Error::io(format!("cannot write {}", lock.display()), e)
                            })
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(e) => {
                            return Err(Error::io(format!("cannot create {}", lock.display()), e))
                        }
                    }
                }
            }
            let seen = match fs::read_to_string(lock) {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format!("cannot read {}", lock.display()), e)),
            };
            match seen
                .split_whitespace()
                .next()
                .and_then(|p| p.parse::<u32>().ok())
            {
                Some(pid) if pid != me && pid_alive(pid) => {
                    return Err(busy(&self.dir, format!("pid {pid}")))
                }
                // Dead owner, unreadable lock, or our pid left by an earlier
                // process: stale. Move it aside under a name of our own and
                // look at what was moved: if another run replaced the stale
                // lock in between, its live lock is put back.
                _ => {
                    let aside = tmp.with_file_name(format!("{LOCK_NAME}.tmp-{me}-stale"));
                    if fs::rename(lock, &aside).is_ok() {
                        if fs::read_to_string(&aside).ok().as_deref() != Some(seen.as_str()) {
                            let _ = fs::hard_link(&aside, lock);
                        }
                        let _ = fs::remove_file(&aside);
                    }
                }
            }
        }
        Err(busy(&self.dir, "racing for a stale lock".into()))
    }

    /// Fails unless the lock file still names this process: a safety net
    /// for a lock removed by hand or lost in a takeover race, checked
    /// before every rename so a run that lost it stops writing.
    fn check(&self) -> Result<()> {
        let me = std::process::id().to_string();
        match fs::read_to_string(&self.path) {
            Ok(s) if s.split_whitespace().next() == Some(me.as_str()) => Ok(()),
            found => Err(Error::io(
                format!("lost the lock on {}", self.dir.display()),
                std::io::Error::other(match found {
                    Ok(s) => format!("{} now names pid {}", self.path.display(), s.trim()),
                    Err(e) => format!("{}: {e}", self.path.display()),
                }),
            )),
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return;
        }
        if self.check().is_ok() {
            let _ = fs::remove_file(&self.path);
        }
        if self.created_dir {
            let _ = fs::remove_dir(&self.dir); // only when empty
        }
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|k| k != &self.key);
    }
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
    write_atomic_locked(dir, name, None, produce)
}

/// [`write_atomic`] that checks, just before the rename, that `lock` is
/// still ours.
fn write_atomic_locked(
    dir: &Path,
    name: &str,
    lock: Option<&DirLock>,
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
        if let Some(lock) = lock {
            lock.check()?;
        }
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
/// which stale temporary files it will remove. Holds the folder's lock
/// until the plan (and every clone of it) is dropped.
#[derive(Debug, Clone)]
pub struct Plan {
    skip: Vec<bool>,
    stale: Vec<PathBuf>,
    lock: Option<Arc<DirLock>>,
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

/// Takes the folder's lock ([`DirLock`]; an error when another run holds
/// it), then looks at `dir` without changing anything else: every existing
/// final file is checked against this run. A mismatching file is an error
/// (naming the setting that differs) unless `overwrite`, when it is
/// relabeled. On an error the lock is released (and a folder the lock
/// created is removed), so the folder is left as it was.
pub fn plan(labeler: &Labeler, opts: &EncodeOptions, dir: &Path, overwrite: bool) -> Result<Plan> {
    let configs = labeler.configs();
    let lock = DirLock::acquire(dir)?;
    let mut existing = std::collections::HashSet::new();
    let mut stale: Vec<PathBuf> = Vec::new();
    let me = std::process::id();
    let list_err = |e| Error::io(format!("cannot list {}", dir.display()), e);
    for entry in fs::read_dir(dir).map_err(list_err)? {
        let entry = entry.map_err(list_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_temp(&name) {
            // Only a run that ignores the lock (or one taking the lock this
            // instant) can have live temporary files here: leave those.
            if temp_pid(&name).is_some_and(|pid| pid != me && pid_alive(pid)) {
                continue;
            }
            stale.push(entry.path());
        } else {
            existing.insert(name);
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
    Ok(Plan {
        skip,
        stale,
        lock: Some(Arc::new(lock)),
    })
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
    let lock = plan.lock.as_deref();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<u64>)>();
    let first_err = std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, todo.len().max(1)) {
            let (tx, next, stop, todo, lock) = (tx.clone(), &next, &stop, &todo, lock);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(&k) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let c = &configs[k];
                    let r = write_atomic_locked(dir, &file_name(c, opts), lock, |w| {
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
