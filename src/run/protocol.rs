//! The run protocol itself: take the folder, decide what to skip, refuse,
//! remove and write, write each file under a temporary name and rename it,
//! release the folder. Written once, as sequential code over [`Step`]s
//! that every store (native, Node, OPFS, memory) performs.

use super::names::{
    file_name, is_temp, lock_owner, lock_temps, lock_text, temp_name, temp_owner, LOCK_NAME,
};
use super::task::{bytes, names, size, text, Io, Step, Task};
use crate::encode::{file_meta, EncodeOptions};
use crate::error::{Error, Result};
use crate::kernel::Labeler;
use crate::meta::FileMeta;
use crate::output::{footer_size, read_file_meta};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// First read of an existing file's tail: covers every label file's
/// footer in one read; a larger footer is read again at its exact size.
const TAIL_GUESS_BYTES: usize = 64 * 1024;

/// Bounded takeover: each round wins, meets a live owner or moves a stale
/// lock aside; only runs racing for the same stale lock go round again.
const CLAIM_ROUNDS: usize = 8;

/// How a store keeps one run per folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockKind {
    /// A lock file (`.fxlabel.lock`) holding the owner's mark; a lock whose
    /// owner is not alive is stale and taken over (native, Node).
    File,
    /// The store's own lock service ([`Step::Lock`]; Web Locks in OPFS).
    Service,
    /// No lock (a store private to one run, e.g. in memory).
    None,
}

/// The folder a run writes to, as the store describes it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Folder {
    /// How messages name the folder (`labels`, `OPFS labels/`).
    pub display: String,
    /// The folder's identity within this process (an absolute path): two
    /// runs of one process cannot share a folder either.
    pub id: String,
    /// This run's mark in temporary names and the lock (its pid, or a
    /// random id where several runs share one process, the browser).
    pub owner: String,
    pub lock: LockKind,
}

/// Folders held by runs of this process (their [`Folder::id`]).
static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<String>> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

/// What one run will do and what it found: built by [`Run::plan`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Per config of the grid: already saved with matching metadata.
    pub skip: Vec<bool>,
    /// Configs whose existing file differed and is relabeled (overwrite).
    pub relabeled: Vec<String>,
    /// Stale temporary files removed.
    pub stale_removed: usize,
    /// Whether the folder was made by this run (removed again at release
    /// when nothing was written into it).
    pub created_dir: bool,
    /// Every config of the grid in the order a run writes them: by
    /// horizon, then in grid order, so that configs sharing a horizon
    /// share its windows and timeout returns (the labeler keeps them for a
    /// horizon at a time).
    pub order: Vec<usize>,
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

    /// Indices of the configs to write, in the order to write them
    /// ([`Plan::order`]).
    pub fn todo(&self) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&k| !self.skip[k])
            .collect()
    }
}

/// A [`Plan`] as hosts report it: config keys rather than indices.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanKeys {
    /// Keys already saved, in grid order.
    pub skip: Vec<String>,
    /// Keys to write, in the order to write them ([`Plan::order`]).
    pub todo: Vec<String>,
    pub relabeled: Vec<String>,
    pub stale_removed: usize,
}

/// One expected file: its config key, final name and metadata.
#[derive(Debug, Clone)]
struct Expect {
    key: String,
    name: String,
    meta: FileMeta,
    horizon: u64,
}

/// One run's protocol over one folder: cheap to clone and `Send`, so each
/// writer thread can make its own [`Task`]s.
#[derive(Debug, Clone)]
pub struct Run {
    folder: Arc<Folder>,
    files: Arc<Vec<Expect>>,
    overwrite: bool,
}

impl Run {
    /// The run of `labeler`'s grid, written with `opts`, into `folder`;
    /// `overwrite` relabels files made with other settings or data
    /// instead of refusing them.
    pub fn new(labeler: &Labeler, opts: &EncodeOptions, folder: Folder, overwrite: bool) -> Run {
        let files = labeler
            .configs()
            .iter()
            .map(|c| Expect {
                key: c.key(),
                name: file_name(c, opts.format),
                meta: file_meta(labeler, c),
                horizon: c.horizon,
            })
            .collect();
        Run {
            folder: Arc::new(folder),
            files: Arc::new(files),
            overwrite,
        }
    }

