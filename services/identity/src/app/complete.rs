//! CompleteVerification: the provider confirms the code (or, for approvals
//! and certificate signatures, is polled until the person has answered),
//! wrong codes count against every limit, and the challenge is consumed
//! atomically with the proxy limit before the assertion is signed.
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
    domain::{self, VerifiedPerson},
    error::IdentityError,
    metrics::ProviderLabel,
    store::{Challenge, Counter, Finish},
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
        let challenge = self.store.get(id).await?.ok_or(IdentityError::ChallengeNotFound)?;
        if challenge.session_id != pass.session_id {
            return Err(IdentityError::ChallengeForeign);
        }
        // A provider removed from the configuration leaves its challenges dead.
        let slot = self.board.find(&challenge.provider_id).ok_or(IdentityError::ChallengeNotFound)?;
        let person = self.confirm(slot, id, &challenge, code, answer_by).await?;
        let key = &self.config.subject_hash_key;
        if subject_id(key, &person.rrn) != challenge.subject {
            self.store.burn(id).await?;
            return Err(IdentityError::SubjectMismatch);
        }
        let now = Utc::now().timestamp();
        let pass_left = Duration::from_secs(u64::try_from(pass.expires_at - now).unwrap_or(0));
        match self.store.finish(id, &challenge, self.config.proxy_limit, pass_left).await? {
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

    /// Whether `subject` may verify under `pass`: not while bound to another
    /// session of the same event (checked at the start, so no code is sent).
    pub(super) async fn check_place(&self, pass: &AdmissionPass, subject: &str) -> Result<(), IdentityError> {
        if self.config.place_binding_ttl.is_zero() {
            return Ok(());
        }
        match self.store.place_of(&pass.queue_id, subject).await? {
            Some(bound) if bound != pass.session_id => {
                self.metrics.refused("other_place");
                Err(IdentityError::OtherPlace)
            }
            _ => Ok(()),
        }
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
    async fn confirm(
        &self,
        slot: &Slot,
        id: &str,
        challenge: &Challenge,
        code: &str,
        answer_by: Instant,
    ) -> Result<VerifiedPerson, IdentityError> {
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
                Err(ProviderError::WrongCode) => return Err(self.wrong_code(id, challenge).await),
                Err(ProviderError::Gone) => {
                    self.store.burn(id).await?;
                    return Err(IdentityError::ChallengeNotFound);
                }
                Err(ProviderError::Rejected) => {
                    self.store.burn(id).await?;
                    return Err(IdentityError::Rejected);
                }
                Err(ProviderError::Unavailable(cause)) => return Err(self.failed(slot, cause)),
            }
        }
    }

    /// Counts a wrong code on the challenge and the person's counters; the
    /// challenge is burnt once a limit is reached.
    async fn wrong_code(&self, id: &str, challenge: &Challenge) -> IdentityError {
        let mut limits = vec![self.limit(Counter::Challenge, id, self.config.max_code_attempts, self.config.challenge_ttl)];
        limits.extend(self.person_limits(&challenge.subject, &challenge.phone_key, &challenge.session_id));
        let (exhausted, used) = match self.store.fail(&limits).await {
            Ok(counted) => counted,
            Err(e) => return e.into(),
        };
        if let Some(x) = exhausted {
            self.metrics.refused(x.counter.name());
            if let Err(e) = self.store.burn(id).await {
                return e.into();
            }
            return IdentityError::AttemptsExhausted(x);
        }
        IdentityError::WrongCode { attempts_left: self.config.max_code_attempts.saturating_sub(used) }
    }
}
