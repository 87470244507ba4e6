//! IdentityService handlers: the pass, validation, load shedding and the
//! caller's deadline here; each calls one use case of [`Verification`] and
//! maps its answer. ListProviders here; StartVerification and
//! CompleteVerification in [`verify`], GrantConsent in [`consent`]; the one
//! error mapping in [`status`].
mod consent;
mod status;
mod verify;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{metadata::MetadataMap, Request, Response, Status};
use yeyak_platform::grpc::pass::verified_pass;
use yeyak_proto::identity::v1::{self as pb, identity_service_server::IdentityService};

use crate::{
    app::Verification,
    domain::{health::Light, Method},
    error::IdentityError,
    metrics::IdentityMetrics,
};

/// Retry hint when the whole service sheds load.
const SHED_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Kept back from the caller's deadline to answer in time.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);

pub(crate) struct IdentityApi {
    verification: Verification,
    /// The server's own deadline for a call (`YEYAK_REQUEST_TIMEOUT_MS`).
    request_timeout: Duration,
    /// Start/Complete calls in progress on this replica (load shedding).
    busy: Arc<Semaphore>,
    metrics: IdentityMetrics,
}

fn light_to_pb(light: Light) -> pb::ProviderStatus {
    match light {
        Light::Green => pb::ProviderStatus::Green,
        Light::Yellow => pb::ProviderStatus::Yellow,
        Light::Red => pb::ProviderStatus::Red,
    }
}

/// What the front end sees: a certificate signature is completed outside
/// our page, like an app approval, so it is offered as one.
fn kind_to_pb(method: Method) -> pb::ProviderKind {
    match method {
        Method::SmsCode => pb::ProviderKind::SmsCode,
        Method::AppApproval | Method::FinancialCertificate => pb::ProviderKind::AppApproval,
    }
}

/// The caller's `grpc-timeout` (e.g. `"500m"`), if any.
fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let raw = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

impl IdentityApi {
    /// `max_in_flight` Start/Complete/Grant calls at once; beyond, shed.
    pub(crate) fn new(verification: Verification, request_timeout: Duration, max_in_flight: usize, metrics: IdentityMetrics) -> Self {
        let busy = Arc::new(Semaphore::new(max_in_flight.max(1)));
        Self { verification, request_timeout, busy, metrics }
    }

    /// When this call must be answered by: the caller's deadline or the
    /// server's, whichever is sooner, less a margin.
    fn answer_by(&self, metadata: &MetadataMap) -> Instant {
        let budget = grpc_timeout(metadata).map_or(self.request_timeout, |t| t.min(self.request_timeout));
        Instant::now() + budget.saturating_sub(DEADLINE_MARGIN)
    }

    /// Sheds at once when this replica is saturated, instead of queueing.
    fn admit(&self) -> Result<OwnedSemaphorePermit, IdentityError> {
        self.busy.clone().try_acquire_owned().map_err(|_| {
            self.metrics.refused("overload");
            IdentityError::Overloaded { retry_after: SHED_RETRY_AFTER }
        })
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn list_providers(&self, request: Request<pb::ListProvidersRequest>) -> Result<Response<pb::ListProvidersResponse>, Status> {
        verified_pass(&request)?;
        let providers = self
            .verification
            .providers()
            .into_iter()
            .map(|p| pb::Provider {
                provider_id: p.id,
                display_name: p.display_name,
                kind: kind_to_pb(p.method) as i32,
                status: light_to_pb(p.light) as i32,
            })
            .collect();
        Ok(Response::new(pb::ListProvidersResponse { providers }))
    }

    async fn start_verification(
        &self,
        request: Request<pb::StartVerificationRequest>,
    ) -> Result<Response<pb::StartVerificationResponse>, Status> {
        self.start(request).await
    }

    async fn complete_verification(
        &self,
        request: Request<pb::CompleteVerificationRequest>,
    ) -> Result<Response<pb::CompleteVerificationResponse>, Status> {
        self.complete(request).await
    }

    async fn grant_consent(&self, request: Request<pb::GrantConsentRequest>) -> Result<Response<pb::GrantConsentResponse>, Status> {
        self.grant(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse() {
        let mut m = MetadataMap::new();
        assert_eq!(grpc_timeout(&m), None);
        for (raw, expect) in [("250m", Duration::from_millis(250)), ("3S", Duration::from_secs(3)), ("1M", Duration::from_secs(60))] {
            m.insert("grpc-timeout", raw.parse().unwrap());
            assert_eq!(grpc_timeout(&m), Some(expect), "{raw}");
        }
        m.insert("grpc-timeout", "12x".parse().unwrap());
        assert_eq!(grpc_timeout(&m), None);
    }

    #[test]
    fn certificates_are_offered_as_app_approvals() {
        assert_eq!(kind_to_pb(Method::SmsCode), pb::ProviderKind::SmsCode);
        assert_eq!(kind_to_pb(Method::FinancialCertificate), pb::ProviderKind::AppApproval);
    }
}
