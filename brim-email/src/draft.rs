//! A written e-mail, its validation, and its HTML rendering.

use serde::{Deserialize, Serialize};

/// Longest subject accepted, in characters.
pub const MAX_SUBJECT_CHARS: usize = 150;
/// Longest body accepted, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;

/// A written e-mail, before it is queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The variant it was written for.
    pub variant: String,
    /// Subject line (one line, at most 150 characters).
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body: the text, escaped, with paragraphs and links.
    pub body_html: String,
}

/// Why a reply was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidReply {
    /// `reply`, `variant_name`, `subject` or `body`.
    pub field: &'static str,
    /// What was wrong.
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidReply {
    InvalidReply {
        field,
        message: message.into(),
    }
}

/// Strips one surrounding Markdown code fence (```` ```json ... ``` ````), if any.
fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    rest.trim_end().strip_suffix("```").unwrap_or(rest).trim()
}

/// Parses a model's reply strictly: one JSON object (a surrounding code fence is tolerated) with
/// string fields `variant_name`, `subject` and `body`; the variant must be `expected_variant`;
/// the subject one non-empty line of at most 150 characters, without line breaks,
/// bidirectional controls, zero-width or other control characters (refused, not cleaned); the
/// body non-empty and at most 20,000 characters. Extra fields are ignored.
///
/// ```
/// let draft = brim_email::parse_reply(
///     "```json\n{\"variant_name\": \"roi_focused\", \"subject\": \"Hi\", \"body\": \"<b>1</b> & 2\"}\n```",
///     "roi_focused",
/// ).unwrap();
/// assert_eq!(draft.body_html, "<p>&lt;b&gt;1&lt;/b&gt; &amp; 2</p>");
/// let err = brim_email::parse_reply("{\"variant_name\": \"roi_focused\"}", "roi_focused").unwrap_err();
/// assert_eq!(err.to_string(), "subject: missing");
/// ```
pub fn parse_reply(reply: &str, expected_variant: &str) -> Result<Draft, InvalidReply> {
    let value: serde_json::Value = serde_json::from_str(strip_fence(reply))
        .map_err(|e| invalid("reply", format!("not a JSON object: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| invalid("reply", "not a JSON object"))?;
    let text = |field: &'static str| -> Result<&str, InvalidReply> {
        match object.get(field) {
            None => Err(invalid(field, "missing")),
            Some(serde_json::Value::String(s)) => Ok(s.as_str()),
            Some(other) => Err(invalid(field, format!("expected a string, got {other}"))),
        }
    };
    let variant = text("variant_name")?;
    if variant != expected_variant {
        return Err(invalid(
            "variant_name",
            format!("expected {expected_variant:?}, got {variant:?}"),
        ));
    }
    let subject = text("subject")?;
    let body = text("body")?;
    validated(variant, subject, body).map_err(|(f, m)| invalid(f, m))
}

/// What makes a subject unsafe to send, if anything: a line break (a header could follow it),
/// a bidirectional control (U+202A-U+202E, U+2066-U+2069: the text would display in another
/// order than it reads), a zero-width or other invisible format character, or any other
/// control character. Such a subject is refused, not cleaned: whoever wrote it writes another.
fn unsafe_in_subject(subject: &str) -> Option<String> {
    let found = |what: &str, c: char| Some(format!("contains {what} (U+{:04X})", c as u32));
    for c in subject.chars() {
        match c {
            '\r' | '\n' | '\u{2028}' | '\u{2029}' | '\u{85}' => return found("a line break", c),
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => {
                return found("a bidirectional control character", c);
            }
            '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' => {
                return found("a zero-width character", c);
            }
            '\t' => {}
            c if c.is_control() => return found("a control character", c),
            _ => {}
        }
    }
    None
}

/// Checks a subject (refusing what [`unsafe_in_subject`] names) and a body, and normalises
/// them into a [`Draft`] (spaces collapsed in the subject, line ends in the body).
pub(crate) fn validated(
    variant: &str,
    subject: &str,
    body: &str,
) -> Result<Draft, (&'static str, String)> {
    if let Some(problem) = unsafe_in_subject(subject) {
        return Err(("subject", problem));
    }
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    if subject.is_empty() {
        return Err(("subject", "empty".into()));
    }
    let chars = subject.chars().count();
    if chars > MAX_SUBJECT_CHARS {
        return Err((
            "subject",
            format!("{chars} characters, at most {MAX_SUBJECT_CHARS} allowed"),
        ));
    }
    let body = body.replace("\r\n", "\n").trim().to_string();
    if body.is_empty() {
        return Err(("body", "empty".into()));
    }
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err((
            "body",
            format!("{chars} characters, at most {MAX_BODY_CHARS} allowed"),
        ));
    }
    Ok(Draft {
        variant: variant.to_string(),
        body_html: text_to_html(&body),
        subject,
        body_text: body,
    })
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Finds `http://` and `https://` links in text: `(start, end)` byte ranges, trailing
/// punctuation left out.
pub(crate) fn find_links(text: &str) -> Vec<(usize, usize)> {
    let mut links = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("http") {
        let start = from + pos;
        let rest = &text[start..];
        if rest.starts_with("https://") || rest.starts_with("http://") {
            let len = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
                .unwrap_or(rest.len());
            let trimmed = rest[..len].trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
            let end = start + trimmed.len();
            if trimmed.len() > "https://".len() {
                links.push((start, end));
            }
            from = end.max(start + 4);
        } else {
            from = start + 4;
        }
    }
    links
}

/// Plain text → HTML: every character escaped, blank lines start paragraphs, line breaks
/// become `<br>`, and `http(s)://` links become anchors.
pub fn text_to_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 64);
    for (i, paragraph) in text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        if i > 0 {
            html.push('\n');
        }
        html.push_str("<p>");
        let mut last = 0;
        for (start, end) in find_links(paragraph) {
            html.push_str(&escape_html(&paragraph[last..start]).replace('\n', "<br>\n"));
            let url = escape_html(&paragraph[start..end]);
            html.push_str(&format!("<a href=\"{url}\">{url}</a>"));
            last = end;
        }
        html.push_str(&escape_html(&paragraph[last..]).replace('\n', "<br>\n"));
        html.push_str("</p>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_parsed_strictly() {
        let ok = r#"{"variant_name":"problem_focused","subject":"  Quick   question ","body":"Hi\n\nSee https://brim.dev/demo."}"#;
        let d = parse_reply(ok, "problem_focused").unwrap();
        assert_eq!(d.subject, "Quick question");
        assert_eq!(
            d.body_html,
            "<p>Hi</p>\n<p>See <a href=\"https://brim.dev/demo\">https://brim.dev/demo</a>.</p>"
        );
        for (reply, message) in [
            ("not json", "reply: not a JSON object"),
            ("[1,2]", "reply: not a JSON object"),
            (
                r#"{"variant_name":"roi_focused","subject":"a","body":"b"}"#,
                "variant_name: expected \"problem_focused\", got \"roi_focused\"",
            ),
            (
                r#"{"variant_name":"problem_focused","subject":"","body":"b"}"#,
                "subject: empty",
            ),
            (
                r#"{"variant_name":"problem_focused","subject":"a","body":3}"#,
                "body: expected a string, got 3",
            ),
            (
                r#"{"variant_name":"problem_focused","body":"b"}"#,
                "subject: missing",
            ),
        ] {
            let err = parse_reply(reply, "problem_focused")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(message), "{reply}: {err}");
        }
        let long = format!(
            r#"{{"variant_name":"v","subject":"{}","body":"b"}}"#,
            "x".repeat(151)
        );
        assert_eq!(
            parse_reply(&long, "v").unwrap_err().to_string(),
            "subject: 151 characters, at most 150 allowed"
        );
    }

    /// A subject that could inject a header, display in another order than it reads, or hide
    /// characters is refused (so it is written again), never quietly cleaned.
    #[test]
    fn subjects_with_line_breaks_bidi_controls_or_invisible_characters_are_refused() {
        for (subject, problem) in [
            ("Hi\r\nBcc: all@example.com", "a line break (U+000D)"),
            ("Hi\nthere", "a line break (U+000A)"),
            ("Hi\u{2028}there", "a line break (U+2028)"),
            (
                "Invoice \u{202E}fdp.exe",
                "a bidirectional control character (U+202E)",
            ),
            (
                "\u{2066}Acme\u{2069}",
                "a bidirectional control character (U+2066)",
            ),
            ("Ac\u{200B}me", "a zero-width character (U+200B)"),
            ("\u{FEFF}Acme", "a zero-width character (U+FEFF)"),
            ("Acme\u{0007}", "a control character (U+0007)"),
        ] {
            let reply = serde_json::json!({"variant_name": "v", "subject": subject, "body": "b"});
            assert_eq!(
                parse_reply(&reply.to_string(), "v")
                    .unwrap_err()
                    .to_string(),
                format!("subject: contains {problem}"),
                "{subject:?}"
            );
        }
        // Plain spaces and tabs are only collapsed; other scripts are untouched.
        let reply = serde_json::json!({"variant_name": "v", "subject": "\tNúmeros  para Ñandú 株式会社", "body": "b"});
        assert_eq!(
            parse_reply(&reply.to_string(), "v").unwrap().subject,
            "Números para Ñandú 株式会社"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            text_to_html("<script>alert('x')</script>\nline"),
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<br>\nline</p>"
        );
        assert_eq!(
            text_to_html("go to https://a.io/x?q=\"><script> now"),
            "<p>go to <a href=\"https://a.io/x?q=\">https://a.io/x?q=</a>&quot;&gt;&lt;script&gt; now</p>"
        );
    }
}
