//! The scoring engine: a [`Scorer`] is a model compiled for speed; [`Scorer::score`] gives the
//! numbers and which rules fired, [`Scorer::explain`] turns that into reason sentences, and
//! [`Scorer::report`] gives both in the original's JSON shape.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::error::ModelError;
use crate::lead::{AttrValue, Lead, format_number};
use crate::model::{
    Aggregate, Case, MissingPolicy, Outcome as OutcomeSpec, Polarity, Rule, ScoringModel,
};
use crate::signals::{Signal, SignalKind, extract_signals};
use crate::text::{Phrase, Substrings, find_equal, fold, words};

/// What to do with a lead, from its total score and the model's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `total > thresholds.high`.
    HighPriorityOutreach,
    /// `total > thresholds.medium`.
    MediumPriorityOutreach,
    /// Everything else.
    LowPriorityMonitoring,
}

impl Action {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::HighPriorityOutreach => "high_priority_outreach",
            Action::MediumPriorityOutreach => "medium_priority_outreach",
            Action::LowPriorityMonitoring => "low_priority_monitoring",
        }
    }

    /// Every action, best first.
    pub const ALL: [Action; 3] = [
        Action::HighPriorityOutreach,
        Action::MediumPriorityOutreach,
        Action::LowPriorityMonitoring,
    ];

    /// The actions that reach out (`*_outreach`), not watch (`*_monitoring`): by default only
    /// their leads get an e-mail.
    pub const OUTREACH: [Action; 2] =
        [Action::HighPriorityOutreach, Action::MediumPriorityOutreach];

    /// Whether the action is one of [`Action::OUTREACH`].
    pub fn is_outreach(self) -> bool {
        Action::OUTREACH.contains(&self)
    }

    /// The action named `name` (its snake_case name, as in JSON).
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// The two categories of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryName {
    /// Who the company is.
    Fit,
    /// What it is doing now.
    Intent,
}

/// How a rule came to give points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `cases[n]` matched.
    Matched(u16),
    /// The field was present and no case matched.
    Otherwise,
    /// The field was absent.
    Missing,
}

/// One rule's part in a score (compact: the rule is an index into the scorer's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contribution {
    /// Index of the rule (fit rules first, then intent rules).
    pub rule: u16,
    /// Which case, `otherwise` or `missing`.
    pub outcome: Outcome,
    /// Points given.
    pub points: i32,
    /// Whether the points count in the category (an absent field under the `skip` policy
    /// does not).
    pub counted: bool,
}

/// A score: the numbers and which rules fired. Cheap to compute; no strings.
/// [`Scorer::explain`] turns it into sentences.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Fit, 0..=100.
    pub fit_score: u8,
    /// Intent, 0..=100.
    pub intent_score: u8,
    /// The blend of fit and intent, 0..=100.
    pub total_score: u8,
    /// Share of the model's inputs that were present, 0..=1, two decimals.
    pub confidence: f64,
    /// What to do.
    pub action: Action,
    /// Every rule that gave a signal (or was missing), in rule order.
    pub contributions: SmallVec<[Contribution; 8]>,
}

/// The reasons behind a score, as the original listed them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reasoning {
    /// Reasons for the lead.
    pub positive: Vec<String>,
    /// Reasons against the lead.
    pub negative: Vec<String>,
    /// Fields the model reads that the lead lacks.
    pub missing: Vec<String>,
}

/// How a rule's contribution came about, in an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// One of the rule's cases matched (see `case`).
    Matched,
    /// The field was present and no case matched.
    Otherwise,
    /// The field was absent.
    Missing,
}

/// One rule's part in a score, spelled out (its reason sentence is in [`Reasoning`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContributionDetail {
    /// The rule's id.
    pub rule: String,
    /// Fit or intent.
    pub category: CategoryName,
    /// Which case fired, `otherwise` or `missing`.
    pub outcome: OutcomeKind,
    /// Index of the matching case, for `matched`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<u16>,
    /// Points given.
    pub points: i32,
    /// The rule's weight in its category.
    pub weight: f64,
    /// Whether the points counted in the category (only an absent field under the `skip`
    /// policy does not count).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub counted: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A score explained: reasons, contributions and the intent signals used.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Explanation {
    /// Positive, negative and missing, as the original.
    pub reasoning: Reasoning,
    /// Each rule's part.
    pub contributions: Vec<ContributionDetail>,
    /// The intent signals found, when the model reads `signals`.
    pub signals: Vec<Signal>,
}

