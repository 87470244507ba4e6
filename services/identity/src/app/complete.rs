//! CompleteVerification: the challenge is opened from its id, the provider
//! confirms the code (or, for approvals and certificate signatures, is
//! polled until the person has answered), wrong codes count against every
//! limit, and the challenge is used once, with the proxy limit, before the
//! assertion is signed.
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tracing::Instrument as _;
use yeyak_platform::{
    metrics::Stage,
    pseudonym::subject_id,
    tokens::{self, AdmissionPass},
};

use super::Verification;
use crate::{
    clients::{providers::ProviderError, Slot},
    domain::{self, challenge::Challenge, VerifiedPerson},
    error::IdentityError,
    metrics::ProviderLabel,
    store::{Counter, Finish, ProxyCount, Use},
};

/// A verified person: the signed assertion and what the front end may show.
#[derive(Clone, Debug)]
pub(crate) struct Verified {
    pub(crate) identity_assertion: String,
    pub(crate) subject_id: String,
    pub(crate) masked_name: String,
    pub(crate) expires_at: DateTime<Utc>,
}

impl Verification {
    /// Completes challenge `id` with `code` (empty for approvals) under
    /// `pass`, answering by `answer_by`.
    pub(crate) async fn complete(&self, pass: &AdmissionPass, id: &str, code: &str, answer_by: Instant) -> Result<Verified, IdentityError> {
        let challenge = self.sealer.open(id, Utc::now().timestamp_millis()).ok_or(IdentityError::ChallengeNotFound)?;
        if challenge.session_id != pass.session_id {
            return Err(IdentityError::ChallengeForeign);
        }
        // A provider removed from the configuration leaves its challenges dead.
        let slot = self.board.find(&challenge.provider_id).ok_or(IdentityError::ChallengeNotFound)?;
        if !self.store.live(&challenge.attempt, self.config.max_code_attempts).await? {
            return Err(IdentityError::ChallengeNotFound);
        }
        let person = self.confirm(slot, &challenge, code, answer_by).await?;
        let key = &self.config.subject_hash_key;
        if subject_id(key, &person.rrn) != challenge.subject {
            self.burn(&challenge).await?;
            return Err(IdentityError::SubjectMismatch);
        }
        let now = Utc::now().timestamp();
        let pass_left = Duration::from_secs(u64::try_from(pass.expires_at - now).unwrap_or(0));
        let used = Use { attempt: &challenge.attempt, max: self.config.max_code_attempts, ttl: life_left(&challenge) };
        let counted =
            ProxyCount { session_id: &challenge.session_id, subject: &challenge.subject, limit: self.config.proxy_limit, ttl: pass_left };
        match self.store.finish(used, counted).await? {
            Finish::Done => {}
            Finish::Gone => return Err(IdentityError::ChallengeNotFound),
            Finish::ProxyLimit => {
                self.metrics.refused("proxy_limit");
                return Err(IdentityError::ProxyLimit { limit: self.config.proxy_limit });
            }
        }
        self.bind_place(pass, &challenge.subject).await?;
        let by = domain::Vouched {
            provider: &challenge.provider_id,
            assurance: slot.upstream.assurance(),
            session_id: &challenge.session_id,
            queue_id: &pass.queue_id,
        };
        let claims = domain::assertion(key, &person.rrn, &person.name, &by, now, self.config.assertion_ttl.as_secs() as i64);
        self.metrics.verified.get_or_create(&ProviderLabel { provider: challenge.provider_id.clone() }).inc();
        tracing::info!(provider = %challenge.provider_id, "identity verified");
        self.funnel.first(&pass.queue_id, Stage::Verified, &pass.session_id);
        Ok(Verified {
            identity_assertion: tokens::sign(&self.config.signing_key, &claims),
            expires_at: DateTime::from_timestamp(claims.expires_at, 0).unwrap_or_default(),
            subject_id: claims.subject,
            masked_name: claims.name,
        })
    }

