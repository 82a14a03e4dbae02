//! The default package's exports: [`Model`] (a preset or your own model file, compiled),
//! [`StreamScorer`] (a CSV or JSON-lines file pushed a chunk at a time) and [`presets`].

use std::io::Write as _;

use brim_core::{InputError, Lead, LeadStream, ModelError, Row, ScoringModel, StreamFormat};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::{js_error, json_text, lead_error, parse_json, parse_leads};

fn model_error(e: &ModelError) -> JsValue {
    let problems = Array::new();
    for p in &e.problems {
        let o = Object::new();
        let _ = Reflect::set(&o, &"path".into(), &JsValue::from_str(&p.path));
        let _ = Reflect::set(&o, &"message".into(), &JsValue::from_str(&p.message));
        problems.push(&o);
    }
    js_error(
        "ModelError",
        &e.to_string(),
        &[("problems", problems.into())],
    )
}

fn core_error(e: &brim_core::Error) -> JsValue {
    match e {
        brim_core::Error::Lead(e) => lead_error(e, None),
        brim_core::Error::Model(e) => model_error(e),
        brim_core::Error::UnknownPreset(_) => js_error("ModelError", &e.to_string(), &[]),
    }
}

fn input_error(e: &InputError) -> JsValue {
    js_error(
        "InputError",
        &e.to_string(),
        &[("line", JsValue::from_f64(e.line as f64))],
    )
}

/// A scoring model, compiled and ready to score: a preset or a model file of your own.
#[wasm_bindgen]
pub struct Model {
    scorer: brim_core::Scorer,
}

#[wasm_bindgen]
impl Model {
    /// A preset by name: `balanced`, `aggressive`, `conservative` or `intent`.
    pub fn preset(name: &str) -> Result<Model, JsValue> {
        let scorer = brim_core::Scorer::preset(name).map_err(|e| core_error(&e))?;
        Ok(Model { scorer })
    }

    /// A model from TOML or JSON text, or from a plain object; an invalid model throws one
    /// `ModelError` listing every problem (`error.problems`).
    pub fn parse(source: JsValue) -> Result<Model, JsValue> {
        let model = if let Some(text) = source.as_string() {
            ScoringModel::from_text(&text)
        } else {
            ScoringModel::from_json(&json_text(
                &source,
                "model",
                "TOML or JSON text, or an object",
            )?)
        }
        .map_err(|e| model_error(&e))?;
        let scorer = brim_core::Scorer::new(model).map_err(|e| model_error(&e))?;
        Ok(Model { scorer })
    }

    /// The model's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.scorer.model().name.clone()
    }

    /// The model's version.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> String {
        self.scorer.model().version.clone()
    }

    /// The model as TOML text, to save and edit.
    #[wasm_bindgen(js_name = toToml)]
    pub fn to_toml(&self) -> String {
        self.scorer.model().to_toml()
    }

    /// The model as a plain object (so `JSON.stringify(model)` writes the model file).
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> JsValue {
        parse_json(&self.scorer.model().to_json())
    }

    /// Scores one lead (an object, or its JSON text): the report with reasons and contributions.
    pub fn score(&self, lead: JsValue) -> Result<JsValue, JsValue> {
        let text = json_text(&lead, "lead", "a lead object or its JSON text")?;
        let lead = Lead::from_json(&text).map_err(|e| lead_error(&e, None))?;
        let report = self.scorer.report(&lead);
        Ok(parse_json(
            &serde_json::to_string(&report).unwrap_or_default(),
        ))
    }

    /// Scores an array of leads (or its JSON text), in order. The first bad lead throws a
    /// `LeadError` naming its index and field.
    #[wasm_bindgen(js_name = scoreMany)]
    pub fn score_many(&self, leads: JsValue) -> Result<JsValue, JsValue> {
        let text = json_text(&leads, "leads", "an array of lead objects or its JSON text")?;
        let leads = parse_leads(&text)?;
        let reports = self.scorer.report_batch(&leads);
        Ok(parse_json(
            &serde_json::to_string(&reports).unwrap_or_default(),
        ))
    }
}

/// Scores a CSV or JSON-lines file pushed a chunk at a time (strings or bytes, split anywhere);
/// each push returns the rows it completed, in input order: `{results: [{row, start, end,
/// score}], errors: [{row, field, message}]}` (`start`..`end`: the row's bytes in the input).
/// `score` is the full report, or with `summary` only the numbers and the action (several
/// times faster; [`StreamScorer::report_for`] gives a row's full report from its bytes).
/// Only the record being read is kept between pushes.
#[wasm_bindgen]
pub struct StreamScorer {
    scorer: brim_core::Scorer,
    stream: LeadStream,
    summary: bool,
    rows: Vec<Row>,
    out: Vec<u8>,
}