    /// The folder this run writes to.
    pub fn folder(&self) -> &Folder {
        &self.folder
    }

    /// `plan` in config keys.
    pub fn keys(&self, plan: &Plan) -> PlanKeys {
        let key = |k: usize| self.key(k).to_string();
        PlanKeys {
            skip: (0..self.len())
                .filter(|&k| plan.skip.get(k) == Some(&true))
                .map(key)
                .collect(),
            todo: plan.todo().into_iter().map(key).collect(),
            relabeled: plan.relabeled.clone(),
            stale_removed: plan.stale_removed,
        }
    }

    /// Configs in the grid.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the grid is empty (it never is once validated).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The final file name of config `k` of the grid.
    pub fn name(&self, k: usize) -> &str {
        &self.files[k].name
    }

    /// The config key of config `k` of the grid.
    pub fn key(&self, k: usize) -> &str {
        &self.files[k].key
    }

    /// Index of the config with this key.
    pub fn index(&self, key: &str) -> Result<usize> {
        self.files
            .iter()
            .position(|f| f.key == key)
            .ok_or_else(|| Error::param("key", format!("{key} is not a config of this run's grid")))
    }

    /// Takes the folder, reads what is there and decides: every existing
    /// final file is checked against this run (a mismatching file is an
    /// error naming the setting that differs unless `overwrite`), stale
    /// temporary files are removed. On an error nothing has changed and
    /// the folder is released. On success the folder stays held until
    /// [`Run::release`].
    pub fn plan(&self) -> Task<Plan> {
        let io = Io::new(&self.folder.display);
        let run = self.clone();
        Task::new(io.clone(), async move {
            let created_dir = acquire(&io, &run.folder).await?;
            let decided = async {
                let listed = names(io.ask(Step::List).await?)?;
                Ok((
                    decide(&io, &run, &listed).await?,
                    stale(&io, &run, listed).await?,
                ))
            };
            match decided.await {
                Ok((mut plan, stale)) => {
                    plan.created_dir = created_dir;
                    for name in stale {
                        if io.done(Step::Remove { name }).await.is_ok() {
                            plan.stale_removed += 1;
                        }
                    }
                    Ok(plan)
                }
                Err(e) => {
                    release(&io, &run.folder, created_dir).await;
                    Err(e)
                }
            }
        })
    }

    /// Writes config `k`: under its temporary name, flushed, the lock
    /// checked, renamed to its final name and the rename made durable. On
    /// any failure the temporary file is removed and the error names the
    /// config. Returns the file's size.
    pub fn commit(&self, k: usize) -> Task<u64> {
        let io = Io::new(&self.folder.display);
        let run = self.clone();
        Task::new(io.clone(), async move {
            let (key, name) = (run.key(k).to_string(), run.name(k).to_string());
            let temp = temp_name(&name, &run.folder.owner);
            let written = async {
                let n = size(
                    io.ask(Step::WriteTemp {
                        name: temp.clone(),
                        key: key.clone(),
                    })
                    .await?,
                )?;
                check_lock(&io, &run.folder).await?;
                io.done(Step::Rename {
                    from: temp.clone(),
                    to: name.clone(),
                })
                .await?;
                io.done(Step::SyncDir).await?;
                Ok(n)
            }
            .await;
            if written.is_err() {
                let _ = io.done(Step::Remove { name: temp }).await;
            }
            written.map_err(|e| naming(e, &key))
        })
    }

    /// Releases the folder taken by [`Run::plan`]: the lock (when still
    /// ours) and the folder itself when the plan made it and it is empty.
    pub fn release(&self, plan: &Plan) -> Task<()> {
        let io = Io::new(&self.folder.display);
        let (folder, created) = (Arc::clone(&self.folder), plan.created_dir);
        Task::new(io.clone(), async move {
            release(&io, &folder, created).await;
            Ok(())
        })
    }
}

