//! Scoring models as data: what a model file says, how it is loaded and how it is checked.
//!
//! A model has two categories of rules, `fit` and `intent`. Each rule reads one lead field and
//! tries its `cases` in order; the first case that matches gives the rule's points (and a
//! reason). When none matches, `otherwise` applies if given, else the rule gives no signal.
//! When the field is absent, the rule's `missing` outcome applies if given, else the model's
//! `missing` policy. Each category aggregates its signals (`mean`, `sum` or `max`) into
//! 0..=100, and `blend` mixes fit and intent into the total. See `docs/scoring.md`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, ModelProblem};
use crate::signals::SignalKind;

/// A complete scoring model. Load one with [`ScoringModel::from_toml`] or
/// [`ScoringModel::from_json`], or take a preset with [`ScoringModel::preset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringModel {
    /// A short name, e.g. `balanced`.
    pub name: String,
    /// The model's version; stored with every score.
    #[serde(default = "default_version")]
    pub version: String,
    /// What the model is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How absent fields count when a rule says nothing else.
    #[serde(default)]
    pub missing: MissingPolicy,
    /// The fields whose presence makes up the confidence; by default `company_name` and every
    /// field a rule reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_fields: Option<Vec<String>>,
    /// How fit and intent mix into the total.
    pub blend: Blend,
    /// When a total is high or medium priority.
    pub thresholds: Thresholds,
    /// Rules about who the company is (size, industry, ...).
    #[serde(default)]
    pub fit: Category,
    /// Rules about what the company is doing now (tools, hiring, news).
    #[serde(default)]
    pub intent: Category,
}

fn default_version() -> String {
    "1".to_string()
}

/// `total = fit × fit_weight + intent × intent_weight`, truncated. The weights add up to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Blend {
    /// Weight of the fit score.
    pub fit: f64,
    /// Weight of the intent score.
    pub intent: f64,
}

/// `total > high` → high priority; `total > medium` → medium priority; else monitor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Above this: `high_priority_outreach`.
    pub high: i32,
    /// Above this: `medium_priority_outreach`.
    pub medium: i32,
}

/// How an absent field counts when its rule has no `missing` outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingPolicy {
    /// Leave the rule out of its category (the original's behaviour): missing data neither
    /// helps nor hurts, and is listed as missing.
    #[default]
    Skip,
    /// Count the rule as 0 points: missing data pulls the category down.
    Zero,
}

/// How a category turns its signals into 0..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Weighted mean of the signals present, truncated (the original's "integer mean").
    #[default]
    Mean,
    /// Weighted sum, clamped to 0..=100: signals add up (and negative ones subtract).
    Sum,
    /// The strongest weighted signal.
    Max,
}

/// A category of rules.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Category {
    /// How the rules' points combine.
    #[serde(default)]
    pub aggregate: Aggregate,
    /// The rules, in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One rule over one lead field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Unique within the model; names the rule in explanations.
    pub id: String,
    /// The field read: `employee_count`, `industry`, `funding_stage`, `tech_stack`,
    /// `recent_job_posts`, `news_mentions`, `company_name`, `country`, `timezone`, `domain`,
    /// `contact`, `contact.name`, `contact.email`, `contact.title`, `signals` or
    /// `attributes.NAME`.
    pub field: String,
    /// Weight within the category (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub weight: f64,
    /// Tried in order; the first that matches decides.
    #[serde(default)]
    pub cases: Vec<Case>,
    /// Applies when the field is present and no case matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otherwise: Option<Outcome>,
    /// Applies when the field is absent (overrides the model's `missing` policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Outcome>,
}

fn one() -> f64 {
    1.0
}

fn is_one(w: &f64) -> bool {
    *w == 1.0
}

/// A condition and what it gives. Exactly one condition key is set: `min`/`max`, `any_of`,
/// `contains`, `signal`, `equals` or `present`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Case {
    /// Numeric range, inclusive lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Numeric range, inclusive upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The value (or, for a list, any item) equals one of these, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<String>>,
    /// The text (or any item of a list) contains one of these phrases, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<Vec<String>>,
    /// With `contains`: match whole words (default `true`), or any substring (`false`, as the
    /// original did, so that "DevOps" contains "ops").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<bool>,
    /// An intent signal was detected (field `signals`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<SignalKind>,
    /// With `signal = "funding_round"`: only these stages count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<String>>,
    /// With `signal = "funding_round"`: only rounds of at least this amount count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_amount: Option<f64>,
    /// A bool attribute has this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<bool>,
    /// The field is present (`true`) or absent (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// Points given when the case matches (-100..=100).
    pub points: i32,
    /// The reason sentence; may use `{value}`, `{matched}`, `{evidence}`, `{stage}`,
    /// `{amount}` and `{points}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the reason is listed as positive or negative (default: positive when
    /// points > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polarity: Option<Polarity>,
}