#[wasm_bindgen]
impl StreamScorer {
    /// A scorer of `format` (`"csv"` or `"jsonl"`) with `model`; `summary` gives numbers only.
    #[wasm_bindgen(constructor)]
    pub fn new(model: &Model, format: &str, summary: bool) -> Result<StreamScorer, JsValue> {
        let format = match format {
            "csv" => StreamFormat::Csv,
            "jsonl" | "ndjson" => StreamFormat::JsonLines,
            other => {
                return Err(js_error(
                    "TypeError",
                    &format!("format: expected \"csv\" or \"jsonl\", got {other:?}"),
                    &[],
                ));
            }
        };
        Ok(StreamScorer {
            scorer: model.scorer.clone(),
            stream: LeadStream::new(format),
            summary,
            rows: Vec::new(),
            out: Vec::new(),
        })
    }

    /// Reads a chunk of text and scores the rows it completes.
    #[wasm_bindgen(js_name = pushText)]
    pub fn push_text(&mut self, chunk: &str) -> Result<JsValue, JsValue> {
        self.push_bytes(chunk.as_bytes())
    }

    /// Reads a chunk of bytes (UTF-8; may end inside a character) and scores the rows it
    /// completes.
    #[wasm_bindgen(js_name = pushBytes)]
    pub fn push_bytes(&mut self, chunk: &[u8]) -> Result<JsValue, JsValue> {
        let mut rows = std::mem::take(&mut self.rows);
        let result = self.stream.push(chunk, &mut rows);
        let scored = self.emit(&mut rows);
        self.rows = rows;
        result.map_err(|e| input_error(&e))?;
        Ok(scored)
    }

    /// Ends the input and scores the last row.
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let mut rows = std::mem::take(&mut self.rows);
        let result = self.stream.finish(&mut rows);
        let scored = self.emit(&mut rows);
        self.rows = rows;
        result.map_err(|e| input_error(&e))?;
        Ok(scored)
    }

    /// The full report for one row read again from its bytes (its `start`..`end` in the
    /// input), with the header this scorer has read; a bad row throws its `LeadError`.
    #[wasm_bindgen(js_name = reportFor)]
    pub fn report_for(&self, record: &[u8]) -> Result<JsValue, JsValue> {
        let lead = self
            .stream
            .read_again(record)
            .map_err(|e| lead_error(&e, None))?;
        let report = self.scorer.report(&lead);
        Ok(parse_json(
            &serde_json::to_string(&report).unwrap_or_default(),
        ))
    }

    /// Bytes read so far.
    #[wasm_bindgen(getter, js_name = bytesRead)]
    pub fn bytes_read(&self) -> f64 {
        self.stream.bytes_read() as f64
    }

    /// Rows (scored or not) read so far.
    #[wasm_bindgen(getter, js_name = rowsRead)]
    pub fn rows_read(&self) -> f64 {
        self.stream.rows_read() as f64
    }

    /// CSV header cells that are not lead fields, ignored.
    #[wasm_bindgen(getter, js_name = unknownColumns)]
    pub fn unknown_columns(&self) -> Vec<String> {
        self.stream.unknown_columns().to_vec()
    }

    /// Scores the rows read and writes them as `{results, errors}`.
    fn emit(&mut self, rows: &mut Vec<Row>) -> JsValue {
        self.out.clear();
        self.out.extend_from_slice(b"{\"results\":[");
        let mut first = true;
        for row in rows.iter() {
            if let Ok(lead) = &row.lead {
                if !first {
                    self.out.push(b',');
                }
                first = false;
                let _ = write!(
                    self.out,
                    "{{\"row\":{},\"start\":{},\"end\":{},\"score\":",
                    row.line, row.bytes.start, row.bytes.end
                );
                // Writing plain values into a Vec cannot fail.
                if self.summary {
                    let s = self.scorer.score(lead);
                    let _ = write!(
                        self.out,
                        "{{\"fit_score\":{},\"intent_score\":{},\"total_score\":{},\"confidence\":",
                        s.fit_score, s.intent_score, s.total_score
                    );
                    let _ = serde_json::to_writer(&mut self.out, &s.confidence);
                    self.out.extend_from_slice(b",\"action\":");
                    let _ = serde_json::to_writer(&mut self.out, &s.action);
                    self.out.push(b'}');
                } else {
                    let report = self.scorer.report(lead);
                    let _ = serde_json::to_writer(&mut self.out, &report);
                }
                self.out.push(b'}');
            }
        }
        self.out.extend_from_slice(b"],\"errors\":[");
        let mut first = true;
        for row in rows.iter() {
            if let Err(e) = &row.lead {
                if !first {
                    self.out.push(b',');
                }
                first = false;
                let _ = write!(self.out, "{{\"row\":{},\"field\":", row.line);
                let _ = serde_json::to_writer(&mut self.out, &e.field);
                self.out.extend_from_slice(b",\"message\":");
                let _ = serde_json::to_writer(&mut self.out, &e.message);
                self.out.push(b'}');
            }
        }
        self.out.extend_from_slice(b"]}");
        rows.clear();
        // Written by serde_json and the lines above: UTF-8 throughout.
        parse_json(&String::from_utf8_lossy(&self.out))
    }
}

/// The preset models' names.
#[wasm_bindgen]
pub fn presets() -> Vec<String> {
    brim_core::PRESETS
        .iter()
        .map(|(n, _)| (*n).to_string())
        .collect()
}
