//! # brim-py
//!
//! PyO3 bindings over `brim-core` for the PyPI package `brim` (import name `brim`; this is its
//! native module `brim._brim`). Thin on purpose: values and errors are converted here, every
//! decision is the core's. The Python package (`python/brim/`) wraps these functions in the
//! documented API (`brim.score`, `brim.score_many`, `brim.Model`, `brim.spark`).
//!
//! - A single lead or a list of leads crosses as Python objects, read by the core's own lead
//!   deserialiser through `pythonize` (the same field-naming errors as `brim score` on JSON).
//! - A frame crosses as Arrow through the C data interface (`pyo3-arrow`): no Python object per
//!   row. Its columns are read as `brim score` reads a CSV file's ([`frame`]), and the scores
//!   come back as Arrow columns.
//! - Scoring releases the GIL and runs on this module's own rayon pool (never the global one),
//!   sized by [`set_threads`], else `BRIM_THREADS`, else the machine's cores; a forked child
//!   builds a fresh pool. Importing the module starts no thread and installs nothing.

mod frame;
mod learn;

use std::sync::{Arc, Mutex};

use brim_core::{Lead, LeadError, ModelError, Scorer, ScoringModel};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyMapping, PyString};
use pyo3_arrow::{PyTable, input::AnyRecordBatch};

pyo3::create_exception!(
    _brim,
    BrimError,
    PyException,
    "The base of every error that brim raises."
);
pyo3::create_exception!(
    _brim,
    ModelError_,
    BrimError,
    "A scoring model that was rejected; `.problems` lists every problem as (path, message)."
);
pyo3::create_exception!(
    _brim,
    LeadError_,
    BrimError,
    "A lead that failed validation; `.field` names the field, `.index` the row (None for one lead)."
);
pyo3::create_exception!(
    _brim,
    InputError_,
    BrimError,
    "Input that could not be read as leads at all (a frame without company_name, a column of an unusable type)."
);

/// A `LeadError` exception with `.field`, `.message` and `.index` set.
fn lead_error(py: Python<'_>, e: &LeadError, index: Option<usize>, what: &str) -> PyErr {
    let text = match (index, what) {
        (Some(i), "leads") => format!("leads[{i}]: {e}"),
        (Some(i), _) => format!("{what} {i}: {e}"),
        (None, _) => e.to_string(),
    };
    let err = LeadError_::new_err(text);
    let value = err.value(py);
    // Setting attributes on a fresh exception instance cannot fail.
    let _ = value.setattr("field", &e.field);
    let _ = value.setattr("message", &e.message);
    let _ = value.setattr("index", index);
    err
}

fn model_error(py: Python<'_>, e: &ModelError) -> PyErr {
    let err = ModelError_::new_err(e.to_string());
    let problems: Vec<(String, String)> = e
        .problems
        .iter()
        .map(|p| (p.path.clone(), p.message.clone()))
        .collect();
    let _ = err.value(py).setattr("problems", problems);
    err
}

fn core_error(py: Python<'_>, e: brim_core::Error) -> PyErr {
    match e {
        brim_core::Error::Lead(e) => lead_error(py, &e, None, "row"),
        brim_core::Error::Model(e) => model_error(py, &e),
        brim_core::Error::UnknownPreset(_) => {
            let err = ModelError_::new_err(e.to_string());
            let _ = err
                .value(py)
                .setattr("problems", vec![(String::new(), e.to_string())]);
            err
        }
    }
}

fn input_error(message: String) -> PyErr {
    InputError_::new_err(message)
}

// ---------------------------------------------------------------------------------------------
// Threads.

struct Pool {
    pid: u32,
    threads: usize,
    pool: Arc<rayon::ThreadPool>,
}

/// The thread count asked for with `set_threads` (0: not set).
static ASKED: Mutex<usize> = Mutex::new(0);
static POOL: Mutex<Option<Pool>> = Mutex::new(None);

