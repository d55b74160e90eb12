//! Python bindings of fxlabel (`fxlabel._fxlabel`). This file only
//! converts types between Python and the Rust core; every rule lives in
//! the `fxlabel` crate, and the Python API around it is `fxlabel/`.

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use fxlabel::options::{Options, Spelling};
use fxlabel::run::fs::{self as store, Held, Status};
use fxlabel::{CandlesBuilder, Labeler};
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyCapsule, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::ops::ControlFlow;
use std::path::PathBuf;

create_exception!(
    _fxlabel,
    InputError,
    PyValueError,
    "Bad candles: `row` (0-based, or None) and `column` say where."
);
create_exception!(
    _fxlabel,
    ParameterError,
    PyValueError,
    "A bad option: `param` names it."
);
create_exception!(
    _fxlabel,
    MismatchError,
    PyValueError,
    "An existing file made with other settings or data: `key` names its config."
);
create_exception!(
    _fxlabel,
    FormatError,
    PyValueError,
    "A file that is not a readable input or label file."
);
create_exception!(
    _fxlabel,
    StorageError,
    PyOSError,
    "Reading or writing files failed (or encoding one)."
);
create_exception!(
    _fxlabel,
    BusyError,
    StorageError,
    "Another fxlabel run is writing to the folder."
);

/// The core's error as a Python exception with the fields of its kind.
fn py_err(py: Python<'_>, e: fxlabel::Error) -> PyErr {
    let msg = e.to_string();
    let err = match &e {
        fxlabel::Error::Input { .. } => InputError::new_err(msg),
        fxlabel::Error::Param { .. } => ParameterError::new_err(msg),
        fxlabel::Error::Mismatch { .. } => MismatchError::new_err(msg),
        fxlabel::Error::Format(_) => FormatError::new_err(msg),
        fxlabel::Error::Busy(_) => BusyError::new_err(msg),
        fxlabel::Error::Encoding(_) | fxlabel::Error::Io { .. } => StorageError::new_err(msg),
    };
    let v = err.value(py);
    let _ = v.setattr("kind", e.kind());
    match e {
        fxlabel::Error::Input { row, column, .. } => {
            let _ = v.setattr("row", row);
            let _ = v.setattr("column", column);
        }
        fxlabel::Error::Param { name, .. } => {
            let _ = v.setattr("param", name);
        }
        fxlabel::Error::Mismatch { key, .. } => {
            let _ = v.setattr("key", key);
        }
        _ => {}
    }
    err
}

