//! The use case, `EligibilityCheck`: who may book now. A check verifies who
//! asks (the subject's identity assertion or consent token and, for proxy
//! booking, the agent's assertion: see [`parties`]), rejects cheaply on the
//! birth date alone when it can, then asks the registry (through the Redis
//! cache) and the booked set (see [`facts`]), decides under the rules in
//! force, and counts the agent's quota. The CheckEligibility handler calls
//! it; the bookings consumer keeps its booked set current through it. It
//! knows no transport.
mod facts;
mod parties;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use yeyak_platform::{
    sessions::EndedSessions,
    tokens::{AdmissionPass, AssertionVerifier, KeyRing},
};

use crate::{
    clients::registry::RegistryClient,
    domain::{decide, parties::Parties, precheck, BookingEvent, Decision, Facts, Reason, Rules},
    error::EligibilityError,
    metrics::CheckMetrics,
    store::{RuleSets, RulesHandle, Store},
};

/// The clock, injectable so tests can stand at any instant.
pub(crate) type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The tokens a request presents (`None`: not given); verified here.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Credentials<'a> {
    pub(crate) identity_assertion: Option<&'a str>,
    pub(crate) consent_token: Option<&'a str>,
    pub(crate) agent_assertion: Option<&'a str>,
}

/// Everything a check needs; shared by the handler and the consumer.
pub(crate) struct EligibilityCheck {
    /// The default rules (`YEYAK_RULES_FILE`), for events naming no set.
    pub(crate) rules: Arc<RulesHandle>,
    /// The named rule sets events may use (`YEYAK_RULE_SETS_DIR`).
    pub(crate) rule_sets: Arc<RuleSets>,
    /// Admission's catalog of events: which rule set an event uses.
    pub(crate) events: EndedSessions,
    pub(crate) registry: RegistryClient,
    pub(crate) store: Store,
    /// Verifies consent tokens.
    pub(crate) trusted: KeyRing,
    /// Verifies identity assertions once per token (the platform's memory).
    pub(crate) assertions: AssertionVerifier,
    pub(crate) clock: Clock,
    /// People one agent may act for per event (queue).
    pub(crate) proxy_max_subjects: u32,
    pub(crate) metrics: CheckMetrics,
}

impl EligibilityCheck {
    /// May the subject the credentials name book dose `dose` now, under the
    /// caller's pass (verified by the transport)?
    pub(crate) async fn check(&self, pass: &AdmissionPass, credentials: Credentials<'_>, dose: u32) -> Result<Decision, EligibilityError> {
        // The injectable clock places the rules in time; tokens expire by the
        // wall clock, as the pass interceptor checks them.
        let now = (self.clock)();
        let wall = Utc::now().timestamp();
        let Parties { subject, agent } = self.parties(pass, credentials, wall).await?;
        let birth = subject.birth_date().ok_or(EligibilityError::UnreadableBirthDate(subject.named_by))?;
        let rules = self.rules_for(&pass.queue_id)?;
        if let Some(rejected) = precheck(&rules, birth, dose, now) {
            self.metrics.decided(&rejected, true);
            return Ok(rejected);
        }
        let (person, booked) = self.facts_for(&subject.subject_id, dose).await?;
        let facts = Facts { asserted_birth: birth, person: person.as_ref(), booked: booked.as_deref(), dose };
        let mut decision = decide(&rules, facts, now);
        if let (Ok(()), Some(agent)) = (decision.eligible, agent.as_ref()) {
            // The subject may book; may this agent book for one more person?
            let claim = self.store.claim_proxy(&pass.queue_id, &agent.subject, &subject.subject_id, self.proxy_max_subjects).await?;
            if !claim.allowed {
                decision.eligible = Err(Reason::ProxyNotAllowed);
                decision.detail = format!(
                    "this agent already acts for {} people in event {} (the limit is {})",
                    claim.count, pass.queue_id, self.proxy_max_subjects
                );
            }
        }
        self.metrics.decided(&decision, false);
        Ok(decision)
    }

    /// The rules `event` is judged by: the set its catalog entry names, or
    /// the default rules when it names none (or no catalog is followed).
    fn rules_for(&self, event: &str) -> Result<Arc<Rules>, EligibilityError> {
        let name = self.events.catalog().and_then(|c| c.events.get(event).map(|e| e.rule_set.clone())).unwrap_or_default();
        if name.is_empty() {
            return Ok(self.rules.current());
        }
        self.rule_sets.get(&name).ok_or(EligibilityError::RuleSetMissing(name))
    }

    /// Applies a reservation event to the booked set (and drops the
    /// subject's cached registry answer) once; false when it was seen before.
    pub(crate) async fn record_booking(&self, event: &BookingEvent) -> Result<bool, EligibilityError> {
        Ok(self.store.apply(event).await?)
    }
}
