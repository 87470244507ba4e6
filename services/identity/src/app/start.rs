//! StartVerification: the bulkhead and breaker of the chosen provider, the
//! attempt and proxy limits, then the provider call. The challenge it leaves
//! in Redis lets CompleteVerification run on any replica.
use std::time::Instant;

use chrono::{DateTime, Utc};
use tracing::Instrument as _;
use yeyak_platform::{metrics::Stage, pseudonym::subject_id, tokens::AdmissionPass};

use super::Verification;
use crate::{
    clients::providers::{CallOptions, ProviderError},
    domain::{self, PersonDetails},
    error::IdentityError,
    store::{Challenge, Gate},
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
        // Refused before any attempt is counted or any code is sent.
        self.check_place(pass, &subject).await?;
        let limits = self.person_limits(&subject, &phone_key, session_id);
        // Also the attempt's id on its counters (what a refund gives back).
        let challenge_id = uuid::Uuid::new_v4().to_string();
        match self.store.gate(&limits, &challenge_id, session_id, &subject, self.config.proxy_limit).await? {
            Gate::Open => {}
            Gate::Exhausted(x) => {
                self.metrics.refused(x.counter.name());
                return Err(IdentityError::AttemptsExhausted(x));
            }
            Gate::ProxyLimit => {
                self.metrics.refused("proxy_limit");
                return Err(IdentityError::ProxyLimit { limit: self.config.proxy_limit });
            }
        }

        let call = CallOptions { deadline: self.provider_deadline(answer_by), idempotency_key: challenge_id.clone() };
        let outcome = slot.upstream.start(&person, &call).instrument(tracing::info_span!("provider.start", provider = slot.id())).await;
        permit.finish(!outcome.as_ref().is_err_and(ProviderError::is_failure));
        let transaction_id = match outcome {
            Ok(t) => t,
            Err(ProviderError::Unavailable(cause)) => {
                // The provider failed, not the person: the attempt is given back.
                if let Err(e) = self.store.refund(&limits, &challenge_id).await {
                    tracing::warn!(error = %e, "could not refund an attempt");
                }
                return Err(self.failed(slot, cause));
            }
            Err(_) => return Err(IdentityError::Rejected),
        };
        let ttl = self.config.challenge_ttl;
        let challenge = Challenge { provider_id: slot.id().to_owned(), transaction_id, session_id: session_id.clone(), subject, phone_key };
        self.store.put(&challenge_id, &challenge, ttl).await?;
        let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        self.funnel.first(&pass.queue_id, Stage::IdentityStarted, &pass.session_id);
        Ok(Started { challenge_id, expires_at, instructions: slot.upstream.instructions() })
    }
}
