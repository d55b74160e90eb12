//! The native store: a folder on the local filesystem performing the run
//! protocol's [`Step`]s, and the native run loop (the CLI's, and the
//! Python host's): labeling threads taking configs from one queue, each
//! with a writer thread that commits the configs it encodes, so that a
//! file's writes, flush and rename overlap the labeling of the next.

use super::protocol::{Folder, LockKind, Plan, Run};
use super::task::{Reply, Step};
use crate::encode::{write_config, EncodeOptions};
use crate::error::{Error, Result};
use crate::kernel::Labeler;
use std::fs;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
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
    /// `progress` asked to stop: the configs in flight were saved, no
    /// other was started.
    pub cancelled: bool,
}

/// Whether process `pid` is running. When it cannot be told, the answer is
/// "alive": refusing to start is safer than taking over a live run's lock.
pub fn pid_alive(pid: u32) -> bool {
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

/// A folder of label files on the local filesystem. Its owner mark is the
/// process id.
#[derive(Debug, Clone)]
pub struct FsStore {
    dir: PathBuf,
    owner: String,
}

/// Fills a temporary file with a config's bytes.
pub type Fill<'a> = &'a mut dyn FnMut(&mut BufWriter<fs::File>) -> Result<()>;

/// A store the native run loop drives: performs the protocol's steps
/// synchronously, from any thread. [`FsStore`] is the one the CLI uses;
/// tests wrap it to inject failures.
pub trait Store: Sync {
    /// The folder as the protocol sees it.
    fn folder(&self) -> Folder;
    /// Performs one step; `fill` writes a [`Step::WriteTemp`]'s bytes.
    fn perform(&self, step: Step, fill: Option<Fill<'_>>) -> Reply;
}

impl FsStore {
    pub fn new(dir: impl Into<PathBuf>) -> FsStore {
        FsStore::with_owner(dir, std::process::id().to_string())
    }

    /// A store whose runs are marked `owner` instead of this process's
    /// id: a cluster worker writing for a run its driver planned (and
    /// holds the lock of) under the driver's mark.
    pub fn with_owner(dir: impl Into<PathBuf>, owner: impl Into<String>) -> FsStore {
        FsStore {
            dir: dir.into(),
            owner: owner.into(),
        }
    }

    /// The folder on disk.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn at(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Store for FsStore {
    fn folder(&self) -> Folder {
        Folder {
            display: self.dir.display().to_string(),
            id: std::path::absolute(&self.dir)
                .unwrap_or_else(|_| self.dir.clone())
                .display()
                .to_string(),
            owner: self.owner.clone(),
            lock: LockKind::File,
        }
    }

    fn perform(&self, step: Step, fill: Option<Fill<'_>>) -> Reply {
        let r: Result<Reply> = match step {
            Step::MakeDir => {
                let existed = self.dir.is_dir();
                fs::create_dir_all(&self.dir)
                    .map(|()| Reply::Flag(!existed))
                    .map_err(Error::from)
            }
            Step::RemoveDir => {
                let _ = fs::remove_dir(&self.dir); // only when empty
                Ok(Reply::Done)
            }
            Step::List => self.list().map(Reply::Names),
            Step::Alive { owner } => Ok(Reply::Flag(owner.parse().map_or(true, pid_alive))),
            Step::ReadTail { name, bytes } => self.read_tail(&name, bytes).map(Reply::Bytes),
            Step::ReadText { name } => match fs::read_to_string(self.at(&name)) {
                Ok(t) => Ok(Reply::Text(Some(t))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Reply::Text(None)),
                Err(e) => Err(e.into()),
            },
            Step::CreateNew { name, text, via } => {
                self.create_new(&name, &text, &via).map(Reply::Flag)
            }
            Step::Lock | Step::Unlock => {
                Err(io::Error::other("a folder store has no lock service").into())
            }
            Step::WriteTemp { name, .. } => match fill {
                Some(fill) => self.write_temp(&name, fill).map(Reply::Size),
                None => Err(io::Error::other("nothing to write").into()),
            },
            Step::Rename { from, to } => fs::rename(self.at(&from), self.at(&to))
                .map(|()| Reply::Done)
                .map_err(Error::from),
            Step::Remove { name } => match fs::remove_file(self.at(&name)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(Reply::Done),
            },
            Step::SyncDir => sync_dir(&self.dir)
                .map(|()| Reply::Done)
                .map_err(Error::from),
        };
        r.unwrap_or_else(Reply::Failed)
    }
}

impl FsStore {
    fn list(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            out.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(out)
    }

    fn read_tail(&self, name: &str, n: usize) -> Result<Vec<u8>> {
        let mut f = fs::File::open(self.at(name))?;
        let len = f.metadata()?.len();
        let n = (n as u64).min(len);
        f.seek(SeekFrom::Start(len - n))?;
        let mut buf = vec![0u8; n as usize];
        f.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// `name` created holding `text` only if absent: written whole under
    /// `via` and hard-linked into place (fails when `name` exists); on a
    /// filesystem without hard links, an exclusive create.
    fn create_new(&self, name: &str, text: &str, via: &str) -> Result<bool> {
        let (path, via) = (self.at(name), self.at(via));
        fs::write(&via, text)?;
        let linked = fs::hard_link(&via, &path);
        let _ = fs::remove_file(&via);
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(_) => match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => f
                    .write_all(text.as_bytes())
                    .map(|()| true)
                    .map_err(Error::from),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e.into()),
            },
        }
    }

    fn write_temp(&self, name: &str, fill: Fill<'_>) -> Result<u64> {
        let f = fs::File::create(self.at(name))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(f.metadata()?.len())
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::io(String::new(), e)
    }
}

