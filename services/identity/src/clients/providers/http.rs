//! The HTTP/JSON plumbing the provider adapters share: one deadline per call
//! (connect, send and read included), bounded retries for idempotent requests
//! only, throttled by a retry budget, and error causes that never carry a
//! response body (which could echo personal data).
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;
use yeyak_platform::{pseudonym::Rrn, tls::TlsSettings, validate};

use super::{CallOptions, ProviderError};
use crate::domain::{PersonDetails, VerifiedPerson};

/// Retry throttling: every first attempt earns a tenth of a token (up to
/// `CAP`), every retry spends one, so retries stay below about 10% of the
/// calls and a failing provider is not hammered twice as hard.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    tokens: Mutex<f64>,
}

impl RetryBudget {
    const CAP: f64 = 10.0;
    const EARN: f64 = 0.1;

    pub(crate) fn new() -> Self {
        Self { tokens: Mutex::new(Self::CAP) }
    }

    fn earn(&self) {
        let mut t = self.tokens.lock();
        *t = (*t + Self::EARN).min(Self::CAP);
    }

    fn spend(&self) -> bool {
        let mut t = self.tokens.lock();
        if *t >= 1.0 {
            *t -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new()
    }
}

/// One provider's HTTP endpoint.
#[derive(Debug)]
pub(crate) struct HttpApi {
    base: String,
    client: reqwest::Client,
    retries: u32,
    budget: RetryBudget,
}

/// A response: status and raw body. The body is private and `Answer` has no
/// `Debug`, so a body can never be formatted into an error or a log line.
pub(crate) struct Answer {
    pub status: u16,
    body: Vec<u8>,
}

fn unavailable(what: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(what.to_string())
}

/// A transport error, described without its source chain: the kind and the
/// URL (base and transaction id) are all that is needed to diagnose it.
fn transport(e: &reqwest::Error) -> ProviderError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    unavailable(format!("{kind} ({})", e.url().map(|u| u.path()).unwrap_or("?")))
}

impl HttpApi {
    pub(crate) fn new(base: &str, retries: u32, tls: &TlsSettings) -> anyhow::Result<Self> {
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(500))
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true);
        let client = tls.http_client(builder)?;
        Ok(Self { base: base.to_owned(), client, retries, budget: RetryBudget::new() })
    }

    /// Sends a request within `deadline`. `idempotent` requests are retried
    /// (at most `retries` times, within the deadline and the retry budget)
    /// after a connection failure or a 502/503/504; others are sent once.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
        idempotent: bool,
        deadline: Duration,
    ) -> Result<Answer, ProviderError> {
        let until = Instant::now() + deadline;
        let url = format!("{}{path}", self.base);
        self.budget.earn();
        let mut attempt = 0;
        loop {
            let remaining = until.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(unavailable(format!("deadline of {deadline:?} exceeded")));
            }
            let mut request = self.client.request(method.clone(), &url).timeout(remaining);
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            let traceparent = yeyak_platform::telemetry::current_traceparent();
            if !traceparent.is_empty() {
                request = request.header("traceparent", traceparent);
            }
            if let Some(body) = &body {
                request = request.header("content-type", "application/json").body(body.clone());
            }
            let outcome = match tokio::time::timeout(remaining, async {
                let response = request.send().await.map_err(|e| transport(&e))?;
                let status = response.status().as_u16();
                let bytes = response.bytes().await.map_err(|e| transport(&e))?;
                Ok::<_, ProviderError>(Answer { status, body: bytes.to_vec() })
            })
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(unavailable(format!("deadline of {deadline:?} exceeded"))),
            };
            let retryable = match &outcome {
                Ok(a) => matches!(a.status, 502..=504),
                Err(ProviderError::Unavailable(cause)) => cause.starts_with("connection failed"),
                Err(_) => false,
            };
            let time_left = until.saturating_duration_since(Instant::now()) > deadline / 4;
            if !(idempotent && retryable && attempt < self.retries && time_left && self.budget.spend()) {
                return outcome;
            }
            attempt += 1;
            let backoff = Duration::from_millis(10 * u64::from(attempt) + rand_jitter());
            tracing::debug!(path, attempt, "retrying an idempotent provider call");
            tokio::time::sleep(backoff).await;
        }
    }

    /// `POST /v1/verifications`, idempotent through the `Idempotency-Key`.
    pub(crate) async fn start_verification(&self, person: &PersonDetails, call: &CallOptions) -> Result<Answer, ProviderError> {
        let body = json!({ "name": person.name, "rrn": person.rrn.expose(), "phone": person.phone });
        let body = serde_json::to_vec(&body).map_err(|_| unavailable("request encoding"))?;
        self.send(reqwest::Method::POST, "/v1/verifications", Some(body), Some(&call.idempotency_key), true, call.deadline).await
    }

    /// `POST /v1/verifications/{tx}/confirm`: consumes the transaction, so never retried.
    pub(crate) async fn confirm_verification(&self, transaction: &str, code: &str, deadline: Duration) -> Result<Answer, ProviderError> {
        let body = serde_json::to_vec(&json!({ "code": code })).map_err(|_| unavailable("request encoding"))?;
        self.send(reqwest::Method::POST, &format!("/v1/verifications/{transaction}/confirm"), Some(body), None, false, deadline).await
    }

    /// `GET /v1/ping`: read-only, so retried like any idempotent call.
    pub(crate) async fn ping(&self, deadline: Duration) -> Result<(), ProviderError> {
        let answer = self.send(reqwest::Method::GET, "/v1/ping", None, None, true, deadline).await?;
        match answer.status {
            200..=299 => Ok(()),
            code => Err(unavailable(format!("HTTP {code}"))),
        }
    }
}