fn default_threads() -> usize {
    std::env::var("BRIM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn wanted_threads() -> usize {
    match *ASKED.lock().unwrap_or_else(|e| e.into_inner()) {
        0 => default_threads(),
        n => n,
    }
}

/// The pool to score on: built on first use, again when the thread count changed, and in a
/// forked child (whose copy of the parent's pool has no threads: it is leaked, never dropped,
/// since its locks may have been held at the fork). Always a pool of our own, even of one
/// thread: parallel code run outside one would start rayon's global pool in the embedder's
/// process.
fn pool() -> PyResult<Arc<rayon::ThreadPool>> {
    let threads = wanted_threads();
    let pid = std::process::id();
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = slot.as_ref()
        && p.pid == pid
        && p.threads == threads
    {
        return Ok(p.pool.clone());
    }
    if let Some(old) = slot.take()
        && old.pid != pid
    {
        std::mem::forget(old);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("brim-{i}"))
        .build()
        .map_err(|e| BrimError::new_err(format!("could not start {threads} threads: {e}")))?;
    let pool = Arc::new(pool);
    *slot = Some(Pool {
        pid,
        threads,
        pool: pool.clone(),
    });
    Ok(pool)
}

/// Runs `f` on the pool, the GIL released.
fn on_pool<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    let pool = pool()?;
    Ok(py.detach(|| pool.install(f)))
}

/// Sets how many threads scoring uses: `n >= 1`, or `None` for the default (`BRIM_THREADS`,
/// else the machine's cores).
#[pyfunction]
#[pyo3(signature = (n))]
fn set_threads(n: Option<usize>) -> PyResult<()> {
    if n == Some(0) {
        return Err(PyValueError::new_err(
            "threads: expected a whole number >= 1, or None for the default, got 0",
        ));
    }
    *ASKED.lock().unwrap_or_else(|e| e.into_inner()) = n.unwrap_or(0);
    Ok(())
}

/// How many threads scoring uses now.
#[pyfunction]
fn get_threads() -> usize {
    wanted_threads()
}

// ---------------------------------------------------------------------------------------------
// Models.

/// A scoring model, compiled and ready to score: a preset or a model file of your own.
#[pyclass(frozen, module = "brim", name = "Model")]
pub struct Model {
    scorer: Arc<Scorer>,
}

impl Model {
    fn compile(py: Python<'_>, model: Result<ScoringModel, ModelError>) -> PyResult<Model> {
        let model = model.map_err(|e| model_error(py, &e))?;
        let scorer = Scorer::new(model).map_err(|e| model_error(py, &e))?;
        Ok(Model {
            scorer: Arc::new(scorer),
        })
    }
}

#[pymethods]
impl Model {
    /// A preset by name: `balanced`, `aggressive`, `conservative` or `intent`.
    #[staticmethod]
    fn preset(py: Python<'_>, name: &str) -> PyResult<Model> {
        let scorer = Scorer::preset(name).map_err(|e| core_error(py, e))?;
        Ok(Model {
            scorer: Arc::new(scorer),
        })
    }

    /// The names of the presets.
    #[staticmethod]
    fn presets() -> Vec<&'static str> {
        brim_core::PRESETS.iter().map(|(name, _)| *name).collect()
    }

    /// A model from TOML text.
    #[staticmethod]
    fn from_toml(py: Python<'_>, text: &str) -> PyResult<Model> {
        Model::compile(py, ScoringModel::from_toml(text))
    }

    /// A model from JSON text.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Model> {
        Model::compile(py, ScoringModel::from_json(text))
    }

    /// A model from TOML or JSON text (told apart by its first character).
    #[staticmethod]
    fn from_text(py: Python<'_>, text: &str) -> PyResult<Model> {
        Model::compile(py, ScoringModel::from_text(text))
    }

    /// A model from a `.toml` or `.json` file.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Model> {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            pyo3::exceptions::PyOSError::new_err(format!(
                "could not read the model file {}: {e}",
                path.display()
            ))
        })?;
        let parsed = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => ScoringModel::from_json(&text),
            Some("toml") => ScoringModel::from_toml(&text),
            _ => ScoringModel::from_text(&text),
        };
        Model::compile(py, parsed)
    }

    /// The model as TOML text, to save and edit.
    fn to_toml(&self) -> String {
        self.scorer.model().to_toml()
    }

    /// The model as JSON text (what `from_json` reads; what Spark ships to its executors).
    fn to_json(&self) -> String {
        self.scorer.model().to_json()
    }

    /// The model's name.
    #[getter]
    fn name(&self) -> String {
        self.scorer.model().name.clone()
    }

    /// The model's version.
    #[getter]
    fn version(&self) -> String {
        self.scorer.model().version.clone()
    }

    fn __repr__(&self) -> String {
        let m = self.scorer.model();
        format!("brim.Model(name={:?}, version={:?})", m.name, m.version)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<Model>() {
            Ok(o) => o.get().scorer.model() == self.scorer.model(),
            Err(_) => false,
        }
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.scorer.model().to_json().hash(&mut h);
        h.finish()
    }

    /// Pickles as its JSON text (so a model travels to multiprocessing workers).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let from_json = slf.get_type().getattr("from_json")?;
        Ok((from_json, (slf.get().to_json(),)))
    }
}