    /// Burns `challenge` for the rest of its life: no more codes, no use.
    async fn burn(&self, challenge: &Challenge) -> Result<(), IdentityError> {
        Ok(self.store.burn(&challenge.attempt, self.config.max_code_attempts, life_left(challenge)).await?)
    }

    /// Binds `subject` to the pass's session for the event, atomically:
    /// of two sessions completing at once, one wins and the other is refused.
    /// After the challenge is consumed, so a refusal by the proxy limit never
    /// binds a person to a session that did not verify them.
    async fn bind_place(&self, pass: &AdmissionPass, subject: &str) -> Result<(), IdentityError> {
        let ttl = self.config.place_binding_ttl;
        if ttl.is_zero() || self.store.bind_place(&pass.queue_id, subject, &pass.session_id, ttl).await? {
            return Ok(());
        }
        self.metrics.refused("other_place");
        Err(IdentityError::OtherPlace)
    }

    /// Asks the provider to confirm, polling approvals while they and their
    /// answer still fit the wait and the caller's deadline.
    async fn confirm(&self, slot: &Slot, challenge: &Challenge, code: &str, answer_by: Instant) -> Result<VerifiedPerson, IdentityError> {
        let method = slot.upstream.config().method;
        let wait_until = Instant::now() + self.config.approval_wait;
        loop {
            let permit = self.board.acquire(slot).map_err(|r| self.refused(slot, r))?;
            let outcome = slot
                .upstream
                .confirm(&challenge.transaction_id, code, self.provider_deadline(answer_by))
                .instrument(tracing::info_span!("provider.confirm", provider = slot.id()))
                .await;
            permit.finish(!outcome.as_ref().is_err_and(ProviderError::is_failure));
            match outcome {
                Ok(person) => return Ok(person),
                Err(ProviderError::Pending) => {
                    let next = Instant::now() + self.config.approval_poll;
                    // Another poll only if it and its answer still fit.
                    if !method.polls() || next > wait_until || next + self.config.provider_timeout.min(Duration::from_secs(1)) > answer_by {
                        return Err(IdentityError::Pending);
                    }
                    tokio::time::sleep(self.config.approval_poll).await;
                }
                Err(ProviderError::WrongCode) => return Err(self.wrong_code(challenge).await),
                Err(ProviderError::Gone) => {
                    self.burn(challenge).await?;
                    return Err(IdentityError::ChallengeNotFound);
                }
                Err(ProviderError::Rejected) => {
                    self.burn(challenge).await?;
                    return Err(IdentityError::Rejected);
                }
                Err(ProviderError::Unavailable(cause)) => return Err(self.failed(slot, cause)),
            }
        }
    }

    /// Counts a wrong code on the challenge and the person's counters; the
    /// challenge is burnt once a limit is reached.
    async fn wrong_code(&self, challenge: &Challenge) -> IdentityError {
        let id = &challenge.attempt;
        let mut limits = vec![self.limit(Counter::Challenge, id, self.config.max_code_attempts, self.config.challenge_ttl)];
        limits.extend(self.person_limits(&challenge.subject, &challenge.phone_key, &challenge.session_id));
        let (exhausted, used) = match self.store.fail(&limits).await {
            Ok(counted) => counted,
            Err(e) => return e.into(),
        };
        if let Some(x) = exhausted {
            self.metrics.refused(x.counter.name());
            if let Err(e) = self.burn(challenge).await {
                return e;
            }
            return IdentityError::AttemptsExhausted(x);
        }
        IdentityError::WrongCode { attempts_left: self.config.max_code_attempts.saturating_sub(used) }
    }
}

/// What is left of the challenge's life (at least a millisecond): how long
/// its counter must keep it used or burnt.
fn life_left(challenge: &Challenge) -> Duration {
    let left = challenge.expires_at_ms.saturating_sub(Utc::now().timestamp_millis());
    Duration::from_millis(u64::try_from(left).unwrap_or(0).max(1))
}