/// Makes a rename durable. Windows cannot open a folder to flush it, and
/// NTFS journals renames, so there it is a no-op.
fn sync_dir(dir: &Path) -> io::Result<()> {
    if cfg!(windows) {
        return Ok(());
    }
    fs::File::open(dir)?.sync_all()
}

/// What a labeling thread hands its writer thread.
enum Piece {
    /// The bytes of config `k` follow.
    Start(usize),
    Bytes(Vec<u8>),
    /// The config's bytes are all sent.
    End,
    /// Labeling or encoding the config failed.
    Failed(Error),
}

/// Bytes of a piece: big enough that a write call is cheap, small enough
/// that the pieces in flight (at most [`PIECES_IN_FLIGHT`] queued, one
/// being written, one being filled) stay a few MiB.
const PIECE_BYTES: usize = 512 << 10;
const PIECES_IN_FLIGHT: usize = 2;

/// The labeling side of a labeling thread's hand-off to its writer
/// thread: a [`Write`] that sends its bytes in pieces, reusing the
/// buffers the writer gives back.
struct PieceWriter {
    tx: mpsc::SyncSender<Piece>,
    free: mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
}

/// The writer side: the pieces, and where emptied buffers go back.
struct PieceReader {
    rx: mpsc::Receiver<Piece>,
    free: mpsc::Sender<Vec<u8>>,
}

impl PieceWriter {
    fn new() -> (PieceWriter, PieceReader) {
        let (tx, rx) = mpsc::sync_channel(PIECES_IN_FLIGHT);
        let (free_tx, free_rx) = mpsc::channel();
        let w = PieceWriter {
            tx,
            free: free_rx,
            buf: Vec::with_capacity(PIECE_BYTES),
        };
        (w, PieceReader { rx, free: free_tx })
    }

    /// Sends config `k`'s bytes as `encode` writes them; false when the
    /// writer thread has stopped.
    fn config(&mut self, k: usize, encode: impl FnOnce(&mut Self) -> Result<&mut Self>) -> bool {
        if self.tx.send(Piece::Start(k)).is_err() {
            return false;
        }
        self.buf.clear();
        let last = match encode(self).and_then(|w| w.send_piece().map_err(Error::from)) {
            Ok(()) => Piece::End,
            Err(e) => Piece::Failed(e),
        };
        self.tx.send(last).is_ok()
    }

    fn send_piece(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self
            .free
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(PIECE_BYTES));
        let full = std::mem::replace(&mut self.buf, next);
        self.tx
            .send(Piece::Bytes(full))
            .map_err(|_| io::Error::other("the writer thread has stopped"))
    }
}

impl Write for PieceWriter {
    /// Takes what fills the piece (`write_all` hands over the rest), so
    /// a piece never outgrows its buffer: a column chunk can be larger
    /// than a piece, and growing for it doubled the buffers in flight.
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = b.len().min(PIECE_BYTES - self.buf.len());
        self.buf.extend_from_slice(&b[..n]);
        if self.buf.len() >= PIECE_BYTES {
            self.send_piece()?;
        }
        Ok(n)
    }

    /// Pieces go when full and at a config's end, not on a flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PieceReader {
    /// Commits each config whose pieces arrive with `commit(k, fill)`,
    /// `fill` writing them to the temporary file; yields each config's
    /// result. A config whose commit stops before its last piece (a
    /// failed step) has the rest of its pieces dropped.
    fn commits<'a>(
        self,
        commit: impl Fn(usize, Fill<'_>) -> Result<u64> + 'a,
    ) -> impl Iterator<Item = (usize, Result<u64>)> + 'a {
        let PieceReader { rx, free } = self;
        std::iter::from_fn(move || loop {
            let Piece::Start(k) = rx.recv().ok()? else {
                continue; // the rest of a config whose commit failed
            };
            let mut fill = |w: &mut BufWriter<fs::File>| -> Result<()> {
                loop {
                    match rx.recv() {
                        Ok(Piece::Bytes(mut b)) => {
                            // Straight to the file: nothing goes through
                            // the BufWriter, whose buffer stays empty.
                            let r = w.get_mut().write_all(&b);
                            b.clear();
                            let _ = free.send(b);
                            r?;
                        }
                        Ok(Piece::End) => return Ok(()),
                        Ok(Piece::Failed(e)) => return Err(e),
                        Ok(Piece::Start(_)) | Err(_) => {
                            return Err(io::Error::other("the labeling thread stopped").into())
                        }
                    }
                }
            };
            return Some((k, commit(k, &mut fill)));
        })
    }
}