// ---------------------------------------------------------------------------------------------
// Leads as Python objects.

/// Reads one lead from a dict (or any mapping) or its JSON text.
fn lead_from_py(obj: &Bound<'_, PyAny>) -> Result<Lead, LeadError> {
    if let Ok(text) = obj.cast::<PyString>() {
        let text = text
            .to_cow()
            .map_err(|_| LeadError::new("(json)", "expected UTF-8 text"))?;
        return Lead::from_json(&text);
    }
    if !(obj.is_instance_of::<PyDict>() || obj.cast::<PyMapping>().is_ok()) {
        let type_name = obj
            .get_type()
            .qualname()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        return Err(LeadError::new(
            "(lead)",
            format!("expected a dict with company_name (or its JSON text), got {type_name}"),
        ));
    }
    // A float NaN is pandas' "missing" (`df.to_dict("records")` is full of them): such a key
    // is left out, as a null would be, rather than refused as a number where text belongs.
    if let Ok(dict) = obj.cast::<PyDict>()
        && dict.iter().any(|(_, v)| is_nan(&v))
    {
        let clean = PyDict::new(obj.py());
        for (k, v) in dict.iter() {
            if !is_nan(&v) {
                clean
                    .set_item(k, v)
                    .map_err(|e| LeadError::new("(lead)", e.to_string()))?;
            }
        }
        return depythonize_lead(clean.as_any());
    }
    depythonize_lead(obj)
}

fn is_nan(value: &Bound<'_, PyAny>) -> bool {
    value.cast::<PyFloat>().is_ok_and(|f| f.value().is_nan())
}

fn depythonize_lead(obj: &Bound<'_, PyAny>) -> Result<Lead, LeadError> {
    pythonize::depythonize::<Lead>(obj).map_err(|e| {
        let text = e.to_string();
        match text.split_once(": ") {
            Some((field, rest)) if is_field_path(field) => LeadError::new(field, rest),
            _ => LeadError::new("(lead)", text),
        }
    })
}

fn is_field_path(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '(' | ')'))
}

fn report_to_py<'py>(
    py: Python<'py>,
    report: &brim_core::ScoreReport,
) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, report)
        .map_err(|e| BrimError::new_err(format!("could not convert a score to Python: {e}")))
}

/// Scores one lead (a dict or its JSON text): the report with reasons and contributions, as
/// a dict in the HTTP API's shape.
#[pyfunction]
fn score<'py>(
    py: Python<'py>,
    lead: &Bound<'py, PyAny>,
    model: &Model,
) -> PyResult<Bound<'py, PyAny>> {
    let lead = lead_from_py(lead).map_err(|e| lead_error(py, &e, None, "row"))?;
    let report = model.scorer.report(&lead);
    report_to_py(py, &report)
}

/// Scores a list (or any iterable) of leads, in order. `errors`: `raise` (the first bad lead,
/// naming its index), `skip` or `collect`. Returns `(reports, errors)`; `reports` has the good
/// leads only, `errors` the bad ones (empty unless `collect`).
#[pyfunction]
fn score_list<'py>(
    py: Python<'py>,
    leads: &Bound<'py, PyAny>,
    model: &Model,
    errors: &str,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
    let mode = ErrorMode::parse(errors)?;
    let mut good = Vec::new();
    let bad = PyList::empty(py);
    for (i, item) in leads.try_iter()?.enumerate() {
        match lead_from_py(&item?) {
            Ok(lead) => good.push(lead),
            Err(e) => match mode {
                ErrorMode::Raise => return Err(lead_error(py, &e, Some(i), "leads")),
                ErrorMode::Skip => {}
                ErrorMode::Collect => {
                    bad.append(lead_error(py, &e, Some(i), "leads").into_value(py))?
                }
            },
        }
    }
    let scorer = model.scorer.clone();
    let reports = on_pool(py, move || scorer.report_batch(&good))?;
    let out = PyList::empty(py);
    for r in &reports {
        out.append(report_to_py(py, r)?)?;
    }
    Ok((out, bad))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ErrorMode {
    Raise,
    Skip,
    Collect,
}

