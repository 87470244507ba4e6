//! StartVerification: the bulkhead and breaker of the chosen provider, the
//! place, attempt and proxy limits (one Redis round trip), then the provider
//! call. The challenge is sealed into its id, so CompleteVerification runs
//! on any replica and nothing more is written.
use std::time::Instant;

use chrono::{DateTime, Utc};
use tracing::Instrument as _;
use yeyak_platform::{metrics::Stage, pseudonym::subject_id, tokens::AdmissionPass};

use super::Verification;
use crate::{
    clients::providers::{CallOptions, ProviderError},
    domain::{self, challenge::Challenge, PersonDetails},
    error::IdentityError,
    store::Gate,
};

/// A verification under way: what the person must do, and by when.
#[derive(Clone, Debug)]
pub(crate) struct Started {
    pub(crate) challenge_id: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) instructions: &'static str,
}

impl Verification {
    /// Starts verifying `person` with `provider_id` under `pass`; the
    /// provider is called within `answer_by`.
    pub(crate) async fn start(
        &self,
        pass: &AdmissionPass,
        provider_id: &str,
        person: PersonDetails,
        answer_by: Instant,
    ) -> Result<Started, IdentityError> {
        let slot = self.slot(provider_id)?;
        let permit = self.board.acquire(slot).map_err(|r| self.refused(slot, r))?;
        let key = &self.config.subject_hash_key;
        let subject = subject_id(key, &person.rrn);
        let phone_key = domain::phone_key(key, &person.phone);
        let session_id = &pass.session_id;
        let limits = self.person_limits(&subject, &phone_key, session_id);
        // The attempt's id: the provider's idempotency key, and the mark on
        // its counters (what a refund gives back).
        let attempt = uuid::Uuid::new_v4().simple().to_string();
        // Refused before any code is sent (what the gate took is given back).
        let place = (!self.config.place_binding_ttl.is_zero()).then_some(pass.queue_id.as_str());
        match self.store.gate(&limits, &attempt, session_id, &subject, self.config.proxy_limit, place).await? {
            Gate::Open => {}
            Gate::Exhausted(x) => {
                self.metrics.refused(x.counter.name());
                return Err(IdentityError::AttemptsExhausted(x));
            }
            Gate::ProxyLimit => {
                self.metrics.refused("proxy_limit");
                return Err(IdentityError::ProxyLimit { limit: self.config.proxy_limit });
            }
            Gate::OtherPlace => {
                self.metrics.refused("other_place");
                return Err(IdentityError::OtherPlace);
            }
        }

        let call = CallOptions { deadline: self.provider_deadline(answer_by), idempotency_key: attempt.clone() };
        let outcome = slot.upstream.start(&person, &call).instrument(tracing::info_span!("provider.start", provider = slot.id())).await;
        permit.finish(!outcome.as_ref().is_err_and(ProviderError::is_failure));
        let transaction_id = match outcome {
            Ok(t) => t,
            Err(ProviderError::Unavailable(cause)) => {
                // The provider failed, not the person: the attempt is given back.
                if let Err(e) = self.store.refund(&limits, &attempt).await {
                    tracing::warn!(error = %e, "could not refund an attempt");
                }
                return Err(self.failed(slot, cause));
            }
            Err(_) => return Err(IdentityError::Rejected),
        };
        let expires_at = Utc::now() + chrono::Duration::from_std(self.config.challenge_ttl).unwrap_or_default();
        let challenge = Challenge {
            attempt,
            provider_id: slot.id().to_owned(),
            transaction_id,
            session_id: session_id.clone(),
            subject,
            phone_key,
            expires_at_ms: expires_at.timestamp_millis(),
        };
        let challenge_id = self.sealer.seal(&challenge);
        self.funnel.first(&pass.queue_id, Stage::IdentityStarted, &pass.session_id);
        Ok(Started { challenge_id, expires_at, instructions: slot.upstream.instructions() })
    }
}
