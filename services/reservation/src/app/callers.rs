//! Who is asking: the identity assertions and consent tokens a call carries,
//! verified here and tied to the caller's own admission pass.
use chrono::Utc;
use yeyak_platform::{
    grpc::VerifiedPass,
    tokens::{self, ConsentToken, IdentityAssertion, TokenError},
};

use super::Booking;
use crate::error::{Credential, ReservationError};

impl Booking {
    /// Verifies an identity assertion and that it was obtained under the
    /// caller's own admission pass: an assertion copied from another session
    /// is useless.
    pub(super) async fn identify(
        &self,
        pass: &VerifiedPass,
        credential: Credential,
        token: &str,
    ) -> Result<IdentityAssertion, ReservationError> {
        let assertion = self
            .assertions
            .verify(token, Utc::now().timestamp())
            .await
            .map_err(|error| ReservationError::BadCredential { credential, error })?;
        if assertion.subject.is_empty() {
            return Err(ReservationError::BadCredential { credential, error: TokenError::Malformed });
        }
        if assertion.session_id != pass.pass.session_id {
            return Err(ReservationError::ForeignAssertion(credential));
        }
        Ok(assertion)
    }

    /// The subject of a call that names its caller by an identity assertion.
    pub(super) async fn caller(&self, pass: &VerifiedPass, assertion: &str) -> Result<String, ReservationError> {
        Ok(self.identify(pass, Credential::Identity, assertion).await?.subject)
    }

    /// Verifies a consent token and that it covers this booking: given to
    /// this agent (the verified `agent` subject id) for this event.
    pub(super) fn consented(&self, pass: &VerifiedPass, token: &str, agent: &str) -> Result<ConsentToken, ReservationError> {
        let credential = Credential::Consent;
        let consent: ConsentToken = tokens::verify(&self.trusted, token, Utc::now().timestamp())
            .map_err(|error| ReservationError::BadCredential { credential, error })?;
        if consent.subject.is_empty() {
            return Err(ReservationError::BadCredential { credential, error: TokenError::Malformed });
        }
        if agent.is_empty() || consent.agent_subject != agent {
            return Err(ReservationError::ConsentMismatch("names another agent"));
        }
        if consent.queue_id != pass.pass.queue_id {
            return Err(ReservationError::ConsentMismatch("was given for another event"));
        }
        Ok(consent)
    }
}