/// A failure to save a config names it: `cannot save T10_S5_H30: <what
/// failed>: <cause>`.
fn naming(e: Error, key: &str) -> Error {
    match e {
        Error::Io { context, source } => Error::Io {
            context: format!("cannot save {key}: {context}"),
            source,
        },
        Error::Encoding(m) => Error::Encoding(format!("cannot save {key}: {m}")),
        Error::Busy(m) => Error::Busy(format!("cannot save {key}: {m}")),
        other => other,
    }
}

fn busy(folder: &Folder, who: &str) -> Error {
    Error::Busy(match folder.lock {
        LockKind::Service => format!(
            "another fxlabel run ({who}) is writing to {}: wait for it to finish or close it",
            folder.display
        ),
        _ => format!(
            "another fxlabel run ({who}) is writing to {}: wait for it to finish \
             (if no fxlabel run is active, remove {LOCK_NAME} there)",
            folder.display
        ),
    })
}

/// Takes the folder for this run; returns whether the folder was created.
async fn acquire(io: &Io, folder: &Folder) -> Result<bool> {
    {
        let mut h = held();
        if h.contains(&folder.id) {
            return Err(busy(folder, "in this process"));
        }
        h.push(folder.id.clone());
    }
    let taken = async {
        let created = io.flag(Step::MakeDir).await?;
        let locked = match folder.lock {
            LockKind::File => claim(io, folder).await,
            LockKind::Service => match io.flag(Step::Lock).await? {
                true => Ok(()),
                false => Err(busy(folder, "in another tab or worker")),
            },
            LockKind::None => Ok(()),
        };
        if locked.is_err() && created {
            let _ = io.done(Step::RemoveDir).await;
        }
        locked.map(|()| created)
    }
    .await;
    if taken.is_err() {
        held().retain(|id| id != &folder.id);
    }
    taken
}

/// Puts this run's lock file in place, taking over a stale one; fails
/// when a live run holds it.
async fn claim(io: &Io, folder: &Folder) -> Result<()> {
    let me = folder.owner.as_str();
    let (via, aside) = lock_temps(me);
    for _ in 0..CLAIM_ROUNDS {
        let created = io
            .flag(Step::CreateNew {
                name: LOCK_NAME.into(),
                text: lock_text(me),
                via: via.clone(),
            })
            .await?;
        if created {
            return Ok(());
        }
        let Some(seen) = text(
            io.ask(Step::ReadText {
                name: LOCK_NAME.into(),
            })
            .await?,
        )?
        else {
            continue; // released meanwhile: try again
        };
        if let Some(owner) = lock_owner(&seen).filter(|&o| o != me) {
            if io
                .flag(Step::Alive {
                    owner: owner.into(),
                })
                .await?
            {
                return Err(busy(folder, &format!("pid {owner}")));
            }
        }
        // Stale (dead owner, unreadable lock, or our mark left by an
        // earlier process): move it aside under a name of our own and look
        // at what was moved: if another run replaced the stale lock in
        // between, its live lock is put back.
        let moved = io
            .done(Step::Rename {
                from: LOCK_NAME.into(),
                to: aside.clone(),
            })
            .await;
        if moved.is_ok() {
            let found = text(
                io.ask(Step::ReadText {
                    name: aside.clone(),
                })
                .await?,
            )?;
            if let Some(live) = found.filter(|t| t != &seen) {
                io.flag(Step::CreateNew {
                    name: LOCK_NAME.into(),
                    text: live,
                    via: via.clone(),
                })
                .await?;
            }
            io.done(Step::Remove {
                name: aside.clone(),
            })
            .await?;
        }
    }
    Err(busy(folder, "racing for a stale lock"))
}

