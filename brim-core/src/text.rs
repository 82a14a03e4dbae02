//! Case-insensitive text matching: whole values, substrings and whole-word phrases.
//!
//! Needles are lower-cased once when a model is compiled; haystacks are lead text. ASCII text,
//! by far the common case, is compared without allocating; other text is lower-cased with
//! Unicode's rules first (as Python's `str.lower()` does in the original).

use smallvec::SmallVec;

/// Lower-cases a needle the way haystacks are compared.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// `hay` equals the already lower-cased `needle`, ignoring case.
pub(crate) fn eq_folded(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() {
        hay.len() == needle.len() && hay.eq_ignore_ascii_case(needle)
    } else {
        hay.chars().flat_map(char::to_lowercase).eq(needle.chars())
    }
}

/// The words of `text`: maximal runs of letters and digits (so "cost-cutting" is two words and
/// "DevOps" is one).
pub(crate) fn words(text: &str) -> SmallVec<[&str; 24]> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// A phrase to find on word boundaries: its lower-cased words.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Phrase {
    pub(crate) words: Vec<String>,
}

impl Phrase {
    /// Compiles `phrase` ("cost cutting", "cost-cutting" and "Cost Cutting" are the same phrase).
    pub(crate) fn new(phrase: &str) -> Phrase {
        Phrase {
            words: words(&fold(phrase)).iter().map(|w| w.to_string()).collect(),
        }
    }

    /// The phrase occurs in `lower_words` (the words of lower-cased text, see [`fold`]) as
    /// consecutive whole words.
    pub(crate) fn found_in(&self, lower_words: &[&str]) -> bool {
        let n = self.words.len();
        n > 0
            && lower_words.len() >= n
            && lower_words
                .windows(n)
                .any(|window| window.iter().zip(&self.words).all(|(h, w)| *h == w))
    }
}

/// `true` when the `&'static str` phrase (lower case, words separated by single spaces) occurs
/// in `lower_words` (the words of lower-cased text).
pub(crate) fn static_phrase_in(phrase: &str, lower_words: &[&str]) -> bool {
    match phrase.split_once(' ') {
        None => lower_words.contains(&phrase),
        Some((first, _)) => {
            let n = phrase.split(' ').count();
            lower_words.len() >= n
                && lower_words.windows(n).any(|window| {
                    window[0] == first && window.iter().zip(phrase.split(' ')).all(|(h, w)| *h == w)
                })
        }
    }
}

/// The first of the lower-cased `values` that `hay` equals, ignoring case.
pub(crate) fn find_equal<'v>(hay: &str, values: &'v [String]) -> Option<&'v String> {
    let h = hay.as_bytes();
    let Some(&first) = h.first() else {
        return values.iter().find(|v| v.is_empty());
    };
    if hay.is_ascii() {
        let first = first.to_ascii_lowercase();
        // Length and first byte reject almost every candidate before a full comparison.
        values.iter().find(|v| {
            let v = v.as_bytes();
            v.len() == h.len() && v[0] == first && h[1..].eq_ignore_ascii_case(&v[1..])
        })
    } else {
        values.iter().find(|v| eq_folded(hay, v))
    }
}

/// Lower-cased needles, each found anywhere in a haystack ("DevOps" contains "ops").
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Substrings {
    pub(crate) needles: Vec<String>,
}

/// Haystacks up to this long are lower-cased on the stack.
const STACK_HAY: usize = 128;

impl Substrings {
    pub(crate) fn new(needles: &[String]) -> Substrings {
        Substrings {
            needles: needles.iter().map(|n| fold(n)).collect(),
        }
    }

    /// Whether any needle occurs in `hay`, ignoring case.
    pub(crate) fn any_in(&self, hay: &str) -> bool {
        if hay.is_ascii() && hay.len() <= STACK_HAY {
            let mut stack = [0u8; STACK_HAY];
            let lower = &mut stack[..hay.len()];
            lower.copy_from_slice(hay.as_bytes());
            lower.make_ascii_lowercase();
            self.needles.iter().any(|n| find_bytes(lower, n.as_bytes()))
        } else {
            let lower = hay.to_lowercase();
            self.needles
                .iter()
                .any(|n| find_bytes(lower.as_bytes(), n.as_bytes()))
        }
    }

    /// The needles that occur in `hay`.
    pub(crate) fn found_in<'s>(&'s self, hay: &str) -> impl Iterator<Item = &'s str> {
        let lower = hay.to_lowercase();
        self.needles
            .iter()
            .filter(move |n| find_bytes(lower.as_bytes(), n.as_bytes()))
            .map(String::as_str)
    }
}

/// `needle` occurs in `hay` (both short: job titles, industry names). A first-byte scan beats a
/// general substring searcher's set-up cost at these lengths.
fn find_bytes(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if needle.len() > hay.len() {
        return false;
    }
    let last_start = hay.len() - needle.len();
    hay[..=last_start]
        .iter()
        .enumerate()
        .any(|(i, &b)| b == first && &hay[i + 1..i + needle.len()] == rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_ignores_case_in_any_script() {
        assert!(eq_folded("SaaS", "saas"));
        assert!(!eq_folded("SaaS ", "saas"));
        assert!(eq_folded("ÉDUCATION", "éducation"));
        assert!(!eq_folded("saa", "saas"));
    }

    #[test]
    fn substrings_are_found_inside_words() {
        let has = |hay: &str, needle: &str| Substrings::new(&[needle.to_string()]).any_in(hay);
        assert!(has("Head of Operations", "operations"));
        assert!(has("DevOps Engineer", "ops"));
        assert!(has("Workshops lead", "ops"));
        assert!(!has("Sales", "ops"));
        assert!(has("ÜBER OPS", "ops"));
        assert!(!has("op", "ops"));
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let w = |s: &str| {
            words(&fold(s))
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        };
        let found =
            |p: &Phrase, s: &str| p.found_in(&w(s).iter().map(String::as_str).collect::<Vec<_>>());
        let ops = Phrase::new("ops");
        assert!(found(&ops, "Sales Ops Manager"));
        assert!(!found(&ops, "DevOps Engineer"));
        assert!(!found(&ops, "Workshops coordinator"));
        let cost = Phrase::new("cost cutting");
        assert!(found(&cost, "Acme announces cost-cutting plan"));
        assert!(found(&cost, "COST CUTTING at Acme"));
        assert!(!found(&cost, "cost of cutting"));
        let lower = fold("Acme LAYS off 10%");
        assert!(static_phrase_in("lays off", &words(&lower)));
        assert!(!static_phrase_in("lays off", &words("acme lays")));
        assert!(!Phrase::new("").found_in(&words("anything")));
        let subs = Substrings::new(&["OPS".to_string(), "automation engineer".to_string()]);
        assert!(subs.any_in("DevOps"));
        assert!(subs.any_in("Senior AUTOMATION ENGINEER"));
        assert!(subs.any_in(&"x".repeat(300).replace("xxx", "Ops")));
        assert!(!subs.any_in("Sales"));
        assert_eq!(
            find_equal("SaaS", &["ai".into(), "saas".into()]).map(String::as_str),
            Some("saas")
        );
    }
}
