//! Identity's errors and their one mapping to gRPC status.
use std::time::Duration;

use tonic::Status;
use yeyak_platform::grpc::status;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("unknown provider {0}")]
    UnknownProvider(String),
    #[error("provider {provider} is unavailable; try {alternatives}")]
    ProviderUnavailable { provider: String, alternatives: String, cause: String },
    #[error("challenge unknown, expired or already used")]
    ChallengeNotFound,
    #[error("challenge belongs to another session")]
    ChallengeForeign,
    #[error("wrong code")]
    WrongCode { attempts_left: u32 },
    #[error("too many wrong codes; start again")]
    TooManyAttempts,
    #[error("approval still pending in the app")]
    Pending,
    #[error("provider refused the person's details")]
    Rejected,
    #[error("challenge store unavailable: {0}")]
    Store(#[from] redis::RedisError),
}

impl From<IdentityError> for Status {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::InvalidArgument { field, reason } => status::invalid_argument(field, reason),
            IdentityError::UnknownProvider(p) => status::invalid_argument("provider_id", format!("unknown provider {p:?}")),
            IdentityError::ProviderUnavailable { provider, alternatives, cause } => {
                tracing::warn!(%provider, %cause, "provider call failed");
                Status::unavailable(format!("provider {provider} is unavailable; healthy alternatives: {alternatives}"))
            }
            IdentityError::ChallengeNotFound => Status::not_found("challenge unknown, expired or already used"),
            IdentityError::ChallengeForeign => Status::permission_denied("challenge belongs to another admission session"),
            IdentityError::WrongCode { attempts_left } => {
                status::invalid_argument("code", format!("wrong code, {attempts_left} attempts left"))
            }
            IdentityError::TooManyAttempts => {
                status::resource_exhausted("too many wrong codes; start a new verification", Duration::from_secs(60))
            }
            IdentityError::Pending => Status::failed_precondition("approval still pending in the app; complete again after approving"),
            IdentityError::Rejected => Status::failed_precondition("the provider could not verify these details"),
            IdentityError::Store(e) => status::unavailable("challenge store", &e),
        }
    }
}
