//! Analytics answers: KPIs, the funnel over time, the scored-leads table, distributions.

use serde::Serialize;

use crate::queue::EmailStatus;

/// A company is a *qualified lead* when it has a score above this (the original's rule).
pub const QUALIFIED_SCORE: u8 = 75;

/// The activation step that counts as an activation.
pub const ACTIVATION_STEP: &str = "result_viewed";

/// The activation flow's steps, in order.
pub const ACTIVATION_STEPS: [&str; 3] = ["file_upload", "result_viewed", "share_step_reached"];

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// A period: the `days` days that end at `end` (Unix ms, exclusive), compared with the `days`
/// days before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The end (exclusive), Unix ms.
    pub end: i64,
    /// Its length in days (1..=3660).
    pub days: u32,
}

impl Period {
    /// The current period as `[start, end)`.
    pub fn current(&self) -> (i64, i64) {
        (self.end - i64::from(self.days) * DAY_MS, self.end)
    }

    /// The period before it, as `[start, end)`.
    pub fn previous(&self) -> (i64, i64) {
        let (start, _) = self.current();
        (start - i64::from(self.days) * DAY_MS, start)
    }

    pub(crate) fn check(&self) -> crate::Result<()> {
        if !(1..=3660).contains(&self.days) {
            return Err(crate::Error::Invalid {
                field: "days",
                expected: format!("a number of days from 1 to 3660, got {}", self.days),
            });
        }
        Ok(())
    }
}

/// One KPI card: this period's value, the previous period's, and the change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpi {
    /// Machine name, e.g. `qualified_leads`.
    pub metric_name: &'static str,
    /// This period's value.
    pub current_value: f64,
    /// The previous period's value.
    pub previous_value: f64,
    /// `(current - previous) / previous × 100`, rounded to 2 decimals; `0` when both are 0;
    /// `None` when only the previous is 0 (a change from nothing has no percentage).
    pub percentage_change: Option<f64>,
    /// What it measures.
    pub description: &'static str,
}

impl Kpi {
    pub(crate) fn new(
        metric_name: &'static str,
        description: &'static str,
        current_value: f64,
        previous_value: f64,
    ) -> Kpi {
        let percentage_change = if previous_value == 0.0 {
            (current_value == 0.0).then_some(0.0)
        } else {
            Some(round2(
                (current_value - previous_value) / previous_value * 100.0,
            ))
        };
        Kpi {
            metric_name,
            current_value: round2(current_value),
            previous_value: round2(previous_value),
            percentage_change,
            description,
        }
    }
}

/// The four KPI cards of the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// Distinct companies scored above [`QUALIFIED_SCORE`] in the period.
    pub qualified_leads: Kpi,
    /// Distinct companies that clicked / e-mails sent in the period, in percent.
    pub email_click_through_rate: Kpi,
    /// Distinct users who reached [`ACTIVATION_STEP`] in the period.
    pub new_activations: Kpi,
    /// New activations / qualified leads, in percent.
    pub funnel_conversion_rate: Kpi,
    /// Average days from a company's first qualifying score to its activation, over the
    /// period's activations that name a company; `None` when there are none.
    pub average_days_to_activation: Option<f64>,
}

/// One day of the funnel chart (UTC days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunnelDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Distinct companies scored above [`QUALIFIED_SCORE`] that day.
    pub qualified_leads: u64,
    /// Distinct users who reached [`ACTIVATION_STEP`] that day.
    pub activations: u64,
}

crate::names::names! {
    /// What the scored-leads table is sorted by.
    pub enum LeadSort ("sort") {
        /// The latest total score (ties: newer first).
        Score = "score",
        /// The company name, without regard to case.
        Name = "name",
        /// When the latest score was given.
        Date = "date",
    }
}

/// Which e-mail status the scored-leads table keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Companies without an e-mail.
    NoEmail,
    /// Waiting, queued or leased.
    Pending,
    /// Exactly this status.
    Is(EmailStatus),
}

