//! Eligibility's errors and their one mapping to gRPC status. A person who
//! may not book is not an error: that is a decision with a reason.
use tonic::Status;
use yeyak_platform::{grpc::status, tokens::TokenError};

#[derive(Debug, thiserror::Error)]
pub enum EligibilityError {
    #[error("{field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("{field} rejected: {reason}")]
    BadAssertion { field: &'static str, reason: TokenError },
    #[error("{0} was obtained under another admission session")]
    ForeignAssertion(&'static str),
    /// A valid consent token that does not cover this request.
    #[error("consent_token {0}")]
    ConsentMismatch(&'static str),
    #[error("registry unavailable: {0}")]
    RegistryUnavailable(String),
    #[error("redis unavailable: {0}")]
    StoreUnavailable(String),
}

impl From<EligibilityError> for Status {
    fn from(e: EligibilityError) -> Self {
        match e {
            EligibilityError::InvalidArgument { field, reason } => status::invalid_argument(field, reason),
            EligibilityError::BadAssertion { field, reason } => Status::unauthenticated(format!("{field} rejected: {reason}")),
            EligibilityError::ForeignAssertion(field) => {
                Status::permission_denied(format!("{field} was obtained under another admission session"))
            }
            EligibilityError::ConsentMismatch(why) => Status::permission_denied(format!("consent_token {why}")),
            EligibilityError::RegistryUnavailable(cause) => status::unavailable("insurance registry", &cause),
            EligibilityError::StoreUnavailable(cause) => status::unavailable("eligibility store", &cause),
        }
    }
}