/// A score in the original's JSON shape, plus contributions and signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    /// The lead's id (its `id`, or the original's hash of the name).
    pub company_id: String,
    /// The lead's name.
    pub company_name: String,
    /// The model's name.
    pub model: String,
    /// The model's version.
    pub model_version: String,
    /// Fit, 0..=100.
    pub fit_score: u8,
    /// Intent, 0..=100.
    pub intent_score: u8,
    /// Total, 0..=100.
    pub total_score: u8,
    /// 0..=1, two decimals.
    pub confidence: f64,
    /// What to do.
    pub action: Action,
    /// Positive, negative and missing reasons.
    pub reasoning: Reasoning,
    /// Each rule's part.
    pub contributions: Vec<ContributionDetail>,
    /// Intent signals found (only when the model reads them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<Signal>,
    /// The learned model's part, when one was blended in ([`crate::learn::LearnedModel::blend`]).
    ///
    /// Not serialized on `wasm32`, where nothing blends: the npm package's size budget (it
    /// would cost 0.5 KB gzip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(target_arch = "wasm32", serde(skip))]
    pub learned: Option<crate::learn::LearnedScore>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Getter {
    CompanyName,
    EmployeeCount,
    Industry,
    FundingStage,
    TechStack,
    RecentJobPosts,
    NewsMentions,
    Country,
    Timezone,
    Domain,
    Contact,
    ContactName,
    ContactEmail,
    ContactTitle,
    Signals,
    Attribute(usize),
}

