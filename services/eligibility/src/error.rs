//! Eligibility's use-case error: what `EligibilityCheck` returns. A person
//! who may not book is not an error: that is a decision with a reason.
//! `grpc::status` maps it to a gRPC status and names the request field a
//! token problem is about; the bookings consumer requeues on it.
use yeyak_platform::tokens::TokenError;

use crate::domain::parties::{ConsentMismatch, Credential};

#[derive(Debug, thiserror::Error)]
pub(crate) enum EligibilityError {
    /// Neither an identity assertion nor a consent token names the subject.
    #[error("no identity assertion or consent token names the subject")]
    NoSubject,
    /// Both an identity assertion and a consent token: which is meant?
    #[error("both an identity assertion and a consent token")]
    TwoSubjects,
    #[error("a consent token without the agent's own identity assertion")]
    ConsentWithoutAgent,
    /// The agent named themselves: booking for oneself needs no agent.
    #[error("the agent assertion is the subject's own")]
    AgentIsSubject,
    #[error("{0}: birth date unreadable")]
    UnreadableBirthDate(Credential),
    #[error("{credential} rejected: {reason}")]
    BadToken { credential: Credential, reason: TokenError },
    #[error("{0} was obtained under another admission session")]
    ForeignAssertion(Credential),
    /// A valid consent token that does not cover this request.
    #[error("consent token {0}")]
    ConsentMismatch(ConsentMismatch),
    /// The event names a rule set this replica has not loaded.
    #[error("rule set {0:?} is not loaded (YEYAK_RULE_SETS_DIR)")]
    RuleSetMissing(String),
    #[error("registry unavailable: {0}")]
    RegistryUnavailable(String),
    #[error("redis unavailable: {0}")]
    StoreUnavailable(#[from] redis::RedisError),
}
