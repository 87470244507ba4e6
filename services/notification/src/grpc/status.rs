//! The one mapping from a use-case error to a gRPC status. Internal causes
//! are logged by `status::internal`, never sent.
use tonic::Status;
use yeyak_platform::{grpc::status, tokens::TokenError};

use crate::{domain::Refusal, error::Error};

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::DatabaseUnreachable(cause) => status::unavailable("notification database", &cause),
            Error::Database(cause) => status::internal(&cause),
            Error::BadAssertion(TokenError::Expired) => Status::unauthenticated("identity_assertion expired: verify your identity again"),
            Error::BadAssertion(error) => Status::unauthenticated(format!("identity_assertion rejected: {error}")),
            e @ Error::ForeignAssertion => Status::permission_denied(e.to_string()),
            e @ Error::NotFound => Status::not_found(e.to_string()),
            Error::Operator(e) if e.is_forbidden() => Status::permission_denied(e.to_string()),
            Error::Operator(e) => Status::unauthenticated(e.to_string()),
            e @ (Error::UnknownDelivery(_) | Error::NoDeliveries) => Status::not_found(e.to_string()),
            Error::Refused(r @ Refusal::Busy) => Status::aborted(r.to_string()),
            Error::Refused(r) => Status::failed_precondition(r.to_string()),
            e @ Error::CannotResend(_) => Status::failed_precondition(e.to_string()),
            Error::DeadLetters(cause) => status::unavailable("RabbitMQ (dead-letter queue)", &cause),
        }
    }
}