fn rand_jitter() -> u64 {
    u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 20)
}

#[derive(Deserialize)]
struct Started {
    transaction_id: String,
}

#[derive(Deserialize)]
struct Confirmed {
    name: String,
    rrn: String,
}

/// The transaction id of a successful start. It goes into URL paths later,
/// so only URL-safe ids are accepted.
pub(crate) fn started(answer: &Answer) -> Result<String, ProviderError> {
    let s: Started = serde_json::from_slice(&answer.body).map_err(|_| unavailable("malformed start answer"))?;
    let ok = !s.transaction_id.is_empty() && s.transaction_id.len() <= 128 && s.transaction_id.chars().all(validate::token_char);
    if ok {
        Ok(s.transaction_id)
    } else {
        Err(unavailable("malformed transaction id"))
    }
}

/// The person a successful confirmation vouches for. A decoding error is
/// reported without serde's message, which could quote the number.
pub(crate) fn confirmed(answer: &Answer) -> Result<VerifiedPerson, ProviderError> {
    let c: Confirmed = serde_json::from_slice(&answer.body).map_err(|_| unavailable("malformed confirmation"))?;
    let rrn = Rrn::parse(&c.rrn).map_err(|_| unavailable("confirmation carries an invalid number"))?;
    Ok(VerifiedPerson { name: c.name, rrn })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_budget_allows_about_one_retry_in_ten_calls() {
        let b = RetryBudget::new();
        let mut granted = 0;
        for _ in 0..1_000 {
            b.earn();
            if b.spend() {
                granted += 1;
            }
        }
        assert!((100..=115).contains(&granted), "{granted}");
    }

    #[test]
    fn malformed_answers_do_not_echo_their_body() {
        let rrn = "6504092000121";
        let body = format!(r#"{{"name": "x", "rrn": {rrn}}}"#).into_bytes();
        let err = confirmed(&Answer { status: 200, body }).unwrap_err().to_string();
        assert!(!err.contains(rrn), "{err}");
        let bad_id = br#"{"transaction_id": "../admin"}"#.to_vec();
        assert!(started(&Answer { status: 201, body: bad_id }).is_err());
    }
}
