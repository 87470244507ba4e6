//! HTTP handlers. Input is validated here so the store only sees good data;
//! logs carry transaction ids only, never the name, RRN or phone number.
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;
use yeyak_platform::pseudonym::Rrn;

use crate::{
    config::ProviderKind,
    error::{parse_json, ApiError},
    verification::{ApproveError, ConfirmError, Identity, Verifications},
};

/// Longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 40;

#[derive(Clone, Debug)]
pub struct AppState {
    pub verifications: Verifications,
    pub provider_id: Arc<str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub name: String,
    pub rrn: String,
    pub phone: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    #[serde(default)]
    pub code: String,
}

fn phone(value: &str) -> Result<String, ApiError> {
    if (10..=11).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::bad_request("phone", "must be 10 or 11 digits"))
    }
}

fn transaction_id(value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| ApiError::bad_request("transaction_id", "must be a UUID"))
}

fn unknown() -> ApiError {
    ApiError::not_found("unknown or expired transaction")
}

/// Longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

/// `POST /v1/verifications`: opens a transaction and sends the code or push.
/// With an `Idempotency-Key` header, a retry of the same start answers the
/// same transaction and sends nothing again.
pub async fn start(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY => Some(k.to_owned()),
            _ => {
                return Err(ApiError::bad_request(
                    "Idempotency-Key",
                    format!("must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
                ))
            }
        },
    };
    let request: StartRequest = parse_json(&body)?;
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_request("name", format!("must be 1 to {MAX_NAME_CHARS} characters")));
    }
    let rrn = Rrn::parse(&request.rrn).map_err(|e| ApiError::bad_request("rrn", e))?;
    let phone = phone(&request.phone)?;
    let verifications = &state.verifications;
    let (transaction_id, replay) = verifications.start_once(Identity { name: name.to_owned(), rrn, phone }, key.as_deref());
    tracing::info!(%transaction_id, replay, "verification started");
    let body = json!({ "transaction_id": transaction_id, "expires_in_seconds": verifications.ttl().as_secs() });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /v1/ping`: the provider's status endpoint. Faults apply to it like to
/// any relying-party call, so a caller's health probe sees what users would.
pub async fn ping(State(state): State<AppState>) -> Response {
    Json(json!({ "status": "ok", "provider_id": &*state.provider_id })).into_response()
}

/// `GET /v1/inbox/{phone}`: what the person's phone shows (tests, demo).
pub async fn inbox(State(state): State<AppState>, Path(number): Path<String>) -> Result<Response, ApiError> {
    let number = phone(&number)?;
    let (transaction_id, code) = state.verifications.inbox(&number).ok_or_else(|| ApiError::not_found("no message for this phone"))?;
    Ok(Json(json!({ "transaction_id": transaction_id, "code": code })).into_response())
}

/// `POST /v1/verifications/{id}/approve`: the person taps approve in the app.
pub async fn approve(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = transaction_id(&id)?;
    match state.verifications.approve(id) {
        Ok(()) => {
            tracing::info!(transaction_id = %id, "verification approved");
            Ok(Json(json!({ "transaction_id": id, "approved": true })).into_response())
        }
        Err(ApproveError::Unknown) => Err(unknown()),
        Err(ApproveError::NotAnApprovalProvider) => {
            Err(ApiError::new(StatusCode::CONFLICT, "this provider verifies with SMS codes, not app approval"))
        }
    }
}

/// `POST /v1/verifications/{id}/confirm`: the relying party checks the code
/// (or the approval) and receives the verified identity, once.
pub async fn confirm(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let id = transaction_id(&id)?;
    let request: ConfirmRequest = parse_json(&body)?;
    let code = request.code.trim();
    if state.verifications.kind() == ProviderKind::SmsCode
        && (code.is_empty() || code.len() > 10 || !code.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::bad_request("code", "must be the digits from the SMS"));
    }
    match state.verifications.confirm(id, code) {
        Ok(identity) => {
            tracing::info!(transaction_id = %id, "verification confirmed");
            let body = json!({
                "verified": true,
                "provider_id": &*state.provider_id,
                "name": identity.name,
                "rrn": identity.rrn.expose(),
                "phone": identity.phone,
            });
            Ok(Json(body).into_response())
        }
        Err(ConfirmError::WrongCode { attempts_left }) => {
            tracing::info!(transaction_id = %id, attempts_left, "wrong verification code");
            let body = json!({ "verified": false, "error": "wrong code", "attempts_left": attempts_left });
            Ok((StatusCode::UNAUTHORIZED, Json(body)).into_response())
        }
        Err(ConfirmError::Dead) => Err(ApiError::new(StatusCode::GONE, "too many wrong codes; start again")),
        Err(ConfirmError::Pending) => Err(ApiError::new(StatusCode::CONFLICT, "pending approval")),
        Err(ConfirmError::Unknown) => Err(unknown()),
    }
}
