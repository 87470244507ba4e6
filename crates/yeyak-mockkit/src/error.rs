//! The JSON error shape every mock answers with, `{"error": "..."}`, and
//! strict JSON body parsing, so that bad input is always a 400 naming the
//! offending field instead of axum's plain-text rejections.
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::de::DeserializeOwned;

/// An HTTP error with a human-readable message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    /// 400 with "field: reason", so callers can tell which input was wrong.
    pub fn bad_request(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("{field}: {reason}"))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

/// Parses a JSON body; serde's messages name the field ("missing field `to`").
/// An empty body parses as `{}` so that all-optional bodies may be omitted.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request("body", e))
}

/// `GET /healthz`: liveness only; faults never apply here.
pub async fn healthz() -> &'static str {
    "ok"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[allow(dead_code)]
        to: String,
    }

    #[test]
    fn parse_errors_name_the_field() {
        let err = parse_json::<Body>(b"{}").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("`to`"), "{}", err.message);
        assert!(parse_json::<Body>(br#"{"to":"010"}"#).is_ok());
    }
}
