//! The OpenAPI document (`GET /openapi.json`), generated from the handlers' `#[utoipa::path]`
//! annotations and the schemas below, and the interactive docs at `/docs` (Swagger UI, served
//! from the binary: they work offline).
//!
//! The engine's and the store's types stay free of HTTP concerns, so the response shapes they
//! serialize are described here once; the schema-driven fuzz run (`scripts/fuzz-api`) checks
//! every response the server gives against this document, so a description that drifts from
//! the code fails the tests.

#![allow(dead_code)] // The schema types are descriptions: never built, only read by utoipa.

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error: a stable machine name, a sentence for a person, and the field at fault.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// `invalid`, `not_found`, `method_not_allowed`, `too_large`, `unauthorized`,
    /// `rate_limited`, `conflict`, `unavailable`, `bad_request`.
    error: String,
    /// What went wrong.
    detail: String,
    /// The input field at fault (422).
    field: Option<String>,
}

/// The person at a lead to write to.
#[derive(ToSchema)]
pub struct ContactInput {
    #[schema(max_length = 200)]
    name: Option<String>,
    #[schema(max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 200)]
    title: Option<String>,
}

/// A lead as the original accepted it, plus optional contact, zone, domain and attributes.
/// Unknown fields are ignored; a field given twice is refused. Lengths are in characters;
/// a longer value, a longer list or more attributes is a 422 naming the field and the limit.
#[derive(ToSchema)]
#[schema(example = json!({"company_name": "Acme Logistics", "employee_count": 120, "industry": "Logistics",
    "funding_stage": "Series A", "tech_stack": ["Zapier", "AWS"], "recent_job_posts": ["Head of Operations"],
    "news_mentions": ["Acme raises $12M Series A"],
    "contact": {"name": "Dana Li", "email": "dana@acme.example", "title": "COO"}, "timezone": "Europe/Berlin"}))]
pub struct LeadInput {
    /// Required, non-empty.
    #[schema(min_length = 1, max_length = 100)]
    company_name: String,
    /// Your id for the company; else the original's hash of the name.
    #[schema(max_length = 200)]
    id: Option<String>,
    #[schema(minimum = 0)]
    employee_count: Option<u64>,
    #[schema(max_length = 100)]
    industry: Option<String>,
    #[schema(max_length = 100)]
    funding_stage: Option<String>,
    /// At most 100 items of at most 300 characters.
    #[schema(max_items = 100, inline)]
    tech_stack: Option<Vec<ListItem>>,
    /// At most 100 items of at most 300 characters.
    #[schema(max_items = 100, inline)]
    recent_job_posts: Option<Vec<ListItem>>,
    /// At most 100 items of at most 300 characters.
    #[schema(max_items = 100, inline)]
    news_mentions: Option<Vec<ListItem>>,
    contact: Option<ContactInput>,
    /// IANA zone, e.g. `Europe/Berlin`.
    #[schema(max_length = 64)]
    timezone: Option<String>,
    #[schema(max_length = 100)]
    country: Option<String>,
    #[schema(max_length = 253)]
    domain: Option<String>,
    /// Your own signals: string, number or boolean values by name (at most 100; names of at
    /// most 100 characters, text values of at most 1,000).
    attributes: Option<BTreeMap<String, AttributeValue>>,
}

/// One item of a lead's list: at most 300 characters.
#[derive(ToSchema)]
#[schema(value_type = String, max_length = 300)]
pub struct ListItem(String);

/// A custom attribute's value.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum AttributeValue {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// `true` / `false`.
    Flag(bool),
}

/// Positive, negative and missing reasons.
#[derive(ToSchema)]
pub struct Reasoning {
    positive: Vec<String>,
    negative: Vec<String>,
    missing: Vec<String>,
}

/// One rule's part in a score.
#[derive(ToSchema)]
pub struct Contribution {
    rule: String,
    /// `fit` or `intent`.
    category: String,
    /// `matched`, `otherwise` or `missing`.
    outcome: String,
    #[schema(required = false)]
    case: Option<u16>,
    points: i32,
    weight: f64,
    /// Absent when true.
    #[schema(required = false)]
    counted: Option<bool>,
}

/// An intent signal with its evidence.
#[derive(ToSchema)]
pub struct SignalOut {
    kind: String,
    source: String,
    index: u64,
    text: String,
    phrase: String,
    #[schema(required = false)]
    funding: Option<Value>,
}

