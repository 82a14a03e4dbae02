//! Intent signals read from a lead's news mentions and job posts.
//!
//! Each signal kind has a list of phrases matched case-insensitively on **word boundaries**, so
//! "DevOps Engineer" or "Workshops Coordinator" are not operations hiring, and "cost-cutting"
//! matches "cost cutting". Funding rounds also yield the stage and amount when the text states
//! them ("raises $20M in Series B" → stage `Series B`, amount 20,000,000 USD).

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::lead::Lead;
use crate::text::{fold, static_phrase_in, words};

/// The kinds of intent signal Brim recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// The company raised money ("raises $20M in Series B").
    FundingRound,
    /// Expansion or a new market ("expands to Europe", "opens office in Austin").
    Expansion,
    /// A new leader ("appoints new CTO"; a "Head of ..." or "VP ..." opening).
    LeadershipHire,
    /// Hiring for operations or automation ("Head of Operations", "RevOps Manager").
    OpsHiring,
    /// The company acquired or merged with another.
    Acquisition,
    /// Layoffs, cost-cutting or restructuring (a negative signal).
    Layoffs,
}

impl SignalKind {
    /// Every kind, in a stable order.
    pub const ALL: [SignalKind; 6] = [
        SignalKind::FundingRound,
        SignalKind::Expansion,
        SignalKind::LeadershipHire,
        SignalKind::OpsHiring,
        SignalKind::Acquisition,
        SignalKind::Layoffs,
    ];

    /// The snake_case name used in model files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::FundingRound => "funding_round",
            SignalKind::Expansion => "expansion",
            SignalKind::LeadershipHire => "leadership_hire",
            SignalKind::OpsHiring => "ops_hiring",
            SignalKind::Acquisition => "acquisition",
            SignalKind::Layoffs => "layoffs",
        }
    }

    fn news_phrases(self) -> &'static [&'static str] {
        match self {
            // Funding is decided by `is_funding` below; these are its nouns.
            SignalKind::FundingRound => &[],
            SignalKind::Expansion => &[
                "expands",
                "expand",
                "expanding",
                "expansion",
                "new market",
                "new markets",
                "enters",
                "entering",
                "opens office",
                "opens new",
                "new office",
                "new offices",
                "launches in",
                "international launch",
            ],
            SignalKind::LeadershipHire => &[
                "appoints",
                "appointed",
                "names new",
                "named new",
                "hires new",
                "joins as",
                "new ceo",
                "new cto",
                "new cfo",
                "new coo",
                "new cro",
                "new cmo",
                "new chief",
                "new head of",
                "new vp",
            ],
            SignalKind::OpsHiring => &[],
            SignalKind::Acquisition => &[
                "acquires",
                "acquired",
                "acquire",
                "acquisition",
                "acquisitions",
                "merger",
                "merges",
                "merge",
                "takeover",
                "buys",
            ],
            SignalKind::Layoffs => &[
                "layoffs",
                "layoff",
                "lays off",
                "laid off",
                "laying off",
                "job cuts",
                "cuts jobs",
                "cut jobs",
                "cost cutting",
                "cost cuts",
                "cuts costs",
                "restructuring",
                "restructures",
                "downsizing",
                "downsizes",
                "hiring freeze",
                "reduces workforce",
                "workforce reduction",
                "budget cuts",
            ],
        }
    }

    fn job_phrases(self) -> &'static [&'static str] {
        match self {
            SignalKind::OpsHiring => &[
                "operations",
                "ops",
                "revops",
                "salesops",
                "bizops",
                "marketing ops",
                "automation",
                "process improvement",
                "process excellence",
                "workflow",
                "business systems",
            ],
            SignalKind::LeadershipHire => &[
                "head of",
                "vp",
                "vice president",
                "chief",
                "director",
                "ceo",
                "cto",
                "cfo",
                "coo",
                "cro",
                "cmo",
            ],
            SignalKind::Expansion => &[
                "country manager",
                "international",
                "expansion",
                "new market",
                "new markets",
            ],
            _ => &[],
        }
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a signal was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalSource {
    /// `news_mentions[index]`.
    NewsMentions,
    /// `recent_job_posts[index]`.
    RecentJobPosts,
}

/// Stage and amount of a funding round, when the text states them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Funding {
    /// e.g. `Seed`, `Series B`, `IPO`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The amount in the stated currency's units, e.g. `20000000.0` for "$20M".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// ISO code of the currency: `USD`, `EUR` or `GBP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// One detected signal with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// What kind of signal.
    pub kind: SignalKind,
    /// The field it was read from.
    pub source: SignalSource,
    /// Index of the item in that field.
    pub index: usize,
    /// The headline or job title, as given.
    pub text: String,
    /// The phrase that matched (lower case).
    pub phrase: String,
    /// Stage and amount, for funding rounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding: Option<Funding>,
}

