//! The evening's funnel: `yeyak_funnel_total{event,stage}`, one counter
//! family every service increments at its own stage, so one query shows
//! where people drop out (`yeyak_funnel_not_eligible_total{event,reason}`
//! says why eligibility refused them).
//!
//! Stages a person may repeat (starting verification again, searching twice,
//! checking eligibility before and during the booking) are counted once per
//! admitted session: the first time a session reaches the stage claims a
//! Redis key (`SET NX` with the pass's lifetime), so every replica agrees.
//! Stages that happen once by construction (a new entry, an admitted place,
//! a booking, an SMS) are counted where they happen. Labels stay bounded:
//! `event` comes from a verified pass or a configured queue, never from a
//! caller's free text, and `reason` from a fixed enum.
use std::time::Duration;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
};

use super::Metrics;
use crate::redis_store::RedisConn;

/// A stage of the funnel, in the order people go through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Joined,
    Admitted,
    IdentityStarted,
    Verified,
    Eligible,
    NotEligible,
    Searched,
    Booked,
    SmsSent,
    SmsFailed,
    SmsDeadLettered,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Self::Joined => "joined",
            Self::Admitted => "admitted",
            Self::IdentityStarted => "identity_started",
            Self::Verified => "verified",
            Self::Eligible => "eligible",
            Self::NotEligible => "not_eligible",
            Self::Searched => "searched",
            Self::Booked => "booked",
            Self::SmsSent => "sms_sent",
            Self::SmsFailed => "sms_failed",
            Self::SmsDeadLettered => "sms_dead_lettered",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    event: String,
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    event: String,
    reason: String,
}

/// How long a session's "already counted" marks live: at least a pass's
/// lifetime, after which the session cannot reach a stage again.
const MARK_TTL: Duration = Duration::from_secs(6 * 3600);

#[derive(Clone, Debug)]
pub struct Funnel {
    stages: Family<StageLabels, Counter>,
    refusals: Family<ReasonLabels, Counter>,
    /// Where a session's first arrival at a stage is claimed, and the key prefix.
    marks: Option<(RedisConn, String)>,
}

impl Funnel {
    /// Registers the funnel in `metrics`; without `marks`, every call to
    /// [`Funnel::first`] counts (a service with no Redis).
    pub fn new(metrics: &Metrics, marks: Option<(RedisConn, String)>) -> Self {
        let (stages, refusals) = (Family::default(), Family::default());
        metrics.register("funnel", "People reaching each stage of the evening, per event", Family::clone(&stages));
        metrics.register("funnel_not_eligible", "People eligibility refused, per event and reason", Family::clone(&refusals));
        Self { stages, refusals, marks }
    }

    /// Counts a stage that happens once per person by construction.
    pub fn count(&self, event: &str, stage: Stage) {
        self.stages.get_or_create(&StageLabels { event: event.to_owned(), stage: stage.name() }).inc();
    }

    /// Counts `n` people reaching a stage at once (places an admission tick admits).
    pub fn count_many(&self, event: &str, stage: Stage, n: u64) {
        if n > 0 {
            self.stages.get_or_create(&StageLabels { event: event.to_owned(), stage: stage.name() }).inc_by(n);
        }
    }

    /// Counts eligibility's refusal of a person, with its reason (once per session).
    pub fn refused(&self, event: &str, reason: &str, session: &str) {
        let refusal = ReasonLabels { event: event.to_owned(), reason: reason.to_owned() };
        let this = self.clone();
        self.once(event, Stage::NotEligible, session, move || {
            this.count(&refusal.event, Stage::NotEligible);
            this.refusals.get_or_create(&refusal).inc();
        });
    }

    /// Counts `stage` the first time `session` reaches it, in the
    /// background: the request never waits for the mark, and a Redis error
    /// counts (a count too many rather than a stage gone dark).
    pub fn first(&self, event: &str, stage: Stage, session: &str) {
        let (this, event_owned) = (self.clone(), event.to_owned());
        self.once(event, stage, session, move || this.count(&event_owned, stage));
    }

    fn once(&self, event: &str, stage: Stage, session: &str, count: impl FnOnce() + Send + 'static) {
        let Some((conn, prefix)) = &self.marks else {
            return count();
        };
        let key = format!("{prefix}:funnel:{event}:{}:{session}", stage.name());
        let mut conn = conn.clone();
        tokio::spawn(async move {
            let set: redis::RedisResult<Option<String>> =
                redis::cmd("SET").arg(&key).arg(1).arg("NX").arg("PX").arg(MARK_TTL.as_millis() as u64).query_async(&mut conn).await;
            match set {
                Ok(Some(_)) => count(),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "funnel mark not set; counting");
                    count();
                }
            }
        });
    }
}
