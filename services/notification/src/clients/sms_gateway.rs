//! The SMS gateway client. Every request carries the message id as its
//! `Idempotency-Key`: the gateway sends a key once however often it is
//! posted, which is what makes retries (and resends after a crash) safe.
use std::time::Duration;

use reqwest::StatusCode;
use tracing::{Instrument as _, Span};
use uuid::Uuid;
use yeyak_platform::{
    telemetry,
    tls::{TlsError, TlsSettings},
};

use crate::domain::SmsText;

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

    /// Posts one SMS. The call is a CLIENT span, a child of the context the
    /// delivery's row kept (the message that caused it), so the SMS is part
    /// of the booking's trace; the gateway gets that span's `traceparent`.
    pub(crate) async fn send(&self, message_id: Uuid, to: &str, text: &SmsText) -> SendOutcome {
        let span = self.span(message_id, text.traceparent.as_deref());
        let outcome = self.post(message_id, to, &text.body, &span).instrument(span.clone()).await;
        if let SendOutcome::Retryable(reason) | SendOutcome::Rejected(reason) = &outcome {
            telemetry::set_error(&span, reason.clone());
        }
        outcome
    }

    async fn post(&self, message_id: Uuid, to: &str, text: &str, span: &Span) -> SendOutcome {
        let response = self
            .http
            .post(&self.endpoint)
            .header("Idempotency-Key", message_id.to_string())
            .headers(trace_headers(span))
            .json(&SendRequest { to, text })
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            // reqwest errors name the URL only; the body (phone) is not in them.
            Err(e) => return SendOutcome::Retryable(format!("gateway unreachable: {e}")),
        };
        let status = response.status();
        span.record("http.response.status_code", status.as_u16());
        if !span.is_disabled() {
            // The SMS step's line with the booking's trace id (docs/tracing.md).
            tracing::info!(%message_id, status = status.as_u16(), "sms gateway answered");
        }
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

    /// The gateway call's span (`POST`, after the HTTP client conventions);
    /// none when tracing is off.
    fn span(&self, message_id: Uuid, traceparent: Option<&str>) -> Span {
        if !telemetry::enabled() {
            return Span::none();
        }
        let span = tracing::info_span!(
            "sms gateway",
            otel.name = "POST",
            otel.kind = "client",
            http.request.method = "POST",
            url.full = self.endpoint.as_str(),
            http.response.status_code = tracing::field::Empty,
            sms.message_id = %message_id,
        );
        telemetry::set_parent(&span, traceparent.unwrap_or_default());
        span
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

/// The call span's trace context for the gateway (none when tracing is off).
fn trace_headers(span: &Span) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    let traceparent = telemetry::traceparent_of(span);
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
        let text = SmsText { body: "t".into(), traceparent: None };
        let outcome = gw.send(Uuid::new_v4(), "01012345678", &text).await;
        assert!(matches!(outcome, SendOutcome::Retryable(_)), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