/// Reads every intent signal in `lead` (news first, then job posts; one signal of a kind per item).
///
/// ```
/// use brim_core::{extract_signals, Lead, SignalKind};
/// let mut lead = Lead::new("Acme");
/// lead.news_mentions = vec!["Acme raises $20M in Series B funding".into()];
/// lead.recent_job_posts = vec!["DevOps Engineer".into(), "RevOps Manager".into()];
/// let signals = extract_signals(&lead);
/// assert_eq!(signals[0].kind, SignalKind::FundingRound);
/// assert_eq!(signals[0].funding.as_ref().unwrap().amount, Some(20_000_000.0));
/// assert_eq!(signals[1].kind, SignalKind::OpsHiring);
/// assert_eq!(signals[1].index, 1); // "DevOps" is not operations hiring
/// ```
pub fn extract_signals(lead: &Lead) -> Vec<Signal> {
    let mut out = Vec::new();
    let sources = [
        (&lead.news_mentions, SignalSource::NewsMentions, List::News),
        (
            &lead.recent_job_posts,
            SignalSource::RecentJobPosts,
            List::Jobs,
        ),
    ];
    for (texts, source, list) in sources {
        for (index, text) in texts.iter().enumerate() {
            let lower = fold(text);
            let ws = words(&lower);
            let found = find_phrases(&ws);
            let signal = |kind, phrase: &str, funding| Signal {
                kind,
                source,
                index,
                text: text.clone(),
                phrase: phrase.to_string(),
                funding,
            };
            if list == List::News
                && let Some((funding, phrase)) = funding_in(text, &ws, &found)
            {
                out.push(signal(SignalKind::FundingRound, phrase, Some(funding)));
            }
            for kind in SignalKind::ALL {
                if let Some(phrase) = found.first(list, kind) {
                    out.push(signal(kind, phrase, None));
                }
            }
        }
    }
    out
}

/// Which list a phrase belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    News,
    Jobs,
    FundingVerb,
    FundingNoun,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    list: List,
    kind: SignalKind,
    /// Position in its list: when several phrases of a kind match, the earliest in the list wins.
    order: usize,
    phrase: &'static str,
}

/// Every phrase, by its first word, so that a text is read once instead of once per phrase.
fn phrase_index() -> &'static HashMap<&'static str, Vec<Entry>> {
    static INDEX: OnceLock<HashMap<&'static str, Vec<Entry>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: HashMap<&'static str, Vec<Entry>> = HashMap::new();
        let mut add = |list, kind, phrases: &'static [&'static str]| {
            for (order, phrase) in phrases.iter().enumerate() {
                let first = phrase.split(' ').next().unwrap_or(phrase);
                index.entry(first).or_default().push(Entry {
                    list,
                    kind,
                    order,
                    phrase,
                });
            }
        };
        for kind in SignalKind::ALL {
            add(List::News, kind, kind.news_phrases());
            add(List::Jobs, kind, kind.job_phrases());
        }
        add(List::FundingVerb, SignalKind::FundingRound, &FUNDING_VERBS);
        add(List::FundingNoun, SignalKind::FundingRound, &FUNDING_NOUNS);
        index
    })
}

/// The phrases found in a text's lower-cased words.
struct Found(SmallVec<[Entry; 8]>);

