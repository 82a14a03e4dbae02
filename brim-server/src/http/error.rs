//! JSON errors: `{"error": ..., "detail": ..., "field": ...}`. Internal failures are logged and
//! answered without their details (no SQL, no internals reach a client).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine name: `invalid`, `not_found`, `method_not_allowed`, `too_large`,
    /// `unavailable`.
    pub error: &'static str,
    /// What went wrong, for a person.
    pub detail: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// 422: `field` is invalid.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid",
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            error: "not_found",
            detail: detail.into(),
            field: None,
        }
    }

    /// 409: the request does not apply to the current state.
    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            error: "conflict",
            detail: detail.into(),
            field: None,
        }
    }

    /// 503 without details (the cause is logged by the caller).
    pub fn unavailable() -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "unavailable",
            detail: "the server could not complete the request; try again".into(),
            field: None,
        }
    }

    /// 413.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error: "too_large",
            detail: format!("the request body is larger than {limit} bytes"),
            field: None,
        }
    }

    /// The store failed: logged in full, answered as 503 without details.
    pub fn store(e: brim_store::Error) -> ApiError {
        match e {
            brim_store::Error::NotFound { .. } => ApiError::not_found(e.to_string()),
            brim_store::Error::Invalid { field, expected } => ApiError::invalid(field, expected),
            brim_store::Error::InvalidState { .. } => ApiError::conflict(e.to_string()),
            other => {
                tracing::error!(error = %other, "storage failed");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    error: "unavailable",
                    detail: "the database could not complete the request; try again".into(),
                    field: None,
                }
            }
        }
    }
}

/// Longest word of a detail shown whole; a longer one is cut (a value quoted by a library's
/// message, e.g. serde's `invalid type: floating point `1e308``, printed in full digits).
const LONGEST_WORD: usize = 64;
/// Longest detail shown whole.
const LONGEST_DETAIL: usize = 600;

/// `text` with every word longer than [`LONGEST_WORD`] characters cut short, and the whole cut
/// at [`LONGEST_DETAIL`]: an error never echoes a long value back. Messages Brim writes
/// quote short prefixes already ([`brim_core::quote`]); this also holds for the libraries'.
pub(super) fn bounded(text: &str) -> std::borrow::Cow<'_, str> {
    let long_word = text
        .split(char::is_whitespace)
        .any(|w| w.len() > LONGEST_WORD && w.chars().count() > LONGEST_WORD);
    if !long_word && text.len() <= LONGEST_DETAIL {
        return text.into();
    }
    let mut out = String::new();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match word.char_indices().nth(LONGEST_WORD) {
            Some((cut, _)) => {
                out.push_str(&word[..cut]);
                out.push('…');
            }
            None => out.push_str(word),
        }
    }
    if let Some((cut, _)) = out.char_indices().nth(LONGEST_DETAIL) {
        out.truncate(cut);
        out.push('…');
    }
    out.into()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = bounded(&self.detail);
        let field = self.field.as_deref().map(bounded);
        let body = Body {
            error: self.error,
            detail: &detail,
            field: field.as_deref(),
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<brim_store::Error> for ApiError {
    fn from(e: brim_store::Error) -> ApiError {
        ApiError::store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn long_values_are_never_echoed_whole() {
        assert_eq!(
            bounded("expected a string, got 42"),
            "expected a string, got 42"
        );
        let digits = "9".repeat(309);
        let text = format!("invalid type: floating point `{digits}`, expected a string");
        let shown = bounded(&text);
        assert!(shown.len() < 140, "{shown}");
        assert!(shown.starts_with("invalid type: floating point `999"));
        assert!(
            shown.ends_with("…, expected a string") || shown.contains("… "),
            "{shown}"
        );
        let many = "word ".repeat(1000);
        assert!(bounded(&many).chars().count() <= 601);
    }
}
