//! CheckEligibility: the dose is checked here, the pass was verified by the
//! interceptor, and the tokens go to `EligibilityCheck` as they came.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::{pass::verified_pass, status},
    metrics::{Funnel, Stage},
};
use yeyak_proto::eligibility::v1::{self as pb, eligibility_service_server::EligibilityService};

use crate::{
    app::{Credentials, EligibilityCheck},
    domain::{rules::MAX_DOSE, Decision, Reason},
};

/// The handler; cloning it shares the use case.
#[derive(Clone)]
pub(crate) struct EligibilityApi {
    check: Arc<EligibilityCheck>,
    /// `eligible` / `not_eligible` by reason, once per admitted session.
    funnel: Funnel,
}

impl EligibilityApi {
    pub(crate) fn new(check: Arc<EligibilityCheck>, funnel: Funnel) -> Self {
        Self { check, funnel }
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
        if !(1..=MAX_DOSE).contains(&req.dose_number) {
            return Err(status::invalid_argument("dose_number", format!("must be between 1 and {MAX_DOSE}")));
        }
        let credentials = Credentials {
            identity_assertion: given(&req.identity_assertion),
            consent_token: given(&req.consent_token),
            agent_assertion: given(&req.agent_assertion),
        };
        let decision = self.check.check(&pass.pass, credentials, req.dose_number).await?;
        let (event, session) = (&pass.pass.queue_id, &pass.pass.session_id);
        match decision.eligible {
            Ok(()) => self.funnel.first(event, Stage::Eligible, session),
            Err(reason) => self.funnel.refused(event, reason_to_pb(reason).as_str_name(), session),
        }
        Ok(Response::new(to_pb(decision)))
    }
}

/// An empty token field means the token was not given.
fn given(token: &str) -> Option<&str> {
    Some(token).filter(|t| !t.is_empty())
}

fn reason_to_pb(reason: Reason) -> pb::EligibilityReason {
    match reason {
        Reason::NotInCohort => pb::EligibilityReason::NotInCohort,
        Reason::WindowNotOpen => pb::EligibilityReason::WindowNotOpen,
        Reason::WindowClosed => pb::EligibilityReason::WindowClosed,
        Reason::AlreadyBooked => pb::EligibilityReason::AlreadyBooked,
        Reason::AlreadyVaccinated => pb::EligibilityReason::AlreadyVaccinated,
        Reason::TooEarlyForDose => pb::EligibilityReason::TooEarlyForDose,
        Reason::NotInsured => pb::EligibilityReason::NotInsured,
        Reason::UnknownPerson => pb::EligibilityReason::UnknownPerson,
        Reason::ProxyNotAllowed => pb::EligibilityReason::ProxyNotAllowed,
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
            opens_at: Some(yeyak_proto::time::to_proto(w.interval.opens_at)),
            closes_at: Some(yeyak_proto::time::to_proto(w.interval.closes_at)),
        }),
        earliest_vaccination_date: d.earliest_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
    }
}
