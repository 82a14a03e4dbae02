//! The presets really differ, in the directions their documentation promises.

use brim_core::{Action, Lead, PRESETS, Scorer};

use crate::{lead, report};

fn sample() -> Vec<Lead> {
    [
        r#"{"company_name": "A", "employee_count": 150, "industry": "SaaS", "funding_stage": "Series B", "tech_stack": ["Zapier"], "recent_job_posts": ["Head of Operations"], "news_mentions": ["A raises $20M in Series B"]}"#,
        r#"{"company_name": "B", "employee_count": 800, "industry": "Retail", "tech_stack": ["Zapier"], "recent_job_posts": ["RevOps Manager"]}"#,
        r#"{"company_name": "C", "employee_count": 60}"#,
        r#"{"company_name": "D", "industry": "Fintech", "tech_stack": ["AWS"]}"#,
        r#"{"company_name": "E", "employee_count": 40, "industry": "AI", "news_mentions": ["E announces layoffs"], "recent_job_posts": ["Engineer"]}"#,
    ]
    .iter()
    .map(|j| lead(j))
    .collect()
}

fn totals(model: &str) -> Vec<u8> {
    let s = Scorer::preset(model).unwrap();
    sample().iter().map(|l| s.score(l).total_score).collect()
}

#[test]
fn every_pair_of_presets_scores_the_sample_differently() {
    let all: Vec<(&str, Vec<u8>)> = PRESETS.iter().map(|(n, _)| (*n, totals(n))).collect();
    for (i, (a, ta)) in all.iter().enumerate() {
        for (b, tb) in &all[i + 1..] {
            assert_ne!(ta, tb, "{a} and {b} give the same totals");
        }
    }
}

#[test]
fn aggressive_reaches_out_to_more_leads_than_conservative() {
    let count_outreach = |model: &str| {
        let s = Scorer::preset(model).unwrap();
        sample()
            .iter()
            .filter(|l| s.score(l).action != Action::LowPriorityMonitoring)
            .count()
    };
    let (agg, bal, con) = (
        count_outreach("aggressive"),
        count_outreach("balanced"),
        count_outreach("conservative"),
    );
    assert!(
        agg > bal && bal >= con,
        "aggressive {agg}, balanced {bal}, conservative {con}"
    );
}

#[test]
fn conservative_punishes_missing_data_and_aggressive_does_not() {
    // C has only a good size: balanced ignores the gaps, conservative counts them as zero.
    let c = r#"{"company_name": "C", "employee_count": 60}"#;
    let bal = report("balanced", c);
    let con = report("conservative", c);
    let agg = report("aggressive", c);
    assert_eq!(bal.fit_score, 100);
    assert!(
        con.fit_score < bal.fit_score,
        "conservative fit {}",
        con.fit_score
    );
    assert_eq!(agg.fit_score, 100);
    assert!(
        con.contributions
            .iter()
            .any(|d| d.rule == "industry" && d.counted && d.points == 0)
    );
}

#[test]
fn intent_preset_reads_typed_signals() {
    let r = report(
        "intent",
        r#"{"company_name": "A", "employee_count": 150, "industry": "SaaS",
            "recent_job_posts": ["RevOps Manager", "DevOps Engineer"],
            "news_mentions": ["A raises $20M in Series B", "A expands to Europe"]}"#,
    );
    let rules: Vec<&str> = r.contributions.iter().map(|c| c.rule.as_str()).collect();
    assert!(
        rules.contains(&"funding_round")
            && rules.contains(&"ops_hiring")
            && rules.contains(&"expansion"),
        "{rules:?}"
    );
    assert!(
        r.reasoning
            .positive
            .iter()
            .any(|p| p == "Raised $20M (Series B): A raises $20M in Series B"),
        "{:?}",
        r.reasoning.positive
    );
    assert_eq!(r.intent_score, 35 + 30 + 15);
    assert!(!r.signals.is_empty());
    // DevOps alone is not operations hiring here (word boundaries), unlike `balanced`.
    let devops = report(
        "intent",
        r#"{"company_name": "D", "recent_job_posts": ["DevOps Engineer"]}"#,
    );
    assert_eq!(devops.intent_score, 0);
}

#[test]
fn layoffs_pull_intent_down() {
    let base = r#"{"company_name": "E", "tech_stack": ["Zapier"], "news_mentions": ["E opens new office in Austin"]"#;
    let calm = report("intent", &format!("{base}}}"));
    let cutting = report(
        "intent",
        r#"{"company_name": "E", "tech_stack": ["Zapier"], "news_mentions": ["E opens new office in Austin", "E lays off 10% of staff"]}"#,
    );
    assert_eq!(calm.intent_score, 25 + 15);
    assert_eq!(cutting.intent_score, 0);
    assert!(
        cutting
            .reasoning
            .negative
            .iter()
            .any(|n| n.starts_with("Layoffs or cost-cutting"))
    );
}
