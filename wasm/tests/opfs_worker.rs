//! The npm package's OPFS store (pkg-template/opfs-store.js, loaded as a
//! snippet) in a dedicated worker, where it writes through sync access
//! handles, driven by the core's run protocol from Rust:
//!
//! ```sh
//! WASM_BINDGEN_USE_DEDICATED_WORKER=1 wasm-pack test --headless --chrome --mode no-install wasm --test opfs_worker
//! ```
//!
//! Real label files made by the core go in through the protocol's steps;
//! what comes back out of OPFS is checked byte for byte. In Node and on a
//! page's main thread (the other wasm-pack test runs) there are no sync
//! access handles: the tests then check nothing and say so.
#![cfg(target_arch = "wasm32")]

use fxlabel::run::{Folder, LockKind, Next, Reply, ReplyKind, Run, Step, Task};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen(module = "/../pkg-template/opfs-store.js")]
extern "C" {
    type Store;
    #[wasm_bindgen(js_name = opfsStore)]
    fn opfs_store(dir: &str) -> Store;
    #[wasm_bindgen(method)]
    fn capabilities(this: &Store) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn list(this: &Store) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn clear(this: &Store) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = readTail)]
    fn read_tail(this: &Store, name: &str, n: f64) -> js_sys::Promise;
}

/// Awaits a JS promise. (The crate has no wasm-bindgen-futures dependency;
/// these few lines stand in for its JsFuture.)
struct Wait {
    state: Rc<RefCell<(Option<Result<JsValue, JsValue>>, Option<Waker>)>>,
    _callbacks: (Closure<dyn FnMut(JsValue)>, Closure<dyn FnMut(JsValue)>),
}

fn wait(p: js_sys::Promise) -> Wait {
    let state: Rc<RefCell<(Option<Result<JsValue, JsValue>>, Option<Waker>)>> = Rc::default();
    let settle = |ok: bool| {
        let state = state.clone();
        Closure::new(move |v: JsValue| {
            let mut s = state.borrow_mut();
            s.0 = Some(if ok { Ok(v) } else { Err(v) });
            if let Some(w) = s.1.take() {
                w.wake();
            }
        })
    };
    let (ok, err) = (settle(true), settle(false));
    let _ = p.then2(&ok, &err);
    Wait {
        state,
        _callbacks: (ok, err),
    }
}

impl Future for Wait {
    type Output = Result<JsValue, JsValue>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.state.borrow_mut();
        match s.0.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// OPFS sync access handles exist only in dedicated workers.
fn in_dedicated_worker() -> bool {
    let g = js_sys::global();
    js_sys::Reflect::has(&g, &"DedicatedWorkerGlobalScope".into()).unwrap_or(false)
        && js_sys::Reflect::has(&g, &"FileSystemSyncAccessHandle".into()).unwrap_or(false)
}

fn names(v: JsValue) -> Vec<String> {
    let mut n: Vec<String> = js_sys::Array::from(&v)
        .iter()
        .map(|x| x.as_string().unwrap())
        .collect();
    n.sort();
    n
}

/// One-shot pieces for `writeTemp`: the whole file, then undefined.
fn pieces(bytes: &[u8]) -> JsValue {
    let next =
        js_sys::Function::new_with_args("", "const b = this.b; this.b = undefined; return b;");
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"b".into(), &js_sys::Uint8Array::from(bytes));
    let _ = js_sys::Reflect::set(&o, &"next".into(), &next);
    o.into()
}

/// Performs one protocol step with the OPFS store (its JS methods are
/// named by the step's `op`), converting the reply by the step's kind.
async fn perform(store: &Store, step: &Step, file: &[u8]) -> Reply {
    let s = |v: &str| JsValue::from_str(v);
    let args: Vec<JsValue> = match step {
        Step::Alive { owner } => vec![s(owner)],
        Step::ReadTail { name, bytes } => vec![s(name), JsValue::from_f64(*bytes as f64)],
        Step::ReadText { name } | Step::Remove { name } => vec![s(name)],
        Step::CreateNew { name, text, via } => vec![s(name), s(text), s(via)],
        Step::WriteTemp { name, .. } => vec![s(name), pieces(file)],
        Step::Rename { from, to } => vec![s(from), s(to)],
        _ => vec![],
    };
    let f: js_sys::Function = js_sys::Reflect::get(store, &step.op().into())
        .unwrap()
        .into();
    let out = f
        .apply(store, &args.into_iter().collect::<js_sys::Array>())
        .map(|v| js_sys::Promise::resolve(&v));
    let v = match out {
        Ok(p) => wait(p).await,
        Err(e) => Err(e),
    };
    match v {
        Err(e) => fxlabel::run::host_failure(message(e)),
        Ok(v) => match step.expects() {
            ReplyKind::Done => Reply::Done,
            ReplyKind::Flag => Reply::Flag(v.as_bool().unwrap()),
            ReplyKind::Names => Reply::Names(names(v)),
            ReplyKind::Bytes => Reply::Bytes(js_sys::Uint8Array::new(&v).to_vec()),
            ReplyKind::Text => Reply::Text(v.as_string()),
            ReplyKind::Size => Reply::Size(v.as_f64().unwrap() as u64),
        },
    }
}

