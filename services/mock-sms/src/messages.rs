//! The gateway's record of accepted messages and the two endpoints over it.
//!
//! Texts carry verification codes and phone numbers are personal data, so
//! logs name messages by `gateway_id` only.
use std::{collections::HashMap, sync::Arc};

use parking_lot::Mutex;

use axum::{
    body::Bytes,
    extract::{rejection::QueryRejection, Query, State},
    http::{HeaderMap, StatusCode},
    Json,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{parse_json, ApiError};

/// Longest text accepted, in characters (long-message SMS territory).
pub const MAX_TEXT_CHARS: usize = 1000;
/// Longest idempotency key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 200;

#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub gateway_id: Uuid,
    pub idempotency_key: String,
    pub to: String,
    pub text: String,
    /// Serialised as RFC 3339.
    pub received_at: DateTime<Utc>,
}

#[derive(Default, Debug)]
struct Inner {
    messages: Vec<Message>,
    by_key: HashMap<String, Uuid>,
}

/// In-memory and shared by all handlers; one lock keeps "record" and
/// "remember the key" atomic, so concurrent retries cannot both record.
#[derive(Clone, Default, Debug)]
pub struct MessageStore {
    inner: Arc<Mutex<Inner>>,
}

impl MessageStore {
    /// Records a message unless the key was seen; returns the gateway id and
    /// whether this was a duplicate.
    pub fn accept(&self, idempotency_key: &str, to: &str, text: &str) -> (Uuid, bool) {
        let mut inner = self.inner.lock();
        if let Some(id) = inner.by_key.get(idempotency_key) {
            return (*id, true);
        }
        let gateway_id = Uuid::now_v7();
        inner.by_key.insert(idempotency_key.to_owned(), gateway_id);
        inner.messages.push(Message {
            gateway_id,
            idempotency_key: idempotency_key.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
            received_at: Utc::now(),
        });
        (gateway_id, false)
    }

    /// Messages in the order received, optionally only those to one number.
    pub fn list(&self, to: Option<&str>) -> Vec<Message> {
        let inner = self.inner.lock();
        inner.messages.iter().filter(|m| to.is_none_or(|to| m.to == to)).cloned().collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub to: String,
    pub text: String,
}

#[derive(Serialize)]
pub struct SendResponse {
    pub gateway_id: Uuid,
    pub duplicate: bool,
}

fn validate(headers: &HeaderMap, request: &SendRequest) -> Result<String, ApiError> {
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| ApiError::bad_request("Idempotency-Key", "header is required"))?
        .to_str()
        .map_err(|_| ApiError::bad_request("Idempotency-Key", "must be visible ASCII"))?
        .trim();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ApiError::bad_request("Idempotency-Key", format!("must be 1 to {MAX_KEY_LEN} characters")));
    }
    if !(8..=15).contains(&request.to.len()) || !request.to.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request("to", "must be 8 to 15 digits"));
    }
    let chars = request.text.chars().count();
    if chars == 0 || chars > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request("text", format!("must be 1 to {MAX_TEXT_CHARS} characters")));
    }
    Ok(key.to_owned())
}

/// `POST /v1/messages`: 202 with the gateway id; a repeated key answers the
/// first id with `duplicate: true` and records nothing new.
pub async fn send(
    State(store): State<MessageStore>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<SendResponse>), ApiError> {
    let request: SendRequest = parse_json(&body)?;
    let key = validate(&headers, &request)?;
    let (gateway_id, duplicate) = store.accept(&key, &request.to, &request.text);
    tracing::info!(%gateway_id, duplicate, "message accepted");
    Ok((StatusCode::ACCEPTED, Json(SendResponse { gateway_id, duplicate })))
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub to: Option<String>,
}

/// `GET /v1/messages[?to=...]`: what the gateway has "sent", oldest first.
pub async fn list(
    State(store): State<MessageStore>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("to", e.body_text()))?;
    let messages = store.list(query.to.as_deref().filter(|t| !t.is_empty()));
    Ok(Json(serde_json::json!({ "messages": messages })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_records_once_and_filters_by_recipient() {
        let store = MessageStore::default();
        let (a, dup_a) = store.accept("k1", "01011112222", "hello");
        let (b, dup_b) = store.accept("k1", "01011112222", "hello again");
        let (c, _) = store.accept("k2", "01033334444", "other");
        assert_eq!((a, dup_a, dup_b), (b, false, true));
        assert_ne!(a, c);
        assert_eq!(store.list(None).len(), 2);
        let only = store.list(Some("01033334444"));
        assert_eq!((only.len(), only[0].text.as_str()), (1, "other"));
    }
}
