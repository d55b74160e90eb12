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
            let m = format!(
                "cannot take the lock of {}: cannot {what} {}",
                dir.display(),
                p.display()
            );
            move |e| Error::io(m, e)
        };
        let created_dir = !dir.exists();
        fs::create_dir_all(dir).map_err(io("create", dir))?;
        let path = dir.join(LOCK_NAME);
        let me = std::process::id();
        let taken = (|| {
            let key = fs::canonicalize(dir).map_err(io("resolve", dir))?;
            let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
            if held.contains(&key) {
                return Err(busy(dir, "in this process".into()));
            }
            let tmp = dir.join(format!("{LOCK_NAME}.tmp-{me}"));
            fs::write(&tmp, format!("{me}\n")).map_err(io("write", &tmp))?;
            let got = claim(dir, &path, &tmp, me);
            let _ = fs::remove_file(&tmp);
            got?;
            held.push(key.clone());
            Ok(key)
        })();
        match taken {
            Ok(key) => Ok(DirLock {
                dir: dir.to_path_buf(),
                path,
                key,
                created_dir,
            }),
            Err(e) => {
                // Nothing of ours to release: only the folder we made, if empty.
                if created_dir {
                    let _ = fs::remove_dir(dir);
                }
                Err(e)
            }
        }
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

/// Puts the complete lock file `tmp` in place as `lock`, taking over a
/// stale one; fails when a live process holds it.
fn claim(dir: &Path, lock: &Path, tmp: &Path, me: u32) -> Result<()> {
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
                        return f
                            .write_all(format!("{me}\n").as_bytes())
                            .map_err(|e| Error::io(format!("cannot write {}", lock.display()), e))
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
                return Err(busy(dir, format!("pid {pid}")))
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
    Err(busy(dir, "racing for a stale lock".into()))
}

impl Drop for DirLock {
    fn drop(&mut self) {
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

/// A failure to save a config names it (disk full, permission denied, a
/// failed rename): `cannot save T10_S5_H30: <what failed>: <cause>`.
fn naming(e: Error, key: &str) -> Error {
    match e {
        Error::Io { context, source } => Error::Io {
            context: format!("cannot save {key}: {context}"),
            source,
        },
        Error::Encoding(m) => Error::Encoding(format!("cannot save {key}: {m}")),
        other => other,
    }
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
    for (_, c) in configs.iter().enumerate().filter(|(k, _)| plan.skip[*k]) {
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
                    })
                    .map_err(|e| naming(e, &c.key()));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    #[test]
    fn one_lock_per_folder_stale_ones_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("labels");
        let lock = DirLock::acquire(&dir).unwrap();
        let text = fs::read_to_string(dir.join(LOCK_NAME)).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        let e = DirLock::acquire(&dir).unwrap_err().to_string();
        assert!(e.contains("another fxlabel run (in this process)"), "{e}");
        drop(lock);
        assert!(
            !dir.exists(),
            "the folder the lock made is removed when empty"
        );

        // A live owner (our parent process; Linux only): refused, lock kept.
        fs::create_dir_all(&dir).unwrap();
        let parent = fs::read_to_string("/proc/self/stat").ok().and_then(|s| {
            s.rsplit_once(") ")
                .map(|(_, r)| r.split(' ').nth(1).unwrap().to_string())
        });
        if let Some(ppid) = parent {
            fs::write(dir.join(LOCK_NAME), format!("{ppid}\n")).unwrap();
            let e = DirLock::acquire(&dir).unwrap_err().to_string();
            assert!(
                e.contains(&format!("another fxlabel run (pid {ppid}) is writing to")),
                "{e}"
            );
            assert_eq!(
                fs::read_to_string(dir.join(LOCK_NAME)).unwrap(),
                format!("{ppid}\n")
            );
        }

        // A dead owner: taken over, and released at the end.
        fs::write(dir.join(LOCK_NAME), format!("{}\n", dead_pid())).unwrap();
        let lock = DirLock::acquire(&dir).unwrap();
        lock.check().unwrap();
        // Lost (taken away by hand): the check before each rename fails.
        fs::write(dir.join(LOCK_NAME), "1\n").unwrap();
        let e = lock.check().unwrap_err().to_string();
        assert!(
            e.contains("lost the lock") && e.contains("now names pid 1"),
            "{e}"
        );
        drop(lock);
        assert_eq!(
            fs::read_to_string(dir.join(LOCK_NAME)).unwrap(),
            "1\n",
            "not ours: kept"
        );
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary lock files left: {names:?}");
    }

    #[test]
    fn temp_names_carry_their_pid() {
        assert_eq!(temp_pid(".T5_S5_H30.parquet.tmp-1234"), Some(1234));
        assert_eq!(temp_pid(".fxlabel.lock.tmp-77-stale"), Some(77));
        assert_eq!(temp_pid(".x.tmp-"), None);
        assert_eq!(temp_pid("T5_S5_H30.parquet"), None);
    }
}
