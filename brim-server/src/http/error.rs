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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.error,
            detail: &self.detail,
            field: self.field.as_deref(),
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<brim_store::Error> for ApiError {
    fn from(e: brim_store::Error) -> ApiError {
        ApiError::store(e)
    }
}
