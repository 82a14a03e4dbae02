//! A/B e-mail variants: which angle an e-mail takes for a lead.
//!
//! The original's rules (spec §3), made total: a lead without a funding stage, an employee
//! count, job posts or a stack simply does not match the rules that read them (the original
//! raised on a missing funding stage or employee count). The thresholds and word lists are
//! data; an *experiment* mode assigns variants by a hash of the company id instead, so a test
//! is reproducible and unbiased by the lead's features.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::Lead;

/// The variant that names the prospect's problem.
pub const PROBLEM_FOCUSED: &str = "problem_focused";
/// The variant that leads with return on investment.
pub const ROI_FOCUSED: &str = "roi_focused";

/// The original's rules, with its values as defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VariantRules {
    /// A job post containing one of these (case-insensitive) means the company is fighting
    /// the problem Brim's users solve → `problem_focused`.
    pub problem_keywords: Vec<String>,
    /// A tool in the stack equal to one of these (case-insensitive) → `problem_focused`.
    pub automation_tools: Vec<String>,
    /// More employees than this → `roi_focused`.
    pub roi_employees_above: u64,
    /// A funding stage equal to one of these (case-insensitive) → `roi_focused`.
    pub roi_funding_stages: Vec<String>,
    /// Otherwise: a total score above this → `roi_focused`, else `problem_focused`.
    pub roi_score_above: u8,
}

impl Default for VariantRules {
    fn default() -> Self {
        VariantRules {
            problem_keywords: vec!["operations".into(), "automation".into(), "process".into()],
            automation_tools: vec!["zapier".into(), "make".into()],
            roi_employees_above: 75,
            roi_funding_stages: vec!["series b".into(), "series c".into()],
            roi_score_above: 75,
        }
    }
}

/// How variants are assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum VariantPolicy {
    /// By the lead's features (the original's behaviour).
    Rules(VariantRules),
    /// By a hash of `salt` and the company id: the same company always gets the same variant,
    /// and the split is even across `variants`.
    Experiment {
        /// The arms (at least one).
        variants: Vec<String>,
        /// Change it to reshuffle the assignment for a new experiment.
        #[serde(default)]
        salt: String,
    },
}

impl Default for VariantPolicy {
    fn default() -> Self {
        VariantPolicy::Rules(VariantRules::default())
    }
}

/// A chosen variant and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantChoice {
    /// The variant's name.
    pub variant: String,
    /// A sentence saying why, for the event log and the preview.
    pub reason: String,
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    !needle.is_empty() && haystack.to_lowercase().contains(&needle.to_lowercase())
}

impl VariantPolicy {
    /// The variants this policy can choose.
    pub fn variants(&self) -> Vec<String> {
        match self {
            VariantPolicy::Rules(_) => vec![PROBLEM_FOCUSED.into(), ROI_FOCUSED.into()],
            VariantPolicy::Experiment { variants, .. } => variants.clone(),
        }
    }

    /// Checks the policy: an experiment needs at least one, non-empty, distinct variant name.
    pub fn validate(&self) -> Result<(), String> {
        if let VariantPolicy::Experiment { variants, .. } = self {
            if variants.is_empty() {
                return Err("variants: an experiment needs at least one variant".into());
            }
            for (i, v) in variants.iter().enumerate() {
                if v.trim().is_empty() {
                    return Err(format!("variants[{i}]: a variant name cannot be empty"));
                }
                if variants[..i].contains(v) {
                    return Err(format!("variants[{i}]: {v:?} is listed twice"));
                }
            }
        }
        Ok(())
    }

    /// Chooses the variant for `lead`, whose total score is `total_score`. Total: every lead
    /// gets a variant (an experiment without variants falls back to `problem_focused`).
    ///
    /// ```
    /// use brim_core::{Lead, VariantPolicy};
    /// let mut lead = Lead::new("Acme");
    /// lead.tech_stack = vec!["Zapier".into()];
    /// let choice = VariantPolicy::default().choose(&lead, 40);
    /// assert_eq!(choice.variant, "problem_focused");
    /// assert_eq!(choice.reason, "uses the automation tool Zapier");
    /// // No funding stage, no head count: no crash, the score decides.
    /// assert_eq!(VariantPolicy::default().choose(&Lead::new("Quiet"), 80).variant, "roi_focused");
    /// ```
    pub fn choose(&self, lead: &Lead, total_score: u8) -> VariantChoice {
        match self {
            VariantPolicy::Rules(rules) => rules.choose(lead, total_score),
            VariantPolicy::Experiment { variants, salt } => {
                if variants.is_empty() {
                    return VariantChoice {
                        variant: PROBLEM_FOCUSED.into(),
                        reason: "the experiment lists no variants".into(),
                    };
                }
                let bucket = experiment_bucket(salt, &lead.company_id(), variants.len());
                VariantChoice {
                    variant: variants[bucket].clone(),
                    reason: format!(
                        "experiment: arm {} of {} by the company's hash",
                        bucket + 1,
                        variants.len()
                    ),
                }
            }
        }
    }
}