impl Found {
    /// The earliest-listed phrase of `list` and `kind` that was found.
    fn first(&self, list: List, kind: SignalKind) -> Option<&'static str> {
        self.0
            .iter()
            .filter(|e| e.list == list && e.kind == kind)
            .min_by_key(|e| e.order)
            .map(|e| e.phrase)
    }
}

fn find_phrases(ws: &[&str]) -> Found {
    let index = phrase_index();
    let mut found = SmallVec::new();
    for (i, w) in ws.iter().enumerate() {
        if let Some(entries) = index.get(w) {
            for e in entries {
                if e.phrase.split(' ').count() == 1 || static_phrase_in(e.phrase, &ws[i..]) {
                    found.push(*e);
                }
            }
        }
    }
    Found(found)
}

const FUNDING_VERBS: [&str; 14] = [
    "raises", "raised", "raise", "raising", "secures", "secured", "closes", "closed", "lands",
    "landed", "bags", "nets", "receives", "received",
];
const FUNDING_NOUNS: [&str; 6] = [
    "funding",
    "financing",
    "round",
    "investment",
    "investors",
    "venture",
];

/// A funding round in a headline: a funding verb with an amount, a funding noun or a stage
/// ("raises $5M", "closes seed round"), or a funding noun with an amount or a stage ("Series B
/// funding"). A stage word alone ("a seed of doubt") is not enough. Returns the details and the
/// deciding word.
fn funding_in(text: &str, ws: &[&str], found: &Found) -> Option<(Funding, &'static str)> {
    let verb = found.first(List::FundingVerb, SignalKind::FundingRound);
    let noun = found.first(List::FundingNoun, SignalKind::FundingRound);
    let stage = stage_in(ws);
    let money = amount_in(text);
    let backed = money.is_some() || stage.is_some();
    let decided = match (verb, noun) {
        (Some(v), Some(_)) => Some(v),
        (Some(v), None) if backed => Some(v),
        (None, Some(n)) if backed => Some(n),
        _ => None,
    }?;
    Some((
        Funding {
            stage,
            amount: money.map(|m| m.0),
            currency: money.map(|m| m.1.to_string()),
        },
        decided,
    ))
}

fn stage_in(ws: &[&str]) -> Option<String> {
    for (i, w) in ws.iter().enumerate() {
        let next = ws.get(i + 1).copied().unwrap_or("");
        if w.eq_ignore_ascii_case("series")
            && next.len() == 1
            && next.as_bytes()[0].is_ascii_alphabetic()
        {
            return Some(format!("Series {}", next.to_ascii_uppercase()));
        }
        if w.eq_ignore_ascii_case("pre") && next.eq_ignore_ascii_case("seed") {
            return Some("Pre-Seed".into());
        }
        if w.eq_ignore_ascii_case("preseed") {
            return Some("Pre-Seed".into());
        }
        if w.eq_ignore_ascii_case("seed") {
            return Some("Seed".into());
        }
        if w.eq_ignore_ascii_case("ipo") {
            return Some("IPO".into());
        }
    }
    None
}

/// The first money amount in `text`: `$20M`, `€1.5 billion`, `USD 300k`, `£2,500,000`.
fn amount_in(text: &str) -> Option<(f64, &'static str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let (currency, skip) = if rest.starts_with('$') {
            ("USD", 1)
        } else if rest.starts_with('€') {
            ("EUR", '€'.len_utf8())
        } else if rest.starts_with('£') {
            ("GBP", '£'.len_utf8())
        } else if let Some(code) = ["USD", "EUR", "GBP"]
            .iter()
            .find(|c| rest.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(c)))
            .filter(|_| i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        {
            (*code, 3)
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        if let Some(amount) = number_with_scale(rest[skip..].trim_start()) {
            return Some((amount, currency));
        }
        i += skip;
    }
    None
}

