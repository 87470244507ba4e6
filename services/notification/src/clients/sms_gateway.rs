//! One SMS gateway. Every send carries the message's reference (its id and
//! generation, `domain::gateway::reference`) as the gateway's client
//! reference (`Idempotency-Key`): the gateway sends a reference once
//! however often it is posted, which makes retries and resends after a crash
//! safe. `GET {url}/v1/messages/{reference}` asks whether it has a
//! reference (and voids one it does not, saying so in the body), which makes
//! failing over safe (`domain::gateway`). Every call has a deadline.
use std::time::Duration;

use tracing::{Instrument as _, Span};
use uuid::Uuid;
use yeyak_platform::{
    health::{BoxFuture, Upstream},
    telemetry,
    tls::{TlsError, TlsSettings},
};

use super::classify::{classify_error, classify_status, lookup_status};
use crate::domain::{
    gateway::{reference, Lookup},
    GatewaySpec, SendOutcome, SmsText,
};

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

/// Deadlines and the bulkhead of every gateway.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GatewayLimits {
    /// Whole-request deadline of a send or a lookup.
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    /// Calls in flight at once per gateway (its bulkhead on the board).
    pub(crate) max_in_flight: usize,
}

pub(crate) struct SmsGateway {
    name: String,
    http: reqwest::Client,
    base: String,
    max_in_flight: usize,
}

impl SmsGateway {
    /// `limits.timeout` bounds the whole request (the call's deadline): a
    /// slow gateway costs a lookup and a retry later, never a stuck sender.
    pub(crate) fn new(spec: &GatewaySpec, limits: GatewayLimits, tls: &TlsSettings) -> Result<Self, TlsError> {
        let http = tls.http_client(reqwest::Client::builder().timeout(limits.timeout).connect_timeout(limits.connect_timeout))?;
        Ok(Self { name: spec.name.clone(), http, base: spec.url.trim_end_matches('/').to_owned(), max_in_flight: limits.max_in_flight })
    }

    /// Posts one SMS. The call is a CLIENT span, a child of the context the
    /// delivery's row kept (the message that caused it), so the SMS is part
    /// of the booking's trace; the gateway gets that span's `traceparent`.
    pub(crate) async fn send(&self, message_id: Uuid, generation: i32, to: &str, text: &SmsText) -> SendOutcome {
        let span = self.span(message_id, text.traceparent.as_deref());
        let outcome = self.post(message_id, generation, to, &text.body, &span).instrument(span.clone()).await;
        if let SendOutcome::NotTaken(reason) | SendOutcome::Voided(reason) | SendOutcome::Rejected(reason) | SendOutcome::Unknown(reason) =
            &outcome
        {
            telemetry::set_error(&span, reason.clone());
        }
        outcome
    }

    async fn post(&self, message_id: Uuid, generation: i32, to: &str, text: &str, span: &Span) -> SendOutcome {
        let response = self
            .http
            .post(format!("{}/v1/messages", self.base))
            .header("Idempotency-Key", reference(message_id, generation))
            .headers(trace_headers(span))
            .json(&SendRequest { to, text })
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            // reqwest errors name the URL only; the body (phone) is not in them.
            Err(e) => return classify_error(&self.name, &e),
        };
        let status = response.status();
        span.record("http.response.status_code", status.as_u16());
        if !span.is_disabled() {
            // The SMS step's line with the booking's trace id (docs/tracing.md).
            tracing::info!(%message_id, generation, gateway = %self.name, status = status.as_u16(), "sms gateway answered");
        }
        if status.is_success() {
            // Accepted even if the body is odd or cut: the gateway has the
            // message, and a resend would be deduplicated anyway.
            let body = response.json::<SendResponse>().await.ok();
            return SendOutcome::Accepted {
                gateway_id: body.as_ref().and_then(|b| b.gateway_id),
                duplicate: body.is_some_and(|b| b.duplicate),
            };
        }
        classify_status(&self.name, status)
    }

    /// Whether this gateway has the message under this generation of its
    /// reference (and, if not, voids that reference there).
    pub(crate) async fn lookup(&self, message_id: Uuid, generation: i32) -> Lookup {
        let url = format!("{}/v1/messages/{}", self.base, reference(message_id, generation));
        match self.http.get(url).send().await {
            Ok(response) => {
                let status = response.status();
                // The body matters only for a 404 ("absent" or not); a cut one is not "absent".
                let body = if status == reqwest::StatusCode::NOT_FOUND { response.json().await.ok() } else { None };
                lookup_status(&self.name, status, body)
            }
            Err(e) => Lookup::Unknown(format!("gateway {} lookup failed: {e}", self.name)),
        }
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
            url.full = format!("{}/v1/messages", self.base),
            sms.gateway = self.name.as_str(),
            http.response.status_code = tracing::field::Empty,
            sms.message_id = %message_id,
        );
        telemetry::set_parent(&span, traceparent.unwrap_or_default());
        span
    }
}

/// A gateway is an upstream of the platform's health board: its probe is
/// `GET /healthz` under the probe deadline.
impl Upstream for SmsGateway {
    fn id(&self) -> &str {
        &self.name
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    fn probe(&self, deadline: Duration) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let response = self.http.get(format!("{}/healthz", self.base)).timeout(deadline).send().await.map_err(|e| e.to_string())?;
            match response.status() {
                s if s.is_success() => Ok(()),
                s => Err(format!("healthz answered {s}")),
            }
        })
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
