//! The one mapping of [`IdentityError`] to a gRPC status. Internal causes
//! (a provider's failure, a Redis error) are logged here, never sent; the
//! field a typed error concerns is named here, not below.
use std::{collections::HashMap, time::Duration};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};
use yeyak_platform::grpc::status;

use crate::{
    error::{IdentityError, Unavailability},
    store::{Counter, Exhausted},
};

/// `google.rpc.ErrorInfo` domain of identity's machine-readable errors.
const ERROR_DOMAIN: &str = "identity.yeyak";
/// `ErrorInfo.reason` of a provider that cannot take the verification now;
/// `metadata["alternatives"]` lists the healthy providers, comma-separated.
const PROVIDER_UNAVAILABLE: &str = "PROVIDER_UNAVAILABLE";
/// `ErrorInfo.reason` of a person verifying under a second place in line of
/// one event (`FAILED_PRECONDITION`).
const OTHER_PLACE: &str = "SUBJECT_BOUND_TO_ANOTHER_PLACE";

impl From<IdentityError> for Status {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::UnknownProvider(p) => status::invalid_argument("provider_id", format!("unknown provider {p:?}")),
            IdentityError::ProviderUnavailable { provider, why, alternatives, retry_after, cause } => {
                provider_unavailable(provider, why, alternatives, retry_after, &cause)
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
            IdentityError::OtherPlace => {
                let details = ErrorDetails::with_error_info(OTHER_PLACE, ERROR_DOMAIN, HashMap::new());
                let message = "this person already verified in another place in line for this event; \
                               one person holds one place: continue in the session you verified in";
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
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
            IdentityError::SelfConsent => {
                status::invalid_argument("agent_subject_id", "is your own; people booking for themselves need no consent")
            }
            IdentityError::Store(e) => status::unavailable("challenge store", &e),
        }
    }
}

/// `UNAVAILABLE` naming the healthy alternatives, machine-readable
/// (`ErrorInfo`, `RetryInfo`) and in a `retry-after` header.
fn provider_unavailable(provider: String, why: Unavailability, alternatives: Vec<String>, retry_after: Duration, cause: &str) -> Status {
    if why == Unavailability::Failed {
        tracing::warn!(%provider, %cause, "provider call failed");
    }
    let listed = if alternatives.is_empty() { "none right now".to_owned() } else { alternatives.join(", ") };
    let message = format!("provider {provider} is unavailable ({why}); healthy alternatives: {listed}");
    let metadata = HashMap::from([
        ("provider".to_owned(), provider),
        ("alternatives".to_owned(), alternatives.join(",")),
        ("cause".to_owned(), why.name().to_owned()),
    ]);
    let mut details = ErrorDetails::with_error_info(PROVIDER_UNAVAILABLE, ERROR_DOMAIN, metadata);
    details.set_retry_info(Some(retry_after));
    let mut status = Status::with_error_details(Code::Unavailable, message, details);
    if let Ok(v) = retry_after.as_secs().max(1).to_string().parse() {
        status.metadata_mut().insert("retry-after", v);
    }
    status
}
