//! # brim-wasm
//!
//! wasm-bindgen bindings over `brim-core` for the npm package `brim-wasm`: a [`Model`] class that
//! scores leads, and a [`StreamScorer`] that scores a CSV or JSON-lines file pushed a chunk at a
//! time. Thin on purpose: values and errors are converted here, every decision is the core's.
//!
//! Values cross the boundary as JSON text: a JavaScript lead goes through `JSON.stringify` (the
//! engine's own, fast) and `Lead::from_json` (the same parser, and so the same error messages,
//! as `brim score`); a result is written by the same `serde` code as `brim score` and the HTTP
//! API and read back with `JSON.parse`. The package's `api.js` wraps these exports in the
//! documented functions (`score`, `scoreMany`, `presets`, `scoreCsv`, `scoreStream`).
//!
//! Bad input never panics: every failure becomes a JavaScript `Error` whose `name` says what
//! kind (`LeadError`, `ModelError`, `InputError`) and whose message names the field.
//!
//! Two modules are built from this crate, each its own `.wasm`: `scoring` (the default
//! package: `Model`, `StreamScorer`, `presets`) and `learned` (`LearnedModel`: a model trained
//! by `brim train`, loaded only by the users who import `brim-wasm/learn`), so that a learned
//! model costs nothing to those who score with the rules alone. Native builds (tests, clippy)
//! have both.

use std::cell::Cell;

use brim_core::{Lead, LeadError};
use js_sys::{JSON, Reflect};
use serde::de::{Deserializer as _, SeqAccess, Visitor};
use wasm_bindgen::prelude::*;

#[cfg(feature = "learned")]
mod learned;
#[cfg(feature = "scoring")]
mod scoring;

#[cfg(feature = "learned")]
pub use learned::LearnedModel;
#[cfg(feature = "scoring")]
pub use scoring::{Model, StreamScorer, presets};

/// Makes a JavaScript `Error` named `name` with `message` and extra properties.
pub(crate) fn js_error(name: &str, message: &str, props: &[(&str, JsValue)]) -> JsValue {
    let error: js_sys::Error = if name == "TypeError" {
        js_sys::TypeError::new(message).into()
    } else {
        let error = js_sys::Error::new(message);
        error.set_name(name);
        error
    };
    for (key, value) in props {
        // Setting a property on a fresh Error object cannot fail.
        let _ = Reflect::set(&error, &JsValue::from_str(key), value);
    }
    error.into()
}

pub(crate) fn lead_error(e: &LeadError, index: Option<usize>) -> JsValue {
    let mut props = vec![("field", JsValue::from_str(&e.field))];
    let message = match index {
        Some(i) => {
            props.push(("index", JsValue::from_f64(i as f64)));
            format!("leads[{i}]: {e}")
        }
        None => e.to_string(),
    };
    js_error("LeadError", &message, &props)
}

/// A value's JSON text: strings are taken as JSON text already, anything else goes through
/// `JSON.stringify`. `what` names the argument in errors.
pub(crate) fn json_text(value: &JsValue, what: &str, expected: &str) -> Result<String, JsValue> {
    if let Some(text) = value.as_string() {
        return Ok(text);
    }
    if value.is_undefined() || value.is_null() || value.is_function() || value.is_symbol() {
        return Err(js_error(
            "TypeError",
            &format!("{what}: expected {expected}, got {}", type_name(value)),
            &[],
        ));
    }
    // Throws for a BigInt or a cycle: that error goes to the caller as it is.
    let text = JSON::stringify(value)?;
    Ok(String::from(text))
}

fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        "null".into()
    } else {
        value.js_typeof().as_string().unwrap_or_else(|| "?".into())
    }
}

pub(crate) fn parse_json(text: &str) -> JsValue {
    // Our own serde output is always valid JSON.
    JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

/// Parses a JSON array of leads; an error names the element's index.
pub(crate) fn parse_leads(text: &str) -> Result<Vec<Lead>, JsValue> {
    struct Leads<'a>(&'a Cell<usize>);
    impl<'de> Visitor<'de> for Leads<'_> {
        type Value = Vec<Lead>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of lead objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Lead>, A::Error> {
            let mut leads = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(raw) = seq.next_element::<&serde_json::value::RawValue>()? {
                let lead = Lead::from_json(raw.get()).map_err(|e| {
                    serde::de::Error::custom(format_args!("\u{0}{}\u{0}{}", e.field, e.message))
                })?;
                leads.push(lead);
                self.0.set(self.0.get() + 1);
            }
            Ok(leads)
        }
    }
    let index = Cell::new(0);
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut de = serde_json::Deserializer::from_str(text);
    let result = de
        .deserialize_seq(Leads(&index))
        .and_then(|leads| de.end().map(|()| leads));
    result.map_err(|e| {
        let text = e.to_string();
        // A lead's own error was passed through as "\0field\0message".
        let mut parts = text.splitn(3, '\u{0}');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(field), Some(rest)) => {
                let message = rest.rfind(" at line ").map_or(rest, |i| &rest[..i]);
                lead_error(&LeadError::new(field, message), Some(index.get()))
            }
            _ => js_error(
                "LeadError",
                &format!("leads: expected a JSON array of lead objects: {text}"),
                &[("field", JsValue::from_str("leads"))],
            ),
        }
    })
}
