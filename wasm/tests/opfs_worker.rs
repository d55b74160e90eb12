//! The npm package's OPFS store (pkg-template/opfs-store.js, loaded as a
//! snippet) in a dedicated worker, where it writes through sync access
//! handles:
//!
//! ```sh
//! WASM_BINDGEN_USE_DEDICATED_WORKER=1 wasm-pack test --headless --chrome --mode no-install wasm --test opfs_worker
//! ```
//!
//! Real label files made by the core go in; what comes back out of OPFS is
//! checked with the core's own footer reader. In Node and on a page's main
//! thread (the other wasm-pack test runs) there are no sync access handles:
//! the tests then check nothing and say so.
#![cfg(target_arch = "wasm32")]

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
    #[wasm_bindgen(method, getter, js_name = writeMode)]
    fn write_mode(this: &Store) -> String;
    #[wasm_bindgen(method)]
    fn list(this: &Store) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = readTail)]
    fn read_tail(this: &Store, name: &str, n: f64) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = writeAtomic)]
    fn write_atomic(this: &Store, name: &str, bytes: &js_sys::Uint8Array) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn remove(this: &Store, name: &str) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn clear(this: &Store) -> js_sys::Promise;
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

fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Label files of the default settings over generated candles.
fn label_files(keys: &[&str]) -> Vec<(String, Vec<u8>)> {
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
    let labeler = fxlabel::Labeler::new(b.finish().unwrap(), params).unwrap();
    keys.iter()
        .map(|k| {
            let cfg = labeler.config(k).unwrap();
            let bytes =
                fxlabel::encode_config(&labeler, &cfg, &fxlabel::EncodeOptions::default()).unwrap();
            (format!("{k}.parquet"), bytes)
        })
        .collect()
}

#[wasm_bindgen_test]
async fn opfs_store_round_trip_in_a_worker() {
    if !in_dedicated_worker() {
        console_log!("skipped: not in a dedicated worker (WASM_BINDGEN_USE_DEDICATED_WORKER=1)");
        return;
    }
    let store = opfs_store("wasm-test/round-trip");
    assert_eq!(store.write_mode(), "sync");
    wait(store.clear()).await.unwrap();
    assert!(names(wait(store.list()).await.unwrap()).is_empty());

    let files = label_files(&["T5_S5_H30", "T10_S5_H30"]);
    for (name, bytes) in &files {
        wait(store.write_atomic(name, &js_sys::Uint8Array::from(&bytes[..])))
            .await
            .unwrap();
    }
    assert_eq!(
        names(wait(store.list()).await.unwrap()),
        vec!["T10_S5_H30.parquet", "T5_S5_H30.parquet"]
    );

    for (name, bytes) in &files {
        // The footer read back from OPFS, as the resume check reads it.
        let last10 =
            js_sys::Uint8Array::new(&wait(store.read_tail(name, 10.0)).await.unwrap()).to_vec();
        assert_eq!(last10, bytes[bytes.len() - 10..]);
        let need = fxlabel::footer_size(&last10).unwrap();
        let tail =
            js_sys::Uint8Array::new(&wait(store.read_tail(name, need as f64)).await.unwrap())
                .to_vec();
        let meta = fxlabel::read_metadata(&tail).unwrap();
        assert_eq!(
            meta.get("fxlabel.key").map(String::as_str),
            Some(name.trim_end_matches(".parquet"))
        );
        let whole =
            js_sys::Uint8Array::new(&wait(store.read_tail(name, 1e12)).await.unwrap()).to_vec();
        assert_eq!(&whole, bytes, "{name}: the same bytes back");
    }

    wait(store.remove("T5_S5_H30.parquet")).await.unwrap();
    wait(store.remove("T5_S5_H30.parquet")).await.unwrap(); // already gone: fine
    assert_eq!(
        names(wait(store.list()).await.unwrap()),
        vec!["T10_S5_H30.parquet"]
    );
    wait(store.clear()).await.unwrap();
}

#[wasm_bindgen_test]
async fn opfs_store_failed_write_leaves_no_final_name() {
    if !in_dedicated_worker() {
        console_log!("skipped: not in a dedicated worker (WASM_BINDGEN_USE_DEDICATED_WORKER=1)");
        return;
    }
    let store = opfs_store("wasm-test/fail");
    wait(store.clear()).await.unwrap();
    // The disk fails after half of the bytes: patch the sync handle's write.
    let patch = js_sys::Function::new_no_args(
        "const P = FileSystemSyncAccessHandle.prototype; const w = P.write; globalThis.__fxlabelWrite = w;
         P.write = function (b, o) { w.call(this, b.subarray(0, b.length >> 1), o); throw new DOMException('simulated failure', 'QuotaExceededError'); };",
    );
    let unpatch = js_sys::Function::new_no_args(
        "FileSystemSyncAccessHandle.prototype.write = globalThis.__fxlabelWrite;",
    );
    let (name, bytes) = label_files(&["T5_S5_H30"]).remove(0);
    patch.call0(&JsValue::NULL).unwrap();
    let res = wait(store.write_atomic(&name, &js_sys::Uint8Array::from(&bytes[..]))).await;
    unpatch.call0(&JsValue::NULL).unwrap();
    let err = message(res.expect_err("the write must fail"));
    assert!(
        err.contains("cannot write T5_S5_H30.parquet") && err.contains("quota"),
        "{err}"
    );
    assert!(
        names(wait(store.list()).await.unwrap()).is_empty(),
        "neither a final nor a temporary name is left"
    );
}
