//! Leads as a table: the features a learned model reads from Brim's own lead records (what the
//! store holds and `POST /api/report-outcome` labels).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{FeatureContribution, LearnError, Table, Values};
use crate::{AttrValue, Lead, ScoreReport, Scorer, SignalKind, extract_signals};

/// A learned model's part in a score ([`ScoreReport::learned`]): what it predicted, why, and
/// how much of the total it makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedScore {
    /// The learned model's name.
    pub model: String,
    /// Its version.
    pub version: String,
    /// The probability of converting it gives the lead (four decimals).
    pub probability: f64,
    /// Its share of the total, 0..=1 (1: the total is the probability in per cent).
    pub weight: f64,
    /// The rule-based total before blending.
    pub rule_score: u8,
    /// The features that moved the probability most, strongest first (log-odds).
    pub contributions: Vec<FeatureContribution>,
}

/// The columns of [`lead_table`] that are not one per tool, signal kind or attribute.
const LEAD_COLUMNS: [&str; 9] = [
    "employee_count",
    "industry",
    "funding_stage",
    "country",
    "contact.title",
    "has contact email",
    "tech_stack items",
    "recent_job_posts items",
    "news_mentions items",
];

/// Whether [`lead_table`] can give a column named `name`: a model that reads other columns
/// (one trained on a CRM export's own columns) finds them missing in every lead.
pub fn is_lead_column(name: &str) -> bool {
    LEAD_COLUMNS.contains(&name)
        || ["uses ", "signal ", "attributes."]
            .iter()
            .any(|p| name.strip_prefix(p).is_some_and(|rest| !rest.is_empty()))
}

/// How many features a blended score lists.
pub const BLEND_REASONS: usize = 5;

/// The prefix of a tool's indicator column: `uses zapier`.
pub const TOOL_PREFIX: &str = "uses ";

/// A tool seen in fewer leads than this gets no column of its own.
const RARE_TOOL: usize = 5;

/// `leads` as a table, with `label` (1/0) as a column named `converted` when given.
///
/// Columns: `employee_count`; `industry`, `funding_stage`, `country`, `contact.title`
/// (categories); `has contact email`; one `uses TOOL` indicator per tool (lower-cased) used by
/// at least five leads; counts of `tech_stack`,
/// `recent_job_posts` and `news_mentions` items; per intent signal kind, how many the lead
/// shows (`signal funding_round`, ...); and each custom attribute, numeric or text. A list that
/// is empty is unknown (missing), as the lead's own docs say.
///
/// With `like` (a model's column names), the tool and signal columns are that model's, so that
/// a prediction sees the columns it was trained on (a tool no lead of the batch uses is 0 for
/// each, not missing).
pub fn lead_table(leads: &[Lead], label: Option<&[bool]>, like: Option<&[String]>) -> Table {
    let mut names: Vec<String> = Vec::new();
    let mut columns: Vec<Values> = Vec::new();
    let mut push = |name: &str, values: Values| {
        names.push(name.to_string());
        columns.push(values);
    };
    push(
        "employee_count",
        Values::Numbers(
            leads
                .iter()
                .map(|l| l.employee_count.map(|n| n as f64))
                .collect(),
        ),
    );
    let text = |f: fn(&Lead) -> Option<&String>| {
        Values::Texts(leads.iter().map(|l| f(l).cloned()).collect())
    };
    push("industry", text(|l| l.industry.as_ref()));
    push("funding_stage", text(|l| l.funding_stage.as_ref()));
    push("country", text(|l| l.country.as_ref()));
    push(
        "contact.title",
        text(|l| l.contact.as_ref().and_then(|c| c.title.as_ref())),
    );
    push(
        "has contact email",
        Values::Numbers(
            leads
                .iter()
                .map(|l| {
                    Some(f64::from(u8::from(
                        l.contact.as_ref().is_some_and(|c| c.email.is_some()),
                    )))
                })
                .collect(),
        ),
    );
    // Tools: the model's, or the ones used often enough here.
    let tool_names: Vec<String> = match like {
        Some(columns) => columns
            .iter()
            .filter_map(|c| c.strip_prefix(TOOL_PREFIX).map(str::to_string))
            .collect(),
        None => {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for lead in leads {
                let mut seen: Vec<String> = lead
                    .tech_stack
                    .iter()
                    .map(|t| t.trim().to_lowercase())
                    .collect();
                seen.sort();
                seen.dedup();
                for t in seen {
                    *counts.entry(t).or_default() += 1;
                }
            }
            counts
                .into_iter()
                .filter(|(t, n)| *n >= RARE_TOOL && !t.is_empty())
                .map(|(t, _)| t)
                .collect()
        }
    };
    for tool in &tool_names {
        push(
            &format!("{TOOL_PREFIX}{tool}"),
            Values::Numbers(
                leads
                    .iter()
                    .map(|l| {
                        (!l.tech_stack.is_empty()).then(|| {
                            f64::from(u8::from(
                                l.tech_stack
                                    .iter()
                                    .any(|t| t.trim().to_lowercase() == *tool),
                            ))
                        })
                    })
                    .collect(),
            ),
        );
    }
    let count = |f: fn(&Lead) -> &Vec<String>| {
        Values::Numbers(
            leads
                .iter()
                .map(|l| (!f(l).is_empty()).then(|| f(l).len() as f64))
                .collect(),
        )
    };
    push("tech_stack items", count(|l| &l.tech_stack));
    push("recent_job_posts items", count(|l| &l.recent_job_posts));
    push("news_mentions items", count(|l| &l.news_mentions));
    // Intent signals, by kind.
    let signals: Vec<Vec<SignalKind>> = leads
        .iter()
        .map(|l| extract_signals(l).into_iter().map(|s| s.kind).collect())
        .collect();
    let kind_name = |kind: SignalKind| {
        serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{kind:?}"))
    };
    let mut kinds: Vec<SignalKind> = signals.iter().flatten().copied().collect();
    kinds.sort_by_key(|k| kind_name(*k));
    kinds.dedup();
    let mut kind_names: Vec<(Option<SignalKind>, String)> =
        kinds.iter().map(|&k| (Some(k), kind_name(k))).collect();
    if let Some(columns) = like {
        // The model's signal columns; a kind none of these leads shows counts 0.
        kind_names = columns
            .iter()
            .filter_map(|c| c.strip_prefix("signal "))
            .map(|n| {
                (
                    kinds.iter().copied().find(|&k| kind_name(k) == n),
                    n.to_string(),
                )
            })
            .collect();
    }
    for (kind, name) in kind_names {
        push(
            &format!("signal {name}"),
            Values::Numbers(
                signals
                    .iter()
                    .map(|s| Some(s.iter().filter(|k| Some(**k) == kind).count() as f64))
                    .collect(),
            ),
        );
    }
    // Custom attributes.
    let mut keys: Vec<&String> = leads.iter().flat_map(|l| l.attributes.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let values: Vec<Option<&AttrValue>> = leads.iter().map(|l| l.attributes.get(key)).collect();
        let numeric = values
            .iter()
            .flatten()
            .all(|v| matches!(v, AttrValue::Number(_) | AttrValue::Bool(_)));
        let column = if numeric {
            Values::Numbers(
                values
                    .iter()
                    .map(|v| match v {
                        Some(AttrValue::Number(n)) => Some(*n),
                        Some(AttrValue::Bool(b)) => Some(f64::from(u8::from(*b))),
                        _ => None,
                    })
                    .collect(),
            )
        } else {
            Values::Texts(values.iter().map(|v| v.map(|v| v.to_string())).collect())
        };
        push(&format!("attributes.{key}"), column);
    }
    if let Some(label) = label {
        push(
            "converted",
            Values::Numbers(
                label
                    .iter()
                    .map(|&b| Some(f64::from(u8::from(b))))
                    .collect(),
            ),
        );
    }
    Table { names, columns }
}

