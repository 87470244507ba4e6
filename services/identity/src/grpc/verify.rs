//! StartVerification and CompleteVerification: validation, load shedding,
//! abuse limits, and the provider calls through the routing board (breaker,
//! bulkhead, deadline). The challenge lives in Redis between the two, so
//! they may run on different replicas.
use std::time::{Duration, Instant};

use tonic::{Request, Response, Status};
use tracing::Instrument as _;
use yeyak_platform::{
    grpc::pass::verified_pass,
    pseudonym::{subject_id, Rrn},
    tokens, validate,
};
use yeyak_proto::identity::v1 as pb;

use crate::{
    domain,
    error::IdentityError,
    metrics::ProviderLabel,
    providers::{CallOptions, PersonDetails, ProviderError},
    store::{Challenge, Counter, Finish, Gate},
};

use super::IdentityApi;

impl IdentityApi {
    pub(super) async fn start(
        &self,
        request: Request<pb::StartVerificationRequest>,
    ) -> Result<Response<pb::StartVerificationResponse>, Status> {
        let _busy = self.admit()?;
        let pass = verified_pass(&request)?;
        let answer_by = self.answer_by(request.metadata());
        let req = request.into_inner();
        validate::required("provider_id", &req.provider_id, 64)?;
        let slot = self.slot(&req.provider_id)?;
        let name = domain::validate_name(&req.name).map_err(|r| IdentityError::InvalidArgument { field: "name", reason: r.into() })?;
        let rrn = Rrn::parse(&req.resident_registration_number)
            .map_err(|e| IdentityError::InvalidArgument { field: "resident_registration_number", reason: e.to_string() })?;
        let phone = validate::mobile_phone("phone_number", &req.phone_number)?;
        drop(req);

        let permit = self.board.acquire(slot).map_err(|r| self.refused(slot, r))?;
        let key = &self.config.subject_hash_key;
        let subject = subject_id(key, &rrn);
        let phone_key = domain::phone_key(key, &phone);
        let limits = self.person_limits(&subject, &phone_key, &pass.pass.sid);
        match self.store.gate(&limits, &pass.pass.sid, &subject, self.config.proxy_limit).await.map_err(IdentityError::from)? {
            Gate::Open => {}
            Gate::Exhausted(x) => {
                self.metrics.refused(x.counter.name());
                return Err(IdentityError::AttemptsExhausted(x).into());
            }
            Gate::ProxyLimit => {
                self.metrics.refused("proxy_limit");
                return Err(IdentityError::ProxyLimit { limit: self.config.proxy_limit }.into());
            }
        }

        let challenge_id = uuid::Uuid::new_v4().to_string();
        let call = CallOptions { deadline: self.provider_deadline(answer_by), idempotency_key: challenge_id.clone() };
        let person = PersonDetails { name, rrn, phone };
        let outcome = slot.provider.start(&person, &call).instrument(tracing::info_span!("provider.start", provider = slot.id())).await;
        permit.finish(!outcome.as_ref().is_err_and(ProviderError::is_failure));
        let transaction_id = match outcome {
            Ok(t) => t,
            Err(ProviderError::Unavailable(cause)) => {
                // The provider failed, not the person: the attempt is given back.
                if let Err(e) = self.store.refund(&limits).await {
                    tracing::warn!(error = %e, "could not refund an attempt");
                }
                return Err(self.failed(slot, cause).into());
            }
            Err(_) => return Err(IdentityError::Rejected.into()),
        };
        let ttl = self.config.challenge_ttl;
        let challenge = Challenge { provider_id: slot.id().to_owned(), transaction_id, sid: pass.pass.sid, subject, phone_key };
        self.store.put(&challenge_id, &challenge, ttl).await.map_err(IdentityError::from)?;
        let expires = chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        Ok(Response::new(pb::StartVerificationResponse {
            challenge_id,
            expires_at: Some(yeyak_proto::timestamp(expires.timestamp(), expires.timestamp_subsec_nanos() as i32)),
            instructions: slot.provider.instructions().into(),
        }))
    }

