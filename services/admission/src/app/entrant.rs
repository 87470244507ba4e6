//! Identity-first events (`YEYAK_JOIN_REQUIRE_IDENTITY`): the pre-opening
//! lottery, and the line after it, hold one entry per person. People verify
//! beforehand under a pass of the event's verification queue (days before
//! the opening, when identity is not the bottleneck) and join with the
//! assertion. The entry is kept per pseudonymous subject in PostgreSQL: a
//! second join by the same person gets the same entry and session back,
//! bound to the client that joined (a new phone keeps its place), and
//! however many tickets a bot buys, each person holds one.
use yeyak_platform::tokens::AssertionVerifier;

use super::WaitingRoom;
use crate::{error::AdmissionError, store::durable::Entry};

/// Who is joining an identity-first event.
pub(super) struct Entrant {
    pub(super) subject: String,
}

/// Verifies the assertions identity-first events ask for.
pub(crate) struct IdentityFirst {
    /// Event → the queue whose passes people verify under.
    pub(crate) events: std::collections::HashMap<String, String>,
    pub(crate) assertions: AssertionVerifier,
}

impl WaitingRoom {
    /// The person joining `queue`, when it is an identity-first event;
    /// `None` for any other queue (an assertion sent there is ignored).
    pub(super) async fn entrant(&self, queue: &str, assertion: &str, now_unix: i64) -> Result<Option<Entrant>, AdmissionError> {
        let Some(verify_in) = self.require_assertion(queue, assertion)? else { return Ok(None) };
        let claims = self.policy.identity_first.assertions.verify(assertion, now_unix).await.map_err(AdmissionError::BadAssertion)?;
        if &claims.queue_id != verify_in {
            return Err(AdmissionError::AssertionFromElsewhere { verify_in: verify_in.clone() });
        }
        Ok(Some(Entrant { subject: claims.subject }))
    }

    /// The cheap half of [`Self::entrant`], run before a join's proofs are
    /// checked (and spent): the queue people verify in for an identity-first
    /// event, refused when no assertion came; `None` for any other queue.
    pub(super) fn require_assertion(&self, queue: &str, assertion: &str) -> Result<Option<&String>, AdmissionError> {
        match self.policy.identity_first.events.get(queue) {
            Some(verify_in) if assertion.is_empty() => Err(AdmissionError::IdentityRequired { verify_in: verify_in.clone() }),
            verify_in => Ok(verify_in),
        }
    }

    /// The entry this person already holds in `queue`, if any.
    pub(super) async fn held_entry(&self, queue: &str, entrant: Option<&Entrant>) -> Result<Option<Entry>, AdmissionError> {
        match entrant {
            Some(e) => Ok(self.durable.entry_of(queue, &e.subject).await?),
            None => Ok(None),
        }
    }

    /// Records a new entry for the person, or the one a concurrent join of
    /// theirs recorded first.
    pub(super) async fn record_entry(&self, queue: &str, entrant: Option<&Entrant>, new: Entry) -> Result<Entry, AdmissionError> {
        match entrant {
            Some(e) => Ok(self.durable.claim_entry(queue, &e.subject, &new).await?),
            None => Ok(new),
        }
    }
}
