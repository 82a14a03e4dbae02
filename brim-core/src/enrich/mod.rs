//! Enrichment, the pure half: what a data provider's answer says about a company
//! ([`ProviderConfig::record`]: paths into its JSON, value maps, list splitting), and how that
//! fills in a lead ([`merge`]): which fields are filled, which are left alone — **the lead's own
//! values always win** unless the caller names a field to overwrite — which values are refused
//! (over the [limits](crate::limits), or not a field a provider may set), and where each filled
//! value came from ([`Provenance`]: provider, the provider's own id, when it was fetched).
//!
//! The HTTP half (requests, keys, retries, rate limits, the cache) lives in the adapters: this
//! module does no I/O and reads no clock (`fetched_at` is the caller's).

mod config;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use config::{ConfigError, FieldMap, PRESETS, ProviderConfig, RequestSpec, preset};

use crate::{AttrValue, Lead};

/// A value a provider gave for a lead field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Found {
    /// A number (`employee_count`, a numeric attribute).
    Number(f64),
    /// Text.
    Text(String),
    /// A list (`tech_stack`, ...).
    List(Vec<String>),
    /// A flag (an attribute).
    Flag(bool),
}

/// What one provider said about one company, in lead fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderRecord {
    /// The provider's name (its configuration's).
    pub provider: String,
    /// The provider's own id for the company, when its answer has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// When the answer was fetched (Unix ms, the caller's clock).
    pub fetched_at: i64,
    /// Lead field (`employee_count`, `attributes.revenue`, ...) → value, in the configuration's
    /// order.
    pub values: Vec<(String, Found)>,
}

/// Where a lead's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The lead field it filled.
    pub field: String,
    /// The provider.
    pub provider: String,
    /// The provider's id for the company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// When the provider's answer was fetched (Unix ms).
    pub fetched_at: i64,
}

/// A value that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// The lead field.
    pub field: String,
    /// Why, in a sentence (a value is quoted at most 32 characters long).
    pub reason: String,
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MergeReport {
    /// Fields filled (or, when asked, overwritten) from the record, with their provenance.
    pub filled: Vec<Provenance>,
    /// Fields the lead already had with another value: the lead's own was kept.
    pub kept: Vec<String>,
    /// Values that were not used.
    pub refused: Vec<Refused>,
}

/// Which fields a provider's value may replace although the lead has one (by default none:
/// the lead's own values win).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MergePolicy {
    /// Lead fields the provider's value overwrites.
    pub overwrite: BTreeSet<String>,
}

impl MergePolicy {
    /// A policy overwriting `fields` (trimmed; empty names skipped); an error names the first
    /// that is not [enrichable] and lists those that are.
    pub fn overwriting<'a>(
        fields: impl IntoIterator<Item = &'a str>,
    ) -> Result<MergePolicy, String> {
        let mut overwrite = BTreeSet::new();
        for field in fields.into_iter().map(str::trim).filter(|f| !f.is_empty()) {
            if !enrichable(field) {
                return Err(format!(
                    "{} is not a field a provider may set ({}, or attributes.NAME)",
                    crate::quote(field),
                    ENRICHABLE.join(", ")
                ));
            }
            overwrite.insert(field.to_string());
        }
        Ok(MergePolicy { overwrite })
    }
}

/// The fields a provider may set: identity (`id`, `company_name`) and the person to write to
/// (`contact.*`) are the user's alone.
pub const ENRICHABLE: [&str; 9] = [
    "employee_count",
    "industry",
    "funding_stage",
    "tech_stack",
    "recent_job_posts",
    "news_mentions",
    "country",
    "domain",
    "timezone",
];

/// Whether a provider may set `field` (one of [`ENRICHABLE`] or `attributes.NAME`).
pub fn enrichable(field: &str) -> bool {
    ENRICHABLE.contains(&field) || Lead::attribute_key(field).is_some_and(|k| !k.is_empty())
}

/// The lead's current value of `field` as a [`Found`] (`None`: absent; an empty list is absent).
pub fn current(lead: &Lead, field: &str) -> Option<Found> {
    let text = |v: &Option<String>| v.clone().map(Found::Text);
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| Found::List(v.clone()));
    match field {
        "employee_count" => lead.employee_count.map(|n| Found::Number(n as f64)),
        "industry" => text(&lead.industry),
        "funding_stage" => text(&lead.funding_stage),
        "country" => text(&lead.country),
        "domain" => text(&lead.domain),
        "timezone" => text(&lead.timezone),
        "tech_stack" => list(&lead.tech_stack),
        "recent_job_posts" => list(&lead.recent_job_posts),
        "news_mentions" => list(&lead.news_mentions),
        other => Lead::attribute_key(other)
            .and_then(|k| lead.attributes.get(k))
            .map(|v| match v {
                AttrValue::Number(n) => Found::Number(*n),
                AttrValue::Bool(b) => Found::Flag(*b),
                AttrValue::Text(t) => Found::Text(t.clone()),
            }),
    }
}