/// A Python value as JSON for the core (floats through
/// `fxlabel::options::float_value`, so nan is refused, not defaulted);
/// numpy scalars pass through `__float__` / `__index__`.
fn json(v: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    use serde_json::Value;
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>()
        || (v.hasattr("__index__")?
            && !v.is_instance_of::<PyFloat>()
            && !v.is_instance_of::<PyString>())
    {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(Value::from(i));
        }
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(s.extract::<String>()?));
    }
    if let Ok(x) = v.extract::<f64>() {
        return Ok(fxlabel::options::float_value(x));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut m = serde_json::Map::new();
        for (k, x) in d.iter() {
            m.insert(k.str()?.extract::<String>()?, json(&x)?);
        }
        return Ok(Value::Object(m));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() || v.hasattr("__iter__")? {
        return v
            .try_iter()?
            .map(|x| json(&x?))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    Err(ParameterError::new_err(format!(
        "invalid parameter 'options': {} is not an option value",
        v.get_type().name()?
    )))
}

/// The options dict (snake_case names), read and validated by the core.
fn options(py: Python<'_>, opts: &Bound<'_, PyDict>) -> PyResult<(Options, fxlabel::ValidParams)> {
    let o = Options::from_json(json(opts.as_any())?, Spelling::Snake).map_err(|e| py_err(py, e))?;
    let p = o.validate(Spelling::Snake).map_err(|e| py_err(py, e))?;
    Ok((o, p))
}

/// Candles from a path (Parquet or CSV) or any object with
/// `__arrow_c_stream__` (pandas, polars, pyarrow), read batch by batch.
fn candles(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    o: &Options,
    p: &fxlabel::ValidParams,
) -> PyResult<fxlabel::Candles> {
    let mut b = CandlesBuilder::new();
    b.expect(p.needs());
    let tc = o.time_column.as_deref();
    if let Ok(path) = source.extract::<PathBuf>() {
        py.detach(|| fxlabel::input::read_path(&path, tc, &mut b))
            .map_err(|e| py_err(py, e))?;
    } else if source.hasattr("__arrow_c_stream__")? {
        let capsule = source.call_method0("__arrow_c_stream__")?;
        let capsule = capsule.cast::<PyCapsule>()?;
        let ptr = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
        // The capsule keeps the stream; moving it out leaves a released
        // stream behind, which the capsule's destructor ignores.
        let stream =
            unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr() as *mut FFI_ArrowArrayStream) };
        let reader = RecordBatchStreamReader::try_new(stream)
            .map_err(|e| FormatError::new_err(format!("cannot read the Arrow stream: {e}")))?;
        let mut batches = fxlabel::input::BatchReader::new(tc);
        for batch in reader {
            let batch = batch
                .map_err(|e| FormatError::new_err(format!("cannot read the Arrow stream: {e}")))?;
            batches.push(&batch, &mut b).map_err(|e| py_err(py, e))?;
        }
    } else {
        return Err(ParameterError::new_err(format!(
            "invalid parameter 'df': a {} is not candles (expected a pandas or polars DataFrame, a pyarrow Table or RecordBatchReader, an object with __arrow_c_stream__, or a path to a Parquet or CSV file)",
            source.get_type().name()?
        )));
    }
    py.detach(|| b.finish()).map_err(|e| py_err(py, e))
}

/// The options read, the candles of `source` read, and the shared work
/// done on up to `threads` threads (the GIL released for it): what every
/// entry point starts with.
fn labeler(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    opts: &Bound<'_, PyDict>,
    threads: usize,
) -> PyResult<(Labeler, fxlabel::EncodeOptions)> {
    let (o, p) = options(py, opts)?;
    let c = candles(py, source, &o, &p)?;
    let labeler = py
        .detach(|| Labeler::with_threads(c, p, threads))
        .map_err(|e| py_err(py, e))?;
    Ok((labeler, o.encode))
}

