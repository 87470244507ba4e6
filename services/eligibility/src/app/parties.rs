//! Verifying who a check is about and who asks for them (the rules that tie
//! the tokens together are in `domain::parties`). The agent's assertion is
//! verified first, then the token that names the subject: an identity
//! assertion of the caller's own admission session, or a consent token that
//! covers this agent and this event.
use yeyak_platform::tokens::{self, AdmissionPass, ConsentToken, IdentityAssertion};

use super::{Credentials, EligibilityCheck};
use crate::{
    domain::parties::{consent_covers, Credential, Parties, Subject},
    error::EligibilityError,
};

impl EligibilityCheck {
    /// The verified parties; `now`: the wall clock, in Unix seconds.
    pub(super) async fn parties(&self, pass: &AdmissionPass, credentials: Credentials<'_>, now: i64) -> Result<Parties, EligibilityError> {
        let agent = match credentials.agent_assertion {
            None => None,
            Some(token) => Some(self.assertion(Credential::AgentAssertion, token, &pass.session_id, now).await?),
        };
        let subject = match (credentials.identity_assertion, credentials.consent_token) {
            (None, None) => return Err(EligibilityError::NoSubject),
            (Some(token), None) => Subject::asserted(self.assertion(Credential::IdentityAssertion, token, &pass.session_id, now).await?),
            (None, Some(token)) => {
                let agent = agent.as_ref().ok_or(EligibilityError::ConsentWithoutAgent)?;
                Subject::consenting(self.consent(token, pass, agent, now)?)
            }
            (Some(_), Some(_)) => return Err(EligibilityError::TwoSubjects),
        };
        if agent.as_ref().is_some_and(|a| a.subject == subject.subject_id) {
            return Err(EligibilityError::AgentIsSubject);
        }
        Ok(Parties { subject, agent })
    }

    /// An identity assertion counts only under the admission session it was
    /// obtained in.
    async fn assertion(
        &self,
        credential: Credential,
        token: &str,
        session_id: &str,
        now: i64,
    ) -> Result<IdentityAssertion, EligibilityError> {
        let assertion = self.assertions.verify(token, now).await.map_err(|reason| EligibilityError::BadToken { credential, reason })?;
        if assertion.session_id != session_id {
            return Err(EligibilityError::ForeignAssertion(credential));
        }
        Ok(assertion)
    }

    fn consent(&self, token: &str, pass: &AdmissionPass, agent: &IdentityAssertion, now: i64) -> Result<ConsentToken, EligibilityError> {
        let consent: ConsentToken = tokens::verify(&self.trusted, token, now)
            .map_err(|reason| EligibilityError::BadToken { credential: Credential::ConsentToken, reason })?;
        consent_covers(&consent, agent, &pass.queue_id).map_err(EligibilityError::ConsentMismatch)?;
        Ok(consent)
    }
}