impl std::str::FromStr for StatusFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(StatusFilter::NoEmail),
            "pending" => Ok(StatusFilter::Pending),
            other => other.parse().map(StatusFilter::Is).map_err(|_| {
                format!(
                    "unknown status {other:?}; expected none, pending, waiting, queued, leased, \
                     sent, dead or cancelled"
                )
            }),
        }
    }
}

/// A page of the scored-leads table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadsQuery {
    /// 1-based page number.
    pub page: u32,
    /// Rows per page, 1..=500.
    pub per_page: u32,
    /// Sort key.
    pub sort: LeadSort,
    /// Largest first (scores, dates) or Z→A (names).
    pub descending: bool,
    /// Only this recommended action (e.g. `high_priority_outreach`).
    pub action: Option<String>,
    /// Only this e-mail status.
    pub status: Option<StatusFilter>,
    /// Only companies whose name contains this, without regard to case.
    pub search: Option<String>,
}

impl Default for LeadsQuery {
    /// The first 50 rows, best score first.
    fn default() -> Self {
        LeadsQuery {
            page: 1,
            per_page: 50,
            sort: LeadSort::Score,
            descending: true,
            action: None,
            status: None,
            search: None,
        }
    }
}

impl LeadsQuery {
    pub(crate) fn check(&self) -> crate::Result<()> {
        if self.page == 0 {
            return Err(crate::Error::Invalid {
                field: "page",
                expected: "a page number from 1".into(),
            });
        }
        if !(1..=500).contains(&self.per_page) {
            return Err(crate::Error::Invalid {
                field: "per_page",
                expected: format!("1 to 500 rows, got {}", self.per_page),
            });
        }
        Ok(())
    }
}

/// One company in the scored-leads table: its latest score and its e-mail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredLead {
    /// The company.
    pub company_id: String,
    /// Its name as last scored.
    pub company_name: String,
    /// Latest total score.
    pub score: u8,
    /// Latest fit score.
    pub fit_score: u8,
    /// Latest intent score.
    pub intent_score: u8,
    /// Latest recommended action.
    pub action: String,
    /// The model that gave the latest score.
    pub model: String,
    /// When (Unix ms).
    pub scored_at: i64,
    /// Its e-mail's status, if it has one.
    pub email_status: Option<EmailStatus>,
    /// Its e-mail's variant, if it has one.
    pub email_variant: Option<String>,
}

/// A page of rows and how many rows match in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The rows.
    pub rows: Vec<T>,
    /// Matching rows over all pages.
    pub total: u64,
    /// This page (1-based).
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

/// One bin of the score distribution: latest scores from `from` to `to` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScoreBin {
    /// Lowest score in the bin.
    pub from: u8,
    /// Highest score in the bin (the last bin, 90–100, holds 100).
    pub to: u8,
    /// Companies whose latest score is in it.
    pub companies: u64,
}

/// Distinct users who completed an activation step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepCount {
    /// The step.
    pub step: String,
    /// Distinct users.
    pub users: u64,
}

/// How one e-mail variant did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantStats {
    /// The variant.
    pub variant: String,
    /// E-mails sent.
    pub sent: u64,
    /// Of those, companies with an `email_opened` event.
    pub opened: u64,
    /// Of those, companies with an `email_clicked` event.
    pub clicked: u64,
}

/// Rounds half away from zero to two decimals.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `YYYY-MM-DD` of a day number since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`).
pub(crate) fn date_of_day(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(-1), "1969-12-31");
        assert_eq!(date_of_day(19_782), "2024-02-29");
        assert_eq!(date_of_day(20_781), "2026-11-24");
    }

    #[test]
    fn percentage_change() {
        assert_eq!(Kpi::new("x", "", 15.0, 10.0).percentage_change, Some(50.0));
        assert_eq!(Kpi::new("x", "", 0.0, 0.0).percentage_change, Some(0.0));
        assert_eq!(Kpi::new("x", "", 3.0, 0.0).percentage_change, None);
        assert_eq!(Kpi::new("x", "", 1.0, 3.0).percentage_change, Some(-66.67));
    }
}
