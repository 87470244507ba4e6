//! Admission's errors and their one mapping to gRPC status.
use tonic::Status;
use yeyak_platform::{grpc::status, tokens::TokenError};

#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error("{field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("ticket rejected: {0}")]
    BadTicket(TokenError),
    #[error("ticket belongs to another client")]
    WrongClient,
    #[error("unknown queue {0}")]
    UnknownQueue(String),
    #[error("the line is closed to new arrivals")]
    Closed,
    #[error("this ticket has not been admitted")]
    NotAdmitted,
    #[error("operator authentication required")]
    Unauthenticated,
    /// Redis unreachable: fail closed, nobody is admitted.
    #[error("queue store unavailable: {0}")]
    Store(#[from] redis::RedisError),
}

impl From<AdmissionError> for Status {
    fn from(e: AdmissionError) -> Self {
        match e {
            AdmissionError::InvalidArgument { field, reason } => status::invalid_argument(field, reason),
            AdmissionError::BadTicket(TokenError::Expired) => Status::unauthenticated("ticket expired: join again"),
            AdmissionError::BadTicket(t) => Status::unauthenticated(format!("ticket rejected: {t}")),
            AdmissionError::WrongClient => Status::permission_denied("ticket belongs to another client"),
            AdmissionError::UnknownQueue(q) => Status::not_found(format!("unknown queue {q}")),
            AdmissionError::Closed => Status::failed_precondition("the line is closed to new arrivals"),
            AdmissionError::NotAdmitted => Status::failed_precondition("this ticket has not been admitted yet"),
            AdmissionError::Unauthenticated => Status::unauthenticated("operator bearer token required"),
            AdmissionError::Store(e) => status::unavailable("queue store", &e),
        }
    }
}
