//! CheckEligibility: verify who asks (the pass, the subject's identity
//! assertion or consent token and, for proxy booking, the agent's assertion:
//! see [`parties`]), reject cheaply on the
//! birth date alone when possible, then the registry (through the Redis
//! cache) and the booked set, the decision, and the agent's quota.
mod parties;

use std::sync::Arc;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
};
use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::pass::verified_pass,
    metrics::Metrics,
    tokens::{AssertionVerifier, KeyRing},
};
use yeyak_proto::eligibility::v1::{self as pb, eligibility_service_server::EligibilityService};

use self::parties::Parties;
use crate::{
    domain::{decide, precheck, rules::MAX_DOSE, Decision, Facts, Reason},
    error::EligibilityError,
    registry::RegistryClient,
    reload::RulesHandle,
    store::{Cached, Store},
};

/// The clock, injectable so tests can stand at any instant.
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// Decisions by outcome, and where the registry answers came from.
#[derive(Clone, Debug, Default)]
pub struct ApiMetrics {
    decisions: Family<OutcomeLabel, Counter>,
    lookups: Family<OutcomeLabel, Counter>,
}

impl ApiMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let m = Self::default();
        metrics.register(
            "eligibility_decisions",
            "CheckEligibility answers by outcome: ELIGIBLE, a reason code, or PRECHECK_<reason> when decided without the registry",
            m.decisions.clone(),
        );
        metrics.register("eligibility_registry_lookups", "Registry answers by source: cache, registry, cache_error", m.lookups.clone());
        m
    }

    fn decided(&self, outcome: &'static str) {
        self.decisions.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    fn lookup(&self, outcome: &'static str) {
        self.lookups.get_or_create(&OutcomeLabel { outcome }).inc();
    }
}

/// The handler; cloning it shares everything (rules, Redis, registry client).
#[derive(Clone)]
pub struct EligibilityApi {
    pub rules: Arc<RulesHandle>,
    pub registry: RegistryClient,
    pub store: Store,
    pub trusted: KeyRing,
    pub clock: Clock,
    /// People one agent may act for per event (queue).
    pub proxy_max_subjects: u32,
    pub metrics: ApiMetrics,
    /// Verifies identity assertions once per token (the platform's memory).
    pub assertions: Arc<AssertionVerifier>,
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

pub fn to_pb(d: Decision) -> pb::CheckEligibilityResponse {
    pb::CheckEligibilityResponse {
        eligible: d.eligible.is_ok(),
        reason: d.eligible.err().map(reason_to_pb).unwrap_or(pb::EligibilityReason::Unspecified) as i32,
        detail: d.detail,
        cohort_id: d.cohort_id,
        window: d.window.map(|w| pb::BookingWindow {
            window_id: w.id,
            opens_at: Some(yeyak_proto::timestamp(w.interval.opens_at.timestamp(), 0)),
            closes_at: Some(yeyak_proto::timestamp(w.interval.closes_at.timestamp(), 0)),
        }),
        earliest_vaccination_date: d.earliest_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
    }
}

fn outcome(d: &Decision, precheck: bool) -> &'static str {
    match (d.eligible, precheck) {
        (Ok(()), _) => "ELIGIBLE",
        (Err(Reason::NotInCohort), true) => "PRECHECK_NOT_IN_COHORT",
        (Err(Reason::WindowNotOpen), true) => "PRECHECK_WINDOW_NOT_OPEN",
        (Err(Reason::WindowClosed), true) => "PRECHECK_WINDOW_CLOSED",
        (Err(r), _) => r.code(),
    }
}

impl EligibilityApi {
    /// The registry's answer, from the cache when fresh; and the booked state.
    async fn facts_for(&self, subject: &str, dose: u32) -> Result<(Option<crate::domain::Person>, Option<String>), EligibilityError> {
        let (cached, booked) = match self.store.lookup(subject, dose).await {
            Ok(found) => found,
            Err(e) => {
                // The cache is an optimisation and the booked set a fast
                // answer (reservation's database enforces one booking per
                // dose): carry on without them.
                tracing::warn!(error = %e, "redis unavailable: registry asked directly, booked state unknown");
                self.metrics.lookup("cache_error");
                let person = self.registry.lookup(subject).await.map_err(EligibilityError::RegistryUnavailable)?;
                return Ok((person, None));
            }
        };
        let person = match cached {
            Some(Cached::Known(p)) => {
                self.metrics.lookup("cache");
                Some(p)
            }
            Some(Cached::Unknown) => {
                self.metrics.lookup("cache");
                None
            }
            None => {
                self.metrics.lookup("registry");
                let person = self.registry.lookup(subject).await.map_err(EligibilityError::RegistryUnavailable)?;
                if !self.store.remember(subject, person.as_ref()) {
                    tracing::debug!("cache writes queued beyond the limit: this answer is not cached");
                }
                person
            }
        };
        Ok((person, booked))
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
        // The injectable clock places the rules in time; tokens expire by the
        // wall clock, as the pass interceptor checks them.
        let now = (self.clock)();
        let wall = chrono::Utc::now().timestamp();
        if !(1..=MAX_DOSE).contains(&req.dose_number) {
            let reason = format!("must be between 1 and {MAX_DOSE}");
            return Err(EligibilityError::InvalidArgument { field: "dose_number", reason }.into());
        }
        let Parties { subject, agent } = self.parties(&pass.pass, &req, wall).await?;
        let birth = chrono::NaiveDate::parse_from_str(&subject.birth, "%Y-%m-%d")
            .map_err(|_| EligibilityError::InvalidArgument { field: subject.field, reason: "birth date unreadable".into() })?;
        let rules = self.rules.current();
        if let Some(rejected) = precheck(&rules, birth, req.dose_number, now) {
            self.metrics.decided(outcome(&rejected, true));
            return Ok(Response::new(to_pb(rejected)));
        }
        let (person, booked) = self.facts_for(&subject.sub, req.dose_number).await?;
        let facts = Facts { asserted_birth: birth, person: person.as_ref(), booked: booked.as_deref(), dose: req.dose_number };
        let mut decision = decide(&rules, facts, now);
        if let (Ok(()), Some(agent)) = (decision.eligible, agent.as_ref()) {
            // The subject may book; may this agent book for one more person?
            let claim = self
                .store
                .claim_proxy(&pass.pass.q, &agent.sub, &subject.sub, self.proxy_max_subjects)
                .await
                .map_err(|e| EligibilityError::StoreUnavailable(e.to_string()))?;
            if !claim.allowed {
                decision.eligible = Err(Reason::ProxyNotAllowed);
                decision.detail = format!(
                    "this agent already acts for {} people in event {} (the limit is {})",
                    claim.count, pass.pass.q, self.proxy_max_subjects
                );
            }
        }
        self.metrics.decided(outcome(&decision, false));
        Ok(Response::new(to_pb(decision)))
    }
}