/// Runs a protocol task to its end through the OPFS store.
async fn drive<T: 'static>(store: &Store, mut task: Task<T>, file: &[u8]) -> fxlabel::Result<T> {
    let mut reply = None;
    loop {
        match task.resume(reply.take()) {
            Next::Step(step) => reply = Some(perform(store, &step, file).await),
            Next::Done(r) => return r,
        }
    }
}
fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// A labeler of a small grid over generated candles, and its files.
fn labeler() -> (fxlabel::Labeler, fxlabel::EncodeOptions) {
    let c = fxlabel::synth::columns(5000, 7);
    let mut b = fxlabel::CandlesBuilder::new();
    b.push_columns(&c.ts, &c.open, &c.high, &c.low, &c.close)
        .unwrap();
    let params = fxlabel::Params {
        target_pips: vec![5.0, 10.0],
        stop_pips: vec![5.0],
        horizons: vec![30],
        ..fxlabel::Params::default()
    }
    .validate()
    .unwrap();
    (
        fxlabel::Labeler::new(b.finish().unwrap(), params).unwrap(),
        fxlabel::EncodeOptions::default(),
    )
}

fn run_in(dir: &str, l: &fxlabel::Labeler, o: &fxlabel::EncodeOptions) -> Run {
    let folder = Folder {
        display: format!("OPFS {dir}/"),
        id: format!("opfs:{dir}"),
        owner: "w1".into(),
        lock: LockKind::Service,
    };
    Run::new(l, o, folder, false)
}

#[wasm_bindgen_test]
async fn the_core_protocol_drives_the_opfs_store_in_a_worker() {
    if !in_dedicated_worker() {
        console_log!("skipped: not in a dedicated worker (WASM_BINDGEN_USE_DEDICATED_WORKER=1)");
        return;
    }
    let dir = "wasm-test/round-trip";
    let store = opfs_store(dir);
    let caps = wait(store.capabilities()).await.unwrap();
    let mode = js_sys::Reflect::get(&caps, &"writeMode".into()).unwrap();
    assert_eq!(mode.as_string().as_deref(), Some("sync"));
    wait(store.clear()).await.unwrap();
    let (l, o) = labeler();
    let files: Vec<Vec<u8>> = l
        .configs()
        .iter()
        .map(|c| fxlabel::encode_config(&l, c, &o).unwrap())
        .collect();
    let run = run_in(dir, &l, &o);
    let plan = drive(&store, run.plan(), &[]).await.unwrap();
    assert_eq!(plan.todo(), vec![0, 1]);
    for k in plan.todo() {
        let n = drive(&store, run.commit(k), &files[k]).await.unwrap();
        assert_eq!(n as usize, files[k].len());
    }
    drive(&store, run.release(&plan), &[]).await.unwrap();
    assert_eq!(
        names(wait(store.list()).await.unwrap()),
        vec!["T10_S5_H30.parquet", "T5_S5_H30.parquet"]
    );
    for (k, bytes) in files.iter().enumerate() {
        let whole =
            js_sys::Uint8Array::new(&wait(store.read_tail(run.name(k), 1e12)).await.unwrap())
                .to_vec();
        assert_eq!(&whole, bytes, "{}: the same bytes back", run.name(k));
    }
    // A second run finds both files and skips them.
    let plan = drive(&store, run.plan(), &[]).await.unwrap();
    assert_eq!(plan.skipped(), 2);
    drive(&store, run.release(&plan), &[]).await.unwrap();
    wait(store.clear()).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_quota_error_names_the_config_and_leaves_no_file() {
    if !in_dedicated_worker() {
        console_log!("skipped: not in a dedicated worker (WASM_BINDGEN_USE_DEDICATED_WORKER=1)");
        return;
    }
    let dir = "wasm-test/fail";
    let store = opfs_store(dir);
    wait(store.clear()).await.unwrap();
    // The disk fails after half of the bytes: patch the sync handle's write.
    let patch = js_sys::Function::new_no_args(
        "const P = FileSystemSyncAccessHandle.prototype; const w = P.write; globalThis.__fxlabelWrite = w;
         P.write = function (b, o) { w.call(this, b.subarray(0, b.length >> 1), o); throw new DOMException('simulated failure', 'QuotaExceededError'); };",
    );
    let unpatch = js_sys::Function::new_no_args(
        "FileSystemSyncAccessHandle.prototype.write = globalThis.__fxlabelWrite;",
    );
    let (l, o) = labeler();
    let bytes = fxlabel::encode_config(&l, &l.configs()[0], &o).unwrap();
    let run = run_in(dir, &l, &o);
    let plan = drive(&store, run.plan(), &[]).await.unwrap();
    patch.call0(&JsValue::NULL).unwrap();
    let res = drive(&store, run.commit(0), &bytes).await;
    unpatch.call0(&JsValue::NULL).unwrap();
    drive(&store, run.release(&plan), &[]).await.unwrap();
    let err = res.expect_err("the write must fail").to_string();
    assert!(
        err.starts_with(
            "cannot save T5_S5_H30: cannot write .T5_S5_H30.parquet.tmp-w1 in OPFS wasm-test/fail/"
        ) && err.contains("quota"),
        "{err}"
    );
    assert!(
        names(wait(store.list()).await.unwrap()).is_empty(),
        "neither a final nor a temporary name is left"
    );
}