impl super::LearnedModel {
    /// The columns this model reads.
    pub fn columns(&self) -> Vec<String> {
        self.encoder
            .features
            .iter()
            .map(|f| f.column.clone())
            .collect()
    }

    /// The columns this model reads that no lead gives ([`is_lead_column`]).
    pub fn foreign_columns(&self) -> Vec<String> {
        self.columns()
            .into_iter()
            .filter(|c| !is_lead_column(c))
            .collect()
    }

    /// The probability of converting of each lead (for a model trained on [`lead_table`]).
    pub fn predict_leads(&self, leads: &[Lead]) -> Result<Vec<f64>, LearnError> {
        self.predict(&lead_table(leads, None, Some(&self.columns())))
    }

    /// One lead's probability of converting and the `n` features that moved it most.
    pub fn explain_lead(
        &self,
        lead: &Lead,
        n: usize,
    ) -> Result<(f64, Vec<FeatureContribution>), LearnError> {
        let table = lead_table(std::slice::from_ref(lead), None, Some(&self.columns()));
        let p = self.predict(&table)?;
        Ok((p[0], self.explain(&table, 0, n)?))
    }

    /// Blends this model into `reports` (the rule scorer's reports of `leads`, in order): each
    /// total becomes `(1 - weight) × rule total + weight × 100 × probability`, rounded, and its
    /// action follows from `scorer`'s thresholds; fit, intent, confidence and the rule
    /// explanation stay as the rules gave them, and [`ScoreReport::learned`] records the
    /// probability, the weight, the rule total and the [`BLEND_REASONS`] strongest features.
    /// `weight` is clamped to 0..=1. On an error (lengths that differ, a table the model cannot
    /// read) no report is changed.
    pub fn blend(
        &self,
        scorer: &Scorer,
        leads: &[Lead],
        reports: &mut [ScoreReport],
        weight: f64,
    ) -> Result<(), LearnError> {
        if leads.len() != reports.len() {
            return Err(LearnError::Input(format!(
                "{} leads for {} reports",
                leads.len(),
                reports.len()
            )));
        }
        let weight = if weight.is_finite() {
            weight.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let table = lead_table(leads, None, Some(&self.columns()));
        let p = self.predict(&table)?;
        // Every explanation first: an error leaves the reports as they were.
        let explained = (0..leads.len())
            .map(|row| self.explain(&table, row, BLEND_REASONS))
            .collect::<Result<Vec<_>, _>>()?;
        for ((report, contributions), p) in reports.iter_mut().zip(explained).zip(p) {
            let rule = report.total_score;
            let total = ((1.0 - weight) * f64::from(rule) + weight * 100.0 * p).round();
            report.total_score = total.clamp(0.0, 100.0) as u8;
            report.action = scorer.action_for(report.total_score);
            report.learned = Some(LearnedScore {
                model: self.name.clone(),
                version: self.version.clone(),
                probability: (p * 1e4).round() / 1e4,
                weight,
                rule_score: rule,
                contributions: contributions
                    .into_iter()
                    .map(|c| FeatureContribution {
                        contribution: (c.contribution * 1e4).round() / 1e4,
                        ..c
                    })
                    .collect(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leads_become_columns_and_a_model_trained_on_them_predicts_them() {
        let mut leads = Vec::new();
        let mut converted = Vec::new();
        for i in 0..400 {
            let tools = if i % 2 == 0 {
                r#"["Zapier", "AWS"]"#
            } else {
                r#"["AWS"]"#
            };
            let lead = Lead::from_json(&format!(
                r#"{{"company_name": "C{i}", "employee_count": {}, "industry": "{}",
                    "tech_stack": {tools}, "recent_job_posts": {},
                    "attributes": {{"plan": "{}", "seats": {}}}}}"#,
                10 + i % 300,
                ["SaaS", "Retail"][i % 2],
                if i % 3 == 0 {
                    r#"["Head of Operations"]"#
                } else {
                    "[]"
                },
                ["pro", "free"][i % 2],
                i % 40
            ))
            .unwrap();
            leads.push(lead);
            converted.push(i % 2 == 0 && i % 3 != 1);
        }
        let table = lead_table(&leads, Some(&converted), None);
        for name in &table.names {
            assert!(is_lead_column(name) || name == "converted", "{name}");
        }
        assert!(!is_lead_column("Lead Source") && !is_lead_column("uses "));
        for name in [
            "employee_count",
            "industry",
            "uses zapier",
            "uses aws",
            "recent_job_posts items",
            "signal ops_hiring",
            "attributes.plan",
            "attributes.seats",
            "converted",
        ] {
            assert!(table.column(name).is_some(), "{name} in {:?}", table.names);
        }
        // An empty list is unknown, not zero.
        match table.column("recent_job_posts items").unwrap() {
            Values::Numbers(v) => assert_eq!((v[0], v[1]), (Some(1.0), None)),
            other => panic!("{other:?}"),
        }
        let options = super::super::TrainOptions {
            min_per_class: 10,
            ..super::super::TrainOptions::new("converted")
        };
        let model = super::super::train(&table, &options, 0).unwrap();
        assert!(model.columns().contains(&"uses zapier".to_string()));
        assert!(model.foreign_columns().is_empty());
        let p = model.predict_leads(&leads[..2]).unwrap();
        assert!(p[0] > p[1], "{p:?}");
        // One lead alone: the tool columns are the model's, not the lead's.
        let one = model.predict_leads(&leads[1..2]).unwrap();
        assert!((one[0] - p[1]).abs() < 1e-12);
        let (p1, why) = model.explain_lead(&leads[1], 3).unwrap();
        assert!((p1 - p[1]).abs() < 1e-12 && !why.is_empty() && why.len() <= 3);

        // Blending: weight 0 keeps the rule total, 1 is the probability in per cent, and the
        // action follows the rule model's thresholds.
        let scorer = Scorer::preset("balanced").unwrap();
        let rules = scorer.report_batch(&leads[..2]);
        for weight in [0.0, 0.5, 1.0, 7.0] {
            let mut reports = rules.clone();
            model
                .blend(&scorer, &leads[..2], &mut reports, weight)
                .unwrap();
            for (i, r) in reports.iter().enumerate() {
                let w = weight.min(1.0);
                let want = ((1.0 - w) * f64::from(rules[i].total_score) + w * 100.0 * p[i]).round();
                assert_eq!(f64::from(r.total_score), want, "weight {weight}");
                assert_eq!(r.action, scorer.action_for(r.total_score));
                assert_eq!(
                    (r.fit_score, &r.reasoning),
                    (rules[i].fit_score, &rules[i].reasoning)
                );
                let learned = r.learned.as_ref().unwrap();
                assert_eq!(
                    (learned.rule_score, learned.weight),
                    (rules[i].total_score, w)
                );
                assert!((learned.probability - p[i]).abs() < 1e-4);
                assert!(!learned.contributions.is_empty());
                assert!(learned.contributions.len() <= BLEND_REASONS);
            }
        }
        let mut short = rules.clone();
        assert!(model.blend(&scorer, &leads[..1], &mut short, 1.0).is_err());
        assert_eq!(short, rules);
    }
}