/// A planned run over a store, holding its folder until dropped.
pub struct Held<S: Store = FsStore> {
    store: S,
    run: Run,
    plan: Plan,
}

impl<S: Store> std::fmt::Debug for Held<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("folder", self.run.folder())
            .field("plan", &self.plan)
            .finish()
    }
}

impl<S: Store> Held<S> {
    /// What the run found and will do.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The plan in config keys.
    pub fn keys(&self) -> super::PlanKeys {
        self.run.keys(&self.plan)
    }

    /// The mark this run writes and locks under (workers committing its
    /// configs use it too).
    pub fn owner(&self) -> &str {
        &self.run.folder().owner
    }
}

impl<S: Store> Drop for Held<S> {
    fn drop(&mut self) {
        let _ = self
            .run
            .release(&self.plan)
            .drive(|s| self.store.perform(s, None));
    }
}

/// The labeling threads of a native run: as many as asked, or one per
/// core.
pub fn jobs(asked: Option<usize>) -> usize {
    asked.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Takes `dir` and plans the run there ([`Run::plan`]): an error when
/// another run holds it, or an existing file differs (unless `overwrite`).
pub fn plan(labeler: &Labeler, opts: &EncodeOptions, dir: &Path, overwrite: bool) -> Result<Held> {
    plan_in(labeler, opts, FsStore::new(dir), overwrite)
}

/// [`plan`] in any [`Store`].
pub fn plan_in<S: Store>(
    labeler: &Labeler,
    opts: &EncodeOptions,
    store: S,
    overwrite: bool,
) -> Result<Held<S>> {
    let run = Run::new(labeler, opts, store.folder(), overwrite);
    let plan = run.plan().drive(|s| store.perform(s, None))?;
    Ok(Held { store, run, plan })
}

/// Writes the configs `keys` of a run that another process planned and
/// holds (its lock names `owner`), each through the protocol's commit:
/// what a cluster worker does with the batch of configs it is given.
/// Returns each file's size.
pub fn commit_keys(
    labeler: &Labeler,
    opts: &EncodeOptions,
    dir: &Path,
    owner: &str,
    keys: &[String],
) -> Result<Vec<u64>> {
    let store = FsStore::with_owner(dir, owner);
    let run = Run::new(labeler, opts, store.folder(), false);
    keys.iter()
        .map(|key| {
            let k = run.index(key)?;
            let c = &labeler.configs()[k];
            let mut fill =
                |w: &mut BufWriter<fs::File>| write_config(labeler, c, opts, w).map(|_| ());
            run.commit(k).drive(|s| store.perform(s, Some(&mut fill)))
        })
        .collect()
}

/// Carries out a plan: labels and writes every config not skipped, each
/// the moment it is done, with `jobs` threads taking configs from one
/// queue (the labeler's shared tables are read by all of them).
/// `progress` is called on this thread, skipped configs first; when it
/// returns `Break`, no further config is started and the run ends once the
/// configs in flight are saved (`cancelled`). The first error stops the
/// run once the configs in flight are finished or abandoned (their
/// temporary files removed).
pub fn run<S: Store>(
    labeler: &Labeler,
    opts: &EncodeOptions,
    held: &Held<S>,
    jobs: usize,
    mut progress: impl FnMut(Progress<'_>) -> ControlFlow<()>,
) -> Result<Summary> {
    let plan = &held.plan;
    let mut summary = Summary {
        stale_removed: plan.stale_removed,
        ..Summary::default()
    };
    let configs = labeler.configs();
    let total = plan.total();
    let mut done = 0;
    for k in (0..total).filter(|&k| plan.skip[k]) {
        summary.skipped += 1;
        done += 1;
        let status = Status::Skipped;
        let p = Progress {
            done,
            total,
            key: held.run.key(k),
            status: &status,
        };
        if progress(p).is_break() {
            summary.cancelled = true;
            return Ok(summary);
        }
    }
    let todo = plan.todo();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<u64>)>();
    let first_err = std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, todo.len().max(1)) {
            let (tx, next, stop, todo) = (tx.clone(), &next, &stop, &todo);
            // A labeling thread and its writer thread: the writer commits
            // each config through the protocol, writing its bytes as they
            // come, while the labeling thread goes on (with the next
            // config once one is encoded: the write, the flush and the
            // rename of one overlap the labeling of the next).
            let (mut pieces, from_labeler) = PieceWriter::new();
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(&k) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    if !pieces.config(k, |w| write_config(labeler, &configs[k], opts, w)) {
                        break; // the writer thread has stopped
                    }
                }
            });
            s.spawn(move || {
                for (k, r) in from_labeler.commits(|k, fill| {
                    held.run
                        .commit(k)
                        .drive(|s| held.store.perform(s, Some(fill)))
                }) {
                    let failed = r.is_err();
                    if failed {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if tx.send((k, r)).is_err() {
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
                    let status = Status::Written(len);
                    let p = Progress {
                        done,
                        total,
                        key: held.run.key(k),
                        status: &status,
                    };
                    if progress(p).is_break() && done < total {
                        summary.cancelled = true;
                        stop.store(true, Ordering::Relaxed);
                    }
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
    use crate::run::LOCK_NAME;

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

    fn labeler() -> Labeler {
        let ts: Vec<i64> = (0..50).map(|i| i * 60_000).collect();
        let px = vec![1.1; 50];
        let c = crate::Candles::from_columns(&ts, &px, &px, &px, &px).unwrap();
        let p = crate::Params {
            target_pips: vec![5.0],
            stop_pips: vec![5.0],
            horizons: vec![5],
            ..Default::default()
        };
        Labeler::new(c, p.validate().unwrap()).unwrap()
    }

    #[test]
    fn one_lock_per_folder_stale_ones_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("labels");
        let (l, o) = (labeler(), EncodeOptions::default());
        let held = plan(&l, &o, &dir, false).unwrap();
        let text = fs::read_to_string(dir.join(LOCK_NAME)).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        let e = plan(&l, &o, &dir, false).unwrap_err().to_string();
        assert!(e.contains("another fxlabel run (in this process)"), "{e}");
        drop(held);
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
            let e = plan(&l, &o, &dir, false).unwrap_err();
            assert_eq!(e.kind(), "busy");
            assert!(
                e.to_string()
                    .contains(&format!("another fxlabel run (pid {ppid}) is writing to")),
                "{e}"
            );
            assert_eq!(
                fs::read_to_string(dir.join(LOCK_NAME)).unwrap(),
                format!("{ppid}\n")
            );
        }

        // A dead owner: taken over, and released at the end.
        fs::write(dir.join(LOCK_NAME), format!("{}\n", dead_pid())).unwrap();
        let held = plan(&l, &o, &dir, false).unwrap();
        // Lost (taken away by hand): the check before the rename fails and
        // the temporary file is removed.
        fs::write(dir.join(LOCK_NAME), "1\n").unwrap();
        let e = run(&l, &o, &held, 1, |_| ControlFlow::Continue(()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lost the lock") && e.contains("now names pid 1"),
            "{e}"
        );
        drop(held);
        assert_eq!(
            fs::read_to_string(dir.join(LOCK_NAME)).unwrap(),
            "1\n",
            "not ours: kept"
        );
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary files left: {names:?}");
    }

    #[test]
    fn pieces_never_outgrow_their_buffer_and_keep_the_bytes() {
        let (mut w, r) = PieceWriter::new();
        // Writes larger than a piece (a column chunk can be) and small ones.
        let bytes: Vec<u8> = (0..3 * PIECE_BYTES + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        let reader = std::thread::spawn(move || {
            let mut got = (Vec::new(), Vec::new());
            for p in r.rx.iter() {
                match p {
                    Piece::Bytes(mut b) => {
                        got.0.push((b.len(), b.capacity()));
                        got.1.extend_from_slice(&b);
                        b.clear();
                        let _ = r.free.send(b);
                    }
                    Piece::End => break,
                    Piece::Start(_) | Piece::Failed(_) => {}
                }
            }
            got
        });
        let (head, tail) = bytes.split_at(PIECE_BYTES + 7);
        assert!(w.config(0, |w| {
            w.write_all(&head[..3])?;
            w.write_all(&head[3..])?;
            w.write_all(tail)?;
            Ok(w)
        }));
        drop(w);
        let (pieces, got) = reader.join().unwrap();
        assert!(got == bytes, "the bytes arrive whole and in order");
        assert_eq!(pieces.len(), 4, "{pieces:?}");
        for &(len, cap) in &pieces {
            assert!(
                len <= PIECE_BYTES && cap == PIECE_BYTES,
                "{len} bytes in {cap}"
            );
        }
    }
}
