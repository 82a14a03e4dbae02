//! `brim.train` and `brim.LearnedModel`: brim-core's learned scoring, for tables that come
//! from Python as columns (lists of None, numbers, booleans or text; the Python layer turns
//! pandas, polars, pyarrow and lists of dicts into them).

use std::sync::Arc;

use brim_core::learn::{self, LearnError, Learner, Table, TrainOptions, Values};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

fn learn_error(py: Python<'_>, e: LearnError) -> PyErr {
    match e {
        LearnError::Model(_) => {
            let err = crate::ModelError_::new_err(e.to_string());
            let _ = err
                .value(py)
                .setattr("problems", vec![(String::new(), e.to_string())]);
            err
        }
        other => crate::input_error(other.to_string()),
    }
}

/// Columns from Python: a column whose every present value is a number (or a bool) is numeric;
/// any other becomes text (`str()` of each value). `None` and NaN are missing.
fn table(names: Vec<String>, columns: Vec<Vec<Bound<'_, PyAny>>>) -> PyResult<Table> {
    if names.len() != columns.len() {
        return Err(crate::input_error(format!(
            "{} names for {} columns",
            names.len(),
            columns.len()
        )));
    }
    let mut out = Vec::with_capacity(columns.len());
    for (name, column) in names.iter().zip(columns) {
        let numeric = column
            .iter()
            .all(|v| v.is_none() || v.is_instance_of::<PyFloat>() || v.is_instance_of::<PyInt>());
        if numeric {
            let mut values = Vec::with_capacity(column.len());
            for v in &column {
                values.push(if v.is_none() {
                    None
                } else if v.is_instance_of::<PyBool>() {
                    Some(if v.extract::<bool>()? { 1.0 } else { 0.0 })
                } else {
                    let x: f64 = v.extract().map_err(|_| {
                        crate::input_error(format!(
                            "column {}: a number too large for a float",
                            brim_core::quote(name)
                        ))
                    })?;
                    x.is_finite().then_some(x)
                });
            }
            out.push(Values::Numbers(values));
        } else {
            let mut values = Vec::with_capacity(column.len());
            for v in &column {
                let missing =
                    v.is_none() || (v.is_instance_of::<PyFloat>() && v.extract::<f64>()?.is_nan());
                values.push(if missing {
                    None
                } else if v.is_instance_of::<PyString>() {
                    Some(v.extract::<String>()?)
                } else {
                    Some(v.str()?.to_string())
                });
            }
            out.push(Values::Texts(values));
        }
    }
    Ok(Table {
        names,
        columns: out,
    })
}

/// A trained model: `predict`, `explain`, its metrics, and JSON to save.
#[pyclass(module = "brim._brim", frozen, name = "LearnedModel")]
pub struct PyLearnedModel {
    inner: Arc<learn::LearnedModel>,
}

#[pymethods]
impl PyLearnedModel {
    /// Reads a saved model (what `to_json` and `brim train --output` write).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<PyLearnedModel> {
        learn::LearnedModel::from_json(text)
            .map(|m| PyLearnedModel { inner: Arc::new(m) })
            .map_err(|e| learn_error(py, e))
    }

    /// The model as JSON.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// Probabilities of converting, one per row of the columns.
    fn predict_columns(
        &self,
        py: Python<'_>,
        names: Vec<String>,
        columns: Vec<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<Vec<f64>> {
        let table = table(names, columns)?;
        let model = self.inner.clone();
        py.detach(move || model.predict(&table))
            .map_err(|e| learn_error(py, e))
    }

    /// The features that moved row `row` most: (feature, contribution to the log-odds).
    fn explain_columns(
        &self,
        py: Python<'_>,
        names: Vec<String>,
        columns: Vec<Vec<Bound<'_, PyAny>>>,
        row: usize,
        n: usize,
    ) -> PyResult<Vec<(String, f64)>> {
        let table = table(names, columns)?;
        self.inner
            .explain(&table, row, n)
            .map(|v| v.into_iter().map(|c| (c.feature, c.contribution)).collect())
            .map_err(|e| learn_error(py, e))
    }

    /// Everything known of its quality and make, as a dict.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = &self.inner;
        let value = serde_json::json!({
            "name": m.name,
            "version": m.version,
            "trained_at": m.trained_at,
            "label": m.label,
            "learner": m.learner.to_string(),
            "n_rows": m.n_rows,
            "n_positive": m.n_positive,
            "evaluation": m.evaluation,
            "top_features": m.top_features,
            "leak_warnings": m.leak_warnings,
            "columns": m.encoder.features.iter().map(|f| f.column.clone()).collect::<Vec<_>>(),
        });
        pythonize::pythonize(py, &value).map_err(|e| crate::input_error(e.to_string()))
    }

    fn __repr__(&self) -> String {
        let m = &self.inner;
        format!(
            "LearnedModel(name={:?}, version={:?}, learner={}, label={:?}, n_rows={}{})",
            m.name,
            m.version,
            m.learner,
            m.label,
            m.n_rows,
            m.evaluation
                .as_ref()
                .map(|e| format!(", roc_auc={:.4}", e.roc_auc))
                .unwrap_or_default()
        )
    }
}

/// Trains (after `cv` folds of cross-validation, unless 0) on the columns.
#[pyfunction]
#[pyo3(signature = (names, columns, label, drop, learner, seed, min_class, cv, skip_unknown, now_ms, name))]
#[allow(clippy::too_many_arguments)]
pub fn train_columns(
    py: Python<'_>,
    names: Vec<String>,
    columns: Vec<Vec<Bound<'_, PyAny>>>,
    label: String,
    drop: Vec<String>,
    learner: &str,
    seed: u64,
    min_class: usize,
    cv: usize,
    skip_unknown: bool,
    now_ms: i64,
    name: String,
) -> PyResult<PyLearnedModel> {
    let learner = Learner::from_name(learner).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "learner: expected \"ensemble\", \"logistic\" or \"boosted\", got {}",
            brim_core::quote(learner)
        ))
    })?;
    let table = table(names, columns)?;
    let options = TrainOptions {
        drop,
        learner,
        seed,
        min_per_class: min_class,
        skip_unknown_labels: skip_unknown,
        ..TrainOptions::new(label)
    };
    let trained = py.detach(move || -> Result<learn::LearnedModel, LearnError> {
        let evaluation = if cv > 0 {
            Some(learn::cross_validate(&table, &options, cv)?)
        } else {
            None
        };
        let mut model = learn::train(&table, &options, now_ms)?;
        model.evaluation = evaluation;
        Ok(model)
    });
    let mut model = trained.map_err(|e| learn_error(py, e))?;
    model.name = name;
    model.version = now_ms.to_string();
    Ok(PyLearnedModel {
        inner: Arc::new(model),
    })
}