/// Points and a reason without a condition (for `otherwise` and `missing`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Points given (-100..=100).
    pub points: i32,
    /// The reason sentence (same placeholders as [`Case::reason`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Positive or negative (default: positive when points > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polarity: Option<Polarity>,
}

/// Which list of the reasoning a reason goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// A reason for the lead.
    Positive,
    /// A reason against the lead.
    Negative,
}

impl Polarity {
    pub(crate) fn resolve(explicit: Option<Polarity>, points: i32) -> Polarity {
        explicit.unwrap_or(if points > 0 {
            Polarity::Positive
        } else {
            Polarity::Negative
        })
    }
}

/// The type of value a field holds, which decides the conditions it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Number,
    Text,
    List,
    Contact,
    Signals,
    /// `attributes.NAME`: string, number or bool, known only per lead.
    Attribute,
}

pub(crate) const KNOWN_FIELDS: [(&str, FieldType); 15] = [
    ("company_name", FieldType::Text),
    ("employee_count", FieldType::Number),
    ("industry", FieldType::Text),
    ("funding_stage", FieldType::Text),
    ("tech_stack", FieldType::List),
    ("recent_job_posts", FieldType::List),
    ("news_mentions", FieldType::List),
    ("country", FieldType::Text),
    ("timezone", FieldType::Text),
    ("domain", FieldType::Text),
    ("contact", FieldType::Contact),
    ("contact.name", FieldType::Text),
    ("contact.email", FieldType::Text),
    ("contact.title", FieldType::Text),
    ("signals", FieldType::Signals),
];

pub(crate) fn field_type(field: &str) -> Option<FieldType> {
    if let Some(name) = field.strip_prefix("attributes.") {
        return (!name.is_empty()).then_some(FieldType::Attribute);
    }
    KNOWN_FIELDS
        .iter()
        .find(|(n, _)| *n == field)
        .map(|(_, t)| *t)
}

const PLACEHOLDERS: [&str; 6] = ["value", "matched", "evidence", "stage", "amount", "points"];

/// The four presets shipped with Brim, as model files.
pub const PRESETS: [(&str, &str); 4] = [
    ("balanced", include_str!("../presets/balanced.toml")),
    ("aggressive", include_str!("../presets/aggressive.toml")),
    ("conservative", include_str!("../presets/conservative.toml")),
    ("intent", include_str!("../presets/intent.toml")),
];