#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Absent,
    Number(f64),
    Text(&'a str),
    List(&'a [String]),
    Bool(bool),
    Present,
}

#[derive(Debug, Clone)]
enum Cond {
    Range(f64, f64),
    AnyOf(Vec<String>),
    Substring(Substrings),
    Words(Vec<Phrase>),
    Signal {
        kind: SignalKind,
        stages: Option<Vec<String>>,
        min_amount: Option<f64>,
    },
    Equals(bool),
    Present(bool),
}

#[derive(Debug, Clone)]
struct CompiledRule {
    getter: Getter,
    weight: f64,
    cases: Vec<(Cond, i32)>,
    otherwise: Option<i32>,
    missing: Option<i32>,
    /// `cases` has a `present = false` case: absence is a match, not "missing".
    absent_case: Option<u16>,
}

/// A scoring model compiled for speed. Build once, score many leads; `Send + Sync`.
///
/// ```
/// use brim_core::{Lead, Scorer, Action};
/// let scorer = Scorer::preset("balanced").unwrap();
/// let lead = Lead::from_json(r#"{"company_name": "Acme", "employee_count": 150,
///     "industry": "SaaS", "tech_stack": ["Zapier"], "recent_job_posts": ["Head of Operations"]}"#).unwrap();
/// let score = scorer.score(&lead);
/// assert_eq!((score.fit_score, score.intent_score, score.total_score), (100, 100, 100));
/// assert_eq!(score.action, Action::HighPriorityOutreach);
/// let why = scorer.explain(&lead, &score);
/// assert_eq!(why.reasoning.positive[0], "Ideal company size (150 employees).");
/// ```
#[derive(Debug, Clone)]
pub struct Scorer {
    model: ScoringModel,
    rules: Vec<CompiledRule>,
    n_fit: usize,
    attributes: Vec<String>,
    confidence_fields: Vec<Getter>,
    confidence_table: Vec<f64>,
    uses_signals: bool,
}

impl Scorer {
    /// Compiles `model`, checking it first.
    pub fn new(model: ScoringModel) -> Result<Scorer, ModelError> {
        let problems = model.problems();
        if !problems.is_empty() {
            return Err(ModelError { problems });
        }
        let mut attributes: Vec<String> = Vec::new();
        let mut getter = |field: &str| -> Getter {
            if let Some(name) = field.strip_prefix("attributes.") {
                let idx = attributes
                    .iter()
                    .position(|a| a == name)
                    .unwrap_or_else(|| {
                        attributes.push(name.to_string());
                        attributes.len() - 1
                    });
                return Getter::Attribute(idx);
            }
            match field {
                "company_name" => Getter::CompanyName,
                "employee_count" => Getter::EmployeeCount,
                "industry" => Getter::Industry,
                "funding_stage" => Getter::FundingStage,
                "tech_stack" => Getter::TechStack,
                "recent_job_posts" => Getter::RecentJobPosts,
                "news_mentions" => Getter::NewsMentions,
                "country" => Getter::Country,
                "timezone" => Getter::Timezone,
                "domain" => Getter::Domain,
                "contact" => Getter::Contact,
                "contact.name" => Getter::ContactName,
                "contact.email" => Getter::ContactEmail,
                "contact.title" => Getter::ContactTitle,
                // `problems()` accepted the model, so the only field left is `signals`.
                _ => Getter::Signals,
            }
        };
        let rules: Vec<CompiledRule> = model
            .fit
            .rules
            .iter()
            .chain(&model.intent.rules)
            .map(|r| compile_rule(r, getter(&r.field)))
            .collect();
        let confidence_names: Vec<String> = match &model.confidence_fields {
            Some(fields) => fields.clone(),
            None => {
                let mut names = vec!["company_name".to_string()];
                for r in model.fit.rules.iter().chain(&model.intent.rules) {
                    for f in input_fields(&r.field) {
                        if !names.iter().any(|n| n == f) {
                            names.push(f.to_string());
                        }
                    }
                }
                names
            }
        };
        let confidence_fields: Vec<Getter> = confidence_names.iter().map(|f| getter(f)).collect();
        let n = confidence_fields.len();
        let confidence_table = (0..=n).map(|k| round2(k as f64 / n as f64)).collect();
        let uses_signals = rules.iter().any(|r| r.getter == Getter::Signals);
        Ok(Scorer {
            n_fit: model.fit.rules.len(),
            model,
            rules,
            attributes,
            confidence_fields,
            confidence_table,
            uses_signals,
        })
    }

    /// Compiles a preset: `balanced`, `aggressive`, `conservative` or `intent`.
    pub fn preset(name: &str) -> Result<Scorer, crate::Error> {
        Ok(Scorer::new(ScoringModel::preset(name)?)?)
    }

    /// The model this scorer runs.
    pub fn model(&self) -> &ScoringModel {
        &self.model
    }

    /// Scores one lead: numbers and which rules fired, no strings. Never panics.
    pub fn score(&self, lead: &Lead) -> Score {
        let signals = self.signals_of(lead);
        self.score_with(lead, &signals)
    }

    /// The intent signals of `lead`, read only when the model uses them.
    fn signals_of(&self, lead: &Lead) -> Vec<Signal> {
        if self.uses_signals && has_signal_sources(lead) {
            extract_signals(lead)
        } else {
            Vec::new()
        }
    }

    fn score_with(&self, lead: &Lead, signals: &[Signal]) -> Score {
        let mut contributions: SmallVec<[Contribution; 8]> = SmallVec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if let Some((outcome, points, counted)) = self.evaluate(rule, lead, signals) {
                contributions.push(Contribution {
                    rule: i as u16,
                    outcome,
                    points,
                    counted,
                });
            }
        }
        let split = contributions.partition_point(|c| (c.rule as usize) < self.n_fit);
        let fit = self.aggregate(self.model.fit.aggregate, &contributions[..split]);
        let intent = self.aggregate(self.model.intent.aggregate, &contributions[split..]);
        let blend = self.model.blend;
        let total = (fit as f64 * blend.fit + intent as f64 * blend.intent).clamp(0.0, 100.0) as u8;
        let action = self.action_for(total);
        let present = self
            .confidence_fields
            .iter()
            .filter(|g| !matches!(self.get(lead, **g), Value::Absent))
            .count();
        Score {
            fit_score: fit,
            intent_score: intent,
            total_score: total,
            confidence: self.confidence_table[present],
            action,
            contributions,
        }
    }

    /// The action this model's thresholds give a total score.
    pub fn action_for(&self, total: u8) -> Action {
        let t = self.model.thresholds;
        if i32::from(total) > t.high {
            Action::HighPriorityOutreach
        } else if i32::from(total) > t.medium {
            Action::MediumPriorityOutreach
        } else {
            Action::LowPriorityMonitoring
        }
    }

    /// Scores many leads, in order; in parallel on native targets with the `parallel` feature.
    /// The results equal scoring one by one.
    pub fn score_batch(&self, leads: &[Lead]) -> Vec<Score> {
        map_in_order(leads, |l| self.score(l))
    }

    /// Scores and explains many leads, in order (in parallel where [`Scorer::score_batch`] is).
    pub fn report_batch(&self, leads: &[Lead]) -> Vec<ScoreReport> {
        map_in_order(leads, |l| self.report(l))
    }

    /// Scores and explains one lead, in the original's shape.
    pub fn report(&self, lead: &Lead) -> ScoreReport {
        let signals = self.signals_of(lead);
        let score = self.score_with(lead, &signals);
        let explanation = self.explain_with(lead, &score, signals);
        ScoreReport {
            company_id: lead.company_id().into_owned(),
            company_name: lead.company_name.clone(),
            model: self.model.name.clone(),
            model_version: self.model.version.clone(),
            fit_score: score.fit_score,
            intent_score: score.intent_score,
            total_score: score.total_score,
            confidence: score.confidence,
            action: score.action,
            reasoning: explanation.reasoning,
            contributions: explanation.contributions,
            signals: explanation.signals,
            learned: None,
        }
    }

    /// Spells out `score` (which must come from this scorer and `lead`): reason sentences,
    /// each rule's contribution, the signals used.
    pub fn explain(&self, lead: &Lead, score: &Score) -> Explanation {
        self.explain_with(lead, score, self.signals_of(lead))
    }

    /// The reason sentences of `score` (which must come from this scorer and `lead`): the
    /// `reasoning` of [`Scorer::explain`], without the contributions spelled out.
    pub fn reasoning(&self, lead: &Lead, score: &Score) -> Reasoning {
        let signals = self.signals_of(lead);
        self.explain_parts(lead, score, &signals, false).reasoning
    }

    fn explain_with(&self, lead: &Lead, score: &Score, signals: Vec<Signal>) -> Explanation {
        let mut out = self.explain_parts(lead, score, &signals, true);
        out.signals = signals;
        out
    }

    /// Reasons, and with `details` each rule's contribution; not the signals.
    fn explain_parts(
        &self,
        lead: &Lead,
        score: &Score,
        signals: &[Signal],
        details: bool,
    ) -> Explanation {
        let mut out = Explanation::default();
        for c in &score.contributions {
            let idx = c.rule as usize;
            let (Some(spec), Some(rule)) = (self.rule_spec(idx), self.rules.get(idx)) else {
                continue;
            };
            let (reason_tpl, polarity) = match c.outcome {
                Outcome::Matched(j) => {
                    let case: Option<&Case> = spec.cases.get(j as usize);
                    (
                        case.and_then(|k| k.reason.as_deref()),
                        Polarity::resolve(case.and_then(|k| k.polarity), c.points),
                    )
                }
                Outcome::Otherwise => outcome_reason(spec.otherwise.as_ref(), c.points),
                Outcome::Missing => outcome_reason(spec.missing.as_ref(), c.points),
            };
            if c.outcome == Outcome::Missing {
                for f in input_fields(&spec.field) {
                    if !out.reasoning.missing.iter().any(|m| m == f) {
                        out.reasoning.missing.push(f.to_string());
                    }
                }
            }
            let reason = reason_tpl.map(|tpl| {
                if tpl.contains('{') {
                    let vars = self.placeholders(rule, c, lead, signals);
                    render(tpl, &vars, c.points)
                } else {
                    tpl.to_string()
                }
            });
            // A reason resting on a value a data provider filled in says so.
            let reason = match reason {
                // (The npm package reads no provenance: the check is compiled out there.)
                Some(r)
                    if !cfg!(target_arch = "wasm32")
                        && !lead.sources.is_empty()
                        && c.outcome != Outcome::Missing =>
                {
                    match input_fields(&spec.field)
                        .iter()
                        .find_map(|f| lead.sources.get(*f))
                    {
                        Some(source) => Some(format!("{r} (from {})", source.provider)),
                        None => Some(r),
                    }
                }
                other => other,
            };
            if let Some(r) = reason
                && (c.outcome != Outcome::Missing || spec.missing.is_some())
            {
                match polarity {
                    Polarity::Positive => out.reasoning.positive.push(r),
                    Polarity::Negative => out.reasoning.negative.push(r),
                }
            }
            if !details {
                continue;
            }
            let (outcome, case) = match c.outcome {
                Outcome::Matched(j) => (OutcomeKind::Matched, Some(j)),
                Outcome::Otherwise => (OutcomeKind::Otherwise, None),
                Outcome::Missing => (OutcomeKind::Missing, None),
            };
            out.contributions.push(ContributionDetail {
                rule: spec.id.clone(),
                category: if idx < self.n_fit {
                    CategoryName::Fit
                } else {
                    CategoryName::Intent
                },
                outcome,
                case,
                points: c.points,
                weight: rule.weight,
                counted: c.counted,
            });
        }
        out
    }

    /// The model's rule at a compiled index (fit rules first, then intent rules).
    fn rule_spec(&self, idx: usize) -> Option<&Rule> {
        if idx < self.n_fit {
            self.model.fit.rules.get(idx)
        } else {
            self.model.intent.rules.get(idx - self.n_fit)
        }
    }

    fn aggregate(&self, how: Aggregate, contributions: &[Contribution]) -> u8 {
        let mut sum = 0.0f64;
        let mut weights = 0.0f64;
        let mut max = f64::NEG_INFINITY;
        for c in contributions.iter().filter(|c| c.counted) {
            let w = self.rules[c.rule as usize].weight;
            let p = f64::from(c.points);
            sum += w * p;
            weights += w;
            max = max.max(w * p);
        }
        if weights == 0.0 {
            return 0;
        }
        let value = match how {
            // Truncation equals the floor for the values that survive the clamp below.
            Aggregate::Mean => (sum / weights).trunc(),
            Aggregate::Sum => sum.trunc(),
            Aggregate::Max => max.trunc(),
        };
        value.clamp(0.0, 100.0) as u8
    }

    fn get<'a>(&self, lead: &'a Lead, getter: Getter) -> Value<'a> {
        fn text(s: &Option<String>) -> Value<'_> {
            match s.as_deref() {
                Some(t) if !t.is_empty() => Value::Text(t),
                _ => Value::Absent,
            }
        }
        fn list(l: &[String]) -> Value<'_> {
            if l.is_empty() {
                Value::Absent
            } else {
                Value::List(l)
            }
        }
        let contact_text = |f: fn(&crate::lead::Contact) -> &Option<String>| match &lead.contact {
            Some(c) => text(f(c)),
            None => Value::Absent,
        };
        match getter {
            Getter::CompanyName if lead.company_name.is_empty() => Value::Absent,
            Getter::CompanyName => Value::Text(&lead.company_name),
            Getter::EmployeeCount => match lead.employee_count {
                Some(n) => Value::Number(n as f64),
                None => Value::Absent,
            },
            Getter::Industry => text(&lead.industry),
            Getter::FundingStage => text(&lead.funding_stage),
            Getter::TechStack => list(&lead.tech_stack),
            Getter::RecentJobPosts => list(&lead.recent_job_posts),
            Getter::NewsMentions => list(&lead.news_mentions),
            Getter::Country => text(&lead.country),
            Getter::Timezone => text(&lead.timezone),
            Getter::Domain => text(&lead.domain),
            Getter::Contact => match &lead.contact {
                Some(c) if c.name.is_some() || c.email.is_some() || c.title.is_some() => {
                    Value::Present
                }
                _ => Value::Absent,
            },
            Getter::ContactName => contact_text(|c| &c.name),
            Getter::ContactEmail => contact_text(|c| &c.email),
            Getter::ContactTitle => contact_text(|c| &c.title),
            Getter::Signals if has_signal_sources(lead) => Value::Present,
            Getter::Signals => Value::Absent,
            Getter::Attribute(i) => match lead.attributes.get(&self.attributes[i]) {
                Some(AttrValue::Bool(b)) => Value::Bool(*b),
                Some(AttrValue::Number(n)) if n.is_finite() => Value::Number(*n),
                Some(AttrValue::Number(_)) => Value::Absent,
                Some(AttrValue::Text(t)) if !t.is_empty() => Value::Text(t),
                _ => Value::Absent,
            },
        }
    }

    fn evaluate(
        &self,
        rule: &CompiledRule,
        lead: &Lead,
        signals: &[Signal],
    ) -> Option<(Outcome, i32, bool)> {
        let value = self.get(lead, rule.getter);
        if matches!(value, Value::Absent) {
            if let Some(j) = rule.absent_case {
                return Some((Outcome::Matched(j), rule.cases[j as usize].1, true));
            }
            return Some(match rule.missing {
                Some(points) => (Outcome::Missing, points, true),
                None => match self.model.missing {
                    MissingPolicy::Skip => (Outcome::Missing, 0, false),
                    MissingPolicy::Zero => (Outcome::Missing, 0, true),
                },
            });
        }
        for (j, (cond, points)) in rule.cases.iter().enumerate() {
            if cond_matches(cond, value, signals) {
                return Some((Outcome::Matched(j as u16), *points, true));
            }
        }
        rule.otherwise.map(|p| (Outcome::Otherwise, p, true))
    }

    fn placeholders(
        &self,
        rule: &CompiledRule,
        c: &Contribution,
        lead: &Lead,
        signals: &[Signal],
    ) -> Placeholders {
        let value = self.get(lead, rule.getter);
        let mut vars = Placeholders {
            value: match value {
                Value::Number(n) => format_number(n),
                Value::Text(t) => t.to_string(),
                Value::List(l) => l.join(", "),
                Value::Bool(b) => b.to_string(),
                Value::Present | Value::Absent => String::new(),
            },
            ..Placeholders::default()
        };
        let Outcome::Matched(j) = c.outcome else {
            return vars;
        };
        let Some((cond, _)) = rule.cases.get(j as usize) else {
            return vars;
        };
        let items: &[String] = match value {
            Value::List(l) => l,
            _ => &[],
        };
        let single = match value {
            Value::Text(t) => Some(t),
            _ => None,
        };
        let haystacks = || single.into_iter().chain(items.iter().map(String::as_str));
        match cond {
            Cond::AnyOf(values) => {
                let mut matched: Vec<&str> = Vec::new();
                for h in haystacks() {
                    if let Some(v) = find_equal(h, values)
                        && !matched.contains(&v.as_str())
                    {
                        matched.push(v);
                    }
                }
                vars.matched = matched.join(", ");
                vars.evidence = haystacks()
                    .find(|h| find_equal(h, values).is_some())
                    .unwrap_or_default()
                    .to_string();
            }
            Cond::Substring(subs) => {
                let mut found: Vec<&str> = Vec::new();
                for h in haystacks() {
                    for n in subs.found_in(h) {
                        if !found.contains(&n) {
                            found.push(n);
                        }
                    }
                }
                vars.matched = found.join(", ");
                vars.evidence = haystacks()
                    .find(|h| subs.any_in(h))
                    .unwrap_or_default()
                    .to_string();
            }
            Cond::Words(phrases) => {
                let found: Vec<String> = phrases
                    .iter()
                    .filter(|p| haystacks().any(|h| phrases_in(std::slice::from_ref(p), h)))
                    .map(|p| p.words.join(" "))
                    .collect();
                vars.matched = found.join(", ");
                vars.evidence = haystacks()
                    .find(|h| phrases_in(phrases, h))
                    .unwrap_or_default()
                    .to_string();
            }
            Cond::Signal { .. } => {
                if let Some(s) = signals.iter().find(|s| signal_matches(cond, s)) {
                    vars.evidence = s.text.clone();
                    vars.matched = s.phrase.clone();
                    if let Some(f) = &s.funding {
                        vars.stage = f.stage.clone().unwrap_or_else(|| "stage not stated".into());
                        vars.amount = match (f.amount, f.currency.as_deref()) {
                            (Some(a), Some(cur)) => format_money(a, cur),
                            _ => "an undisclosed amount".into(),
                        };
                    }
                }
            }
            Cond::Range(..) | Cond::Equals(_) | Cond::Present(_) => {}
        }
        vars
    }
}

