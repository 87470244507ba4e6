//! The one mapping from the use-case error to a gRPC status. A token
//! problem names the request field that carried the token; internal causes
//! are logged by `status::unavailable`, never sent.
use tonic::Status;
use yeyak_platform::grpc::status;

use crate::{domain::parties::Credential, error::EligibilityError};

impl From<EligibilityError> for Status {
    fn from(e: EligibilityError) -> Self {
        match e {
            EligibilityError::NoSubject => {
                status::invalid_argument("identity_assertion", "is required (or, for proxy booking, consent_token)")
            }
            EligibilityError::TwoSubjects => {
                status::invalid_argument("consent_token", "give identity_assertion or consent_token, not both")
            }
            EligibilityError::ConsentWithoutAgent => {
                status::invalid_argument("agent_assertion", "is required with consent_token: the agent's own identity assertion")
            }
            EligibilityError::AgentIsSubject => {
                status::invalid_argument("agent_assertion", "is the subject's own; leave it empty to book for yourself")
            }
            EligibilityError::UnreadableBirthDate(credential) => status::invalid_argument(field(credential), "birth date unreadable"),
            EligibilityError::BadToken { credential, reason } => {
                Status::unauthenticated(format!("{} rejected: {reason}", field(credential)))
            }
            EligibilityError::ForeignAssertion(credential) => {
                Status::permission_denied(format!("{} was obtained under another admission session", field(credential)))
            }
            EligibilityError::ConsentMismatch(why) => Status::permission_denied(format!("consent_token {why}")),
            e @ EligibilityError::RuleSetMissing(_) => status::unavailable("eligibility rules", &e),
            EligibilityError::RegistryUnavailable(cause) => status::unavailable("insurance registry", &cause),
            EligibilityError::StoreUnavailable(cause) => status::unavailable("eligibility store", &cause),
        }
    }
}

/// The `CheckEligibilityRequest` field that carries the token.
fn field(credential: Credential) -> &'static str {
    match credential {
        Credential::IdentityAssertion => "identity_assertion",
        Credential::ConsentToken => "consent_token",
        Credential::AgentAssertion => "agent_assertion",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parties::ConsentMismatch;

    #[test]
    fn token_problems_name_the_field_that_carried_the_token() {
        let violations = |e: EligibilityError| status::field_violations(&e.into());
        assert_eq!(violations(EligibilityError::NoSubject), vec!["identity_assertion"]);
        assert_eq!(violations(EligibilityError::TwoSubjects), vec!["consent_token"]);
        assert_eq!(violations(EligibilityError::ConsentWithoutAgent), vec!["agent_assertion"]);
        assert_eq!(violations(EligibilityError::UnreadableBirthDate(Credential::ConsentToken)), vec!["consent_token"]);
        let foreign = Status::from(EligibilityError::ForeignAssertion(Credential::AgentAssertion));
        assert_eq!(foreign.message(), "agent_assertion was obtained under another admission session");
        let elsewhere = Status::from(EligibilityError::ConsentMismatch(ConsentMismatch::AnotherEvent));
        assert_eq!(elsewhere.message(), "consent_token was given for another event");
    }
}
