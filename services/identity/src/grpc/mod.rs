//! IdentityService handlers.
use std::{sync::Arc, time::Instant};

use tonic::{Request, Response, Status};
use yeyak_platform::{grpc::pass::verified_pass, pseudonym::Rrn, tokens, validate};
use yeyak_proto::identity::v1::{self as pb, identity_service_server::IdentityService};

use crate::{
    config::Config,
    domain,
    error::IdentityError,
    providers::{Health, Light, PersonDetails, Provider, ProviderError},
    store::{Challenge, ChallengeStore},
};

pub struct Registered {
    pub provider: Box<dyn Provider>,
    pub health: Health,
}

pub struct IdentityApi {
    config: Config,
    providers: Arc<Vec<Registered>>,
    store: ChallengeStore,
}

impl IdentityApi {
    pub fn new(config: Config, providers: Arc<Vec<Registered>>, store: ChallengeStore) -> Self {
        Self { config, providers, store }
    }

    fn find(&self, id: &str) -> Result<&Registered, IdentityError> {
        self.providers.iter().find(|p| p.provider.config().id == id).ok_or_else(|| IdentityError::UnknownProvider(id.to_owned()))
    }

    /// Healthiest first; RED providers are left out of what users are shown.
    fn ranked(&self) -> Vec<(&Registered, Light)> {
        let mut list: Vec<_> = self.providers.iter().map(|p| (p, p.health.light())).collect();
        list.sort_by_key(|(_, light)| *light);
        list
    }

    fn alternatives(&self, except: &str) -> String {
        let names: Vec<_> = self
            .ranked()
            .into_iter()
            .filter(|(p, l)| *l != Light::Red && p.provider.config().id != except)
            .map(|(p, _)| p.provider.config().id.clone())
            .collect();
        if names.is_empty() {
            "none right now".into()
        } else {
            names.join(", ")
        }
    }

    fn unavailable(&self, provider: &str, cause: impl std::fmt::Display) -> IdentityError {
        IdentityError::ProviderUnavailable {
            provider: provider.to_owned(),
            alternatives: self.alternatives(provider),
            cause: cause.to_string(),
        }
    }
}