    pub(super) async fn complete(
        &self,
        request: Request<pb::CompleteVerificationRequest>,
    ) -> Result<Response<pb::CompleteVerificationResponse>, Status> {
        let _busy = self.admit()?;
        let pass = verified_pass(&request)?;
        let answer_by = self.answer_by(request.metadata());
        let req = request.into_inner();
        validate::uuid("challenge_id", &req.challenge_id)?;
        let code = req.code.trim();
        if code.len() > 16 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(IdentityError::InvalidArgument { field: "code", reason: "must be at most 16 letters or digits".into() }.into());
        }
        let id = req.challenge_id.as_str();
        let challenge = self.store.get(id).await.map_err(IdentityError::from)?.ok_or(IdentityError::ChallengeNotFound)?;
        if challenge.sid != pass.pass.sid {
            return Err(IdentityError::ChallengeForeign.into());
        }
        // A provider removed from the configuration leaves its challenges dead.
        let slot = self.board.find(&challenge.provider_id).ok_or(IdentityError::ChallengeNotFound)?;
        let method = slot.provider.config().method;
        let wait_until = Instant::now() + self.config.approval_wait;
        let person = loop {
            let permit = self.board.acquire(slot).map_err(|r| self.refused(slot, r))?;
            let outcome = slot
                .provider
                .confirm(&challenge.transaction_id, code, self.provider_deadline(answer_by))
                .instrument(tracing::info_span!("provider.confirm", provider = slot.id()))
                .await;
            permit.finish(!outcome.as_ref().is_err_and(ProviderError::is_failure));
            match outcome {
                Ok(person) => break person,
                Err(ProviderError::Pending) => {
                    let next = Instant::now() + self.config.approval_poll;
                    // Another poll only if it and its answer still fit.
                    if !method.polls() || next > wait_until || next + self.config.provider_timeout.min(Duration::from_secs(1)) > answer_by {
                        return Err(IdentityError::Pending.into());
                    }
                    tokio::time::sleep(self.config.approval_poll).await;
                }
                Err(ProviderError::WrongCode) => {
                    let mut limits = vec![self.limit(Counter::Challenge, id, self.config.max_code_attempts, self.config.challenge_ttl)];
                    limits.extend(self.person_limits(&challenge.subject, &challenge.phone_key, &challenge.sid));
                    let (exhausted, used) = self.store.fail(&limits).await.map_err(IdentityError::from)?;
                    if let Some(x) = exhausted {
                        self.metrics.refused(x.counter.name());
                        self.store.burn(id).await.map_err(IdentityError::from)?;
                        return Err(IdentityError::AttemptsExhausted(x).into());
                    }
                    return Err(IdentityError::WrongCode { attempts_left: self.config.max_code_attempts.saturating_sub(used) }.into());
                }
                Err(ProviderError::Gone) => {
                    self.store.burn(id).await.map_err(IdentityError::from)?;
                    return Err(IdentityError::ChallengeNotFound.into());
                }
                Err(ProviderError::Rejected) => {
                    self.store.burn(id).await.map_err(IdentityError::from)?;
                    return Err(IdentityError::Rejected.into());
                }
                Err(ProviderError::Unavailable(cause)) => return Err(self.failed(slot, cause).into()),
            }
        };
        let key = &self.config.subject_hash_key;
        if subject_id(key, &person.rrn) != challenge.subject {
            self.store.burn(id).await.map_err(IdentityError::from)?;
            return Err(IdentityError::SubjectMismatch.into());
        }
        let now = chrono::Utc::now().timestamp();
        let pass_left = Duration::from_secs(u64::try_from(pass.pass.exp - now).unwrap_or(0));
        match self.store.finish(id, &challenge, self.config.proxy_limit, pass_left).await.map_err(IdentityError::from)? {
            Finish::Done => {}
            Finish::Gone => return Err(IdentityError::ChallengeNotFound.into()),
            Finish::ProxyLimit => {
                self.metrics.refused("proxy_limit");
                return Err(IdentityError::ProxyLimit { limit: self.config.proxy_limit }.into());
            }
        }
        let by = domain::Vouched { provider: &challenge.provider_id, assurance: slot.provider.assurance(), sid: &challenge.sid };
        let claims = domain::assertion(key, &person.rrn, &person.name, &by, now, self.config.assertion_ttl.as_secs() as i64);
        self.metrics.verified.get_or_create(&ProviderLabel { provider: challenge.provider_id.clone() }).inc();
        tracing::info!(provider = %challenge.provider_id, "identity verified");
        Ok(Response::new(pb::CompleteVerificationResponse {
            identity_assertion: tokens::sign(&self.config.signing_key, &claims),
            subject_id: claims.sub,
            masked_name: claims.name,
            expires_at: Some(yeyak_proto::timestamp(claims.exp, 0)),
        }))
    }
}