/// Sets `field` of `lead` to `value`; an error says why the value does not fit the field.
fn set(lead: &mut Lead, field: &str, value: &Found) -> Result<(), String> {
    match (field, value) {
        ("employee_count", Found::Number(n)) => {
            if n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n < 1e15 {
                lead.employee_count = Some(*n as u64);
                Ok(())
            } else {
                Err(format!("expected a whole number >= 0, got {n}"))
            }
        }
        ("tech_stack" | "recent_job_posts" | "news_mentions", Found::List(items)) => {
            lead.set_list_field(field, items.iter().map(String::as_str));
            Ok(())
        }
        ("tech_stack" | "recent_job_posts" | "news_mentions", Found::Text(text)) => {
            lead.set_list_field(field, [text.as_str()]);
            Ok(())
        }
        (_, value) if Lead::attribute_key(field).is_some() => {
            let key = Lead::attribute_key(field).unwrap_or_default().to_string();
            let v = match value {
                Found::Number(n) if n.is_finite() => AttrValue::Number(*n),
                Found::Number(n) => return Err(format!("expected a finite number, got {n}")),
                Found::Flag(b) => AttrValue::Bool(*b),
                Found::Text(t) => AttrValue::Text(t.clone()),
                Found::List(items) => AttrValue::Text(items.join("; ")),
            };
            lead.attributes.insert(key, v);
            Ok(())
        }
        (_, Found::Text(text)) => lead
            .set_text_field(field, text)
            .map(|_| ())
            .map_err(|e| e.message),
        (_, Found::Number(n)) => lead
            .set_text_field(field, &n.to_string())
            .map(|_| ())
            .map_err(|e| e.message),
        (_, Found::Flag(b)) => Err(format!("expected text, got {b}")),
        (_, Found::List(_)) => Err("expected one value, got a list".into()),
    }
}

/// Whether a value says nothing (an empty text or list).
fn is_empty(value: &Found) -> bool {
    match value {
        Found::Text(t) => t.trim().is_empty(),
        Found::List(items) => items.iter().all(|i| i.trim().is_empty()),
        _ => false,
    }
}

/// Fills `lead` from `record`: each value of an [enrichable] field the lead lacks (or that
/// `policy` overwrites) is set, checked against the lead's own rules and
/// [limits](crate::limits) (a value that breaks them is refused and the field left as it was),
/// and recorded with its provenance. A field the lead already has keeps the lead's value
/// (listed in `kept` when the provider's differs). Empty values are skipped. The lead's other
/// fields are never touched, so merging the same record again changes nothing.
pub fn merge(lead: &mut Lead, record: &ProviderRecord, policy: &MergePolicy) -> MergeReport {
    let mut report = MergeReport::default();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (field, value) in &record.values {
        let field = field.trim();
        if !seen.insert(field) || is_empty(value) {
            continue;
        }
        if !enrichable(field) {
            report.refused.push(Refused {
                field: field.to_string(),
                reason: "not a field a provider may set (identity and contact are yours)".into(),
            });
            continue;
        }
        let before = current(lead, field);
        if before.is_some() && !policy.overwrite.contains(field) {
            let mut probe = Lead {
                company_name: "probe".into(),
                ..Lead::default()
            };
            let differs = set(&mut probe, field, value).is_ok() && current(&probe, field) != before;
            if differs {
                report.kept.push(field.to_string());
            }
            continue;
        }
        let mut candidate = lead.clone();
        let checked = set(&mut candidate, field, value).and_then(|()| {
            candidate.validate().map_err(|e| {
                if e.field == field || e.field.starts_with(&format!("{field}[")) {
                    e.message
                } else {
                    format!("{}: {}", e.field, e.message)
                }
            })
        });
        match checked {
            Err(reason) => report.refused.push(Refused {
                field: field.to_string(),
                reason,
            }),
            Ok(()) => {
                let changed = current(&candidate, field) != before;
                candidate.sources.insert(
                    field.to_string(),
                    crate::FieldSource {
                        provider: record.provider.clone(),
                        id: record.provider_id.as_deref().map(crate::limits::clip),
                        fetched_at: record.fetched_at,
                    },
                );
                *lead = candidate;
                if changed || before.is_none() {
                    report.filled.push(Provenance {
                        field: field.to_string(),
                        provider: record.provider.clone(),
                        provider_id: record.provider_id.clone(),
                        fetched_at: record.fetched_at,
                    });
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests;
