//! IdentityService: the shared handler state, load shedding and deadlines
//! here; StartVerification and CompleteVerification in [`verify`],
//! GrantConsent in [`consent`].
mod consent;
mod verify;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::Semaphore;
use tonic::{metadata::MetadataMap, Request, Response, Status};
use yeyak_platform::grpc::pass::verified_pass;
use yeyak_proto::identity::v1::{self as pb, identity_service_server::IdentityService};

use crate::{
    config::Config,
    error::IdentityError,
    metrics::IdentityMetrics,
    routing::{Board, Light, Refusal, Slot},
    store::{Counter, Limit, Store},
};

/// Retry hint when the whole service sheds load.
const SHED_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Kept back from the caller's deadline to answer in time.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);

pub struct IdentityApi {
    config: Arc<Config>,
    board: Arc<Board>,
    store: Store,
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
    pub fn new(config: Arc<Config>, board: Arc<Board>, store: Store, metrics: IdentityMetrics) -> Self {
        let busy = Arc::new(Semaphore::new(config.max_in_flight_verifications.max(1)));
        Self { config, board, store, busy, metrics }
    }

    /// When this call must be answered by: the caller's deadline or the
    /// server's, whichever is sooner, less a margin.
    fn answer_by(&self, metadata: &MetadataMap) -> Instant {
        let budget = grpc_timeout(metadata).map_or(self.config.server.request_timeout, |t| t.min(self.config.server.request_timeout));
        Instant::now() + budget.saturating_sub(DEADLINE_MARGIN)
    }

    /// Sheds at once when this replica is saturated, instead of queueing.
    fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, IdentityError> {
        self.busy.clone().try_acquire_owned().map_err(|_| {
            self.metrics.refused("overload");
            IdentityError::Overloaded { retry_after: SHED_RETRY_AFTER }
        })
    }

    fn slot(&self, id: &str) -> Result<&Slot, IdentityError> {
        self.board.find(id).ok_or_else(|| IdentityError::UnknownProvider(id.to_owned()))
    }

    fn refused(&self, slot: &Slot, refusal: Refusal) -> IdentityError {
        let (why, retry_after) = match refusal {
            Refusal::CircuitOpen { retry_in } => ("circuit_open", retry_in.max(Duration::from_secs(1))),
            Refusal::Saturated => ("saturated", Duration::from_secs(1)),
        };
        tracing::debug!(provider = slot.id(), why, "provider call refused");
        IdentityError::ProviderUnavailable {
            provider: slot.id().to_owned(),
            why,
            alternatives: self.board.alternatives(slot.id()),
            retry_after,
            cause: why.to_owned(),
        }
    }

    fn failed(&self, slot: &Slot, cause: String) -> IdentityError {
        IdentityError::ProviderUnavailable {
            provider: slot.id().to_owned(),
            why: "failed",
            alternatives: self.board.alternatives(slot.id()),
            retry_after: Duration::from_secs(1),
            cause,
        }
    }

    fn limit(&self, counter: Counter, id: &str, max: u32, window: Duration) -> Limit {
        Limit { counter, key: self.store.counter_key(counter, id), max, window }
    }

    /// The per-subject, per-phone and per-pass counters.
    fn person_limits(&self, subject: &str, phone_key: &str, sid: &str) -> Vec<Limit> {
        let (c, w) = (&self.config, self.config.attempt_window);
        vec![
            self.limit(Counter::Subject, subject, c.max_attempts_per_subject, w),
            self.limit(Counter::Phone, phone_key, c.max_attempts_per_phone, w),
            self.limit(Counter::Pass, sid, c.max_attempts_per_pass, w),
        ]
    }

    fn provider_deadline(&self, answer_by: Instant) -> Duration {
        self.config.provider_timeout.min(answer_by.saturating_duration_since(Instant::now()))
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn list_providers(&self, request: Request<pb::ListProvidersRequest>) -> Result<Response<pb::ListProvidersResponse>, Status> {
        verified_pass(&request)?;
        let providers = self
            .board
            .offered()
            .into_iter()
            .filter_map(|s| {
                let p = self.board.find(&s.provider_id)?.provider.config();
                Some(pb::Provider {
                    provider_id: p.id.clone(),
                    display_name: p.display_name.clone(),
                    kind: p.method.proto_kind() as i32,
                    status: light_to_pb(s.light) as i32,
                })
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
}
