//! CheckEligibility.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::pass::verified_pass,
    tokens::{self, IdentityAssertion, KeyRing},
};
use yeyak_proto::eligibility::v1::{self as pb, eligibility_service_server::EligibilityService};

use crate::{
    domain::{decide, decision::precheck, Decision, Reason, Rules},
    error::EligibilityError,
    registry::RegistryClient,
};

/// The clock, injectable so tests can stand at any instant.
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

pub struct EligibilityApi {
    pub rules: Arc<Rules>,
    pub registry: RegistryClient,
    pub trusted: KeyRing,
    pub clock: Clock,
}

fn reason_to_pb(reason: Reason) -> pb::EligibilityReason {
    match reason {
        Reason::NotInCohort => pb::EligibilityReason::NotInCohort,
        Reason::WindowNotOpen => pb::EligibilityReason::WindowNotOpen,
        Reason::WindowClosed => pb::EligibilityReason::WindowClosed,
        Reason::AlreadyVaccinated => pb::EligibilityReason::AlreadyVaccinated,
        Reason::TooEarlyForDose => pb::EligibilityReason::TooEarlyForDose,
        Reason::NotInsured => pb::EligibilityReason::NotInsured,
        Reason::UnknownPerson => pb::EligibilityReason::UnknownPerson,
    }
}

fn to_pb(d: Decision) -> pb::CheckEligibilityResponse {
    pb::CheckEligibilityResponse {
        eligible: d.eligible.is_ok(),
        reason: d.eligible.err().map(reason_to_pb).unwrap_or(pb::EligibilityReason::Unspecified) as i32,
        detail: d.detail,
        cohort_id: d.cohort_id,
        window: d.window.map(|w| pb::BookingWindow {
            window_id: w.id,
            opens_at: Some(yeyak_proto::timestamp(w.opens_at.timestamp(), 0)),
            closes_at: Some(yeyak_proto::timestamp(w.closes_at.timestamp(), 0)),
        }),
        earliest_vaccination_date: d.earliest_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
    }
}

impl EligibilityApi {
    fn assertion(&self, field: &'static str, token: &str, sid: &str, now: i64) -> Result<IdentityAssertion, EligibilityError> {
        let a: IdentityAssertion =
            tokens::verify(&self.trusted, token, now).map_err(|reason| EligibilityError::BadAssertion { field, reason })?;
        if a.sid != sid {
            return Err(EligibilityError::ForeignAssertion(field));
        }
        Ok(a)
    }
}

#[tonic::async_trait]
impl EligibilityService for EligibilityApi {
    async fn check_eligibility(
        &self,
        request: Request<pb::CheckEligibilityRequest>,
    ) -> Result<Response<pb::CheckEligibilityResponse>, Status> {
        let pass = verified_pass(&request)?;
        let req = request.into_inner();
        let now = (self.clock)();
        if req.identity_assertion.is_empty() {
            return Err(EligibilityError::InvalidArgument { field: "identity_assertion", reason: "is required".into() }.into());
        }
        if !(1..=4).contains(&req.dose_number) {
            return Err(EligibilityError::InvalidArgument { field: "dose_number", reason: "must be between 1 and 4".into() }.into());
        }
        let subject = self.assertion("identity_assertion", &req.identity_assertion, &pass.pass.sid, now.timestamp())?;
        if !req.agent_assertion.is_empty() {
            self.assertion("agent_assertion", &req.agent_assertion, &pass.pass.sid, now.timestamp())?;
        }
        let birth = chrono::NaiveDate::parse_from_str(&subject.birth, "%Y-%m-%d")
            .map_err(|_| EligibilityError::InvalidArgument { field: "identity_assertion", reason: "birth date unreadable".into() })?;
        if let Some(rejected) = precheck(&self.rules, birth) {
            return Ok(Response::new(to_pb(rejected)));
        }
        let person = self.registry.lookup(&subject.sub).await.map_err(EligibilityError::RegistryUnavailable)?;
        Ok(Response::new(to_pb(decide(&self.rules, person.as_ref(), req.dose_number, now))))
    }
}
