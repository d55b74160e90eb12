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
    plan: Rc<RefCell<Option<Plan>>>,
}

enum Job {
    Plan(Task<Plan>),
    Commit(Task<u64>),
    Release(Task<()>),
}

/// One protocol task (a plan, a config's commit, a release), stepped by
/// the host.
#[wasm_bindgen]
pub struct Protocol {
    job: Job,
    run: Option<Rc<RefCell<Option<Plan>>>>,
    keys: Vec<String>,
}

#[wasm_bindgen]
impl Labeler {
    /// The run protocol of this grid into the folder `folder` describes:
    /// `{display, id, owner, lock: "file" | "service" | "none"}`.
    pub fn run(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "{display: string, id: string, owner: string, lock: string}"
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
        match fxlabel::run::shards(self.rows(), self.row_group_size(), workers, parquet) {
            Some(v) => serde_wasm_bindgen::to_value(&v).unwrap_or(JsValue::NULL),
            None => JsValue::NULL,
        }
    }
}

#[wasm_bindgen]
impl Run {
    /// Takes the folder and decides; the result is `{skip: string[] (keys
    /// already saved), todo: string[] (keys to write), relabeled:
    /// string[], staleRemoved: number}`.
    pub fn plan(&self) -> Protocol {
        Protocol {
            job: Job::Plan(self.run.plan()),
            run: Some(Rc::clone(&self.plan)),
            keys: (0..self.run.len())
                .map(|k| self.run.key(k).to_string())
                .collect(),
        }
    }

    /// Writes config `key` (its `writeTemp` step gets the file's pieces from
    /// the host); the result is the file's size.
    pub fn commit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    ) -> Result<Protocol, JsValue> {
        let k = self.run.index(&string_arg(&key, "key")?).map_err(js_err)?;
        Ok(Protocol {
            job: Job::Commit(self.run.commit(k)),
            run: None,
            keys: Vec::new(),
        })
    }

    /// Gives the folder back (after a successful plan; nothing to do
    /// otherwise).
    pub fn release(&self) -> Protocol {
        let plan = self.plan.borrow_mut().take().unwrap_or_default();
        Protocol {
            job: Job::Release(self.run.release(&plan)),
            run: None,
            keys: Vec::new(),
        }
    }
}

#[wasm_bindgen]
impl Protocol {
    /// Advances: `reply` answers the step last returned (nothing on the
    /// first call), or `failure` says it failed (an Error). Returns the
    /// next step or `{done: true, value}`; throws the run's error.
    pub fn next(&mut self, reply: JsValue, failure: JsValue) -> Result<JsValue, JsValue> {
        let pending = match &self.job {
            Job::Plan(t) => t.pending().map(|s| s.expects()),
            Job::Commit(t) => t.pending().map(|s| s.expects()),
            Job::Release(t) => t.pending().map(|s| s.expects()),
        };
        let reply = match pending {
            None => None,
            Some(_) if !failure.is_undefined() && !failure.is_null() => {
                Some(host_failure(message(&failure)))
            }
            Some(kind) => Some(convert(kind, &reply)?),
        };
        let step = match &mut self.job {
            Job::Plan(t) => match t.resume(reply) {
                Next::Step(s) => s,
                Next::Done(r) => {
                    let plan = r.map_err(js_err)?;
                    let value = plan_value(&plan, &self.keys);
                    if let Some(slot) = &self.run {
                        *slot.borrow_mut() = Some(plan);
                    }
                    return Ok(done(value));
                }
            },
            Job::Commit(t) => match t.resume(reply) {
                Next::Step(s) => s,
                Next::Done(r) => return Ok(done(JsValue::from_f64(r.map_err(js_err)? as f64))),
            },
            Job::Release(t) => match t.resume(reply) {
                Next::Step(s) => s,
                Next::Done(r) => return r.map(|()| done(JsValue::UNDEFINED)).map_err(js_err),
            },
        };
        serde_wasm_bindgen::to_value(&step).map_err(|e| param_err("step", e))
    }
}

fn done(value: JsValue) -> JsValue {
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"done".into(), &true.into());
    let _ = js_sys::Reflect::set(&o, &"value".into(), &value);
    o.into()
}

fn message(failure: &JsValue) -> String {
    js_sys::Reflect::get(failure, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{failure:?}"))
}

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
        ReplyKind::Text => Reply::Text(if v.is_null() || v.is_undefined() {
            None
        } else {
            Some(v.as_string().ok_or_else(|| bad("a string or null"))?)
        }),
        ReplyKind::Size => Reply::Size(
            v.as_f64()
                .filter(|n| *n >= 0.0)
                .ok_or_else(|| bad("a size in bytes"))? as u64,
        ),
    })
}

fn plan_value(plan: &Plan, keys: &[String]) -> JsValue {
    let pick = |skip: bool| -> js_sys::Array {
        plan.skip
            .iter()
            .zip(keys)
            .filter(|(s, _)| **s == skip)
            .map(|(_, k)| JsValue::from_str(k))
            .collect()
    };
    let o = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&o, &k.into(), &v);
    };
    set("skip", pick(true).into());
    set("todo", pick(false).into());
    set(
        "relabeled",
        plan.relabeled
            .iter()
            .map(|k| JsValue::from_str(k))
            .collect::<js_sys::Array>()
            .into(),
    );
    set("staleRemoved", JsValue::from_f64(plan.stale_removed as f64));
    o.into()
}
