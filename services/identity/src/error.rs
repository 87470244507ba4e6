//! Identity's use-case error: what `app/` returns, mapped to a gRPC status
//! once, in `grpc/status.rs`. Messages never carry personal data: at most
//! provider ids and counts.
use std::{fmt, time::Duration};

use crate::store::Exhausted;

/// Why a provider cannot take the verification now (all retryable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unavailability {
    /// Its breaker is open or half-open: it is RED.
    CircuitOpen,
    /// Its bulkhead is full.
    Saturated,
    /// The call was sent and the provider failed.
    Failed,
}

impl Unavailability {
    /// The word clients see in `ErrorInfo.metadata["cause"]`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::CircuitOpen => "circuit_open",
            Self::Saturated => "saturated",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for Unavailability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum IdentityError {
    #[error("unknown provider {0}")]
    UnknownProvider(String),
    /// Retryable: the provider is RED, saturated or just failed. `cause` is
    /// for the log only.
    #[error("provider {provider} is unavailable ({why}); try {alternatives:?}")]
    ProviderUnavailable { provider: String, why: Unavailability, alternatives: Vec<String>, retry_after: Duration, cause: String },
    #[error("challenge unknown, expired or already used")]
    ChallengeNotFound,
    #[error("challenge belongs to another session")]
    ChallengeForeign,
    #[error("wrong code")]
    WrongCode { attempts_left: u32 },
    #[error("attempt limit reached: {}", .0.counter.name())]
    AttemptsExhausted(Exhausted),
    #[error("this admission pass already verified {limit} people")]
    ProxyLimit { limit: u32 },
    /// The person already verified under another admission session (place
    /// in line) of this event: one person, one place.
    #[error("this person is bound to another place in line of this event")]
    OtherPlace,
    #[error("identity is at capacity")]
    Overloaded { retry_after: Duration },
    #[error("approval still pending")]
    Pending,
    #[error("provider refused the person's details")]
    Rejected,
    #[error("provider vouched for a different person than the one who started")]
    SubjectMismatch,
    #[error("identity_assertion rejected: {reason}")]
    BadAssertion { reason: yeyak_platform::tokens::TokenError },
    #[error("identity_assertion was obtained under another admission session")]
    ForeignAssertion,
    /// A person named themselves as the agent of their own consent.
    #[error("the agent is the consenting person")]
    SelfConsent,
    #[error("challenge store unavailable: {0}")]
    Store(#[from] redis::RedisError),
}
