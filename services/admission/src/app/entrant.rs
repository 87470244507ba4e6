//! Identity-first events (`YEYAK_JOIN_REQUIRE_IDENTITY`): the pre-opening
//! lottery, and the line after it, hold one entry per person. People verify
//! beforehand under a pass of the event's verification queue (days before
//! the opening, when identity is not the bottleneck) and join with the
//! assertion. The entry is kept per pseudonymous subject in PostgreSQL: a
//! second join by the same person gets the same entry and session back,
//! bound to the client that joined (a new phone keeps its place), and
//! however many tickets a bot buys, each person holds one.
use yeyak_platform::{metrics::Stage, tokens::AssertionVerifier};

use super::{queue::new_session_id, WaitingRoom};
use crate::{
    error::AdmissionError,
    store::{
        durable::{Claimed, Entry},
        Joined,
    },
};

/// Who is joining an identity-first event.
pub(super) struct Entrant {
    pub(super) subject: String,
}

/// Verifies the assertions identity-first events ask for.
pub(crate) struct IdentityFirst {
    pub(crate) assertions: AssertionVerifier,
}

impl WaitingRoom {
    /// The person joining `queue`, when it is an identity-first event;
    /// `None` for any other queue (an assertion sent there is ignored).
    pub(super) async fn entrant(&self, queue: &str, assertion: &str, now_unix: i64) -> Result<Option<Entrant>, AdmissionError> {
        let Some(verify_in) = self.require_assertion(queue, assertion)? else { return Ok(None) };
        let claims = self.policy.identity_first.assertions.verify(assertion, now_unix).await.map_err(AdmissionError::BadAssertion)?;
        if claims.queue_id != verify_in {
            return Err(AdmissionError::AssertionFromElsewhere { verify_in });
        }
        Ok(Some(Entrant { subject: claims.subject }))
    }

    /// The cheap half of [`Self::entrant`], run before a join's proofs are
    /// checked (and spent): the queue people verify in for an identity-first
    /// event, refused when no assertion came; `None` for any other queue.
    pub(super) fn require_assertion(&self, queue: &str, assertion: &str) -> Result<Option<String>, AdmissionError> {
        match self.event(queue)?.stored.def.verify_in.clone() {
            Some(verify_in) if assertion.is_empty() => Err(AdmissionError::IdentityRequired { verify_in }),
            verify_in => Ok(verify_in),
        }
    }

    /// The entry a join gets: a new place for anyone but a person of an
    /// identity-first event who already holds one (found with one statement),
    /// or whose concurrent join is taking one (then this join waits for it).
    pub(super) async fn entry_for(&self, queue: &str, entrant: Option<&Entrant>, opens_at_ms: i64) -> Result<Entry, AdmissionError> {
        let Some(Entrant { subject }) = entrant else {
            return self.new_entry(queue, opens_at_ms, new_session_id()).await;
        };
        if let Some(held) = self.durable.entry_of(queue, subject).await? {
            return Ok(held);
        }
        match self.durable.claim(queue, subject, &new_session_id()).await? {
            Claimed::Held(entry) => Ok(entry),
            Claimed::New(claim) => {
                let new = self.new_entry(queue, opens_at_ms, String::new()).await?;
                Ok(claim.record(new.place, new.lottery_entry).await?)
            }
        }
    }

    /// A place never handed out before (or a lottery entry before the opening).
    async fn new_entry(&self, queue: &str, opens_at_ms: i64, session_id: String) -> Result<Entry, AdmissionError> {
        let (place, lottery_entry) = match self.take_place(queue, opens_at_ms).await? {
            Joined::Closed => return Err(AdmissionError::Closed),
            Joined::PreOpening(k) => (0, Some(k)),
            Joined::InLine(place) => (place, None),
        };
        self.funnel.count(queue, Stage::Joined);
        Ok(Entry { place, lottery_entry, session_id })
    }
}