/// The score: the original's shape plus the rule contributions and signals.
#[derive(ToSchema)]
pub struct Score {
    company_id: String,
    company_name: String,
    model: String,
    model_version: String,
    #[schema(minimum = 0, maximum = 100)]
    fit_score: u8,
    #[schema(minimum = 0, maximum = 100)]
    intent_score: u8,
    #[schema(minimum = 0, maximum = 100)]
    total_score: u8,
    #[schema(minimum = 0, maximum = 1)]
    confidence: f64,
    /// `high_priority_outreach`, `medium_priority_outreach` or `low_priority_monitoring`.
    action: String,
    reasoning: Reasoning,
    contributions: Vec<Contribution>,
    #[schema(required = false)]
    signals: Option<Vec<SignalOut>>,
    /// Present when a learned model is in force (`POST /api/learned-models/{id}/activate`).
    #[schema(required = false)]
    learned: Option<LearnedPart>,
    /// With `?enrich=true`: what the data provider did.
    #[schema(required = false)]
    enrichment: Option<EnrichmentOut>,
}

/// What asking the data provider about a lead did.
#[derive(ToSchema)]
pub struct EnrichmentOut {
    provider: String,
    /// `found`, `not_found`, `pending`, `skipped`, `failed` or `timeout`.
    status: String,
    /// Fields filled in (each with its source in the lead's `sources`).
    filled: Vec<String>,
    /// Fields the lead had: its own values kept.
    kept: Vec<String>,
    /// Values refused, and why.
    refused: Vec<RefusedOut>,
    /// Why nothing was filled in, when worth saying.
    #[schema(required = false)]
    reason: Option<String>,
}

/// A provider's value that was not used.
#[derive(ToSchema)]
pub struct RefusedOut {
    field: String,
    reason: String,
}

/// `POST /api/leads/{company_id}/enrich`'s answer.
#[derive(ToSchema)]
pub struct Enriched {
    company_id: String,
    enrichment: EnrichmentOut,
    score: Score,
}

/// A learned model's part in a score: total = (1 − weight) × rule_score + weight × 100 ×
/// probability.
#[derive(ToSchema)]
pub struct LearnedPart {
    model: String,
    version: String,
    #[schema(minimum = 0, maximum = 1)]
    probability: f64,
    #[schema(minimum = 0, maximum = 1)]
    weight: f64,
    /// The rule-based total before blending.
    #[schema(minimum = 0, maximum = 100)]
    rule_score: u8,
    /// The features that moved the probability most, strongest first.
    contributions: Vec<FeatureContributionOut>,
}

/// One feature's part in a learned probability.
#[derive(ToSchema)]
pub struct FeatureContributionOut {
    /// `column` or `column = value`.
    feature: String,
    /// On the log-odds scale (positive: towards converting).
    contribution: f64,
}

/// One bin of a calibration table: predicted against observed conversion.
#[derive(ToSchema)]
pub struct CalibrationBinOut {
    from: f64,
    to: f64,
    rows: u64,
    predicted: f64,
    observed: f64,
}

/// A feature's coefficient in the logistic regression (standardised).
#[derive(ToSchema)]
pub struct FeatureWeightOut {
    feature: String,
    weight: f64,
}

/// A column that predicts the outcome almost perfectly alone.
#[derive(ToSchema)]
pub struct LeakWarningOut {
    column: String,
    roc_auc: f64,
}

/// A learned model of the registry with what training measured (cross-validated; `null` when
/// it was trained with `--cv 0`).
#[derive(ToSchema)]
pub struct LearnedModelItem {
    id: i64,
    name: String,
    version: String,
    /// Unix ms.
    uploaded_at: i64,
    /// Whether it is the model in force.
    active: bool,
    /// `logistic`, `boosted` or `ensemble`.
    learner: String,
    label: String,
    trained_at: i64,
    n_rows: u64,
    n_positive: u64,
    folds: Option<u64>,
    roc_auc: Option<f64>,
    roc_auc_sd: Option<f64>,
    log_loss: Option<f64>,
    top_decile_lift: Option<f64>,
    calibration: Option<Vec<CalibrationBinOut>>,
    top_features: Vec<FeatureWeightOut>,
    leak_warnings: Vec<LeakWarningOut>,
    /// How many columns it reads.
    columns: u64,
    /// Columns it reads that no lead has.
    foreign_columns: Vec<String>,
    /// On upload only: what to know before activating it.
    #[schema(required = false)]
    warnings: Option<Vec<String>>,
}