/// `f` over `leads`, results in input order: on every core with the `parallel` feature on
/// native targets, one by one otherwise.
fn map_in_order<T: Send>(leads: &[Lead], f: impl Fn(&Lead) -> T + Sync + Send) -> Vec<T> {
    #[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
    {
        use rayon::prelude::*;
        leads.par_iter().map(f).collect()
    }
    #[cfg(not(all(feature = "parallel", not(target_arch = "wasm32"))))]
    {
        leads.iter().map(f).collect()
    }
}

fn outcome_reason(spec: Option<&OutcomeSpec>, points: i32) -> (Option<&str>, Polarity) {
    (
        spec.and_then(|o| o.reason.as_deref()),
        Polarity::resolve(spec.and_then(|o| o.polarity), points),
    )
}

/// The lead fields a rule's field stands for (`signals` is read from news and job posts).
fn input_fields(field: &str) -> SmallVec<[&str; 2]> {
    if field == "signals" {
        SmallVec::from_slice(&["news_mentions", "recent_job_posts"])
    } else {
        SmallVec::from_slice(&[field])
    }
}

fn has_signal_sources(lead: &Lead) -> bool {
    !lead.news_mentions.is_empty() || !lead.recent_job_posts.is_empty()
}

fn compile_rule(rule: &Rule, getter: Getter) -> CompiledRule {
    let cases: Vec<(Cond, i32)> = rule
        .cases
        .iter()
        .map(|c| {
            let cond = if let Some(values) = &c.any_of {
                Cond::AnyOf(values.iter().map(|v| fold(v)).collect())
            } else if let Some(phrases) = &c.contains {
                if c.words.unwrap_or(true) {
                    Cond::Words(phrases.iter().map(|p| Phrase::new(p)).collect())
                } else {
                    Cond::Substring(Substrings::new(phrases))
                }
            } else if let Some(kind) = c.signal {
                Cond::Signal {
                    kind,
                    stages: c
                        .stages
                        .as_ref()
                        .map(|s| s.iter().map(|v| fold(v)).collect()),
                    min_amount: c.min_amount,
                }
            } else if let Some(e) = c.equals {
                Cond::Equals(e)
            } else if let Some(p) = c.present {
                Cond::Present(p)
            } else {
                Cond::Range(
                    c.min.unwrap_or(f64::NEG_INFINITY),
                    c.max.unwrap_or(f64::INFINITY),
                )
            };
            (cond, c.points)
        })
        .collect();
    let absent_case = cases
        .iter()
        .position(|(c, _)| matches!(c, Cond::Present(false)))
        .map(|j| j as u16);
    CompiledRule {
        getter,
        weight: rule.weight,
        cases,
        otherwise: rule.otherwise.as_ref().map(|o| o.points),
        missing: rule.missing.as_ref().map(|o| o.points),
        absent_case,
    }
}

