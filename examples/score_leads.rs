//! Score the sample leads with every preset and print the best lead of each.
//!
//! `cargo run -p brim-examples --example score_leads`

use brim_core::{Lead, PRESETS, Scorer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = include_str!("leads.jsonl");
    let leads: Vec<Lead> = text
        .lines()
        .map(Lead::from_json)
        .collect::<Result<_, _>>()?;
    for (name, _) in PRESETS {
        let scorer = Scorer::preset(name)?;
        let reports = scorer.report_batch(&leads);
        let best = reports
            .iter()
            .max_by_key(|r| r.total_score)
            .ok_or("no leads")?;
        println!(
            "{name:<13} best: {} ({}, {}): {}",
            best.company_name,
            best.total_score,
            best.action.as_str(),
            best.reasoning.positive.join(" ")
        );
    }
    Ok(())
}
