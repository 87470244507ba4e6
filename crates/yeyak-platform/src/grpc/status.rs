//! The few ways a Yeyak service talks back to a caller, built one way only:
//! field violations as `google.rpc.BadRequest`, retry hints as `RetryInfo`.
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// `INVALID_ARGUMENT` naming the field, with a `BadRequest` detail.
pub fn invalid_argument(field: &str, description: impl Into<String>) -> Status {
    let description = description.into();
    let details = ErrorDetails::with_bad_request_violation(field, description.clone());
    Status::with_error_details(Code::InvalidArgument, format!("{field}: {description}"), details)
}

/// `RESOURCE_EXHAUSTED` with a `RetryInfo` detail and a `retry-after` header.
pub fn resource_exhausted(message: impl Into<String>, retry_after: Duration) -> Status {
    let details = ErrorDetails::with_retry_info(Some(retry_after));
    let mut status = Status::with_error_details(Code::ResourceExhausted, message, details);
    if let Ok(v) = retry_after.as_secs().max(1).to_string().parse() {
        status.metadata_mut().insert("retry-after", v);
    }
    status
}

/// `UNAUTHENTICATED` with a `RetryInfo` detail: refused for now, not for good.
pub fn unauthenticated_for(message: impl Into<String>, retry_after: Duration) -> Status {
    let details = ErrorDetails::with_retry_info(Some(retry_after));
    Status::with_error_details(Code::Unauthenticated, message, details)
}

/// `UNAVAILABLE` with a `RetryInfo` detail, for a state this replica
/// cannot confirm right now.
pub fn unavailable_for(message: impl Into<String>, retry_after: Duration) -> Status {
    let details = ErrorDetails::with_retry_info(Some(retry_after));
    Status::with_error_details(Code::Unavailable, message, details)
}

/// `UNAVAILABLE` for a dependency that is down; the cause is logged, not sent.
pub fn unavailable(dependency: &str, cause: &dyn std::fmt::Display) -> Status {
    tracing::warn!(dependency, error = %cause, "dependency unavailable");
    Status::unavailable(format!("{dependency} is unavailable, retry shortly"))
}

/// `INTERNAL` with a correlation id; the cause is logged, not sent.
pub fn internal(cause: &dyn std::fmt::Display) -> Status {
    let id = uuid::Uuid::new_v4();
    tracing::error!(error_id = %id, error = %cause, "internal error");
    Status::internal(format!("internal error (id {id})"))
}

/// Reads back the field violations of a status (tests and clients).
pub fn field_violations(status: &Status) -> Vec<String> {
    status.get_details_bad_request().map(|br| br.field_violations.into_iter().map(|v| v.field).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_the_field() {
        let s = invalid_argument("slot_id", "must be a UUID");
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(field_violations(&s), vec!["slot_id".to_string()]);
        assert!(s.message().contains("slot_id"));
    }

    #[test]
    fn resource_exhausted_carries_retry_hint() {
        let s = resource_exhausted("busy", Duration::from_secs(3));
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(s.metadata().get("retry-after").unwrap(), "3");
        assert_eq!(s.get_details_retry_info().unwrap().retry_delay, Some(Duration::from_secs(3)));
    }
}
