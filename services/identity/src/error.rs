//! Identity's errors and their one mapping to gRPC status. Messages never
//! carry personal data: at most field names, provider ids and counts.
use std::{collections::HashMap, time::Duration};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};
use yeyak_platform::grpc::status;

use crate::store::{Counter, Exhausted};

/// `google.rpc.ErrorInfo` domain of identity's machine-readable errors.
pub const ERROR_DOMAIN: &str = "identity.yeyak";
/// `ErrorInfo.reason` of a provider that cannot take the verification now;
/// `metadata["alternatives"]` lists the healthy providers, comma-separated.
pub const PROVIDER_UNAVAILABLE: &str = "PROVIDER_UNAVAILABLE";

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("unknown provider {0}")]
    UnknownProvider(String),
    /// Retryable: the provider is RED, saturated or just failed. `why` is
    /// `circuit_open`, `saturated` or `failed`.
    #[error("provider {provider} is unavailable ({why}); try {alternatives:?}")]
    ProviderUnavailable { provider: String, why: &'static str, alternatives: Vec<String>, retry_after: Duration, cause: String },
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
    #[error("challenge store unavailable: {0}")]
    Store(#[from] redis::RedisError),
}

impl From<IdentityError> for Status {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::InvalidArgument { field, reason } => status::invalid_argument(field, reason),
            IdentityError::UnknownProvider(p) => status::invalid_argument("provider_id", format!("unknown provider {p:?}")),
            IdentityError::ProviderUnavailable { provider, why, alternatives, retry_after, cause } => {
                if why == "failed" {
                    tracing::warn!(%provider, %cause, "provider call failed");
                }
                let listed = if alternatives.is_empty() { "none right now".to_owned() } else { alternatives.join(", ") };
                let message = format!("provider {provider} is unavailable ({why}); healthy alternatives: {listed}");
                let metadata = HashMap::from([
                    ("provider".to_owned(), provider),
                    ("alternatives".to_owned(), alternatives.join(",")),
                    ("cause".to_owned(), why.to_owned()),
                ]);
                let mut details = ErrorDetails::with_error_info(PROVIDER_UNAVAILABLE, ERROR_DOMAIN, metadata);
                details.set_retry_info(Some(retry_after));
                let mut status = Status::with_error_details(Code::Unavailable, message, details);
                if let Ok(v) = retry_after.as_secs().max(1).to_string().parse() {
                    status.metadata_mut().insert("retry-after", v);
                }
                status
            }
            IdentityError::ChallengeNotFound => Status::not_found("challenge unknown, expired or already used"),
            IdentityError::ChallengeForeign => Status::permission_denied("challenge belongs to another admission session"),
            IdentityError::WrongCode { attempts_left } => {
                status::invalid_argument("code", format!("wrong code, {attempts_left} attempts left"))
            }
            IdentityError::AttemptsExhausted(Exhausted { counter, retry_after }) => {
                let what = match counter {
                    Counter::Challenge => "too many wrong codes; start a new verification",
                    Counter::Subject => "too many verification attempts for this person; try again later",
                    Counter::Phone => "too many verification attempts for this phone number; try again later",
                    Counter::Pass => "too many verification attempts in this session; try again later",
                };
                status::resource_exhausted(what, retry_after.max(Duration::from_secs(1)))
            }
            IdentityError::ProxyLimit { limit } => Status::permission_denied(format!(
                "this admission pass has already verified {limit} different people (yourself and those you book for); \
                 join the queue again to verify someone else"
            )),
            IdentityError::Overloaded { retry_after } => {
                status::resource_exhausted("identity verification is at capacity, retry shortly", retry_after)
            }
            IdentityError::Pending => Status::failed_precondition("approval still pending; complete again after approving"),
            IdentityError::Rejected => Status::failed_precondition("the provider could not verify these details"),
            IdentityError::SubjectMismatch => {
                tracing::error!("provider confirmed a different subject than the challenge was started for");
                Status::failed_precondition("the provider could not verify these details")
            }
            IdentityError::BadAssertion { reason } => Status::unauthenticated(format!("identity_assertion rejected: {reason}")),
            IdentityError::ForeignAssertion => Status::permission_denied("identity_assertion was obtained under another admission session"),
            IdentityError::Store(e) => status::unavailable("challenge store", &e),
        }
    }
}