/// Which of `arms` arms a company falls in: SHA-1 of `salt:company_id`, reduced without
/// modulo bias worth mentioning (64 bits over a handful of arms).
pub fn experiment_bucket(salt: &str, company_id: &str, arms: usize) -> usize {
    if arms <= 1 {
        return 0;
    }
    let mut hasher = Sha1::new();
    hasher.update(salt.as_bytes());
    hasher.update(b":");
    hasher.update(company_id.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let value = u64::from_be_bytes(first);
    // Multiply-shift: maps the 64-bit value evenly onto 0..arms.
    ((u128::from(value) * arms as u128) >> 64) as usize
}

impl VariantRules {
    fn choose(&self, lead: &Lead, total_score: u8) -> VariantChoice {
        let pick = |variant: &str, reason: String| VariantChoice {
            variant: variant.to_string(),
            reason,
        };
        for post in &lead.recent_job_posts {
            if let Some(word) = self.problem_keywords.iter().find(|k| contains_ci(post, k)) {
                return pick(
                    PROBLEM_FOCUSED,
                    format!("hiring for {post:?} (mentions {word:?})"),
                );
            }
        }
        for tool in &lead.tech_stack {
            if self
                .automation_tools
                .iter()
                .any(|t| t.trim().eq_ignore_ascii_case(tool.trim()))
            {
                return pick(
                    PROBLEM_FOCUSED,
                    format!("uses the automation tool {}", tool.trim()),
                );
            }
        }
        if let Some(n) = lead.employee_count
            && n > self.roi_employees_above
        {
            return pick(
                ROI_FOCUSED,
                format!("{n} employees (more than {})", self.roi_employees_above),
            );
        }
        if let Some(stage) = &lead.funding_stage
            && self
                .roi_funding_stages
                .iter()
                .any(|s| s.trim().eq_ignore_ascii_case(stage.trim()))
        {
            return pick(ROI_FOCUSED, format!("funding stage {}", stage.trim()));
        }
        if total_score > self.roi_score_above {
            pick(
                ROI_FOCUSED,
                format!("score {total_score} (above {})", self.roi_score_above),
            )
        } else {
            pick(
                PROBLEM_FOCUSED,
                format!("score {total_score} (not above {})", self.roi_score_above),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(json: &str) -> Lead {
        Lead::from_json(json).unwrap()
    }

    #[test]
    fn the_original_rules_in_order() {
        let p = VariantPolicy::default();
        let v = |json: &str, score: u8| p.choose(&lead(json), score).variant;
        // Job posts beat everything.
        assert_eq!(
            v(
                r#"{"company_name":"A","employee_count":500,"funding_stage":"Series C","recent_job_posts":["Head of Operations"]}"#,
                99
            ),
            PROBLEM_FOCUSED
        );
        assert_eq!(
            v(r#"{"company_name":"A","tech_stack":["AWS","make"]}"#, 99),
            PROBLEM_FOCUSED
        );
        assert_eq!(
            v(r#"{"company_name":"A","employee_count":76}"#, 10),
            ROI_FOCUSED
        );
        assert_eq!(
            v(r#"{"company_name":"A","employee_count":75}"#, 10),
            PROBLEM_FOCUSED
        );
        assert_eq!(
            v(r#"{"company_name":"A","funding_stage":"series b"}"#, 10),
            ROI_FOCUSED
        );
        assert_eq!(v(r#"{"company_name":"A"}"#, 76), ROI_FOCUSED);
        assert_eq!(v(r#"{"company_name":"A"}"#, 75), PROBLEM_FOCUSED);
        // "Makefile expert" is not the tool Make.
        assert_eq!(
            v(r#"{"company_name":"A","tech_stack":["Makefile"]}"#, 0),
            PROBLEM_FOCUSED
        );
    }

    #[test]
    fn experiments_are_deterministic_and_balanced() {
        let p = VariantPolicy::Experiment {
            variants: vec!["a".into(), "b".into(), "c".into()],
            salt: "2026-q4".into(),
        };
        p.validate().unwrap();
        let mut counts = [0usize; 3];
        for i in 0..3000 {
            let l = Lead::new(format!("Company {i}"));
            let first = p.choose(&l, 50);
            assert_eq!(first, p.choose(&l, 90), "the score does not matter");
            counts[["a", "b", "c"]
                .iter()
                .position(|v| *v == first.variant)
                .unwrap()] += 1;
        }
        for c in counts {
            assert!((900..=1100).contains(&c), "{counts:?}");
        }
        let bad = VariantPolicy::Experiment {
            variants: vec!["a".into(), "a".into()],
            salt: String::new(),
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "variants[1]: \"a\" is listed twice"
        );
    }

    #[test]
    fn policies_read_from_toml() {
        let p: VariantPolicy =
            toml::from_str("mode = \"experiment\"\nvariants = [\"short\", \"long\"]\n").unwrap();
        assert_eq!(p.variants(), vec!["short", "long"]);
        let p: VariantPolicy = toml::from_str("mode = \"rules\"\nroi_score_above = 60\n").unwrap();
        assert_eq!(
            p.choose(&Lead::new("X"), 61).variant,
            ROI_FOCUSED,
            "thresholds are data"
        );
    }
}