/// A change of the model in force.
#[derive(ToSchema)]
pub struct ActivationOut {
    id: i64,
    /// `null`: the rules alone.
    model_id: Option<i64>,
    #[schema(minimum = 0, maximum = 1)]
    weight: f64,
    /// For a rollback: the activation it brought back.
    restores: Option<i64>,
    activated_at: i64,
}

/// The registry: every model, the one in force, the last changes.
#[derive(ToSchema)]
pub struct LearnedRegistry {
    /// `null`: the rules alone.
    active: Option<ActivationOut>,
    models: Vec<LearnedModelItem>,
    history: Vec<ActivationOut>,
}

/// How much a learned model counts.
#[derive(ToSchema)]
pub struct ActivateInput {
    /// 0 (the rules alone) to 1 (the model alone); default 0.5.
    #[schema(minimum = 0, maximum = 1)]
    weight: Option<f64>,
}

/// One model's quality on the compared rows.
#[derive(ToSchema)]
pub struct ScoredOut {
    roc_auc: f64,
    log_loss: f64,
    top_decile_lift: f64,
}

/// A model named in a comparison.
#[derive(ToSchema)]
pub struct ModelRef {
    id: i64,
    name: String,
    version: String,
}

/// Two learned models on the same reported outcomes.
#[derive(ToSchema)]
pub struct ModelComparison {
    rows: u64,
    a: ScoredOut,
    b: ScoredOut,
    /// B's ROC-AUC minus A's.
    roc_auc_difference: f64,
    /// Its 95 % paired-bootstrap interval.
    #[schema(min_items = 2, max_items = 2)]
    roc_auc_difference_ci: Vec<f64>,
    resamples: u64,
    /// Which ranks better, in words.
    verdict: String,
    a_model: ModelRef,
    b_model: ModelRef,
}

/// An activation step, as the activation page logs it.
#[derive(ToSchema)]
pub struct ActivationEventInput {
    /// An anonymous visitor id.
    #[schema(min_length = 1, max_length = 200)]
    user_id: String,
    /// One of the server's activation steps (`GET /api/settings`); by default `file_upload`,
    /// `result_viewed` or `share_step_reached`. Any other is a 422.
    #[schema(min_length = 1, max_length = 200)]
    step_name: String,
    /// At most 20 entries and 2,000 bytes of JSON.
    metadata: Option<BTreeMap<String, Value>>,
}

/// `{"status": ...}`.
#[derive(ToSchema)]
pub struct StatusBody {
    status: String,
}

/// The four KPIs of the original.
#[derive(ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum KpiMetric {
    /// Distinct companies scored above 75.
    QualifiedLeads,
    /// Click-through rate of the e-mails sent, in percent.
    EmailEngagement,
    /// Distinct users who reached `result_viewed`.
    NewActivations,
    /// New activations / qualified leads, in percent.
    FunnelConversionRate,
}

/// A KPI card, this period against the one before.
#[derive(ToSchema)]
pub struct KpiCard {
    metric_name: String,
    current_value: f64,
    previous_value: f64,
    /// Null when only the previous period is 0.
    percentage_change: Option<f64>,
    description: String,
    /// funnel-conversion-rate only.
    #[schema(required = false)]
    average_days_to_activation: Option<f64>,
}

/// One UTC day of the funnel chart.
#[derive(ToSchema)]
pub struct FunnelDay {
    /// `YYYY-MM-DD`.
    date: String,
    qualified_leads: u64,
    activations: u64,
}

/// A row of the scored-leads table: the original's columns plus the score's parts.
#[derive(ToSchema)]
pub struct TableRow {
    company_id: String,
    company_name: String,
    score: u8,
    /// `Sent` or `Pending`.
    status: String,
    email_variant_sent: Option<String>,
    fit_score: u8,
    intent_score: u8,
    action: String,
    model: String,
    /// Unix ms.
    scored_at: i64,
    email_status: Option<String>,
}

/// A company's latest score (top leads).
#[derive(ToSchema)]
pub struct ScoredLeadOut {
    company_id: String,
    company_name: String,
    score: u8,
    fit_score: u8,
    intent_score: u8,
    action: String,
    model: String,
    scored_at: i64,
    email_status: Option<String>,
    email_variant: Option<String>,
}

/// Latest scores from `from` to `to` inclusive.
#[derive(ToSchema)]
pub struct ScoreBin {
    from: u8,
    to: u8,
    companies: u64,
}

