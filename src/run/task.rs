//! The steps a run asks its store to take, and the machinery that lets the
//! protocol be written as plain sequential code while the host performs
//! each step, synchronously (the native store) or asynchronously (Node,
//! OPFS: the host awaits the step, then hands the reply back).
//!
//! A protocol is an `async` block that awaits [`Io::ask`]; a [`Task`]
//! polls it once per reply with a no-op waker, so no executor is needed
//! and the same code runs natively and in wasm.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// One I/O primitive a store performs for the protocol. Names are the
/// store's own (a file name inside its folder), never paths.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Step {
    /// Create the folder if missing. Reply: [`Reply::Flag`] (true when it
    /// was created now).
    MakeDir,
    /// Remove the folder if it is empty (no error otherwise). Reply: done.
    RemoveDir,
    /// The names in the folder. Reply: [`Reply::Names`].
    List,
    /// Whether the run that owns temporary files or a lock marked `owner`
    /// is alive (a pid for folder stores). Reply: [`Reply::Flag`]; a store
    /// that cannot tell answers true.
    Alive { owner: String },
    /// The last `min(bytes, size)` bytes of a file. Reply: [`Reply::Bytes`].
    ReadTail { name: String, bytes: usize },
    /// A small text file's content, `None` when absent. Reply: [`Reply::Text`].
    ReadText { name: String },
    /// Create `name` holding `text` only if it does not exist, atomically
    /// and never half-written (write `via` whole, then hard-link it, or
    /// create exclusively); remove `via` after. Reply: [`Reply::Flag`]
    /// (false when `name` exists).
    CreateNew {
        name: String,
        text: String,
        via: String,
    },
    /// Take the store's own exclusive lock on the folder (Web Locks).
    /// Reply: [`Reply::Flag`] (false when another holder has it).
    Lock,
    /// Release the lock of [`Step::Lock`]. Reply: done.
    Unlock,
    /// Create (or truncate) `name`, write the config's bytes into it piece
    /// by piece, flush them to storage and close it. Reply:
    /// [`Reply::Size`], the bytes written.
    WriteTemp { name: String, key: String },
    /// Rename `from` to `to`, replacing `to`. Reply: done.
    Rename { from: String, to: String },
    /// Remove a file (no error when it is already gone). Reply: done.
    Remove { name: String },
    /// Make the folder's entries (a rename) durable. Reply: done.
    SyncDir,
}

impl Step {
    /// The step's name as the hosts spell it (`readTail`, ...).
    pub fn op(&self) -> &'static str {
        match self {
            Step::MakeDir => "makeDir",
            Step::RemoveDir => "removeDir",
            Step::List => "list",
            Step::Alive { .. } => "alive",
            Step::ReadTail { .. } => "readTail",
            Step::ReadText { .. } => "readText",
            Step::CreateNew { .. } => "createNew",
            Step::Lock => "lock",
            Step::Unlock => "unlock",
            Step::WriteTemp { .. } => "writeTemp",
            Step::Rename { .. } => "rename",
            Step::Remove { .. } => "remove",
            Step::SyncDir => "syncDir",
        }
    }

    /// What kind of reply this step expects.
    pub fn expects(&self) -> ReplyKind {
        match self {
            Step::MakeDir | Step::Alive { .. } | Step::CreateNew { .. } | Step::Lock => {
                ReplyKind::Flag
            }
            Step::List => ReplyKind::Names,
            Step::ReadTail { .. } => ReplyKind::Bytes,
            Step::ReadText { .. } => ReplyKind::Text,
            Step::WriteTemp { .. } => ReplyKind::Size,
            _ => ReplyKind::Done,
        }
    }
}

/// The shape of a step's reply (hosts convert their values by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    Done,
    Flag,
    Names,
    Bytes,
    Text,
    Size,
}

/// A store's answer to a [`Step`].
#[derive(Debug)]
pub enum Reply {
    Done,
    Flag(bool),
    Names(Vec<String>),
    Bytes(Vec<u8>),
    Text(Option<String>),
    Size(u64),
    /// The step failed (the store's error, kept as the cause).
    Failed(Error),
}

/// A store error from a host that only has a message (JS): an I/O error.
pub fn host_failure(message: impl Into<String>) -> Reply {
    Reply::Failed(Error::io(
        String::new(),
        std::io::Error::other(message.into()),
    ))
}

#[derive(Default)]
struct Slot {
    step: Option<Step>,
    reply: Option<Reply>,
}

/// The protocol's side of the exchange: ask a step, await its reply.
/// `folder` names the folder in error messages.
#[derive(Clone)]
pub(crate) struct Io {
    slot: Rc<RefCell<Slot>>,
    folder: Rc<str>,
}

struct Ask {
    io: Io,
    step: Option<Step>,
}