/// Fails unless the lock still names this run: a safety net for a lock
/// removed by hand or lost in a takeover race, checked before every
/// rename so a run that lost it stops writing.
async fn check_lock(io: &Io, folder: &Folder) -> Result<()> {
    if folder.lock != LockKind::File {
        return Ok(());
    }
    let found = text(
        io.ask(Step::ReadText {
            name: LOCK_NAME.into(),
        })
        .await?,
    )?;
    match found {
        Some(t) if lock_owner(&t) == Some(folder.owner.as_str()) => Ok(()),
        found => Err(Error::Busy(format!(
            "lost the lock on {}: {}",
            folder.display,
            match found {
                Some(t) => format!("{LOCK_NAME} now names pid {}", t.trim()),
                None => format!("{LOCK_NAME} was removed"),
            }
        ))),
    }
}

/// Gives the folder back; failures are ignored (nothing is left to undo).
async fn release(io: &Io, folder: &Folder, created_dir: bool) {
    match folder.lock {
        LockKind::File => {
            if check_lock(io, folder).await.is_ok() {
                let _ = io
                    .done(Step::Remove {
                        name: LOCK_NAME.into(),
                    })
                    .await;
            }
        }
        LockKind::Service => {
            let _ = io.done(Step::Unlock).await;
        }
        LockKind::None => {}
    }
    if created_dir {
        let _ = io.done(Step::RemoveDir).await;
    }
    held().retain(|id| id != &folder.id);
}

/// Checks every existing final file of the grid against this run.
async fn decide(io: &Io, run: &Run, listed: &[String]) -> Result<Plan> {
    let existing: HashSet<&str> = listed.iter().map(String::as_str).collect();
    let mut order: Vec<usize> = (0..run.files.len()).collect();
    order.sort_by_key(|&k| run.files[k].horizon);
    let mut plan = Plan {
        skip: vec![false; run.files.len()],
        order,
        ..Plan::default()
    };
    for (k, f) in run.files.iter().enumerate() {
        if !existing.contains(f.name.as_str()) {
            continue;
        }
        match check_existing(io, f).await {
            Ok(()) => plan.skip[k] = true,
            Err(Error::Mismatch { .. }) if run.overwrite => plan.relabeled.push(f.key.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok(plan)
}

/// The temporary files of runs that are gone. A live owner's (a run that
/// ignores the lock, or one taking it this instant) are left alone.
async fn stale(io: &Io, run: &Run, listed: Vec<String>) -> Result<Vec<String>> {
    let me = run.folder.owner.as_str();
    let mut out = Vec::new();
    for name in listed {
        if !is_temp(&name) {
            continue;
        }
        if let Some(owner) = temp_owner(&name).filter(|&o| o != me) {
            if io
                .flag(Step::Alive {
                    owner: owner.into(),
                })
                .await?
            {
                continue;
            }
        }
        out.push(name);
    }
    Ok(out)
}

/// Reads enough of a file's end for its metadata and checks it.
async fn check_existing(io: &Io, f: &Expect) -> Result<()> {
    let mismatch = |m: String| Error::Mismatch {
        key: f.key.clone(),
        message: m,
    };
    let incomplete =
        |why: String| mismatch(format!("{} is not a complete label file ({why})", f.name));
    let read = |n: usize| {
        io.ask(Step::ReadTail {
            name: f.name.clone(),
            bytes: n,
        })
    };
    let mut tail = bytes(read(TAIL_GUESS_BYTES).await?)?;
    let need = footer_size(&tail[tail.len().saturating_sub(10)..])
        .map_err(|e| incomplete(e.to_string()))?;
    if need > tail.len() && tail.len() == TAIL_GUESS_BYTES {
        tail = bytes(read(need).await?)?;
    }
    if need > tail.len() {
        return Err(incomplete(format!(
            "its footer needs {need} bytes, the file has {}",
            tail.len()
        )));
    }
    let found =
        read_file_meta(&tail[tail.len() - need..]).map_err(|e| incomplete(e.to_string()))?;
    found.check(&f.meta)
}
