//! Who a check is about and who asks for them, once the tokens' signatures
//! are verified. The subject is named by their identity assertion, obtained
//! under the caller's own admission pass, or, when an agent books for
//! someone who is not in the agent's session, by a consent token the subject
//! obtained from identity naming that agent and this event. Either way
//! identity signed the subject's birth date and pseudonym; the registry is
//! asked only about that pseudonym.
use std::fmt;

use chrono::NaiveDate;
use yeyak_platform::tokens::{ConsentToken, IdentityAssertion};

/// Which of a check's tokens a problem is about. The handler maps it to the
/// request field that carried the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    /// The subject's own identity assertion.
    IdentityAssertion,
    /// The consent the subject gave an agent.
    ConsentToken,
    /// The agent's identity assertion, for proxy booking.
    AgentAssertion,
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::IdentityAssertion => "identity assertion",
            Self::ConsentToken => "consent token",
            Self::AgentAssertion => "agent assertion",
        })
    }
}

/// The person to be vaccinated, as a signed token named them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Subject {
    pub(crate) subject_id: String,
    /// "YYYY-MM-DD", as identity signed it.
    pub(crate) birth_date: String,
    /// The token that named them, for errors about its claims.
    pub(crate) named_by: Credential,
}

impl Subject {
    pub(crate) fn asserted(assertion: IdentityAssertion) -> Self {
        Self { subject_id: assertion.subject, birth_date: assertion.birth_date, named_by: Credential::IdentityAssertion }
    }

    pub(crate) fn consenting(consent: ConsentToken) -> Self {
        Self { subject_id: consent.subject, birth_date: consent.birth_date, named_by: Credential::ConsentToken }
    }

    /// The signed birth date; `None` when it is not a date.
    pub(crate) fn birth_date(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&self.birth_date, "%Y-%m-%d").ok()
    }
}

/// The subject and, for proxy booking, the verified agent.
#[derive(Clone, Debug)]
pub(crate) struct Parties {
    pub(crate) subject: Subject,
    pub(crate) agent: Option<IdentityAssertion>,
}

/// Why a valid consent token does not cover this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConsentMismatch {
    #[error("names another agent")]
    AnotherAgent,
    #[error("was given for another event")]
    AnotherEvent,
}

/// A consent counts only for the agent it names and the event it was given in.
pub(crate) fn consent_covers(consent: &ConsentToken, agent: &IdentityAssertion, queue_id: &str) -> Result<(), ConsentMismatch> {
    if consent.agent_subject != agent.subject {
        return Err(ConsentMismatch::AnotherAgent);
    }
    if consent.queue_id != queue_id {
        return Err(ConsentMismatch::AnotherEvent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(agent: &str, queue: &str) -> ConsentToken {
        ConsentToken {
            subject: "s".into(),
            birth_date: "1964-02-29".into(),
            name: "김*수".into(),
            agent_subject: agent.into(),
            queue_id: queue.into(),
            issued_at: 0,
            expires_at: 60,
        }
    }

    #[test]
    fn a_consent_covers_its_agent_in_its_event_only() {
        let agent = IdentityAssertion {
            subject: "a".into(),
            birth_date: "1990-01-01".into(),
            name: "이*영".into(),
            provider: "carrier-sms".into(),
            assurance_level: 1,
            session_id: "sid".into(),
            queue_id: String::new(),
            issued_at: 0,
            expires_at: 60,
        };
        assert_eq!(consent_covers(&consent("a", "q1"), &agent, "q1"), Ok(()));
        assert_eq!(consent_covers(&consent("b", "q1"), &agent, "q1"), Err(ConsentMismatch::AnotherAgent));
        assert_eq!(consent_covers(&consent("a", "q2"), &agent, "q1"), Err(ConsentMismatch::AnotherEvent));
        let subject = Subject::consenting(consent("a", "q1"));
        assert_eq!((subject.birth_date(), subject.named_by), (NaiveDate::from_ymd_opt(1964, 2, 29), Credential::ConsentToken));
        assert_eq!(Subject { birth_date: "29/02/1964".into(), ..subject }.birth_date(), None);
    }
}
