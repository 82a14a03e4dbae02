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

/// `hay` contains the already lower-cased `needle` anywhere, ignoring case ("DevOps" contains "ops").
pub(crate) fn contains_folded(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        let first = n[0];
        (0..=h.len() - n.len()).any(|i| {
            h[i].to_ascii_lowercase() == first && h[i..i + n.len()].eq_ignore_ascii_case(n)
        })
    } else {
        hay.to_lowercase().contains(needle)
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

    /// The phrase occurs in `hay_words` as consecutive whole words.
    pub(crate) fn found_in(&self, hay_words: &[&str]) -> bool {
        let n = self.words.len();
        n > 0
            && hay_words.len() >= n
            && hay_words.windows(n).any(|window| {
                window
                    .iter()
                    .zip(&self.words)
                    .all(|(h, w)| eq_folded(h, w))
            })
    }
}

/// `true` when the `&'static str` phrase (words separated by single spaces, lower case) occurs
/// in `hay_words`.
pub(crate) fn static_phrase_in(phrase: &str, hay_words: &[&str]) -> bool {
    let n = phrase.split(' ').count();
    hay_words.len() >= n
        && hay_words
            .windows(n)
            .any(|window| window.iter().zip(phrase.split(' ')).all(|(h, w)| eq_folded(h, w)))
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
        assert!(contains_folded("Head of Operations", "operations"));
        assert!(contains_folded("DevOps Engineer", "ops"));
        assert!(contains_folded("Workshops lead", "ops"));
        assert!(!contains_folded("Sales", "ops"));
        assert!(contains_folded("ÜBER OPS", "ops"));
        assert!(!contains_folded("op", "ops"));
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let ops = Phrase::new("ops");
        assert!(ops.found_in(&words("Sales Ops Manager")));
        assert!(!ops.found_in(&words("DevOps Engineer")));
        assert!(!ops.found_in(&words("Workshops coordinator")));
        let cost = Phrase::new("cost cutting");
        assert!(cost.found_in(&words("Acme announces cost-cutting plan")));
        assert!(cost.found_in(&words("COST CUTTING at Acme")));
        assert!(!cost.found_in(&words("cost of cutting")));
        assert!(static_phrase_in("lays off", &words("Acme lays off 10%")));
        assert!(!Phrase::new("").found_in(&words("anything")));
    }
}