impl ScoringModel {
    /// A preset by name: `balanced` (the original methodology, exactly), `aggressive`,
    /// `conservative` or `intent`.
    ///
    /// ```
    /// let model = brim_core::ScoringModel::preset("balanced").unwrap();
    /// assert_eq!(model.blend.fit, 0.6);
    /// ```
    pub fn preset(name: &str) -> Result<ScoringModel, crate::Error> {
        let (_, text) = PRESETS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| crate::Error::UnknownPreset(name.to_string()))?;
        Ok(ScoringModel::from_toml(text)?)
    }

    /// The TOML text of a preset, as shipped (with its comments), for users to copy and edit.
    pub fn preset_toml(name: &str) -> Option<&'static str> {
        PRESETS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
    }

    /// Loads and checks a model from TOML text, listing every problem found.
    pub fn from_toml(text: &str) -> Result<ScoringModel, ModelError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| ModelError {
            problems: vec![ModelProblem {
                path: String::new(),
                message: format!("not valid TOML: {}", e.to_string().trim_end()),
            }],
        })?;
        let value = serde_json::to_value(table).map_err(|e| ModelError {
            problems: vec![ModelProblem {
                path: String::new(),
                message: format!("unsupported TOML value: {e}"),
            }],
        })?;
        Self::from_value(value)
    }

    /// Loads and checks a model from JSON text, listing every problem found.
    pub fn from_json(text: &str) -> Result<ScoringModel, ModelError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ModelError {
            problems: vec![ModelProblem {
                path: String::new(),
                message: format!("not valid JSON: {e}"),
            }],
        })?;
        Self::from_value(value)
    }

    /// Loads a model from TOML or JSON text, deciding by its first character.
    pub fn from_text(text: &str) -> Result<ScoringModel, ModelError> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_toml(text)
        }
    }

    fn from_value(value: serde_json::Value) -> Result<ScoringModel, ModelError> {
        let mut problems = Vec::new();
        let mut unknown = Vec::new();
        let mut on_unknown = |path: serde_ignored::Path<'_>| {
            unknown.push(render_ignored_path(&path));
        };
        let de = serde_ignored::Deserializer::new(value, &mut on_unknown);
        let parsed: Result<ScoringModel, _> = serde_path_to_error::deserialize(de);
        for path in unknown {
            let (parent, key) = match path.rsplit_once('.') {
                Some((p, k)) => (p.to_string(), k.to_string()),
                None => (String::new(), path.clone()),
            };
            problems.push(ModelProblem {
                path: parent,
                message: format!("unknown field `{key}`"),
            });
        }
        match parsed {
            Ok(model) => {
                problems.extend(model.problems());
                if problems.is_empty() {
                    Ok(model)
                } else {
                    Err(ModelError { problems })
                }
            }
            Err(e) => {
                let path = e.path().to_string();
                problems.push(ModelProblem {
                    path: if path == "." { String::new() } else { path },
                    message: e.into_inner().to_string(),
                });
                Err(ModelError { problems })
            }
        }
    }

    /// Writes the model as TOML.
    pub fn to_toml(&self) -> String {
        // Serialising plain structs of strings, numbers and lists to TOML cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks the model and returns every problem (empty when the model is valid).
    pub fn problems(&self) -> Vec<ModelProblem> {
        let mut out = Vec::new();
        let mut push = |path: String, message: String| out.push(ModelProblem { path, message });
        if self.name.trim().is_empty() {
            push("name".into(), "must not be empty".into());
        }
        let b = self.blend;
        for (key, w) in [("fit", b.fit), ("intent", b.intent)] {
            if !(w.is_finite() && (0.0..=1.0).contains(&w)) {
                push(
                    format!("blend.{key}"),
                    format!("expected a weight between 0 and 1, got {w}"),
                );
            }
        }
        if ((b.fit + b.intent) - 1.0).abs() > 1e-9 {
            push(
                "blend".into(),
                format!(
                    "fit + intent must add up to 1, got {} + {} = {}",
                    b.fit,
                    b.intent,
                    b.fit + b.intent
                ),
            );
        }
        let t = self.thresholds;
        if !(0..=100).contains(&t.medium) || !(0..=100).contains(&t.high) || t.medium >= t.high {
            push(
                "thresholds".into(),
                format!(
                    "expected 0 <= medium < high <= 100, got medium = {}, high = {}",
                    t.medium, t.high
                ),
            );
        }
        if self.fit.rules.is_empty() && self.intent.rules.is_empty() {
            push(
                "".into(),
                "the model has no rules: give fit.rules or intent.rules".into(),
            );
        }
        for (name, cat, weight) in [
            ("fit", &self.fit, b.fit),
            ("intent", &self.intent, b.intent),
        ] {
            if cat.rules.is_empty() && weight > 0.0 {
                push(
                    format!("{name}.rules"),
                    format!(
                        "empty rule list, but blend.{name} is {weight}: add rules or set blend.{name} = 0"
                    ),
                );
            }
        }
        let mut ids = BTreeSet::new();
        for (cat_name, cat) in [("fit", &self.fit), ("intent", &self.intent)] {
            for (i, rule) in cat.rules.iter().enumerate() {
                let path = format!("{cat_name}.rules[{i}]");
                if rule.id.trim().is_empty() {
                    push(format!("{path}.id"), "must not be empty".into());
                } else if !ids.insert(rule.id.clone()) {
                    push(
                        format!("{path}.id"),
                        format!("duplicate rule id {:?}: ids must be unique", rule.id),
                    );
                }
                rule_problems(rule, &path, &mut push);
            }
        }
        if let Some(fields) = &self.confidence_fields {
            if fields.is_empty() {
                push(
                    "confidence_fields".into(),
                    "empty list: name at least one field, or leave it out".into(),
                );
            }
            for (i, f) in fields.iter().enumerate() {
                if field_type(f).is_none() || f == "signals" {
                    push(
                        format!("confidence_fields[{i}]"),
                        format!("unknown field {f:?}; expected one of {}", field_list()),
                    );
                }
            }
        }
        out
    }
}

fn field_list() -> String {
    let mut names: Vec<&str> = KNOWN_FIELDS.iter().map(|(n, _)| *n).collect();
    names.push("attributes.NAME");
    names.join(", ")
}

