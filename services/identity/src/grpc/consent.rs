//! GrantConsent: the person's assertion and the agent they name are
//! validated here; the consent itself is
//! [`Verification::grant_consent`](crate::app::Verification::grant_consent).
use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::{pass::verified_pass, status},
    validate,
};
use yeyak_proto::{identity::v1 as pb, time};

use super::IdentityApi;

/// A subject id is a 20-byte keyed hash in lowercase hex.
fn agent_subject_id(value: &str) -> Result<&str, Status> {
    let value = value.trim();
    if value.len() == 40 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(value)
    } else {
        Err(status::invalid_argument("agent_subject_id", "must be the agent's subject_id: 40 lowercase hexadecimal characters"))
    }
}

impl IdentityApi {
    pub(super) async fn grant(&self, request: Request<pb::GrantConsentRequest>) -> Result<Response<pb::GrantConsentResponse>, Status> {
        let _busy = self.admit()?;
        let pass = verified_pass(&request)?;
        let req = request.into_inner();
        validate::required("identity_assertion", &req.identity_assertion, 4096)?;
        let agent = agent_subject_id(&req.agent_subject_id)?;
        let consent = self.verification.grant_consent(&pass.pass, &req.identity_assertion, agent)?;
        Ok(Response::new(pb::GrantConsentResponse {
            consent_token: consent.consent_token,
            expires_at: Some(time::to_proto(consent.expires_at)),
        }))
    }
}
