//! The learned-model module's export: [`LearnedModel`], a model trained on outcomes
//! (`brim train --output`, Python's `LearnedModel.save`, or a model of `brim serve`'s
//! registry), loaded to score leads or table rows with probabilities and the features behind
//! them.

use brim_core::Lead;
use brim_core::learn::{self, LearnError, Table};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::{js_error, json_text, lead_error, parse_json, parse_leads};

/// How many features an explanation lists unless asked.
const EXPLAIN: usize = 5;

fn learn_error(e: &LearnError) -> JsValue {
    match e {
        LearnError::Model(_) => js_error("ModelError", &e.to_string(), &[]),
        _ => js_error("InputError", &e.to_string(), &[]),
    }
}

/// A learned model, checked and ready to predict.
#[wasm_bindgen]
pub struct LearnedModel {
    model: learn::LearnedModel,
}

fn explained(p: f64, contributions: &[learn::FeatureContribution]) -> JsValue {
    let out = Object::new();
    let list = Array::new();
    for c in contributions {
        let item = Object::new();
        let _ = Reflect::set(&item, &"feature".into(), &JsValue::from_str(&c.feature));
        let _ = Reflect::set(
            &item,
            &"contribution".into(),
            &JsValue::from_f64(c.contribution),
        );
        list.push(&item);
    }
    let _ = Reflect::set(&out, &"probability".into(), &JsValue::from_f64(p));
    let _ = Reflect::set(&out, &"contributions".into(), &list);
    out.into()
}

#[wasm_bindgen]
impl LearnedModel {
    /// A saved model from its JSON text or the parsed object; a file that is not one (or is
    /// damaged) throws a `ModelError` saying why.
    pub fn parse(source: JsValue) -> Result<LearnedModel, JsValue> {
        let text = json_text(&source, "model", "a learned model's JSON text or object")?;
        let model = learn::LearnedModel::from_json(&text).map_err(|e| learn_error(&e))?;
        Ok(LearnedModel { model })
    }

    /// The model's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.model.name.clone()
    }

    /// The model's version.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> String {
        self.model.version.clone()
    }

    /// What the model is: name, version, learner, label, rows, the cross-validated evaluation
    /// (ROC-AUC, log-loss, calibration, lift), its strongest features, leak warnings and the
    /// columns it reads.
    pub fn info(&self) -> JsValue {
        let m = &self.model;
        let info = serde_json::json!({
            "name": m.name,
            "version": m.version,
            "learner": m.learner.to_string(),
            "label": m.label,
            "trained_at": m.trained_at,
            "n_rows": m.n_rows,
            "n_positive": m.n_positive,
            "evaluation": m.evaluation,
            "top_features": m.top_features,
            "leak_warnings": m.leak_warnings,
            "columns": m.columns(),
        });
        parse_json(&info.to_string())
    }

    /// The probability of converting of each lead (an array of lead objects or its JSON
    /// text), in order; a bad lead throws a `LeadError` naming its index and field.
    #[wasm_bindgen(js_name = predictLeads)]
    pub fn predict_leads(&self, leads: JsValue) -> Result<Vec<f64>, JsValue> {
        let text = json_text(&leads, "leads", "an array of lead objects or its JSON text")?;
        let leads = parse_leads(&text)?;
        self.model
            .predict_leads(&leads)
            .map_err(|e| learn_error(&e))
    }

    /// One lead's probability and the `n` (default 5) features that moved it most:
    /// `{probability, contributions: [{feature, contribution}]}` (log-odds; positive raises).
    #[wasm_bindgen(js_name = explainLead)]
    pub fn explain_lead(&self, lead: JsValue, n: Option<usize>) -> Result<JsValue, JsValue> {
        let text = json_text(&lead, "lead", "a lead object or its JSON text")?;
        let lead = Lead::from_json(&text).map_err(|e| lead_error(&e, None))?;
        let (p, why) = self
            .model
            .explain_lead(&lead, n.unwrap_or(EXPLAIN))
            .map_err(|e| learn_error(&e))?;
        Ok(explained(p, &why))
    }

    /// The probability of each row of a table (an array of objects keyed by the model's column
    /// names, as the CSV it was trained on; numbers and booleans as such, `null` missing).
    #[wasm_bindgen(js_name = predictRows)]
    pub fn predict_rows(&self, rows: JsValue) -> Result<Vec<f64>, JsValue> {
        let text = json_text(&rows, "rows", "an array of row objects or its JSON text")?;
        let table = Table::from_json_rows(&text).map_err(|e| learn_error(&e))?;
        self.model.predict(&table).map_err(|e| learn_error(&e))
    }

    /// One table row's probability and the `n` (default 5) features that moved it most.
    #[wasm_bindgen(js_name = explainRow)]
    pub fn explain_row(&self, row: JsValue, n: Option<usize>) -> Result<JsValue, JsValue> {
        let text = json_text(&row, "row", "a row object or its JSON text")?;
        let table = Table::from_json_rows(&format!("[{text}]")).map_err(|e| learn_error(&e))?;
        if table.rows() != 1 {
            return Err(js_error("InputError", "row: expected one row object", &[]));
        }
        let p = self.model.predict(&table).map_err(|e| learn_error(&e))?;
        let why = self
            .model
            .explain(&table, 0, n.unwrap_or(EXPLAIN))
            .map_err(|e| learn_error(&e))?;
        Ok(explained(p[0], &why))
    }
}