/// Distinct users who completed a step.
#[derive(ToSchema)]
pub struct StepCount {
    step: String,
    users: u64,
}

/// One variant's e-mails in the period; rates in percent, each with its 95 % Wilson interval.
#[derive(ToSchema)]
pub struct VariantPerformance {
    variant: String,
    sent: u64,
    opened: u64,
    clicked: u64,
    open_rate: f64,
    click_rate: f64,
    /// `[low, high]`, percent.
    open_rate_ci: Vec<f64>,
    /// `[low, high]`, percent.
    click_rate_ci: Vec<f64>,
    /// Against the variant with the best open rate; null for that variant.
    open_vs_best: Option<VariantTest>,
    /// Against the variant with the best click rate; null for that variant.
    click_vs_best: Option<VariantTest>,
}

/// A two-sided two-proportion z-test of one variant against the leader (α = 0.05).
#[derive(ToSchema)]
pub struct VariantTest {
    /// The leader's name.
    against: String,
    p_value: f64,
    /// `p_value < 0.05`.
    significant: bool,
    /// Sends each variant needs to detect the difference seen so far (80 % power); null when
    /// the rates are equal.
    needed_per_variant: Option<u64>,
    /// How many more sends that is for the smaller of the two (0 when significant).
    more_needed: Option<u64>,
}

/// A deleted lead.
#[derive(ToSchema)]
pub struct LeadDeleted {
    company_id: String,
    deleted: bool,
}

/// The e-mail policy.
#[derive(ToSchema)]
pub struct EmailPolicyOut {
    /// The actions whose leads get an e-mail; null: every action.
    actions: Option<Vec<String>>,
    /// The lowest score that gets an e-mail; null: any.
    min_score: Option<u8>,
    /// The policy in a sentence.
    summary: String,
}

/// What `brim serve` was started with that a client needs.
#[derive(ToSchema)]
pub struct SettingsOut {
    /// The activation flow's steps, in order.
    activation_steps: Vec<String>,
    /// The step that counts as an activation.
    activation_step: String,
    email_policy: EmailPolicyOut,
    /// The data provider of `?enrich=true` and `POST /api/leads/{company_id}/enrich`; `null`:
    /// none (`brim serve --enrich`).
    enrichment: Option<EnrichmentSettings>,
}

/// The server's data provider.
#[derive(ToSchema)]
pub struct EnrichmentSettings {
    provider: String,
    description: String,
    requests_per_second: f64,
    cache_hours: f64,
}

/// An e-mail as it will be sent, and where it is.
#[derive(ToSchema)]
pub struct EmailPreview {
    id: i64,
    company_id: String,
    /// `Name <address>`; null while the lead needs a contact.
    recipient: Option<String>,
    /// waiting, queued, leased, sent, dead, cancelled.
    status: String,
    variant: String,
    /// `llm` or `template`.
    writer: String,
    subject: String,
    text: String,
    html: String,
    /// Unix ms.
    planned_send_at: Option<i64>,
    waits_because: Option<String>,
    attempts: u32,
    last_error: Option<String>,
    sent_at: Option<i64>,
}

/// A score in a lead's history.
#[derive(ToSchema)]
pub struct ScoreHistoryEntry {
    scored_at: i64,
    report: Score,
}

/// An event.
#[derive(ToSchema)]
pub struct EventOut {
    id: i64,
    event_type: String,
    occurred_at: i64,
    user_id: Option<String>,
    payload: Value,
}

/// A reported outcome.
#[derive(ToSchema)]
pub struct OutcomeOut {
    outcome: String,
    at: i64,
}

/// A lead's whole story.
#[derive(ToSchema)]
pub struct LeadDetail {
    company_id: String,
    /// The intent signals read from the lead (news and job posts), with their evidence.
    signals: Vec<SignalOut>,
    /// The lead as stored.
    lead: Value,
    created_at: i64,
    updated_at: i64,
    scores: Vec<ScoreHistoryEntry>,
    email: Option<EmailPreview>,
    events: Vec<EventOut>,
    outcomes: Vec<OutcomeOut>,
}

/// What happened with a lead. No other fields are accepted.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    #[schema(min_length = 1)]
    company_id: String,
    /// `demo_booked`, `closed_won`, `closed_lost` or `not_a_fit`.
    outcome: String,
    /// Unix ms; default now.
    at: Option<i64>,
}

