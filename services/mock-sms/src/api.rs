//! The gateway's HTTP endpoints over the [`MessageStore`]: send, look a
//! reference up, list what was "sent".
use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::{rejection::QueryRejection, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse as _, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    behaviour::{AfterAccept, Switches},
    error::{parse_json, ApiError},
    messages::{Accepted, MessageStore},
};

/// Longest text accepted, in characters (long-message SMS territory).
pub const MAX_TEXT_CHARS: usize = 1000;
/// Longest idempotency key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 200;

/// What every endpoint works on.
#[derive(Clone, Debug, Default)]
pub struct Gateway {
    pub store: MessageStore,
    pub switches: Switches,
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
/// first id with `duplicate: true` and records nothing new; a voided key is
/// 410 and sends nothing. While down: 503, nothing accepted. With
/// `accept_delay_ms`, the message is taken in only after that delay, even
/// if the caller has gone by then.
pub async fn send(State(gateway): State<Gateway>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    gateway.switches.refuse_if_down()?;
    let request: SendRequest = parse_json(&body)?;
    let key = validate(&headers, &request)?;
    let behaviour = gateway.switches.now();
    let accepted = if behaviour.accept_delay_ms > 0 {
        // Taken in after the delay whether or not the caller still waits (a
        // slow queue in front of the gateway): a caller that gave up first
        // cannot know, and a lookup meanwhile voids the reference.
        let (store, delay) = (gateway.store.clone(), Duration::from_millis(behaviour.accept_delay_ms));
        let late = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            store.accept(&key, &request.to, &request.text)
        });
        late.await.map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "accept task failed"))?
    } else {
        gateway.store.accept(&key, &request.to, &request.text)
    };
    let Accepted::Sent { gateway_id, duplicate } = accepted else {
        tracing::info!("voided reference refused");
        return Err(ApiError::new(StatusCode::GONE, "reference voided by an earlier lookup: not sent"));
    };
    tracing::info!(%gateway_id, duplicate, "message accepted");
    match behaviour.after_accept {
        AfterAccept::Answer => {}
        AfterAccept::Late => tokio::time::sleep(Duration::from_millis(behaviour.late_ms)).await,
        AfterAccept::Drop => {
            tracing::info!(%gateway_id, "dropping the answer (injected fault)");
            return Ok(broken());
        }
    }
    Ok((StatusCode::ACCEPTED, Json(SendResponse { gateway_id, duplicate })).into_response())
}

/// A response whose body fails before its first byte: the server aborts the
/// connection, and the caller sees it break without an answer.
fn broken() -> Response {
    let failing = futures_util::stream::once(async { Err::<Bytes, _>(std::io::Error::other("answer dropped (injected fault)")) });
    Response::new(Body::from_stream(failing))
}

#[derive(Serialize)]
pub struct StatusResponse {
    pub reference: String,
    pub gateway_id: Uuid,
    pub status: &'static str,
}

/// The 404 of a lookup: `status: "absent"` is the gateway's explicit
/// answer (a bare 404, say from a wrong path, proves nothing to a caller).
#[derive(Serialize)]
pub struct AbsentResponse {
    pub reference: String,
    pub status: &'static str,
    pub error: &'static str,
}

/// `GET /v1/messages/{reference}`: 200 if the reference was accepted; 404
/// with `"status": "absent"` if not, which also voids it (a send of it
/// arriving later is refused), so "not here" is final and the caller may
/// send it elsewhere. While down: 503.
pub async fn status(State(gateway): State<Gateway>, Path(reference): Path<String>) -> Result<Response, ApiError> {
    gateway.switches.refuse_if_down()?;
    if gateway.switches.now().lookup_down {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "lookups unavailable (injected fault)"));
    }
    Ok(match gateway.store.lookup(&reference) {
        Some(gateway_id) => Json(StatusResponse { reference, gateway_id, status: "accepted" }).into_response(),
        None => {
            let error = "no message under this reference; it is now void here";
            (StatusCode::NOT_FOUND, Json(AbsentResponse { reference, status: "absent", error })).into_response()
        }
    })
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub to: Option<String>,
}

/// `GET /v1/messages[?to=...]`: what the gateway has "sent", oldest first
/// (an observer's view: no faults apply).
pub async fn list(
    State(gateway): State<Gateway>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("to", e.body_text()))?;
    let messages = gateway.store.list(query.to.as_deref().filter(|t| !t.is_empty()));
    Ok(Json(serde_json::json!({ "messages": messages })))
}