fn cond_matches(cond: &Cond, value: Value<'_>, signals: &[Signal]) -> bool {
    match (cond, value) {
        (Cond::Present(p), _) => *p,
        (Cond::Range(lo, hi), Value::Number(n)) => *lo <= n && n <= *hi,
        (Cond::Range(lo, hi), Value::Text(t)) => {
            t.trim().parse::<f64>().is_ok_and(|n| *lo <= n && n <= *hi)
        }
        (Cond::AnyOf(values), Value::Text(t)) => find_equal(t, values).is_some(),
        (Cond::AnyOf(values), Value::List(items)) => {
            items.iter().any(|item| find_equal(item, values).is_some())
        }
        (Cond::Substring(subs), Value::Text(t)) => subs.any_in(t),
        (Cond::Substring(subs), Value::List(items)) => items.iter().any(|item| subs.any_in(item)),
        (Cond::Words(phrases), Value::Text(t)) => phrases_in(phrases, t),
        (Cond::Words(phrases), Value::List(items)) => {
            items.iter().any(|item| phrases_in(phrases, item))
        }
        (Cond::Signal { .. }, _) => signals.iter().any(|s| signal_matches(cond, s)),
        (Cond::Equals(e), Value::Bool(b)) => *e == b,
        _ => false,
    }
}

