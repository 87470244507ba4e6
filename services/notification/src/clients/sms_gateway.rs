//! The SMS gateway client. Every request carries the message id as its
//! `Idempotency-Key`: the gateway sends a key once however often it is
//! posted, which is what makes retries (and resends after a crash) safe.
use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;
use yeyak_platform::tls::{TlsError, TlsSettings};

/// What one attempt achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SendOutcome {
    /// Accepted; `duplicate` when the gateway had already seen the key.
    Accepted { gateway_id: Option<Uuid>, duplicate: bool },
    /// Timeout, connection refused, 5xx, 429…: try again later.
    Retryable(String),
    /// The gateway refused the message itself (4xx): retrying cannot help.
    Rejected(String),
}

#[derive(serde::Serialize)]
struct SendRequest<'a> {
    to: &'a str,
    text: &'a str,
}

#[derive(serde::Deserialize)]
struct SendResponse {
    gateway_id: Option<Uuid>,
    #[serde(default)]
    duplicate: bool,
}

#[derive(Clone)]
pub(crate) struct SmsGateway {
    http: reqwest::Client,
    endpoint: String,
}

impl SmsGateway {
    /// `timeout` bounds the whole request (the call's deadline): a slow
    /// gateway costs a retry later, never a stuck sender.
    pub(crate) fn new(base_url: &str, timeout: Duration, connect_timeout: Duration, tls: &TlsSettings) -> Result<Self, TlsError> {
        let http = tls.http_client(reqwest::Client::builder().timeout(timeout).connect_timeout(connect_timeout))?;
        Ok(Self { http, endpoint: format!("{}/v1/messages", base_url.trim_end_matches('/')) })
    }

    pub(crate) async fn send(&self, message_id: Uuid, to: &str, text: &str) -> SendOutcome {
        let response = self
            .http
            .post(&self.endpoint)
            .header("Idempotency-Key", message_id.to_string())
            .headers(trace_headers())
            .json(&SendRequest { to, text })
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            // reqwest errors name the URL only; the body (phone) is not in them.
            Err(e) => return SendOutcome::Retryable(format!("gateway unreachable: {e}")),
        };
        let status = response.status();
        if status.is_success() {
            // Accepted even if the body is odd: the gateway has the message,
            // and a resend would be deduplicated anyway.
            let body = response.json::<SendResponse>().await.ok();
            return SendOutcome::Accepted {
                gateway_id: body.as_ref().and_then(|b| b.gateway_id),
                duplicate: body.is_some_and(|b| b.duplicate),
            };
        }
        classify(status)
    }
}

fn classify(status: StatusCode) -> SendOutcome {
    let retryable =
        status.is_server_error() || matches!(status, StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS);
    let reason = format!("gateway answered {status}");
    if retryable {
        SendOutcome::Retryable(reason)
    } else {
        SendOutcome::Rejected(reason)
    }
}

/// The current trace context for an outbound HTTP call (none when tracing is off).
fn trace_headers() -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    let traceparent = yeyak_platform::telemetry::current_traceparent();
    if let (false, Ok(value)) = (traceparent.is_empty(), traceparent.parse()) {
        headers.insert("traceparent", value);
    }
    headers
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_client_errors_about_the_message_are_permanent() {
        assert!(matches!(classify(StatusCode::SERVICE_UNAVAILABLE), SendOutcome::Retryable(_)));
        assert!(matches!(classify(StatusCode::TOO_MANY_REQUESTS), SendOutcome::Retryable(_)));
        assert!(matches!(classify(StatusCode::CONFLICT), SendOutcome::Retryable(_)));
        assert!(matches!(classify(StatusCode::BAD_REQUEST), SendOutcome::Rejected(_)));
        assert!(matches!(classify(StatusCode::UNPROCESSABLE_ENTITY), SendOutcome::Rejected(_)));
    }

    #[tokio::test]
    async fn unreachable_gateway_is_retryable_and_fast() {
        // Port 9 (discard) is closed on the test machine: connection refused.
        let gw =
            SmsGateway::new("http://127.0.0.1:9/", Duration::from_secs(2), Duration::from_millis(500), &TlsSettings::default()).unwrap();
        let started = std::time::Instant::now();
        let outcome = gw.send(Uuid::new_v4(), "01012345678", "t").await;
        assert!(matches!(outcome, SendOutcome::Retryable(_)), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
