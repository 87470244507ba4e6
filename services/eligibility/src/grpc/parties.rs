//! Who a check is about and who asks for them. The subject is named by their
//! identity assertion, verified under the caller's own admission pass, or,
//! when an agent books for someone who is not in the agent's session, by a
//! consent token the subject obtained from identity naming that agent and
//! this event. Either way identity signed the subject's birth date and
//! pseudonym; the registry is asked only about that pseudonym.
use yeyak_platform::tokens::{self, AdmissionPass, ConsentToken, IdentityAssertion};
use yeyak_proto::eligibility::v1 as pb;

use super::EligibilityApi;
use crate::error::EligibilityError;

/// The person to be vaccinated, as a signed token named them.
pub struct Subject {
    pub sub: String,
    pub birth: String,
    /// The request field that named them, for errors about the claims.
    pub field: &'static str,
}

pub struct Parties {
    pub subject: Subject,
    /// The verified agent, for proxy booking.
    pub agent: Option<IdentityAssertion>,
}

impl EligibilityApi {
    pub(super) async fn parties(
        &self,
        pass: &AdmissionPass,
        req: &pb::CheckEligibilityRequest,
        now: i64,
    ) -> Result<Parties, EligibilityError> {
        let agent = match req.agent_assertion.as_str() {
            "" => None,
            token => Some(self.assertion("agent_assertion", token, &pass.sid, now).await?),
        };
        let subject = match (req.identity_assertion.as_str(), req.consent_token.as_str()) {
            ("", "") => {
                let reason = "is required (or, for proxy booking, consent_token)".into();
                return Err(EligibilityError::InvalidArgument { field: "identity_assertion", reason });
            }
            (token, "") => {
                let a = self.assertion("identity_assertion", token, &pass.sid, now).await?;
                Subject { sub: a.sub, birth: a.birth, field: "identity_assertion" }
            }
            ("", token) => {
                let agent = agent.as_ref().ok_or_else(|| EligibilityError::InvalidArgument {
                    field: "agent_assertion",
                    reason: "is required with consent_token: the agent's own identity assertion".into(),
                })?;
                let c = consent(self, token, pass, agent, now)?;
                Subject { sub: c.sub, birth: c.birth, field: "consent_token" }
            }
            _ => {
                let reason = "give identity_assertion or consent_token, not both".into();
                return Err(EligibilityError::InvalidArgument { field: "consent_token", reason });
            }
        };
        if agent.as_ref().is_some_and(|a| a.sub == subject.sub) {
            let reason = "is the subject's own; leave it empty to book for yourself".into();
            return Err(EligibilityError::InvalidArgument { field: "agent_assertion", reason });
        }
        Ok(Parties { subject, agent })
    }

    async fn assertion(&self, field: &'static str, token: &str, sid: &str, now: i64) -> Result<IdentityAssertion, EligibilityError> {
        let a = self.assertions.verify(token, now).await.map_err(|reason| EligibilityError::BadAssertion { field, reason })?;
        if a.sid != sid {
            return Err(EligibilityError::ForeignAssertion(field));
        }
        Ok(a)
    }
}

/// A consent counts only for the agent it names and the event it was given in.
fn consent(
    api: &EligibilityApi,
    token: &str,
    pass: &AdmissionPass,
    agent: &IdentityAssertion,
    now: i64,
) -> Result<ConsentToken, EligibilityError> {
    let c: ConsentToken =
        tokens::verify(&api.trusted, token, now).map_err(|reason| EligibilityError::BadAssertion { field: "consent_token", reason })?;
    if c.agent != agent.sub {
        return Err(EligibilityError::ConsentMismatch("names another agent"));
    }
    if c.q != pass.q {
        return Err(EligibilityError::ConsentMismatch("was given for another event"));
    }
    Ok(c)
}