/// Whether any phrase occurs in `text` on word boundaries, ignoring case.
fn phrases_in(phrases: &[Phrase], text: &str) -> bool {
    let lower = fold(text);
    let ws = words(&lower);
    phrases.iter().any(|p| p.found_in(&ws))
}

fn signal_matches(cond: &Cond, s: &Signal) -> bool {
    let Cond::Signal {
        kind,
        stages,
        min_amount,
    } = cond
    else {
        return false;
    };
    if s.kind != *kind {
        return false;
    }
    let funding = s.funding.as_ref();
    if let Some(stages) = stages {
        let stage = funding.and_then(|f| f.stage.as_deref());
        if stage.is_none_or(|st| find_equal(st, stages).is_none()) {
            return false;
        }
    }
    if let Some(min) = min_amount
        && !funding.and_then(|f| f.amount).is_some_and(|a| a >= *min)
    {
        return false;
    }
    true
}

/// Python's `round(x, 2)` for the values a confidence takes (k / n).
fn round2(x: f64) -> f64 {
    // `{:.2}` rounds the exact binary value half-to-even, as Python's round() does.
    format!("{x:.2}").parse().unwrap_or(0.0)
}

fn format_money(amount: f64, currency: &str) -> String {
    let symbol = match currency {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        _ => "",
    };
    let (value, suffix) = if amount >= 1e9 {
        (amount / 1e9, "B")
    } else if amount >= 1e6 {
        (amount / 1e6, "M")
    } else if amount >= 1e3 {
        (amount / 1e3, "k")
    } else {
        (amount, "")
    };
    let number = format_number((value * 10.0).round() / 10.0);
    if symbol.is_empty() {
        format!("{currency} {number}{suffix}")
    } else {
        format!("{symbol}{number}{suffix}")
    }
}

