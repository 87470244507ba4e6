//! A stand-in for the SMS gateway: records what it accepted, deduplicates by
//! `Idempotency-Key` like the real one, answers status lookups by that key
//! (`GET /v1/messages/{key}`), and can fail the next N requests.
use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use parking_lot::Mutex;
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub(crate) struct Sms {
    pub idempotency_key: String,
    pub to: String,
    pub text: String,
}

#[derive(Default)]
struct Inner {
    /// Every POST, including failed and duplicate ones: (key, answered status).
    requests: Vec<(String, u16)>,
    /// Accepted messages, once per key.
    accepted: Vec<Sms>,
    gateway_ids: HashMap<String, Uuid>,
    /// Every status lookup: (key, answered status).
    lookups: Vec<(String, u16)>,
    fail_next: usize,
}

#[derive(Clone, Default)]
pub(crate) struct StubGateway {
    inner: Arc<Mutex<Inner>>,
}

impl StubGateway {
    /// Serves on a free port until the test process ends.
    pub(crate) async fn start() -> (Self, SocketAddr) {
        let stub = Self::default();
        let app = Router::new().route("/v1/messages", post(accept)).route("/v1/messages/{key}", get(lookup)).with_state(stub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (stub, addr)
    }

    /// The next `n` requests answer 503.
    pub(crate) fn fail_next(&self, n: usize) {
        self.inner.lock().fail_next = n;
    }

    pub(crate) fn accepted(&self) -> Vec<Sms> {
        self.inner.lock().accepted.clone()
    }

    pub(crate) fn accepted_to(&self, phone: &str) -> Vec<Sms> {
        self.accepted().into_iter().filter(|m| m.to == phone).collect()
    }

    /// Lookups of any generation of `message_id`'s reference, in order.
    pub(crate) fn lookups_of(&self, message_id: &str) -> Vec<u16> {
        self.inner.lock().lookups.iter().filter(|(k, _)| message_of(k) == message_id).map(|(_, s)| *s).collect()
    }

    /// Sends of any generation of `message_id`'s reference, in order.
    pub(crate) fn requests_with_key(&self, message_id: &str) -> Vec<u16> {
        self.requests_of(message_id).into_iter().map(|(_, s)| s).collect()
    }

    /// Sends of `message_id`: (reference, answered status), in order.
    pub(crate) fn requests_of(&self, message_id: &str) -> Vec<(String, u16)> {
        self.inner.lock().requests.iter().filter(|(k, _)| message_of(k) == message_id).cloned().collect()
    }
}

/// The message id a reference (`<message_id>[.<generation>]`) belongs to.
pub(crate) fn message_of(reference: &str) -> &str {
    reference.split_once('.').map_or(reference, |(id, _)| id)
}

async fn accept(State(stub): State<StubGateway>, headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut inner = stub.inner.lock();
    if key.is_empty() {
        inner.requests.push((key, 400));
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "Idempotency-Key required"})));
    }
    if inner.fail_next > 0 {
        inner.fail_next -= 1;
        inner.requests.push((key, 503));
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": "injected fault"})));
    }
    inner.requests.push((key.clone(), 202));
    if let Some(id) = inner.gateway_ids.get(&key) {
        return (StatusCode::ACCEPTED, Json(json!({"gateway_id": id, "duplicate": true})));
    }
    let id = Uuid::new_v4();
    inner.gateway_ids.insert(key.clone(), id);
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    inner.accepted.push(Sms { idempotency_key: key, to: field("to"), text: field("text") });
    (StatusCode::ACCEPTED, Json(json!({"gateway_id": id, "duplicate": false})))
}

/// 200 if the key was accepted, else 404 saying `"status": "absent"` (the
/// stub never sees a late copy, so it need not void the key).
async fn lookup(State(stub): State<StubGateway>, Path(key): Path<String>) -> (StatusCode, Json<Value>) {
    let mut inner = stub.inner.lock();
    let found = inner.gateway_ids.contains_key(&key);
    let status = if found { StatusCode::OK } else { StatusCode::NOT_FOUND };
    inner.lookups.push((key.clone(), status.as_u16()));
    (status, Json(json!({"reference": key, "status": if found { "accepted" } else { "absent" }})))
}
