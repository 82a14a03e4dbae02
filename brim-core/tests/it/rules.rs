//! Every rule kind, aggregate and missing-data policy, through small model files.

use brim_core::{Outcome, Scorer, ScoringModel};

use crate::lead;

/// A model with the given intent rules (TOML) and aggregate, fit weight 0.
fn intent_model(aggregate: &str, missing: &str, rules: &str) -> Scorer {
    let text = format!(
        r#"
        name = "test"
        missing = "{missing}"
        [blend]
        fit = 0.0
        intent = 1.0
        [thresholds]
        high = 80
        medium = 60
        [intent]
        aggregate = "{aggregate}"
        {rules}
        "#
    );
    Scorer::new(ScoringModel::from_toml(&text).unwrap_or_else(|e| panic!("{e}"))).unwrap()
}

fn intent_of(s: &Scorer, json: &str) -> u8 {
    s.score(&lead(json)).intent_score
}

#[test]
fn numeric_ranges_with_open_ends() {
    let s = intent_model(
        "mean",
        "skip",
        r#"
        [[intent.rules]]
        id = "size"
        field = "employee_count"
        cases = [{ max = 9, points = 10 }, { min = 10, max = 99, points = 50 }, { min = 100, points = 90 }]
        "#,
    );
    assert_eq!(
        intent_of(&s, r#"{"company_name": "a", "employee_count": 0}"#),
        10
    );
    assert_eq!(
        intent_of(&s, r#"{"company_name": "a", "employee_count": 10}"#),
        50
    );
    assert_eq!(
        intent_of(&s, r#"{"company_name": "a", "employee_count": 99}"#),
        50
    );
    assert_eq!(
        intent_of(&s, r#"{"company_name": "a", "employee_count": 1000000}"#),
        90
    );
}

#[test]
fn set_membership_ignores_case_on_text_and_lists() {
    let s = intent_model(
        "mean",
        "skip",
        r#"
        [[intent.rules]]
        id = "country"
        field = "country"
        cases = [{ any_of = ["de", "Österreich"], points = 100, reason = "In {matched}" }]
        otherwise = { points = 10 }
        [[intent.rules]]
        id = "crm"
        field = "tech_stack"
        cases = [{ any_of = ["hubspot"], points = 100 }]
        "#,
    );
    assert_eq!(
        intent_of(&s, r#"{"company_name": "a", "country": "DE"}"#),
        100
    );
    assert_eq!(
        intent_of(&s, r#"{"company_name": "a", "country": "ÖSTERREICH"}"#),
        100
    );
    assert_eq!(
        intent_of(&s, r#"{"company_name": "a", "country": "FR"}"#),
        10
    );
    assert_eq!(
        intent_of(
            &s,
            r#"{"company_name": "a", "tech_stack": ["AWS", "HubSpot"]}"#
        ),
        100
    );
    let why = s.report(&lead(r#"{"company_name": "a", "country": "de"}"#));
    assert_eq!(why.reasoning.positive, ["In de"]);
}

#[test]
fn phrases_on_word_boundaries_or_substrings() {
    let words = intent_model(
        "mean",
        "skip",
        r#"
        [[intent.rules]]
        id = "ops"
        field = "recent_job_posts"
        cases = [{ contains = ["ops"], points = 100 }]
        otherwise = { points = 0 }
        "#,
    );
    let substr = intent_model(
        "mean",
        "skip",
        r#"
        [[intent.rules]]
        id = "ops"
        field = "recent_job_posts"
        cases = [{ contains = ["ops"], words = false, points = 100 }]
        otherwise = { points = 0 }
        "#,
    );
    let devops = r#"{"company_name": "a", "recent_job_posts": ["DevOps Engineer", "Workshops"]}"#;
    let ops = r#"{"company_name": "a", "recent_job_posts": ["Sales OPS lead"]}"#;
    assert_eq!(intent_of(&words, devops), 0);
    assert_eq!(intent_of(&substr, devops), 100);
    assert_eq!(intent_of(&words, ops), 100);
    assert_eq!(intent_of(&substr, ops), 100);
}

#[test]
fn signals_with_stage_and_amount_filters() {
    let s = intent_model(
        "max",
        "skip",
        r#"
        [[intent.rules]]
        id = "funding"
        field = "signals"
        cases = [
          { signal = "funding_round", stages = ["Series B", "Series C"], min_amount = 10000000, points = 100 },
          { signal = "funding_round", points = 40 },
        ]
        "#,
    );
    let n = |news: &str| {
        intent_of(
            &s,
            &format!(r#"{{"company_name": "a", "news_mentions": ["{news}"]}}"#),
        )
    };
    assert_eq!(n("a raises $20M in Series B"), 100);
    assert_eq!(n("a raises $2M in Series B"), 40);
    assert_eq!(n("a raises $20M seed round"), 40);
    assert_eq!(n("a wins an award"), 0);
}

#[test]
fn attributes_numbers_bools_and_presence() {
    let s = intent_model(
        "sum",
        "skip",
        r#"
        [[intent.rules]]
        id = "seats"
        field = "attributes.seats"
        cases = [{ min = 10, points = 30 }]
        [[intent.rules]]
        id = "trial"
        field = "attributes.trial_active"
        cases = [{ equals = true, points = 40 }, { equals = false, points = -10 }]
        [[intent.rules]]
        id = "has_contact"
        field = "contact.email"
        cases = [{ present = true, points = 20 }]
        [[intent.rules]]
        id = "no_domain"
        field = "domain"
        cases = [{ present = false, points = -5, reason = "No domain." }]
        otherwise = { points = 5 }
        "#,
    );
    assert_eq!(
        intent_of(
            &s,
            r#"{"company_name": "a", "domain": "a.io", "attributes": {"seats": 12, "trial_active": true}, "contact": {"email": "x@a.io"}}"#
        ),
        30 + 40 + 20 + 5
    );
    assert_eq!(
        intent_of(
            &s,
            r#"{"company_name": "a", "attributes": {"seats": "15", "trial_active": false}}"#
        ),
        30 - 10 - 5
    );
    let r = s.report(&lead(r#"{"company_name": "a"}"#));
    assert_eq!(r.reasoning.negative, ["No domain."]);
    assert_eq!(r.intent_score, 0); // clamped at 0
}

#[test]
fn missing_policies_and_rule_level_missing() {
    let rules = r#"
        [[intent.rules]]
        id = "stack"
        field = "tech_stack"
        cases = [{ any_of = ["zapier"], points = 100 }]
        [[intent.rules]]
        id = "jobs"
        field = "recent_job_posts"
        cases = [{ contains = ["operations"], points = 100 }]
        "#;
    let skip = intent_model("mean", "skip", rules);
    let zero = intent_model("mean", "zero", rules);
    let only_stack = r#"{"company_name": "a", "tech_stack": ["Zapier"]}"#;
    assert_eq!(intent_of(&skip, only_stack), 100);
    assert_eq!(intent_of(&zero, only_stack), 50);
    let score = zero.score(&lead(only_stack));
    assert!(
        score
            .contributions
            .iter()
            .any(|c| c.outcome == Outcome::Missing && c.counted)
    );

    let own = intent_model(
        "mean",
        "skip",
        r#"
        [[intent.rules]]
        id = "stack"
        field = "tech_stack"
        cases = [{ any_of = ["zapier"], points = 100 }]
        missing = { points = 30, reason = "Stack unknown, assume some tooling." }
        "#,
    );
    let r = own.report(&lead(r#"{"company_name": "a"}"#));
    assert_eq!(r.intent_score, 30);
    assert_eq!(r.reasoning.missing, ["tech_stack"]);
    assert_eq!(
        r.reasoning.positive,
        ["Stack unknown, assume some tooling."]
    );
}

#[test]
fn aggregates_and_weights() {
    let rules = r#"
        [[intent.rules]]
        id = "a"
        field = "industry"
        weight = 3.0
        cases = [{ any_of = ["saas"], points = 100 }]
        [[intent.rules]]
        id = "b"
        field = "country"
        cases = [{ any_of = ["de"], points = 20 }]
        "#;
    let lead_json = r#"{"company_name": "a", "industry": "saas", "country": "de"}"#;
    // (3·100 + 1·20) / 4 = 80
    assert_eq!(
        intent_of(&intent_model("mean", "skip", rules), lead_json),
        80
    );
    // 300 + 20 clamped to 100
    assert_eq!(
        intent_of(&intent_model("sum", "skip", rules), lead_json),
        100
    );
    // max(300, 20) clamped to 100
    assert_eq!(
        intent_of(&intent_model("max", "skip", rules), lead_json),
        100
    );
}

#[test]
fn default_confidence_counts_the_fields_rules_read() {
    let s = intent_model(
        "mean",
        "skip",
        r#"
        [[intent.rules]]
        id = "a"
        field = "industry"
        cases = [{ any_of = ["saas"], points = 100 }]
        "#,
    );
    // company_name + industry: 1 of 2 present → 0.5
    assert_eq!(s.score(&lead(r#"{"company_name": "a"}"#)).confidence, 0.5);
    assert_eq!(
        s.score(&lead(r#"{"company_name": "a", "industry": "x"}"#))
            .confidence,
        1.0
    );
}