fn rule_problems(rule: &Rule, path: &str, push: &mut impl FnMut(String, String)) {
    let ftype = field_type(&rule.field);
    if ftype.is_none() {
        push(
            format!("{path}.field"),
            format!(
                "unknown field {:?}; expected one of {}",
                rule.field,
                field_list()
            ),
        );
    }
    if !(rule.weight.is_finite() && rule.weight > 0.0) {
        push(
            format!("{path}.weight"),
            format!("expected a positive number, got {}", rule.weight),
        );
    }
    if rule.cases.is_empty() {
        push(
            format!("{path}.cases"),
            "empty case list: a rule needs at least one case".into(),
        );
    }
    for (key, outcome) in [("otherwise", &rule.otherwise), ("missing", &rule.missing)] {
        if let Some(o) = outcome {
            outcome_problems(
                o.points,
                o.reason.as_deref(),
                &format!("{path}.{key}"),
                push,
            );
        }
    }
    let mut ranges: Vec<(usize, f64, f64)> = Vec::new();
    for (j, case) in rule.cases.iter().enumerate() {
        let cpath = format!("{path}.cases[{j}]");
        outcome_problems(case.points, case.reason.as_deref(), &cpath, push);
        let conditions = [
            ("min/max", case.min.is_some() || case.max.is_some()),
            ("any_of", case.any_of.is_some()),
            ("contains", case.contains.is_some()),
            ("signal", case.signal.is_some()),
            ("equals", case.equals.is_some()),
            ("present", case.present.is_some()),
        ];
        let set: Vec<&str> = conditions
            .iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        if set.len() != 1 {
            push(
                cpath.clone(),
                format!(
                    "give exactly one condition of min/max, any_of, contains, signal, equals, present; got {}",
                    if set.is_empty() {
                        "none".to_string()
                    } else {
                        set.join(", ")
                    }
                ),
            );
        }
        let Some(ft) = ftype else { continue };
        let allowed = |cond: &str| -> bool {
            match cond {
                "min/max" => matches!(ft, FieldType::Number | FieldType::Attribute),
                "any_of" | "contains" => {
                    matches!(ft, FieldType::Text | FieldType::List | FieldType::Attribute)
                }
                "signal" => ft == FieldType::Signals,
                "equals" => ft == FieldType::Attribute,
                _ => true,
            }
        };
        for cond in &set {
            if !allowed(cond) {
                push(
                    cpath.clone(),
                    format!(
                        "condition `{cond}` does not apply to field {:?}",
                        rule.field
                    ),
                );
            }
        }
        if ft == FieldType::Signals && case.signal.is_none() && case.present.is_none() {
            push(
                cpath.clone(),
                "field \"signals\" takes `signal = \"<kind>\"` (funding_round, expansion, leadership_hire, ops_hiring, acquisition, layoffs)".into(),
            );
        }
        if case.min.is_some() || case.max.is_some() {
            let lo = case.min.unwrap_or(f64::NEG_INFINITY);
            let hi = case.max.unwrap_or(f64::INFINITY);
            if lo.is_nan() || hi.is_nan() || lo > hi {
                push(
                    cpath.clone(),
                    format!("min must not be greater than max, got min = {lo}, max = {hi}"),
                );
            } else {
                for &(k, plo, phi) in &ranges {
                    if lo <= phi && plo <= hi {
                        push(
                            cpath.clone(),
                            format!(
                                "range {} overlaps cases[{k}] ({}): ranges must not overlap",
                                show_range(lo, hi),
                                show_range(plo, phi)
                            ),
                        );
                    }
                }
                ranges.push((j, lo, hi));
            }
        }
        for (key, list) in [("any_of", &case.any_of), ("contains", &case.contains)] {
            if let Some(list) = list {
                if list.is_empty() {
                    push(
                        format!("{cpath}.{key}"),
                        "empty list: give at least one value".into(),
                    );
                }
                if let Some(k) = list.iter().position(|v| v.trim().is_empty()) {
                    push(
                        format!("{cpath}.{key}[{k}]"),
                        "empty string: it would match everything or nothing".into(),
                    );
                }
            }
        }
        if case.words.is_some() && case.contains.is_none() {
            push(
                format!("{cpath}.words"),
                "`words` only applies with `contains`".into(),
            );
        }
        if (case.stages.is_some() || case.min_amount.is_some())
            && case.signal != Some(SignalKind::FundingRound)
        {
            push(
                cpath.clone(),
                "`stages` and `min_amount` only apply with signal = \"funding_round\"".into(),
            );
        }
        if let Some(stages) = &case.stages
            && stages.is_empty()
        {
            push(
                format!("{cpath}.stages"),
                "empty list: give at least one stage".into(),
            );
        }
    }
}