/// Labels `source` over the grid of `opts` into `out_dir`: the whole run,
/// as the native CLI does it, with the GIL released while labeling.
/// `progress(done, total, key)` is called after each config; Ctrl-C (or an
/// exception from `progress`) stops the run after the configs in flight.
/// Returns `(paths, written)`: every config's file in grid order, and the
/// keys written now.
#[pyfunction]
#[pyo3(signature = (source, out_dir, opts, overwrite=false, jobs=None, progress=None))]
fn label(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    out_dir: PathBuf,
    opts: &Bound<'_, PyDict>,
    overwrite: bool,
    jobs: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Vec<String>, Vec<String>)> {
    let jobs = store::jobs(jobs);
    let (labeler, enc) = labeler(py, source, opts, jobs)?;
    let held = py
        .detach(|| store::plan(&labeler, &enc, &out_dir, overwrite))
        .map_err(|e| py_err(py, e))?;
    let mut stopped: Option<PyErr> = None;
    let mut written = Vec::new();
    let summary = py.detach(|| {
        store::run(&labeler, &enc, &held, jobs, |pr| {
            if let Status::Written(_) = pr.status {
                written.push(pr.key.to_string());
            }
            Python::attach(|py| {
                let r = py.check_signals().and_then(|()| match &progress {
                    Some(f) => f.call1(py, (pr.done, pr.total, pr.key)).map(drop),
                    None => Ok(()),
                });
                match r {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        stopped.get_or_insert(e);
                        ControlFlow::Break(())
                    }
                }
            })
        })
    });
    drop(held);
    let summary = summary.map_err(|e| py_err(py, e))?;
    if let Some(e) = stopped.filter(|_| summary.cancelled) {
        return Err(e);
    }
    let paths = labeler
        .configs()
        .iter()
        .map(|c| {
            out_dir
                .join(fxlabel::run::file_name(c, enc.format))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    Ok((paths, written))
}

/// A run planned on the driver of a cluster: it holds the folder (its lock
/// names `owner`) until `release()`, while workers `commit` its configs.
#[pyclass(module = "fxlabel._fxlabel")]
struct Planned {
    held: Option<Held>,
    /// Keys to write, in the order to write them (the configs of one
    /// horizon together: they share its windows).
    #[pyo3(get)]
    todo: Vec<String>,
    /// Keys already saved.
    #[pyo3(get)]
    skipped: Vec<String>,
    /// The owner mark workers write under.
    #[pyo3(get)]
    owner: String,
}

#[pymethods]
impl Planned {
    /// Gives the folder back (also when the object is dropped).
    fn release(&mut self) {
        self.held = None;
    }
}

/// Plans a run of `source` into `out_dir` and holds the folder: see
/// [`Planned`].
#[pyfunction]
#[pyo3(signature = (source, out_dir, opts, overwrite=false))]
fn plan(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    out_dir: PathBuf,
    opts: &Bound<'_, PyDict>,
    overwrite: bool,
) -> PyResult<Planned> {
    let (labeler, enc) = labeler(py, source, opts, 1)?;
    let held = py
        .detach(|| store::plan(&labeler, &enc, &out_dir, overwrite))
        .map_err(|e| py_err(py, e))?;
    let keys = held.keys();
    Ok(Planned {
        todo: keys.todo,
        skipped: keys.skip,
        owner: held.owner().to_string(),
        held: Some(held),
    })
}

/// Writes the configs `keys` of a run planned by `plan` (in another
/// process, whose mark is `owner`): what a cluster task does. Returns
/// the sizes of the files.
#[pyfunction]
fn commit(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    out_dir: PathBuf,
    opts: &Bound<'_, PyDict>,
    keys: Vec<String>,
    owner: String,
) -> PyResult<Vec<u64>> {
    let (labeler, enc) = labeler(py, source, opts, 1)?;
    py.detach(|| store::commit_keys(&labeler, &enc, &out_dir, &owner, &keys))
        .map_err(|e| py_err(py, e))
}

/// The names a key's file may have, one per format (Parquet first).
#[pyfunction]
fn file_names(py: Python<'_>, key: &str) -> PyResult<Vec<String>> {
    fxlabel::run::file_names(key).map_err(|e| py_err(py, e))
}

/// The label files among a folder's `names`, in grid order: `(name, key)`.
#[pyfunction]
fn label_files(names: Vec<String>) -> Vec<(String, String)> {
    fxlabel::run::label_files(&names)
}

/// Whether a file is Parquet rather than CSV or Arrow IPC, from its name
/// and first bytes.
#[pyfunction]
#[pyo3(signature = (name, head))]
fn is_parquet(name: Option<String>, head: &[u8]) -> bool {
    fxlabel::input::is_parquet(name.as_deref(), head)
}

/// The command-line program (`python -m fxlabel`); returns its exit code.
#[pyfunction]
fn cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| fxlabel::cli::main(argv))
}

#[pymodule]
fn _fxlabel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(label, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(commit, m)?)?;
    m.add_function(wrap_pyfunction!(file_names, m)?)?;
    m.add_function(wrap_pyfunction!(label_files, m)?)?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add_function(wrap_pyfunction!(is_parquet, m)?)?;
    m.add_class::<Planned>()?;
    for (name, e) in [
        ("InputError", py.get_type::<InputError>()),
        ("ParameterError", py.get_type::<ParameterError>()),
        ("MismatchError", py.get_type::<MismatchError>()),
        ("FormatError", py.get_type::<FormatError>()),
        ("StorageError", py.get_type::<StorageError>()),
        ("BusyError", py.get_type::<BusyError>()),
    ] {
        m.add(name, e)?;
    }
    m.add("TIME_COLUMNS", fxlabel::input::TIME_COLUMNS.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