fn light_to_pb(light: Light) -> pb::ProviderStatus {
    match light {
        Light::Green => pb::ProviderStatus::Green,
        Light::Yellow => pb::ProviderStatus::Yellow,
        Light::Red => pb::ProviderStatus::Red,
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn list_providers(&self, request: Request<pb::ListProvidersRequest>) -> Result<Response<pb::ListProvidersResponse>, Status> {
        verified_pass(&request)?;
        let providers = self
            .ranked()
            .into_iter()
            .map(|(p, light)| pb::Provider {
                provider_id: p.provider.config().id.clone(),
                display_name: p.provider.config().display_name.clone(),
                kind: p.provider.config().kind as i32,
                status: light_to_pb(light) as i32,
            })
            .collect();
        Ok(Response::new(pb::ListProvidersResponse { providers }))
    }

    async fn start_verification(
        &self,
        request: Request<pb::StartVerificationRequest>,
    ) -> Result<Response<pb::StartVerificationResponse>, Status> {
        let pass = verified_pass(&request)?;
        let req = request.into_inner();
        validate::required("provider_id", &req.provider_id, 64)?;
        let registered = self.find(&req.provider_id)?;
        let name = domain::validate_name(&req.name).map_err(|r| IdentityError::InvalidArgument { field: "name", reason: r.into() })?;
        let rrn = Rrn::parse(&req.resident_registration_number)
            .map_err(|e| IdentityError::InvalidArgument { field: "resident_registration_number", reason: e.to_string() })?;
        let phone = validate::mobile_phone("phone_number", &req.phone_number)?;
        if !registered.health.allow_call() {
            return Err(self.unavailable(&req.provider_id, "provider is RED").into());
        }
        let started = Instant::now();
        let person = PersonDetails { name, rrn, phone };
        let outcome = registered.provider.start(&person).await;
        registered.health.record(!matches!(outcome, Err(ProviderError::Unavailable(_))), started.elapsed());
        let transaction_id = match outcome {
            Ok(t) => t,
            Err(ProviderError::Unavailable(cause)) => return Err(self.unavailable(&req.provider_id, cause).into()),
            Err(_) => return Err(IdentityError::Rejected.into()),
        };
        let challenge_id = uuid::Uuid::new_v4().to_string();
        let ttl = self.config.challenge_ttl.as_secs();
        let challenge = Challenge { provider_id: req.provider_id, transaction_id, sid: pass.pass.sid };
        self.store.put(&challenge_id, &challenge, ttl).await.map_err(IdentityError::from)?;
        let instructions = match registered.provider.config().kind {
            pb::ProviderKind::SmsCode => "enter the 6-digit code sent by SMS",
            _ => "approve the request in the certificate app, then continue",
        };
        Ok(Response::new(pb::StartVerificationResponse {
            challenge_id,
            expires_at: Some(yeyak_proto::timestamp(chrono::Utc::now().timestamp() + ttl as i64, 0)),
            instructions: instructions.into(),
        }))
    }

    async fn complete_verification(
        &self,
        request: Request<pb::CompleteVerificationRequest>,
    ) -> Result<Response<pb::CompleteVerificationResponse>, Status> {
        let pass = verified_pass(&request)?;
        let req = request.into_inner();
        validate::uuid("challenge_id", &req.challenge_id)?;
        if req.code.len() > 16 {
            return Err(IdentityError::InvalidArgument { field: "code", reason: "must be at most 16 characters".into() }.into());
        }
        let challenge = self.store.get(&req.challenge_id).await.map_err(IdentityError::from)?.ok_or(IdentityError::ChallengeNotFound)?;
        if challenge.sid != pass.pass.sid {
            return Err(IdentityError::ChallengeForeign.into());
        }
        let registered = self.find(&challenge.provider_id)?;
        let started = Instant::now();
        let outcome = registered.provider.confirm(&challenge.transaction_id, &req.code).await;
        registered.health.record(!matches!(outcome, Err(ProviderError::Unavailable(_))), started.elapsed());
        let person = match outcome {
            Ok(p) => p,
            Err(ProviderError::WrongCode) => {
                let ttl = self.config.challenge_ttl.as_secs();
                let attempts = self.store.count_attempt(&req.challenge_id, ttl).await.map_err(IdentityError::from)?;
                if attempts >= self.config.max_attempts {
                    self.store.take(&req.challenge_id).await.map_err(IdentityError::from)?;
                    return Err(IdentityError::TooManyAttempts.into());
                }
                return Err(IdentityError::WrongCode { attempts_left: self.config.max_attempts - attempts }.into());
            }
            Err(ProviderError::Pending) => return Err(IdentityError::Pending.into()),
            Err(ProviderError::Gone) | Err(ProviderError::Rejected) => {
                self.store.take(&req.challenge_id).await.map_err(IdentityError::from)?;
                return Err(IdentityError::ChallengeNotFound.into());
            }
            Err(ProviderError::Unavailable(cause)) => return Err(self.unavailable(&challenge.provider_id, cause).into()),
        };
        if !self.store.take(&req.challenge_id).await.map_err(IdentityError::from)? {
            return Err(IdentityError::ChallengeNotFound.into());
        }
        let now = chrono::Utc::now().timestamp();
        let assurance = if registered.provider.config().kind == pb::ProviderKind::SmsCode { 1 } else { 2 };
        let by = domain::Vouched { provider: &challenge.provider_id, assurance, sid: &challenge.sid };
        let claims = domain::assertion(
            &self.config.subject_hash_key,
            &person.rrn,
            &person.name,
            &by,
            now,
            self.config.assertion_ttl.as_secs() as i64,
        );
        tracing::info!(provider = %challenge.provider_id, "identity verified");
        Ok(Response::new(pb::CompleteVerificationResponse {
            identity_assertion: tokens::sign(&self.config.signing_key, &claims),
            subject_id: claims.sub,
            masked_name: claims.name,
            expires_at: Some(yeyak_proto::timestamp(claims.exp, 0)),
        }))
    }
}