impl ErrorMode {
    fn parse(text: &str) -> PyResult<ErrorMode> {
        match text {
            "raise" => Ok(ErrorMode::Raise),
            "skip" => Ok(ErrorMode::Skip),
            "collect" => Ok(ErrorMode::Collect),
            other => Err(PyValueError::new_err(format!(
                "errors: expected \"raise\", \"skip\" or \"collect\", got {other:?}"
            ))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Frames.

/// What `score_arrow` returns: the scores, the kept rows' positions (when a row was left out),
/// the collected errors.
type ScoredArrow<'py> = (
    Bound<'py, PyAny>,
    Option<Bound<'py, PyAny>>,
    Bound<'py, PyList>,
);

/// Scores Arrow data (a table, a record batch, a stream: anything with `__arrow_c_stream__` or
/// `__arrow_c_array__`). Returns `(scores, kept, errors)`: `scores` a `pyarrow.Table` of the
/// score columns, one row per good input row in order; `kept` the input positions of those rows
/// (a `pyarrow.Table` with one column `row`) when a bad row was left out, else None; `errors`
/// the bad rows' `LeadError`s (empty unless `collect`). `detail`: `full` (company_id, the scores
/// and the reasons) or `summary` (the five score columns). `offset` is added to row numbers in
/// errors (for a stream scored a batch at a time).
#[pyfunction]
#[pyo3(signature = (data, model, detail = "full", errors = "raise", offset = 0))]
fn score_arrow<'py>(
    py: Python<'py>,
    data: AnyRecordBatch,
    model: &Model,
    detail: &str,
    errors: &str,
    offset: usize,
) -> PyResult<ScoredArrow<'py>> {
    let mode = ErrorMode::parse(errors)?;
    let summary = is_summary(detail)?;
    let reader = data.into_reader()?;
    let schema = reader.schema();
    let columns = frame::Columns::plan(&schema).map_err(input_error)?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch.map_err(|e| input_error(format!("could not read the data: {e}")))?);
    }
    let scorer = model.scorer.clone();
    let stop_at_first = mode == ErrorMode::Raise;
    let scored = on_pool(py, move || {
        frame::score_batches(&scorer, &columns, &batches, summary, stop_at_first)
    })?
    .map_err(input_error)?;
    if let (ErrorMode::Raise, Some((row, e))) = (mode, scored.errors.first()) {
        return Err(lead_error(py, e, Some(row + offset), "row"));
    }
    let bad = PyList::empty(py);
    if mode == ErrorMode::Collect {
        for (row, e) in &scored.errors {
            bad.append(lead_error(py, e, Some(row + offset), "row").into_value(py))?;
        }
    }
    let table = PyTable::try_new(scored.batches, scored.schema)?.into_pyarrow(py)?;
    let kept = match scored.kept {
        Some(kept) => Some(PyTable::try_new(vec![kept.clone()], kept.schema())?.into_pyarrow(py)?),
        None => None,
    };
    Ok((table, kept, bad))
}

/// `detail`: `full` (false) or `summary` (true).
fn is_summary(detail: &str) -> PyResult<bool> {
    match detail {
        "full" => Ok(false),
        "summary" => Ok(true),
        other => Err(PyValueError::new_err(format!(
            "detail: expected \"full\" or \"summary\", got {other:?}"
        ))),
    }
}

/// The lead columns of a frame's column names, in order: the names that `brim score` reads in
/// a CSV header (`company_name`, `contact.email`, `attributes.NAME`, ...) and the struct
/// columns `contact` and `attributes`. An `InputError` when there is no `company_name` column
/// or a lead column is named twice (naming every column of the frame).
#[pyfunction]
fn lead_columns(names: Vec<String>) -> PyResult<Vec<String>> {
    frame::check_names(&names).map_err(input_error)?;
    Ok(names
        .into_iter()
        .filter(|n| frame::is_lead_column(n))
        .collect())
}

/// The names of the columns `score_arrow` appends, for `detail`.
#[pyfunction]
#[pyo3(signature = (detail = "full"))]
fn score_columns(detail: &str) -> PyResult<Vec<String>> {
    let schema = frame::out_schema(is_summary(detail)?);
    Ok(schema.fields().iter().map(|f| f.name().clone()).collect())
}

#[pymodule]
fn _brim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("BrimError", py.get_type::<BrimError>())?;
    m.add("ModelError", py.get_type::<ModelError_>())?;
    m.add("LeadError", py.get_type::<LeadError_>())?;
    m.add("InputError", py.get_type::<InputError_>())?;
    m.add_class::<Model>()?;
    m.add_class::<learn::PyLearnedModel>()?;
    m.add_function(wrap_pyfunction!(learn::train_columns, m)?)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(score_list, m)?)?;
    m.add_function(wrap_pyfunction!(score_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(lead_columns, m)?)?;
    m.add_function(wrap_pyfunction!(score_columns, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_threads, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
