//! StartVerification and CompleteVerification: shed when saturated, check
//! the pass, validate the request (naming the field), then one call to
//! [`Verification`](crate::app::Verification). The challenge travels sealed
//! in its id between the two, so they may run on different replicas.
use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::{pass::verified_pass, status},
    pseudonym::Rrn,
    validate,
};
use yeyak_proto::{identity::v1 as pb, time};

use super::IdentityApi;
use crate::domain::{self, PersonDetails};

/// Longest code a provider sends (letters or digits).
const MAX_CODE_LEN: usize = 16;

impl IdentityApi {
    pub(super) async fn start(
        &self,
        request: Request<pb::StartVerificationRequest>,
    ) -> Result<Response<pb::StartVerificationResponse>, Status> {
        let _busy = self.admit()?;
        let pass = verified_pass(&request)?;
        let answer_by = self.answer_by(request.metadata());
        let pb::StartVerificationRequest { provider_id, name, resident_registration_number, phone_number } = request.into_inner();
        validate::required("provider_id", &provider_id, 64)?;
        self.verification.check_provider(&provider_id)?;
        let name = domain::validate_name(&name).map_err(|reason| status::invalid_argument("name", reason))?;
        let rrn = Rrn::parse(&resident_registration_number)
            .map_err(|e| status::invalid_argument("resident_registration_number", e.to_string()))?;
        let phone = validate::mobile_phone("phone_number", &phone_number)?;
        // The raw number goes no further than the parsed `Rrn`.
        drop((resident_registration_number, phone_number));
        let person = PersonDetails { name, rrn, phone };
        let started = self.verification.start(&pass.pass, &provider_id, person, answer_by).await?;
        Ok(Response::new(pb::StartVerificationResponse {
            challenge_id: started.challenge_id,
            expires_at: Some(time::to_proto(started.expires_at)),
            instructions: started.instructions.into(),
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
        if !domain::challenge::well_formed(&req.challenge_id) {
            return Err(status::invalid_argument("challenge_id", "must be the challenge_id StartVerification answered"));
        }
        let code = req.code.trim();
        if code.len() > MAX_CODE_LEN || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(status::invalid_argument("code", "must be at most 16 letters or digits"));
        }
        let verified = self.verification.complete(&pass.pass, &req.challenge_id, code, answer_by).await?;
        Ok(Response::new(pb::CompleteVerificationResponse {
            identity_assertion: verified.identity_assertion,
            subject_id: verified.subject_id,
            masked_name: verified.masked_name,
            expires_at: Some(time::to_proto(verified.expires_at)),
        }))
    }
}
