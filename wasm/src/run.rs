//! The run protocol for JS hosts: `labeler.run(folder, overwrite)` gives
//! the core's [`fxlabel::run::Run`]; its `plan()`, `commit(key)` and
//! `release()` give a [`Protocol`] that the host steps: each `next(reply,
//! failure)` returns the next I/O step for the store (`{op: "list"}`, ...)
//! or `{done: true, value}`. Only types are converted here.

use crate::{js_err, param_err, string_arg, Labeler};
use fxlabel::run::{host_failure, Folder, Next, Plan, Reply, ReplyKind, Task};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// One run's protocol over one store's folder.
#[wasm_bindgen]
pub struct Run {
    run: fxlabel::run::Run,
    /// The plan, once made: the release needs it.
    plan: Rc<RefCell<Option<Plan>>>,
}

/// One protocol task (a plan, a config's commit, a release), stepped by
/// the host.
#[wasm_bindgen]
pub struct Protocol(Task<JsValue>);

#[wasm_bindgen]
impl Labeler {
    /// The run protocol of this grid into the folder `folder` describes.
    pub fn run(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "{display: string, id: string, owner: string, lock: \"file\" | \"service\" | \"none\"}"
        )]
        folder: JsValue,
        overwrite: bool,
    ) -> Result<Run, JsValue> {
        let folder: Folder =
            serde_wasm_bindgen::from_value(folder).map_err(|e| param_err("folder", e))?;
        Ok(Run {
            run: fxlabel::run::Run::new(&self.inner, &self.enc, folder, overwrite),
            plan: Rc::default(),
        })
    }

    /// How a pool of `workers` splits the rows (`[start, end)` per worker),
    /// or `null` to split by configs.
    #[wasm_bindgen(unchecked_return_type = "Array<[number, number]> | null")]
    pub fn shards(&self, workers: usize) -> JsValue {
        let parquet = self.enc.format == fxlabel::Format::Parquet;
        fxlabel::run::shards(self.rows(), self.enc.row_group_size, workers, parquet)
            .and_then(|v| serde_wasm_bindgen::to_value(&v).ok())
            .unwrap_or(JsValue::NULL)
    }
}

#[wasm_bindgen]
impl Run {
    /// Takes the folder and decides; the result is `{skip, todo,
    /// relabeled: string[] (config keys), staleRemoved: number}`.
    pub fn plan(&self) -> Protocol {
        let (slot, run) = (Rc::clone(&self.plan), self.run.clone());
        Protocol(self.run.plan().map(move |plan| {
            let keys = serde_wasm_bindgen::to_value(&run.keys(&plan)).unwrap_or(JsValue::NULL);
            *slot.borrow_mut() = Some(plan);
            keys
        }))
    }

    /// Writes config `key` (its `writeTemp` step gets the file's pieces
    /// from the host); the result is the file's size.
    pub fn commit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<Protocol, JsValue> {
        let k = self.run.index(&string_arg(&key, "key")?).map_err(js_err)?;
        Ok(Protocol(
            self.run.commit(k).map(|n| JsValue::from_f64(n as f64)),
        ))
    }

    /// Gives the folder back (after a successful plan; nothing to do
    /// otherwise).
    pub fn release(&self) -> Protocol {
        let plan = self.plan.borrow_mut().take().unwrap_or_default();
        Protocol(self.run.release(&plan).map(|()| JsValue::UNDEFINED))
    }
}

#[wasm_bindgen]
impl Protocol {
    /// Advances: `reply` answers the step last returned (nothing on the
    /// first call), or `failure` says it failed (an Error). Returns the
    /// next step or `{done: true, value}`; throws the run's error.
    pub fn next(&mut self, reply: JsValue, failure: JsValue) -> Result<JsValue, JsValue> {
        let reply = match self.0.pending().map(|s| s.expects()) {
            None => None,
            Some(_) if !failure.is_undefined() && !failure.is_null() => {
                Some(host_failure(message(&failure)))
            }
            Some(kind) => Some(convert(kind, &reply)?),
        };
        match self.0.resume(reply) {
            Next::Step(s) => serde_wasm_bindgen::to_value(&s).map_err(|e| param_err("step", e)),
            Next::Done(r) => {
                let o = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&o, &"done".into(), &true.into());
                let _ = js_sys::Reflect::set(&o, &"value".into(), &r.map_err(js_err)?);
                Ok(o.into())
            }
        }
    }
}

fn message(failure: &JsValue) -> String {
    js_sys::Reflect::get(failure, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{failure:?}"))
}

/// A store's reply as the step that asked for it expects it.
fn convert(kind: ReplyKind, v: &JsValue) -> Result<Reply, JsValue> {
    let bad = |what: &str| param_err("reply", format!("the store's reply is not {what}"));
    Ok(match kind {
        ReplyKind::Done => Reply::Done,
        ReplyKind::Flag => Reply::Flag(v.as_bool().ok_or_else(|| bad("a boolean"))?),
        ReplyKind::Names => Reply::Names(
            serde_wasm_bindgen::from_value(v.clone()).map_err(|_| bad("an array of names"))?,
        ),
        ReplyKind::Bytes => Reply::Bytes(
            v.dyn_ref::<js_sys::Uint8Array>()
                .ok_or_else(|| bad("a Uint8Array"))?
                .to_vec(),
        ),
        ReplyKind::Text if v.is_null() || v.is_undefined() => Reply::Text(None),
        ReplyKind::Text => Reply::Text(Some(v.as_string().ok_or_else(|| bad("a string or null"))?)),
        ReplyKind::Size => Reply::Size(
            v.as_f64()
                .filter(|n| *n >= 0.0)
                .ok_or_else(|| bad("a size in bytes"))? as u64,
        ),
    })
}