fn number_with_scale(s: &str) -> Option<f64> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(s.len());
    let digits: String = s[..end].chars().filter(|c| *c != ',').collect();
    let digits = digits.trim_end_matches('.');
    if digits.is_empty() || !digits.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let value: f64 = digits.parse().ok()?;
    let suffix = s[end..].trim_start();
    let word: String = suffix
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    let scale = match word.as_str() {
        "k" | "thousand" => 1e3,
        "m" | "mm" | "mn" | "mio" | "million" | "millions" => 1e6,
        "b" | "bn" | "billion" | "billions" => 1e9,
        _ => 1.0,
    };
    Some(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(news: &[&str], jobs: &[&str]) -> Vec<SignalKind> {
        let mut lead = Lead::new("X");
        lead.news_mentions = news.iter().map(|s| s.to_string()).collect();
        lead.recent_job_posts = jobs.iter().map(|s| s.to_string()).collect();
        extract_signals(&lead).into_iter().map(|s| s.kind).collect()
    }

    #[test]
    fn funding_rounds_with_stage_and_amount() {
        let mut lead = Lead::new("X");
        lead.news_mentions = vec![
            "Innovatech Solutions raises $20M in Series B funding".into(),
            "GreenCorp raises $80M in IPO funding".into(),
            "Acme secures €1.5 billion".into(),
            "Beta closes seed round".into(),
            "Gamma gets USD 300k from angels in a pre-seed round".into(),
        ];
        let s = extract_signals(&lead);
        let f: Vec<_> = s.iter().filter_map(|s| s.funding.clone()).collect();
        assert_eq!(f[0].stage.as_deref(), Some("Series B"));
        assert_eq!(f[0].amount, Some(20_000_000.0));
        assert_eq!(f[0].currency.as_deref(), Some("USD"));
        assert_eq!(f[1].stage.as_deref(), Some("IPO"));
        assert_eq!(f[2].amount, Some(1_500_000_000.0));
        assert_eq!(f[2].currency.as_deref(), Some("EUR"));
        assert_eq!(f[3].stage.as_deref(), Some("Seed"));
        assert_eq!(f[3].amount, None);
        assert_eq!(f[4].stage.as_deref(), Some("Pre-Seed"));
        assert_eq!(f[4].amount, Some(300_000.0));
    }

    #[test]
    fn not_every_money_headline_is_funding() {
        assert!(!kinds(&["Acme reports $5M revenue"], &[]).contains(&SignalKind::FundingRound));
        assert!(!kinds(&["Acme plants a seed of doubt"], &[]).contains(&SignalKind::FundingRound));
    }

    #[test]
    fn each_kind_is_recognised() {
        assert_eq!(
            kinds(&["Legacy Manufacturing expands production line"], &[]),
            [SignalKind::Expansion]
        );
        assert_eq!(
            kinds(&["Acme appoints new CTO"], &[]),
            [SignalKind::LeadershipHire]
        );
        assert_eq!(
            kinds(&["Acme acquires Beta"], &[]),
            [SignalKind::Acquisition]
        );
        assert_eq!(
            kinds(&["Acme announces layoffs"], &[]),
            [SignalKind::Layoffs]
        );
        assert_eq!(
            kinds(&["Acme unveils cost-cutting plan"], &[]),
            [SignalKind::Layoffs]
        );
        assert_eq!(
            kinds(&[], &["Head of Operations"]),
            [SignalKind::LeadershipHire, SignalKind::OpsHiring]
        );
        assert_eq!(
            kinds(&[], &["Automation Engineer"]),
            [SignalKind::OpsHiring]
        );
        assert_eq!(
            kinds(&[], &["Country Manager DACH"]),
            [SignalKind::Expansion]
        );
    }

    #[test]
    fn word_boundaries_keep_devops_and_workshops_out() {
        assert!(kinds(&[], &["DevOps Engineer", "Workshops Coordinator"]).is_empty());
        assert_eq!(kinds(&[], &["Sales Ops Lead"]), [SignalKind::OpsHiring]);
        assert!(kinds(&["Acme's workshop expansion"], &[]).contains(&SignalKind::Expansion));
    }

    #[test]
    fn odd_text_never_panics() {
        kinds(
            &[
                "$",
                "€",
                "USD",
                "$.",
                "$1,,",
                "raise $9999999999999999999999999999B",
                "ñ$ü",
            ],
            &["", "🚀"],
        );
    }
}