impl Future for Ask {
    type Output = Reply;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Reply> {
        if let Some(step) = self.step.take() {
            self.io.slot.borrow_mut().step = Some(step);
            return Poll::Pending;
        }
        match self.io.slot.borrow_mut().reply.take() {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

impl Io {
    pub(crate) fn new(folder: &str) -> Io {
        Io {
            slot: Rc::default(),
            folder: folder.into(),
        }
    }

    /// Performs `step` through the host; a failed step is an `Err` whose
    /// context says what was being done.
    pub(crate) async fn ask(&self, step: Step) -> Result<Reply> {
        let what = describe(&step, &self.folder);
        match (Ask {
            io: self.clone(),
            step: Some(step),
        })
        .await
        {
            Reply::Failed(e) => Err(with_context(e, what)),
            r => Ok(r),
        }
    }

    pub(crate) async fn flag(&self, step: Step) -> Result<bool> {
        match self.ask(step).await? {
            Reply::Flag(b) => Ok(b),
            r => Err(unexpected(r)),
        }
    }

    pub(crate) async fn done(&self, step: Step) -> Result<()> {
        self.ask(step).await.map(|_| ())
    }
}

fn describe(step: &Step, folder: &str) -> String {
    match step {
        Step::MakeDir => format!("cannot create {folder}"),
        Step::RemoveDir => format!("cannot remove {folder}"),
        Step::List => format!("cannot list {folder}"),
        Step::Alive { owner } => format!("cannot tell whether {owner} is running"),
        Step::ReadTail { name, .. } | Step::ReadText { name } => {
            format!("cannot read {name} in {folder}")
        }
        Step::CreateNew { name, .. } => format!("cannot create {name} in {folder}"),
        Step::Lock | Step::Unlock => format!("cannot use the lock of {folder}"),
        Step::WriteTemp { name, .. } => format!("cannot write {name} in {folder}"),
        Step::Rename { from, to } => format!("cannot rename {from} to {to} in {folder}"),
        Step::Remove { name } => format!("cannot remove {name} in {folder}"),
        Step::SyncDir => format!("cannot flush {folder}"),
    }
}

/// A store's I/O error gets what the protocol was doing as its context;
/// errors the core raised itself (encoding a config) pass unchanged.
fn with_context(e: Error, what: String) -> Error {
    match e {
        Error::Io { context, source } if context.is_empty() => Error::Io {
            context: what,
            source,
        },
        other => other,
    }
}

fn unexpected(r: Reply) -> Error {
    Error::Format(format!("the store answered a step with {r:?}"))
}

pub(crate) fn names(r: Reply) -> Result<Vec<String>> {
    match r {
        Reply::Names(v) => Ok(v),
        r => Err(unexpected(r)),
    }
}

pub(crate) fn bytes(r: Reply) -> Result<Vec<u8>> {
    match r {
        Reply::Bytes(v) => Ok(v),
        r => Err(unexpected(r)),
    }
}

pub(crate) fn text(r: Reply) -> Result<Option<String>> {
    match r {
        Reply::Text(v) => Ok(v),
        r => Err(unexpected(r)),
    }
}

pub(crate) fn size(r: Reply) -> Result<u64> {
    match r {
        Reply::Size(v) => Ok(v),
        r => Err(unexpected(r)),
    }
}

/// What a [`Task`] wants next.
#[derive(Debug)]
pub enum Next<T> {
    /// Perform this step and call [`Task::resume`] with its reply.
    Step(Step),
    /// The protocol has finished.
    Done(Result<T>),
}

/// One protocol run (a plan, a config's write, a release), stepped by
/// the host.
pub struct Task<T> {
    io: Io,
    fut: Option<Pin<Box<dyn Future<Output = Result<T>>>>>,
    pending: Option<Step>,
}

impl<T: 'static> Task<T> {
    pub(crate) fn new(io: Io, fut: impl Future<Output = Result<T>> + 'static) -> Task<T> {
        Task {
            io,
            fut: Some(Box::pin(fut)),
            pending: None,
        }
    }

    /// The same task, its result passed through `f` (hosts convert it).
    pub fn map<U: 'static>(self, f: impl FnOnce(T) -> U + 'static) -> Task<U> {
        let fut = self.fut;
        Task {
            io: self.io,
            fut: Some(Box::pin(async move {
                match fut {
                    Some(fut) => fut.await.map(f),
                    None => Err(Error::Format("the run step was already finished".into())),
                }
            })),
            pending: self.pending,
        }
    }

    /// The step last asked for, not yet answered.
    pub fn pending(&self) -> Option<&Step> {
        self.pending.as_ref()
    }

    /// Advances the protocol: `reply` answers the step last returned
    /// (`None` on the first call). Returns the next step, or the result.
    pub fn resume(&mut self, reply: Option<Reply>) -> Next<T> {
        let Some(fut) = self.fut.as_mut() else {
            return Next::Done(Err(Error::Format(
                "the run step was already finished".into(),
            )));
        };
        match (self.pending.take(), reply) {
            (Some(_), Some(r)) => self.io.slot.borrow_mut().reply = Some(r),
            (None, None) => {}
            (Some(s), None) => {
                return Next::Done(Err(Error::Format(format!(
                    "the store did not answer the step '{}'",
                    s.op()
                ))))
            }
            (None, Some(_)) => return Next::Done(Err(Error::Format("a reply to no step".into()))),
        }
        let mut cx = Context::from_waker(Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(r) => {
                self.fut = None;
                Next::Done(r)
            }
            Poll::Pending => match self.io.slot.borrow_mut().step.take() {
                Some(step) => {
                    self.pending = Some(step.clone());
                    Next::Step(step)
                }
                None => {
                    self.fut = None;
                    Next::Done(Err(Error::Format("the run protocol stalled".into())))
                }
            },
        }
    }

    /// Runs the task to its end with a synchronous `perform`.
    pub fn drive(mut self, mut perform: impl FnMut(Step) -> Reply) -> Result<T> {
        let mut reply = None;
        loop {
            match self.resume(reply.take()) {
                Next::Step(s) => reply = Some(perform(s)),
                Next::Done(r) => return r,
            }
        }
    }
}
