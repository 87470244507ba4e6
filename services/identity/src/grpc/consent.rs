//! GrantConsent: a verified person lets one named agent book for them in
//! this event. Proxy booking otherwise needs both people verified in the
//! agent's session; a consent token covers the person who cannot be there
//! (an elderly parent verified on their own phone, booked for by a child).
//! The token carries only what the assertion carried (pseudonym, birth date,
//! masked name) plus the agent's pseudonym and the event.
use std::time::Duration;

use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::pass::verified_pass,
    tokens::{self, ConsentToken, IdentityAssertion},
    validate,
};
use yeyak_proto::identity::v1 as pb;

use super::IdentityApi;
use crate::error::IdentityError;

/// A subject id is a 20-byte keyed hash in lowercase hex.
fn agent_subject_id(value: &str) -> Result<&str, IdentityError> {
    let value = value.trim();
    if value.len() == 40 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(value)
    } else {
        Err(IdentityError::InvalidArgument {
            field: "agent_subject_id",
            reason: "must be the agent's subject_id: 40 lowercase hexadecimal characters".into(),
        })
    }
}

impl IdentityApi {
    pub(super) async fn grant(&self, request: Request<pb::GrantConsentRequest>) -> Result<Response<pb::GrantConsentResponse>, Status> {
        let _busy = self.admit()?;
        let pass = verified_pass(&request)?;
        let req = request.into_inner();
        validate::required("identity_assertion", &req.identity_assertion, 4096)?;
        let agent = agent_subject_id(&req.agent_subject_id)?;
        let now = chrono::Utc::now().timestamp();
        let person: IdentityAssertion = tokens::verify(&self.config.assertions, &req.identity_assertion, now)
            .map_err(|reason| IdentityError::BadAssertion { reason })?;
        if person.sid != pass.pass.sid {
            return Err(IdentityError::ForeignAssertion.into());
        }
        if person.sub == agent {
            return Err(IdentityError::InvalidArgument {
                field: "agent_subject_id",
                reason: "is your own; people booking for themselves need no consent".into(),
            }
            .into());
        }
        let ttl = i64::try_from(self.config.consent_ttl.max(Duration::from_secs(1)).as_secs()).unwrap_or(i64::MAX);
        let claims = ConsentToken {
            sub: person.sub,
            birth: person.birth,
            name: person.name,
            agent: agent.to_owned(),
            q: pass.pass.q,
            iat: now,
            exp: now.saturating_add(ttl),
        };
        self.metrics.consents.inc();
        tracing::info!(queue = %claims.q, "consent granted to an agent");
        Ok(Response::new(pb::GrantConsentResponse {
            consent_token: tokens::sign(&self.config.signing_key, &claims),
            expires_at: Some(yeyak_proto::timestamp(claims.exp, 0)),
        }))
    }
}