/// The stored outcome.
#[derive(ToSchema)]
pub struct OutcomeCreated {
    company_id: String,
    outcome: String,
    at: i64,
}

/// A model this server scores with.
#[derive(ToSchema)]
pub struct ModelSummary {
    name: String,
    version: String,
    description: String,
    /// `preset` or `custom` (uploaded).
    source: String,
}

/// A batch accepted for scoring.
#[derive(ToSchema)]
pub struct JobAccepted {
    job_id: String,
    status_url: String,
    /// `jsonl`, `json` or `csv`.
    format: String,
    bytes: u64,
}

/// The original's multipart form: one file field (a JSON array, JSON lines or CSV).
#[derive(ToSchema)]
pub struct BatchUpload {
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}

/// A record that could not be scored.
#[derive(ToSchema)]
pub struct JobFailure {
    /// `line N` or `item N`.
    at: String,
    error: String,
}

/// A batch job's progress.
#[derive(ToSchema)]
pub struct JobStatus {
    id: String,
    /// `running`, `done`, `failed` or `stopped` (the server shut down first).
    status: String,
    model: String,
    format: String,
    scored: u64,
    failed: u64,
    failures: Vec<JobFailure>,
    queued_for_email: u64,
    bytes: u64,
    error: Option<String>,
    started_at: i64,
    finished_at: Option<i64>,
}

/// The activation page's result: the scores, best first, and the records that are not leads.
#[derive(ToSchema)]
pub struct TryResult {
    scored: Vec<Score>,
    failures: Vec<JobFailure>,
}

/// The error answers any endpoint may give (JSON [`ErrorBody`]).
#[derive(utoipa::IntoResponses)]
pub enum Errors {
    /// The request is malformed (unreadable body).
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// An API key is needed (`Authorization: Bearer <key>`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Not found.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The endpoint does not take this method.
    #[response(status = 405)]
    MethodNotAllowed(ErrorBody),
    /// The request does not apply to the current state.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The body is too large.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// An input is invalid; `field` names it.
    #[response(status = 422)]
    Invalid(ErrorBody),
    /// Too many requests from this client (public endpoints); see `Retry-After`.
    #[response(status = 429)]
    RateLimited(ErrorBody),
    /// The database could not answer; try again.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <key>` when the server has an API key \
                         (--api-key-file / BRIM_API_KEY); public endpoints never need it",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Brim",
        description = "Lead scoring, personalised outreach e-mails from a prioritised queue, and the analytics behind them. \
                       Errors are JSON `{error, detail, field}`. With an API key configured, every endpoint except the \
                       public ones (activation, tracking, unsubscribe, health, pages) needs `Authorization: Bearer <key>`.",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&BearerAuth),
    components(schemas(KpiMetric)),
    security(("api_key" = [])),
    paths(
        super::score_company,
        super::batch::batch_score,
        super::batch::job,
        super::log_event,
        super::activation_try,
        super::kpi,
        super::funnel_over_time,
        super::scored_leads_table,
        super::leads::score_distribution,
        super::leads::top_leads,
        super::leads::activation_funnel,
        super::leads::email_performance,
        super::leads::lead,
        super::leads::delete_lead,
        super::leads::settings,
        super::leads::report_outcome,
        super::leads::enrich,
        super::leads::models,
        super::leads::model,
        super::leads::put_model,
        super::learned::list,
        super::learned::upload,
        super::learned::get_one,
        super::learned::activate,
        super::learned::deactivate,
        super::learned::rollback,
        super::learned::compare,
        super::emails::list,
        super::emails::get,
        super::emails::requeue,
        super::emails::cancel,
        super::emails::open,
        super::emails::click,
        super::emails::unsubscribe_page,
        super::emails::unsubscribe,
        super::healthz,
        super::metrics_text,
    ),
    tags(
        (name = "scoring", description = "Score leads, one or a batch"),
        (name = "analytics", description = "KPIs, the funnel over time, the scored-leads table, the score distribution, the activation funnel, A/B results and the server's settings"),
        (name = "leads", description = "A lead's story, its outcomes, and deleting it"),
        (name = "models", description = "Scoring models: presets and uploads"),
        (name = "learned models", description = "Models trained on outcomes: upload, activate, roll back, compare"),
        (name = "emails", description = "The e-mail queue: previews, re-queue, cancel"),
        (name = "public", description = "No API key needed: activation, tracking, unsubscribe, health"),
    )
)]
pub struct ApiDoc;

/// The document as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