fn show_range(lo: f64, hi: f64) -> String {
    let s = |v: f64| {
        if v.is_infinite() {
            String::new()
        } else {
            crate::lead::format_number(v)
        }
    };
    format!("{}..={}", s(lo), s(hi))
}

fn outcome_problems(
    points: i32,
    reason: Option<&str>,
    path: &str,
    push: &mut impl FnMut(String, String),
) {
    if !(-100..=100).contains(&points) {
        push(
            format!("{path}.points"),
            format!("expected -100..=100, got {points}"),
        );
    }
    if let Some(reason) = reason {
        let mut rest = reason;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                push(
                    format!("{path}.reason"),
                    "unclosed `{` in reason".to_string(),
                );
                break;
            };
            let name = &after[..close];
            if !PLACEHOLDERS.contains(&name) {
                push(
                    format!("{path}.reason"),
                    format!(
                        "unknown placeholder {{{name}}}; expected one of {{{}}}",
                        PLACEHOLDERS.join("}, {")
                    ),
                );
            }
            rest = &after[close + 1..];
        }
    }
}

fn render_ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", render_ignored_path(parent)),
        Path::Map { parent, key } => {
            let p = render_ignored_path(parent);
            if p.is_empty() {
                key.to_string()
            } else {
                format!("{p}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => render_ignored_path(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads_and_round_trips() {
        for (name, _) in PRESETS {
            let model = ScoringModel::preset(name).unwrap();
            assert_eq!(model.name, name);
            assert!(model.problems().is_empty());
            let again = ScoringModel::from_toml(&model.to_toml()).unwrap();
            assert_eq!(model, again, "TOML round trip of {name}");
            let again = ScoringModel::from_json(&model.to_json()).unwrap();
            assert_eq!(model, again, "JSON round trip of {name}");
        }
        assert!(ScoringModel::preset("nope").is_err());
    }

    #[test]
    fn a_wrong_model_lists_every_problem() {
        let text = r#"
            name = "broken"
            colour = "blue"
            [blend]
            fit = 0.7
            intent = 0.4
            [thresholds]
            high = 50
            medium = 60
            [fit]
            [[fit.rules]]
            id = "size"
            field = "employee_count"
            cases = [
              { min = 10, max = 100, points = 50 },
              { min = 90, max = 200, points = 80, reason = "Big: {size}" },
              { any_of = ["x"], points = 10 },
            ]
            [[fit.rules]]
            id = "size"
            field = "headcount"
            cases = []
            [intent]
            rules = []
        "#;
        let err = ScoringModel::from_toml(text).unwrap_err();
        let text = err.to_string();
        let expect = [
            ": unknown field `colour`",
            "blend: fit + intent must add up to 1",
            "thresholds: expected 0 <= medium < high <= 100",
            "intent.rules: empty rule list",
            "fit.rules[0].cases[1]: range 90..=200 overlaps cases[0] (10..=100)",
            "fit.rules[0].cases[1].reason: unknown placeholder {size}",
            "fit.rules[0].cases[2]: condition `any_of` does not apply to field \"employee_count\"",
            "fit.rules[1].id: duplicate rule id \"size\"",
            "fit.rules[1].field: unknown field \"headcount\"",
            "fit.rules[1].cases: empty case list",
        ];
        for e in expect {
            assert!(
                text.contains(e.trim_start_matches(": ")),
                "missing {e:?} in:\n{text}"
            );
        }
        assert!(err.problems.len() >= expect.len(), "{text}");
    }

    #[test]
    fn nested_unknown_fields_and_type_errors_are_located() {
        let err = ScoringModel::from_toml(
            r#"
            name = "m"
            [blend]
            fit = 1.0
            intent = 0.0
            [thresholds]
            high = 80
            medium = 60
            [[fit.rules]]
            id = "a"
            field = "industry"
            cases = [{ any_of = ["saas"], points = "many", colour = 1 }]
            [intent]
        "#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("fit.rules[0].cases[0].points"), "{text}");
    }

    #[test]
    fn json_and_toml_errors_are_reported_not_panicked() {
        assert!(ScoringModel::from_json("{").is_err());
        assert!(ScoringModel::from_toml("name = ").is_err());
        assert!(ScoringModel::from_text("[]").is_err());
        let err = ScoringModel::from_json(r#"{"name": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
    }
}