#[derive(Default)]
struct Placeholders {
    value: String,
    matched: String,
    evidence: String,
    stage: String,
    amount: String,
}

fn render(template: &str, vars: &Placeholders, points: i32) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        match &after[..close] {
            "value" => out.push_str(&vars.value),
            "matched" => out.push_str(&vars.matched),
            "evidence" => out.push_str(&vars.evidence),
            "stage" => out.push_str(&vars.stage),
            "amount" => out.push_str(&vars.amount),
            "points" => out.push_str(&points.to_string()),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_rounds_like_python() {
        // Python: round(1/7, 2) = 0.14, round(0.125, 2) = 0.12, round(0.375, 2) = 0.38,
        // round(2/3, 2) = 0.67, round(0.005, 2) = 0.01 (the float is just above the tie).
        assert_eq!(round2(1.0 / 7.0), 0.14);
        assert_eq!(round2(0.125), 0.12);
        assert_eq!(round2(0.375), 0.38);
        assert_eq!(round2(2.0 / 3.0), 0.67);
        assert_eq!(round2(0.005), 0.01);
        assert_eq!(round2(1.0), 1.0);
    }

    #[test]
    fn money_is_written_compactly() {
        assert_eq!(format_money(20_000_000.0, "USD"), "$20M");
        assert_eq!(format_money(1_500_000_000.0, "EUR"), "€1.5B");
        assert_eq!(format_money(300_000.0, "GBP"), "£300k");
    }

    #[test]
    fn templates_fill_placeholders() {
        let vars = Placeholders {
            value: "150".into(),
            ..Placeholders::default()
        };
        assert_eq!(
            render("Size {value}, {points} pts", &vars, 50),
            "Size 150, 50 pts"
        );
        assert_eq!(render("open {brace", &vars, 0), "open {brace");
    }
}
