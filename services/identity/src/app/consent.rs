//! GrantConsent: a verified person lets one named agent book for them in
//! this event. Proxy booking otherwise needs both people verified in the
//! agent's session; a consent token covers the person who cannot be there
//! (an elderly parent verified on their own phone, booked for by a child).
//! The token carries only what the assertion carried (pseudonym, birth date,
//! masked name) plus the agent's pseudonym and the event.
use std::time::Duration;

use chrono::{DateTime, Utc};
use yeyak_platform::tokens::{self, AdmissionPass, ConsentToken, IdentityAssertion};

use super::Verification;
use crate::error::IdentityError;

/// A signed consent and when it lapses.
#[derive(Clone, Debug)]
pub(crate) struct Consent {
    pub(crate) consent_token: String,
    pub(crate) expires_at: DateTime<Utc>,
}

impl Verification {
    /// Lets `agent_subject` book for the person `identity_assertion` names,
    /// in the event of `pass`, which must be the session the assertion was
    /// obtained in.
    pub(crate) fn grant_consent(
        &self,
        pass: &AdmissionPass,
        identity_assertion: &str,
        agent_subject: &str,
    ) -> Result<Consent, IdentityError> {
        let now = Utc::now().timestamp();
        let person: IdentityAssertion =
            tokens::verify(&self.config.assertions, identity_assertion, now).map_err(|reason| IdentityError::BadAssertion { reason })?;
        if person.session_id != pass.session_id {
            return Err(IdentityError::ForeignAssertion);
        }
        if person.subject == agent_subject {
            return Err(IdentityError::SelfConsent);
        }
        let ttl = i64::try_from(self.config.consent_ttl.max(Duration::from_secs(1)).as_secs()).unwrap_or(i64::MAX);
        let claims = ConsentToken {
            subject: person.subject,
            birth_date: person.birth_date,
            name: person.name,
            agent_subject: agent_subject.to_owned(),
            queue_id: pass.queue_id.clone(),
            issued_at: now,
            expires_at: now.saturating_add(ttl),
        };
        self.metrics.consents.inc();
        tracing::info!(queue = %claims.queue_id, "consent granted to an agent");
        Ok(Consent {
            consent_token: tokens::sign(&self.config.signing_key, &claims),
            expires_at: DateTime::from_timestamp(claims.expires_at, 0).unwrap_or_default(),
        })
    }
}
