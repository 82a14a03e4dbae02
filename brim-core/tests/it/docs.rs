//! The model files shown in docs/scoring.md load, validate and score.

use brim_core::{Scorer, ScoringModel};

#[test]
fn every_toml_model_in_the_scoring_docs_loads_and_scores() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scoring.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    assert!(!blocks.is_empty(), "docs/scoring.md has no toml example");
    for block in blocks {
        let model = ScoringModel::from_toml(&block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let scorer = Scorer::new(model).unwrap();
        let lead = crate::lead(
            r#"{"company_name": "Acme", "employee_count": 120, "industry": "SaaS",
                "tech_stack": ["n8n"], "recent_job_posts": ["RevOps Lead"],
                "news_mentions": ["Acme raises $15M in Series A"], "attributes": {"plan": "trial"}}"#,
        );
        let r = scorer.report(&lead);
        // fit: (2·100 + 100 + 80) / 4 = 95; intent: 40 + 30 + 40 clamped to 100.
        assert_eq!(
            (r.fit_score, r.intent_score),
            (95, 100),
            "{:?}",
            r.reasoning
        );
        assert!(
            r.reasoning
                .positive
                .contains(&"Raised $15M (Series A).".to_string()),
            "{:?}",
            r.reasoning
        );
    }
}
