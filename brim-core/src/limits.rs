//! How much a lead may hold, and how errors quote what they refuse.
//!
//! Every way a lead enters Brim (`Lead::from_json`, a CSV or JSON-lines row, a data frame, the
//! npm package, the HTTP API) ends in [`Lead::validate`](crate::Lead::validate), which checks
//! these limits, so they are the same everywhere. Lengths count characters (Unicode scalar
//! values), not bytes. They are generous for real data (the longest company name in the
//! data sets Brim is tested on is 28 characters) and small enough that a lead always fits
//! a table row, an e-mail subject and a prompt.
//!
//! | field | at most |
//! |---|---|
//! | `company_name` | 100 characters (so that the fallback template's subject, "A question for …", always fits an e-mail subject's 150) |
//! | `id`, `contact.name`, `contact.title` | 200 characters |
//! | `industry`, `funding_stage`, `country` | 100 characters |
//! | `timezone` | 64 characters (and a known IANA name) |
//! | `domain` | 253 characters (DNS's limit) |
//! | `contact.email` | 254 characters (SMTP's limit) |
//! | `tech_stack`, `recent_job_posts`, `news_mentions` | 100 items of 300 characters each |
//! | `attributes` | 100 entries; names of 100 characters, text values of 1,000 |

/// `id`: at most this many characters.
pub const ID: usize = 200;
/// `company_name`: at most this many characters (the e-mail's subject carries it).
pub const COMPANY_NAME: usize = 100;
/// `industry`, `funding_stage`, `country`: at most this many characters.
pub const SHORT_TEXT: usize = 100;
/// `timezone`: at most this many characters.
pub const TIMEZONE: usize = 64;
/// `domain`: at most this many characters.
pub const DOMAIN: usize = 253;
/// `contact.name`, `contact.title`: at most this many characters.
pub const CONTACT_TEXT: usize = 200;
/// `contact.email`: at most this many characters.
pub const EMAIL: usize = 254;
/// `tech_stack`, `recent_job_posts`, `news_mentions`: at most this many items each.
pub const LIST_ITEMS: usize = 100;
/// One item of a list: at most this many characters.
pub const LIST_ITEM: usize = 300;
/// `attributes`: at most this many entries.
pub const ATTRIBUTES: usize = 100;
/// An attribute's name: at most this many characters.
pub const ATTRIBUTE_NAME: usize = 100;
/// An attribute's text value: at most this many characters.
pub const ATTRIBUTE_TEXT: usize = 1_000;

/// How many characters of a refused value an error message shows.
pub const QUOTED: usize = 32;

/// `text` quoted for an error message: whole when short, else its first [`QUOTED`] characters,
/// an ellipsis and the length, so a 10-megabyte value never comes back in an error.
///
/// ```
/// assert_eq!(brim_core::quote("Acme"), "\"Acme\"");
/// assert_eq!(brim_core::quote(&"A".repeat(1000)), format!("\"{}\"… (1000 characters)", "A".repeat(32)));
/// ```
pub fn quote(text: &str) -> String {
    match shown(text) {
        (whole, false) => format!("{whole:?}"),
        (prefix, true) => format!("{prefix:?}… ({} characters)", text.chars().count()),
    }
}

/// The first [`QUOTED`] characters of `text`, and whether that cut anything off.
fn shown(text: &str) -> (&str, bool) {
    match text.char_indices().nth(QUOTED) {
        None => (text, false),
        Some((cut, _)) => (&text[..cut], true),
    }
}

/// `text` for an error message without quotes (a number, a token): whole when short, else its
/// first [`QUOTED`] characters and an ellipsis.
pub fn clip(text: &str) -> String {
    match shown(text) {
        (whole, false) => whole.to_string(),
        (prefix, true) => format!("{prefix}…"),
    }
}

/// `Err` naming `field` when `text` is longer than `max` characters.
pub(crate) fn check_len(field: &str, text: &str, max: usize) -> Result<(), crate::LeadError> {
    // Bytes bound characters from above: most values never need counting.
    if text.len() <= max {
        return Ok(());
    }
    let n = text.chars().count();
    if n <= max {
        return Ok(());
    }
    // The length is said already: the quote is the first characters only.
    let (prefix, _) = shown(text);
    Err(crate::LeadError::new(
        field,
        format!("expected at most {max} characters, got {n}: {prefix:?}…"),
    ))
}

/// `Err` naming `field` when a list or map has more than `max` entries (a parser stops at the
/// first entry too many, so the message does not say how many there were).
pub(crate) fn check_count(
    field: &str,
    n: usize,
    max: usize,
    what: &str,
) -> Result<(), crate::LeadError> {
    if n <= max {
        return Ok(());
    }
    Err(crate::LeadError::new(
        field,
        format!("expected at most {max} {what}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short() {
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        let long = "é".repeat(100_000);
        let q = quote(&long);
        assert!(q.chars().count() < 70, "{q}");
        assert!(q.ends_with("… (100000 characters)"), "{q}");
        assert_eq!(clip(&"9".repeat(309)), format!("{}…", "9".repeat(32)));
        assert_eq!(clip("12"), "12");
    }

    #[test]
    fn lengths_count_characters() {
        assert!(check_len("f", &"é".repeat(10), 10).is_ok());
        let e = check_len("f", &"é".repeat(11), 10).unwrap_err();
        assert_eq!(e.field, "f");
        assert!(
            e.message
                .starts_with("expected at most 10 characters, got 11")
        );
    }
}
